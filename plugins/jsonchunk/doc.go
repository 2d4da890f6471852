// Package jsonchunk is Ferry's jsonchunk file-transfer protocol plugin
// (protocol ID "/ferry/jsonchunk/1"): seed 004's conversation of JSON
// messages (AUTHENTICATION with a token and the file list, RESPONSE "Ok" or
// "Error", TRANSFER chunks each acknowledged), which lets the sender know
// exactly which parts the receiver really holds, so that a transfer resumes
// by chunks over any later connection, even through proxies that cut it.
// Ferry's additions travel in an extra "ferry" object in each message,
// which a strict seed peer ignores (and which every decoder here ignores
// unknown fields of). It holds the wire layer (the codec: [Reader],
// [WriteMessage], [ChunkID]) and the conversation ([Protocol], made by
// [New]); the same value serves the plugin binary (cmd/jsonchunk) and the
// core's in-process twin.
//
// # Framing
//
// The seed writes each message as "TYPE, JSON" over libipc. Ferry runs it
// over a reliable, already encrypted byte stream (TLS), so each message is
// framed as
//
//	+------------------------+--------+----------------------------+
//	| length (u32, BE)       | type   | JSON object                |
//	| 4 bytes                | 1 byte | length-1 bytes (UTF-8)     |
//	+------------------------+--------+----------------------------+
//
// where length counts the type byte and the JSON, and the types are the
// seed's: 1 AUTHENTICATION, 2 RESPONSE, 3 TRANSFER. In fast mode (below) a
// TRANSFER frame is followed by the chunk's raw bytes, as many as its
// "ferry.length" says; they are not counted in length.
//
// Decoding is strict about form and lenient about extensions: a length
// over [MaxFrame] (16 MiB) is refused from the header alone, before
// anything is allocated or read; so is a raw chunk longer than the chunk
// size agreed (at most [MaxChunkSize]). Unknown types, a body that is not
// one JSON object, fields of the wrong JSON type, a missing required field,
// message-ids and chunks that are not UUIDs, sizes and offsets above 2^62
// or negative, a chunk of no bytes, data that is both in the JSON and after
// it, and so on are errors wrapping [ErrMalformed] (and [ErrTooLarge] for
// lengths), each saying what is wrong. Unknown fields are ignored. After
// any error the stream is out of step and is closed.
//
// # Messages
//
//	1 AUTHENTICATION {"message-id": UUID, "token": JWT,
//	   "files": [{"name": NAME, "size": u64,
//	              "ferry": {"sha256": HEX, "media_type": MIME, "mod_time": RFC3339}}, ...],
//	   "fid": UUID, "tags": [],
//	   "ferry": {"v": 1, "modes": ["fast", "strict"],
//	             "chunk_size": {"fast": 1048576, "strict": 65536}, "window": 16}}
//	2 RESPONSE {"message-id": UUID of the message answered,
//	   "response": "Ok" | "Error", "reason": TEXT, "ferry": {...}}
//	3 TRANSFER {"message-id": UUID, "chunk": UUID, "data": BASE64,
//	   "ferry": {"file": INDEX, "offset": u64}}                    (strict)
//	3 TRANSFER {"message-id": UUID, "chunk": UUID,
//	   "ferry": {"file": INDEX, "offset": u64, "length": N}} + N raw bytes (fast)
//
// fid carries Ferry's transfer ID (sdk.Offer.TransferID, 32 lowercase hex
// characters) written as a UUID, 8-4-4-4-12; the receiver reads either form
// back into the 32 hex characters. token is sdk.Offer.Token, passed through
// untouched: the receiving core checks it in sdk.FileSink.Decide. Ferry
// sends no tags. Each message-id is a fresh random (version 4) UUID; a
// resent AUTHENTICATION keeps its own.
//
// chunk is deterministic: the version 5 (SHA-1) UUID, in the namespace
// named by the URL "https://github.com/ferry-p2p/ferry/plugins/jsonchunk"
// (itself the version 5 UUID 70d6e871-6e1a-587f-9c0c-f181f6ab5fa2 in the
// URL namespace), of the name "TID/FILE/OFFSET" (the transfer ID's 32 hex characters, the
// file's index and the chunk's byte offset, in decimal); see [ChunkID]. The
// receiver checks that a chunk's UUID is the one of its file and offset and
// that its bytes lie within the file. A chunk's place travels in
// "ferry.file" and "ferry.offset" in both modes: the seed leaves the
// mapping from chunk UUID to position unsaid, so a receiver that knows only
// the seed would need this mapping (or the same UUID scheme) to place
// chunks, and a TRANSFER without them is refused here.
//
// # Modes and negotiation
//
// Strict mode is the seed's wire: "data" holds the chunk in standard
// base64 with padding (JSON cannot carry raw bytes), costing a third more
// bytes on the wire and base64 work on every byte on both sides. Fast mode
// sends the chunk's bytes raw after the frame, announced by "ferry.length".
// Both modes carry the same messages and pass the same tests.
//
// The sender lists the modes it allows in AUTHENTICATION's "ferry.modes",
// preferred first, with its chunk size in each: option mode "fast" offers
// ["fast", "strict"], "strict" offers ["strict"]. The receiver picks in its
// RESPONSE Ok to AUTHENTICATION: "fast" if both sides allow it (its own
// option mode is "fast"), else "strict". An AUTHENTICATION with no "ferry"
// object (a seed peer) means strict. No common mode is a refusal.
//
// # Conversation
//
//	sender                                  receiver
//	AUTHENTICATION(token, files, fid) -->   Decide(offer with token)
//	                                        Create every file's part file
//	                                        Close(complete) the files already whole
//	                                    <-- RESPONSE Ok {"ferry": {"v":1, "mode", "window",
//	                                                     "chunk_size", "have"}}
//	TRANSFER(file, offset, chunk) ...   -->  WriteAt ... Commit (one per batch)
//	                                        Close(complete) when a file is whole
//	                                    <-- RESPONSE Ok per chunk, after its Commit;
//	                                        a file's last one {"ferry": {"complete": true, "file": i}}
//	(CloseWrite once every file is confirmed)
//
// Authentication. The sender writes AUTHENTICATION and waits retry_interval
// for the RESPONSE answering its message-id, and sends the same message
// again when none came, retries times in all; then Send fails with an error
// wrapping sdk.ErrNotProcessed (seed 000's EEE002). A stream that fails or
// ends before the answer fails Send with one wrapping sdk.ErrOffline
// (EEE001). The receiver calls sdk.FileSink.Decide once, with the whole
// offer (transfer ID, token, files with their hash, media type and
// modification time); Decide must answer within retries × retry_interval.
// If Decide fails (a missing, expired, forged or foreign token, an unknown
// transfer, a refusal) the receiver answers RESPONSE Error with the error's
// text as reason (and "ferry": {"code": "refused"}) and creates nothing; the
// sender's Send fails with an error wrapping sdk.ErrRefused that quotes the
// reason. A repeated AUTHENTICATION gets the same answer again; Decide and
// Create run once.
//
// Resume. After Decide succeeds the receiver creates every file's part file
// and learns what it already holds: every byte outside sdk.RangedPart's
// Missing ranges, or the committed prefix (Offset) of a part file that does
// not know its ranges. Files already whole are closed as complete right
// away. The RESPONSE Ok lists, in "ferry.have", each file that holds
// anything, with its ranges as [off, end) pairs; a file listed with its
// whole range ([[0, size]], and [[0, 0]] for an empty file) is complete and
// confirmed. The sender then sends only the chunks of the missing ranges,
// cut at chunk_size from each range's start. A resume is simply another
// Send of the same offer on a new stream, over any transport: all its state
// is in the receiver's part files.
//
// Acknowledgements. The receiver writes each chunk's bytes into the part
// file and acknowledges the chunk (RESPONSE Ok with its message-id) only
// after a PartFile.Commit covering it has returned, so an acknowledged byte
// is durable and never sent again. It commits in groups: it writes every
// chunk already read (up to window of them), commits the ranges they make
// (one Commit per contiguous range and file), and then sends all their
// acknowledgements at once. A chunk whose bytes are already committed, or
// already written in the same group (a duplicate or a replay), is
// acknowledged without being written again; committed bytes are never
// rewritten. Errors about a chunk (a UUID that is not its place's, a range
// beyond its file, the wrong mode, a failed write or commit) are answered
// with RESPONSE Error with the reason and end the conversation.
//
// The window. The sender leaves at most window chunks sent and not yet
// acknowledged, the smaller of its own option and the window the
// receiver's answer names. So when a connection is cut, at most window ×
// chunk_size bytes were sent and not acknowledged (bytes committed whose
// acknowledgement was lost are among them, and the next answer's "have"
// reports them), and that is all a resume may send again. The window also
// bounds the receiver's memory: it reads ahead at most window chunks.
// When it may send no more and no acknowledgement comes for ack_timeout,
// or a chunk cannot be written for as long, the sender gives the
// connection up (and the next one resumes). Likewise the receiver gives up
// a sender that sends nothing for ack_timeout while it waits for data, or
// does not read its answers for as long.
//
// Confirmation. When the committed ranges of a file cover it whole, the
// receiver closes its part file as complete (the core checks the
// whole-file SHA-256 and renames it into place), and only if that succeeds
// sends the acknowledgements of the group, the file's last one marked
// {"complete": true, "file": i}. Send returns nil only once every file is
// confirmed complete, this way or in "have", and then closes its write
// side; the receiver's Receive returns nil when the stream ends after every
// file is complete.
//
// Hash mismatch. If closing the part file fails with an error wrapping
// sdk.ErrHashMismatch (the core has then deleted the part file; no final
// file is made), the receiver still names the bad bytes: it keeps its own
// read handle of every part file from Create (a duplicate of the
// descriptor of sdk.FileBacked's File), reads back the file in verify
// blocks of B = max(chunk_size, ceil(size/4096) rounded up to a multiple
// of chunk_size) bytes, and answers the file's last chunk (or
// AUTHENTICATION, for a file found whole there) with
//
//	RESPONSE Error {"reason": "sha-256 mismatch", "ferry": {"code": "hash_mismatch",
//	   "file": i, "verify": {"file": i, "block": B, "sha256": [HEX, ...]}}}
//
// The sender hashes the same blocks of its source, finds those that
// differ and answers that message-id in turn with a RESPONSE Error whose
// reason names the file and the byte ranges [a, b) and whose
// "ferry.ranges" lists them; its Send fails with an error wrapping
// sdk.ErrHashMismatch naming them (or saying that every block matches, so
// the source changed after its hash was announced). The receiver waits
// verify_wait for that answer and fails with an error wrapping
// sdk.ErrHashMismatch that names the ranges, or says they are unknown.
//
// Interruptions. When the stream ends or breaks before every file is
// complete, the receiver commits what it wrote, closes the part files as
// incomplete (the core keeps them, and the next connection resumes from
// their ranges) and fails with an error wrapping sdk.ErrOffline; the
// sender fails with one wrapping sdk.ErrOffline too, never sdk.ErrRefused,
// so the core retries. A cancelled context, or Close, closes the stream
// and ends the call.
//
// # Options
//
// Configure takes a JSON object; every key is optional and unknown keys
// are refused: mode ("fast"), chunk_size (1048576 bytes, fast mode, at
// most [MaxChunkSize]), strict_chunk_size (65536 bytes, at most
// [MaxStrictChunkSize]; the seed's is 1024), window (16 chunks),
// retry_interval ("2s"), retries (5), ack_timeout ("1m") and verify_wait
// ("5s"). Go callers may use [Protocol.SetConfig] with a [Config] instead.
package jsonchunk
