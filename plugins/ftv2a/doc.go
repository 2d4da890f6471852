// Package ftv2a is the wire layer of Ferry's ftv2a file-transfer protocol:
// toxcore's messenger file transfer (FILE_SENDREQUEST, FILE_CONTROL,
// FILE_DATA) plus the "ftv2a" addon, a FILE_CONTROL of type SEND_ACK that the
// receiver sends only once it has fully processed a FILE_SENDREQUEST (part
// file and journal created), so that the sender can tell "peer offline" from
// "request not processed" instead of breaking silently.
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
//	                  SEND_ACK=4), and for SEEK only a u64 position
//	FILE_DATA:        file number u8, data (0..maxData bytes)
//
// Decoding is strict: unknown packet ids, payloads longer than the per-packet
// limit (refused from the header alone, before anything is allocated or
// read), short or over-long payloads, unknown kinds or control types, sizes
// above 1<<62 and bad names are errors wrapping [ErrMalformed] (and
// [ErrTooLarge] for length violations). A valid frame has exactly one
// encoding, so decoding and re-encoding reproduces the same bytes. After any
// error the stream is out of sync and must be closed.
package ftv2a
