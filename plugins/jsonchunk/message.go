package jsonchunk

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/ferry-p2p/ferry/sdk/reason"
)

// Sentinel errors of the wire layer. Every decoding (and encoding
// validation) error wraps ErrMalformed; length violations also wrap
// ErrTooLarge.
var (
	// ErrMalformed marks a message that does not follow the jsonchunk wire
	// format.
	ErrMalformed = errors.New("jsonchunk: malformed message")
	// ErrTooLarge marks a frame or chunk longer than allowed.
	ErrTooLarge = errors.New("jsonchunk: message too large")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrMalformed, ErrTooLarge, fmt.Sprintf(format, args...))
}

// MessageType is the seed's "IPC USER MESSAGE TYPE", the byte before the
// JSON of each message.
type MessageType uint8

// The seed's message types.
const (
	// TypeAuthentication is AUTHENTICATION: token, files and transfer ID.
	TypeAuthentication MessageType = 1
	// TypeResponse is RESPONSE: "Ok" or "Error" about one message.
	TypeResponse MessageType = 2
	// TypeTransfer is TRANSFER: one chunk of one file.
	TypeTransfer MessageType = 3
)

// String returns the seed's name of t, e.g. "TRANSFER".
func (t MessageType) String() string {
	switch t {
	case TypeAuthentication:
		return "AUTHENTICATION"
	case TypeResponse:
		return "RESPONSE"
	case TypeTransfer:
		return "TRANSFER"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Limits of the wire format.
const (
	// HeaderSize is the size of a frame header: a u32 length and the type.
	HeaderSize = 5
	// MaxFrame is the largest frame length (type byte plus JSON) accepted;
	// a longer one is refused from its header, before anything is
	// allocated for it.
	MaxFrame = 16 << 20
	// MaxChunkSize is the largest chunk of file data one TRANSFER carries
	// in fast mode.
	MaxChunkSize = 16 << 20
	// MaxStrictChunkSize is the largest chunk in strict mode, where the
	// data travels in base64 inside the frame and must fit in MaxFrame.
	MaxStrictChunkSize = 8 << 20
	// MaxSize is the largest file size accepted; larger ones are refused as
	// absurd.
	MaxSize = 1 << 62
	// MaxFiles is the most files one AUTHENTICATION may carry.
	MaxFiles = 1 << 16
	// MaxVerifyBlocks is the most verify blocks a file is cut into.
	MaxVerifyBlocks = 4096
)

// Values of [Response.Response].
const (
	// Ok is the seed's positive answer.
	Ok = "Ok"
	// Error is the seed's negative answer; Reason says why.
	Error = "Error"
)

// Modes, as named in the negotiation.
const (
	// ModeFast sends chunk bytes raw after the TRANSFER frame.
	ModeFast = "fast"
	// ModeStrict sends chunk bytes in base64 in the TRANSFER JSON, the
	// seed's exact wire.
	ModeStrict = "strict"
)

// Values of [ResponseExtension.Code], which classifies an Error.
const (
	// CodeRefused: the receiver refused the transfer (Decide failed); the
	// meaning of an Error to AUTHENTICATION without a code.
	CodeRefused = "refused"
	// CodeRetry: the receiver could not take the transfer now (a part file
	// could not be made or closed); a later connection may succeed.
	CodeRetry = "retry"
	// CodeHashMismatch: a file failed its SHA-256 check.
	CodeHashMismatch = "hash_mismatch"
	// CodeNoSpace (version 2): the receiver's disk is full; the part
	// files are kept and the transfer resumes once it has room. To a
	// version-1 sender the receiver says CodeRetry instead.
	CodeNoSpace = reason.NoSpace
	// CodeIntegrity (version 2): a record from the sender failed to
	// authenticate: the stream was altered on the path. It answers the
	// AUTHENTICATION's message ID, whatever chunk was being read.
	CodeIntegrity = reason.Integrity
)

// ExtensionVersion is the version of the "ferry" extension objects: 2
// adds the codes CodeNoSpace and CodeIntegrity, which a receiver sends
// only to a sender of version 2 or later.
const ExtensionVersion = 2

// Message is one decoded message: an [*Authentication], a [*Response] or
// a [*Transfer].
type Message interface {
	// Type returns the message's seed type.
	Type() MessageType
}

// Authentication is the seed's AUTHENTICATION message (type 1).
type Authentication struct {
	// MessageID is the message's UUID.
	MessageID string `json:"message-id"`
	// Token is the receiver-issued JWT that authorises the transfer.
	Token string `json:"token"`
	// Files are the files offered, in order.
	Files []File `json:"files"`
	// FID is the transfer ID, written as a UUID.
	FID string `json:"fid"`
	// Tags are the seed's tags; Ferry sends none.
	Tags []string `json:"tags"`
	// Ferry is Ferry's extension: the sender's modes and sizes. A strict
	// seed peer sends none.
	Ferry *AuthExtension `json:"ferry,omitempty"`
}

// File is one entry of [Authentication.Files].
type File struct {
	// Name is the file's path relative to the transfer root.
	Name string `json:"name"`
	// Size is the file's length in bytes, at most MaxSize.
	Size uint64 `json:"size"`
	// Ferry is Ferry's per-file extension: hash and media type.
	Ferry *FileExtension `json:"ferry,omitempty"`
}

// FileExtension is the "ferry" object of a [File].
type FileExtension struct {
	// SHA256 is the whole file's SHA-256 in lowercase hex, if known.
	SHA256 string `json:"sha256,omitempty"`
	// MediaType is the file's MIME type, if known.
	MediaType string `json:"media_type,omitempty"`
	// ModTime is the file's modification time in RFC 3339, if known.
	ModTime string `json:"mod_time,omitempty"`
}

// AuthExtension is the "ferry" object of an [Authentication].
type AuthExtension struct {
	// V is the extension's version, [ExtensionVersion].
	V int `json:"v"`
	// Modes are the modes the sender allows, preferred first.
	Modes []string `json:"modes"`
	// ChunkSize is the sender's chunk size in each mode it allows.
	ChunkSize map[string]int `json:"chunk_size,omitempty"`
	// Window is how many chunks the sender would leave unacknowledged.
	Window int `json:"window,omitempty"`
}

// Type returns TypeAuthentication.
func (*Authentication) Type() MessageType { return TypeAuthentication }

// Response is the seed's RESPONSE message (type 2).
type Response struct {
	// MessageID is the ID of the message answered.
	MessageID string `json:"message-id"`
	// Response is Ok or Error.
	Response string `json:"response"`
	// Reason says why, for an Error.
	Reason string `json:"reason,omitempty"`
	// Ferry is Ferry's extension, depending on what is answered.
	Ferry *ResponseExtension `json:"ferry,omitempty"`
}

// ResponseExtension is the "ferry" object of a [Response]. Which fields
// appear depends on the message answered; see the package documentation.
type ResponseExtension struct {
	// V is the extension's version, in the answer to AUTHENTICATION.
	V int `json:"v,omitempty"`
	// Mode is the mode the receiver picked.
	Mode string `json:"mode,omitempty"`
	// Window is how many chunks the sender may leave unacknowledged.
	Window int `json:"window,omitempty"`
	// ChunkSize echoes the chunk size of the mode picked.
	ChunkSize int `json:"chunk_size,omitempty"`
	// Have lists, per file, the byte ranges the receiver already holds.
	Have []Held `json:"have,omitempty"`
	// Code classifies an Error: CodeRefused, CodeRetry or
	// CodeHashMismatch.
	Code string `json:"code,omitempty"`
	// Complete marks the Ok of a file's last chunk: the file is received
	// and verified.
	Complete bool `json:"complete,omitempty"`
	// File is the file a Complete, Verify or Ranges is about.
	File *int `json:"file,omitempty"`
	// Verify carries the receiver's block hashes after a hash mismatch.
	Verify *Verify `json:"verify,omitempty"`
	// Ranges are the byte ranges of File that differ, as the sender found.
	Ranges [][2]int64 `json:"ranges,omitempty"`
}

// Held is one entry of [ResponseExtension.Have].
type Held struct {
	// File is the file's index in the AUTHENTICATION's list.
	File int `json:"file"`
	// Ranges are the byte ranges held, as [off, end) pairs in order.
	Ranges [][2]int64 `json:"ranges"`
}

// Verify is the receiver's view of a file that failed its hash check.
type Verify struct {
	// File is the file's index.
	File int `json:"file"`
	// Block is the verify block size in bytes.
	Block int64 `json:"block"`
	// SHA256 holds the lowercase hex SHA-256 of each block, in order.
	SHA256 []string `json:"sha256"`
}

// Type returns TypeResponse.
func (*Response) Type() MessageType { return TypeResponse }

// Transfer is the seed's TRANSFER message (type 3): one chunk. Its wire
// form keeps File, Offset and, in fast mode, the data's length in the
// "ferry" object.
type Transfer struct {
	// MessageID is the message's UUID.
	MessageID string
	// Chunk is the chunk's UUID, [ChunkID] of the transfer, File and
	// Offset.
	Chunk string
	// File is the file's index in the AUTHENTICATION's list.
	File int
	// Offset is the chunk's place in the file.
	Offset int64
	// Data is the chunk's content, 1 to MaxChunkSize bytes.
	Data []byte
	// Raw is true when Data travels raw after the frame (fast mode) and
	// false when it is base64 in the JSON (strict mode).
	Raw bool
}

// Type returns TypeTransfer.
func (*Transfer) Type() MessageType { return TypeTransfer }

// chunkNamespace is the namespace of chunk UUIDs: the SHA-1 name-based
// UUID of the URL "https://github.com/ferry-p2p/ferry/plugins/jsonchunk"
// in the URL namespace.
var chunkNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/ferry-p2p/ferry/plugins/jsonchunk"))

// ChunkID returns the UUID of the chunk of file at offset in the transfer
// tid (32 lowercase hex characters): the version 5 (SHA-1) UUID of the name
// "tid/file/offset", decimal numbers, in the jsonchunk namespace.
func ChunkID(tid string, file int, offset int64) string {
	name := make([]byte, 0, 64)
	name = append(name, tid...)
	name = append(name, '/')
	name = strconv.AppendInt(name, int64(file), 10)
	name = append(name, '/')
	name = strconv.AppendInt(name, offset, 10)
	return uuid.NewSHA1(chunkNamespace, name).String()
}

// validUUID reports whether s is a UUID in its canonical 36-character
// form (any case).
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// FIDFromTransferID writes a transfer ID (32 lowercase hex characters,
// as the core makes them) as the UUID that AUTHENTICATION's fid carries.
func FIDFromTransferID(tid string) (string, error) {
	b, err := hex.DecodeString(tid)
	if err != nil || len(b) != 16 || hex.EncodeToString(b) != tid {
		return "", fmt.Errorf("transfer ID %q is not 32 lowercase hex characters (16 bytes), as fid needs", tid)
	}
	u, _ := uuid.FromBytes(b)
	return u.String(), nil
}

// TransferIDFromFID reads fid back as a transfer ID: a UUID in its
// 36-character form, or its 32 hex digits alone, in any case.
func TransferIDFromFID(fid string) (string, error) {
	if len(fid) != 32 && len(fid) != 36 {
		return "", malformed("fid %q is not a UUID", fid)
	}
	u, err := uuid.Parse(fid)
	if err != nil {
		return "", malformed("fid %q is not a UUID: %v", fid, err)
	}
	return hex.EncodeToString(u[:]), nil
}
