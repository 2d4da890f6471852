// Package ftv2a is Ferry's ftv2a file-transfer protocol plugin (protocol
// ID "/ferry/ftv2a/1"): toxcore's messenger file transfer (FILE_SENDREQUEST,
// FILE_CONTROL, FILE_DATA) plus the "ftv2a" addon, a FILE_CONTROL of type
// SEND_ACK that the receiver sends only once it has fully processed a
// FILE_SENDREQUEST (part file and journal created), so that the sender can
// tell "peer offline" from "request not processed" instead of breaking
// silently. It holds the wire layer (the frame codec: [WriteFrame],
// [Reader]) and the conversation ([Protocol], made by [New]); the same value
// serves the plugin binary (cmd/ftv2a) and the core's in-process twin.
//
// # Framing
//
// Ferry runs ftv2a over a reliable, already encrypted byte stream (TLS), not
// over Tox's crypto packets, so each packet is framed as
//
//	+-----------+------------------------------+-----------------+
//	| packet id | payload length (u24, BE)     | payload         |
//	| 1 byte    | 3 bytes                      | length bytes    |
//	+-----------+------------------------------+-----------------+
//
// with toxcore's packet ids: FILE_SENDREQUEST = 80, FILE_CONTROL = 81,
// FILE_DATA = 82. All integers are big-endian. Payloads:
//
//	FILE_SENDREQUEST: file number u8, kind u32, size u64, file id [32]byte,
//	                  name (1..255 bytes of UTF-8, no NUL; the rest of the payload)
//	FILE_CONTROL:     send_receive u8 (0: about a file the packet's sender sends,
//	                  1: about a file it receives), file number u8,
//	                  control type u8 (ACCEPT=0, PAUSE=1, KILL=2, SEEK=3,
//	                  SEND_ACK=4), and for SEEK only a u64 position; a KILL
//	                  may add a reason u8 (1..6) and its text (see Reasons)
//	FILE_DATA:        file number u8, data (0..maxData bytes)
//
// Decoding is strict: unknown packet ids, payloads longer than the per-packet
// limit (refused from the header alone, before anything is allocated or
// read), short or over-long payloads, unknown kinds or control types, sizes
// above 1<<62 and bad names are errors wrapping [ErrMalformed] (and
// [ErrTooLarge] for length violations). A valid frame has exactly one
// encoding, so decoding and re-encoding reproduces the same bytes. After any
// error the stream is out of sync and must be closed.
//
// # Conversation
//
// One stream carries one transfer in one direction. The sender handles the
// offer's files one after another; file i has file number i % 256, and
// every control the receiver sends about it has send_receive = 1.
//
//	sender                                  receiver
//	FILE_SENDREQUEST(n, size, id, name) -->
//	                                        Decide, Create (part file + journal)
//	                                    <-- SEND_ACK(n)
//	                                    <-- SEEK(n, offset)   only if offset > 0
//	                                    <-- ACCEPT(n)
//	FILE_DATA(n, chunk) ...             -->  WriteAt, Commit
//	                                        Commit, PartFile.Close(complete)
//	                                    <-- KILL(n)            "finished"
//	(next file, or CloseWrite)
//
// The request. The sender writes FILE_SENDREQUEST with kind 0 (data), the
// file's size and name (sdk.FileInfo.Name, passed on unchanged: the
// receiving core sanitises names such as "../../etc/passwd", not this
// plugin) and a 32-byte file id: the 16 bytes of the transfer ID (which in
// Ferry is 32 lowercase hex characters; anything else fails Send before a
// byte is written) followed by the first 16 bytes of the file's SHA-256,
// or zeros when the sender has none. It then waits retry_interval for
// SEND_ACK and sends the same request again when none came, retries times
// in all; after that Send fails with an error wrapping sdk.ErrNotProcessed
// (seed 000's EEE002). A stream that fails or ends before SEND_ACK fails
// Send with one wrapping sdk.ErrOffline (EEE001).
//
// The answer. The receiver turns the request into an offer of that one
// file, whose TransferID is the hex of the file id's first 16 bytes and
// whose SHA256 is left empty (the core has the whole hash from its
// consent step), and asks sdk.FileSink.Decide once per file; Decide must
// answer within retries × retry_interval. On a refusal, or when Decide or
// Create fails, it answers KILL alone and keeps serving the stream; the
// sender's Send fails with an error wrapping sdk.ErrRefused (a KILL before
// ACCEPT, with or without SEND_ACK, is a refusal). Otherwise it creates the
// part file and only then sends SEND_ACK, then SEEK(offset) when the part
// file already holds offset bytes (a resume), then ACCEPT. A repeated
// FILE_SENDREQUEST (the sender's retry) gets the same answer again, SEND_ACK
// or KILL, and nothing else: Decide and Create run once. The sender ignores
// the duplicate SEND_ACK it causes.
//
// The data. The sender opens the file at the accepted offset and writes
// FILE_DATA chunks of chunk_size bytes up to the size. While sending, a
// PAUSE from the receiver stops it until ACCEPT, and a KILL means the
// receiver cancelled the file (Send fails). The receiver writes each chunk
// at its place in the part file and calls PartFile.Commit at least every
// commit_bytes bytes and commit_interval. Commits run in the background,
// one at a time, while the next bytes are written, but bytes written and
// not yet committed never exceed commit_bytes: when commits fall behind,
// the receiver waits for them and so slows the sender, and a cut costs at
// most commit_bytes sent again. Data for another file number or
// beyond the announced size is a protocol error (the part file is closed
// incomplete and Receive fails).
//
// The confirmation. After the last byte the receiver commits, closes the
// part file as complete (the core checks the hash and renames it into
// place) and only if that succeeds sends KILL, which after all bytes means
// "finished", as toxcore's sender waits in FILESTATUS_FINISHED for the
// receiver's KILL. If Close fails the receiver returns the error without a
// KILL, and the sender, seeing the stream end instead, fails with an error
// wrapping sdk.ErrOffline. A file of size 0 carries no FILE_DATA and is
// confirmed right after ACCEPT. Send returns nil only when every file is
// confirmed, and closes its write side; the receiver's Receive returns nil
// when the stream ends between files.
//
// Reasons (an addon, compatible with peers without it). A sender that
// reads reasons says so first, before its first FILE_SENDREQUEST, with a
// FILE_CONTROL SEND_ACK of its own (send_receive = 0, file number 0),
// which a receiver without the addon ignores as a control about no current
// file. To such a sender only, a receiver's KILL that refuses or gives up
// a file carries a reason after the 3 bytes: a reason byte ([ReasonRefused],
// [ReasonNoSpace], [ReasonIntegrity], [ReasonHashMismatch],
// [ReasonSourceChanged], [ReasonFailed]) and up to [MaxReasonText] bytes of
// UTF-8 saying what happened. A KILL with a reason is never "finished":
// after the last byte it says why the file was not placed (a hash
// mismatch), and the receiver sends it where it used to end the stream
// without a word. The sender's error wraps the reason's sentinel
// (sdk.ErrNoSpace, sdk.ErrHashMismatch, sdk.ErrRefused, the record
// layer's ErrIntegrity), so the core can wait for space, stop, or retry.
// A record from the sender that fails to authenticate (the stream was
// altered on the path) is answered with a KILL of reason integrity on the
// way back before the receiver closes.
//
// Interruptions. A KILL from the sender (send_receive = 0) cancels the
// current file: the receiver closes its part file incomplete and waits for
// the next request. When the stream ends or breaks inside a file, the
// receiver commits what it wrote, closes the part file incomplete (the core
// keeps it, and the next connection resumes with SEEK) and fails with an
// error wrapping sdk.ErrOffline. A malformed frame ends the call with an
// error wrapping [ErrMalformed]. A cancelled context, or Close, closes the
// stream and ends the call.
//
// # Options
//
// Configure takes a JSON object; every key is optional and unknown keys
// are refused: retry_interval (duration, "2s"), retries (5), chunk_size
// (65536 bytes, at most [MaxDataLimit]), commit_bytes (16 MiB) and
// commit_interval ("1s"). Go callers may use [Protocol.SetConfig] with a
// [Config] instead.
package ftv2a
