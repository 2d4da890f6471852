package sdk

import (
	"context"
	"io"
	"os"
	"time"
)

// FileInfo describes one file of a transfer, as the sender offers it.
type FileInfo struct {
	// Name is the file's path relative to the transfer root, with forward
	// slashes. The receiving core sanitises it; a plugin passes it on as is.
	Name string
	// Size is the file's length in bytes.
	Size int64
	// MediaType is the file's MIME type, if known.
	MediaType string
	// SHA256 is the whole-file hash, 32 bytes, if the sender computed it.
	SHA256 []byte
	// ModTime is the file's modification time.
	ModTime time.Time
	// Mode holds the file's permission bits on the sender (0o777 at most),
	// or 0 if unknown. The receiving core applies them under its umask.
	Mode os.FileMode
}

// Offer is what a sender proposes: a transfer ID and its files.
type Offer struct {
	// TransferID names the transfer across reconnects. REQUIRED.
	TransferID string
	// Files are the files offered, in order. REQUIRED.
	Files []FileInfo
	// Token is the receiver's authorisation for this transfer, issued when
	// it accepted (a JWT signed with the receiver's device key, naming the
	// transfer, its files, the sender and an expiry). The sending core
	// fills it; a protocol whose wire carries a token (jsonchunk's
	// AUTHENTICATION) sends it and, on the receiving side, passes what
	// arrived to [FileSink.Decide], where the core checks it. Plugins treat
	// it as opaque text.
	Token string
}

// FileSource is the host service a sending protocol reads files from.
type FileSource interface {
	// Open returns the content of file index (its place in Offer.Files),
	// positioned at offset.
	Open(ctx context.Context, index int, offset int64) (io.ReadCloser, error)
}

// PartFile is where a receiving protocol writes one file.
type PartFile interface {
	io.WriterAt
	// Offset is how many leading bytes the receiver already holds durably;
	// a resuming protocol asks the sender to start there.
	Offset() int64
	// Commit records that bytes [off, off+n) are written; it returns once
	// they are durable, so the protocol may acknowledge them.
	Commit(ctx context.Context, off, n int64) error
	// Close finishes the file: the core checks its hash and renames it into
	// place. complete is false when the transfer stopped early.
	Close(ctx context.Context, complete bool) error
}

// FileSink is the host service a receiving protocol writes files to.
type FileSink interface {
	// Decide asks the user (or policy) whether to accept the offer. It
	// returns an error wrapping [ErrRefused] when the offer is refused.
	//
	// A protocol whose wire offers files one at a time (ftv2a's
	// FILE_SENDREQUEST) calls Decide once per file, with an offer holding
	// that file alone; one that sends the whole list at once (jsonchunk's
	// AUTHENTICATION) calls it once. Either way the TransferID names the
	// transfer the files belong to.
	Decide(ctx context.Context, offer Offer) error
	// Create opens the part file for file index of the most recently
	// accepted offer.
	Create(ctx context.Context, index int) (PartFile, error)
}

// SinkState is what a [FileSink] already holds of the offer it most
// recently accepted, before any part file is opened.
type SinkState struct {
	// Done lists the files held whole: received, verified and in place
	// (or settled without data, such as a file refused on its own). A
	// protocol still opens them (Create) to close them, but knows they
	// need no bytes.
	Done []int
	// Started lists the files of which some bytes may be held: a part
	// file or its journal exists. Open them to learn which.
	Started []int
}

// StatefulSink is implemented by a [FileSink] that can say what it
// already holds without opening every part file. A protocol that offers
// many files at once (jsonchunk) answers the offer after opening only
// the files in [SinkState.Started] and [SinkState.Done], and opens each
// other file when its first bytes arrive, so that a folder of a hundred
// thousand files neither waits for a hundred thousand part files before
// the first byte nor holds them all open.
type StatefulSink interface {
	FileSink
	// State returns what the sink holds of the most recently accepted
	// offer.
	State(ctx context.Context) (SinkState, error)
}

// RangedPart is implemented by a [PartFile] that knows every byte range it
// holds, not just its committed prefix: a protocol that resumes by chunks
// (jsonchunk) asks it which parts are still missing.
type RangedPart interface {
	PartFile
	// Missing returns the byte ranges not committed yet, as [off, end)
	// pairs in order; empty when the whole file is committed.
	Missing() [][2]int64
}

// Progress receives byte counts as a transfer moves. It may be nil.
type Progress interface {
	// Update reports that file index has done bytes of its total. On the
	// sending side index is the file's place in the offer sent; on the
	// receiving side it is its place in the most recently accepted offer,
	// as for [FileSink.Create].
	Update(index int, done int64)
}

// Confirmations is implemented by a sending side's Progress that also
// takes the bytes of a file the receiver has confirmed it holds durably (a
// resume offset it named, acknowledged chunks, a file confirmed whole):
// what `ferry status` reports, rather than what was written to the
// stream. A protocol calls it, when its Progress has it, as it learns
// them; counts only grow.
type Confirmations interface {
	// Confirmed reports that the receiver holds done bytes of file index.
	Confirmed(index int, done int64)
}

// SendRequest asks a protocol to send an offer over a secured stream.
type SendRequest struct {
	Stream   Stream     // REQUIRED; the protocol owns it until Send returns
	Offer    Offer      // REQUIRED
	Source   FileSource // REQUIRED
	Progress Progress
}

// ReceiveRequest asks a protocol to serve one incoming transfer.
type ReceiveRequest struct {
	Stream   Stream   // REQUIRED; the protocol owns it until Receive returns
	Sink     FileSink // REQUIRED
	Progress Progress
}

// Protocol is the transfer conversation, run on a stream the core has
// already secured (TLS 1.3, both peer IDs checked; the protocol ID is the
// TLS ALPN value, [Info.ProtocolID]). Send returns nil only once the receiver has confirmed
// every file; Receive returns when the sender is done or the stream ends.
type Protocol interface {
	Plugin
	// Send runs the sending side.
	Send(ctx context.Context, req SendRequest) error
	// Receive runs the receiving side.
	Receive(ctx context.Context, req ReceiveRequest) error
}

// FileBacked is implemented by a PartFile whose bytes live in an open file.
// When the protocol runs in a plugin process, the SDK hands the plugin that
// file's descriptor, so file bytes never cross the process boundary; a
// PartFile that is not FileBacked cannot be given to an external protocol.
// Likewise a FileSource whose Open returns an *os.File has its descriptor
// handed over; any other reader is streamed over the data channel.
type FileBacked interface {
	// File returns the open part file, writable, for WriteAt.
	File() *os.File
}
