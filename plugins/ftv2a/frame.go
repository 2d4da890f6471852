package ftv2a

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every decoding (and encoding validation) error wraps
// ErrMalformed; length violations additionally wrap ErrTooLarge.
var (
	// ErrMalformed marks a frame that does not follow the ftv2a wire format.
	ErrMalformed = errors.New("ftv2a: malformed frame")
	// ErrTooLarge marks a frame, name or data buffer longer than allowed.
	ErrTooLarge = errors.New("ftv2a: frame too large")
)

// Packet ids, the same numbers as toxcore's messenger packets.
const (
	// PacketFileSendRequest is PACKET_ID_FILE_SENDREQUEST.
	PacketFileSendRequest byte = 80
	// PacketFileControl is PACKET_ID_FILE_CONTROL.
	PacketFileControl byte = 81
	// PacketFileData is PACKET_ID_FILE_DATA.
	PacketFileData byte = 82
)

// File kinds carried in [SendRequest.Kind] (toxcore's TOX_FILE_KIND).
const (
	// KindData is an ordinary data file.
	KindData uint32 = 0
	// KindAvatar is an avatar image.
	KindAvatar uint32 = 1
)

// Values of [Control.SendReceive].
const (
	// FileWeSend: the control concerns a file the packet's sender is sending.
	FileWeSend uint8 = 0
	// FileWeReceive: the control concerns a file the packet's sender is receiving.
	FileWeReceive uint8 = 1
)

// Limits of the wire format.
const (
	// HeaderSize is the size of a frame header: packet id + u24 length.
	HeaderSize = 4
	// MaxNameLen is the longest file name in bytes.
	MaxNameLen = 255
	// MaxSize is the largest file size (and SEEK position) accepted; larger
	// values are refused as absurd.
	MaxSize uint64 = 1 << 62
	// DefaultMaxData is the default FILE_DATA chunk limit of a [Reader].
	DefaultMaxData = 64 << 10
	// MaxDataLimit is the largest FILE_DATA chunk any [Reader] accepts and
	// [WriteFrame] produces.
	MaxDataLimit = 1 << 20

	sendRequestFixed = 1 + 4 + 8 + 32
	// MaxSendRequestPayload is the longest FILE_SENDREQUEST payload.
	MaxSendRequestPayload = sendRequestFixed + MaxNameLen
	controlShort          = 1 + 1 + 1
	seekPayload           = controlShort + 8
	// MaxReasonText is the longest text a KILL's reason carries, in bytes.
	MaxReasonText = 200
	// MaxControlPayload is the longest FILE_CONTROL payload (a KILL with
	// a reason and the longest text).
	MaxControlPayload = controlShort + 1 + MaxReasonText
)

// Reasons a KILL may carry (the reason addon): why the receiver refused or
// gave up a file. A KILL without one (the 3-byte payload of toxcore) is a
// refusal before ACCEPT and "finished" after the last byte; one with a
// reason after ACCEPT is always a failure. A receiver sends reasons only
// to a sender that said it reads them (see the package documentation).
const (
	// ReasonNone: a plain KILL.
	ReasonNone uint8 = iota
	// ReasonRefused: the receiver refused the file.
	ReasonRefused
	// ReasonNoSpace: the receiver's disk is full; the part file is kept.
	ReasonNoSpace
	// ReasonIntegrity: a record from the sender failed to authenticate:
	// the stream was altered on the path.
	ReasonIntegrity
	// ReasonHashMismatch: the file arrived whole but its SHA-256 differs.
	ReasonHashMismatch
	// ReasonSourceChanged: the file no longer matches the offer.
	ReasonSourceChanged
	// ReasonFailed: anything else; the text says what.
	ReasonFailed
)

// ControlType is the control type of a FILE_CONTROL packet.
type ControlType uint8

// Control types: toxcore's FILECONTROL_* values plus the ftv2a addon's SEND_ACK.
const (
	// Accept accepts (or resumes) a transfer.
	Accept ControlType = 0
	// Pause pauses a transfer.
	Pause ControlType = 1
	// Kill cancels a transfer.
	Kill ControlType = 2
	// Seek tells the sender to start at [Control.Position] (resume).
	Seek ControlType = 3
	// SendAck (ftv2a) is sent by the receiver once it has fully processed a
	// FILE_SENDREQUEST (part file and journal created).
	SendAck ControlType = 4
)

// String returns the toxcore-style name of t, e.g. "SEND_ACK".
func (t ControlType) String() string {
	switch t {
	case Accept:
		return "ACCEPT"
	case Pause:
		return "PAUSE"
	case Kill:
		return "KILL"
	case Seek:
		return "SEEK"
	case SendAck:
		return "SEND_ACK"
	}
	return fmt.Sprintf("ControlType(%d)", uint8(t))
}

func (t ControlType) valid() bool { return t <= SendAck }

// Frame is one decoded ftv2a packet: a [SendRequest], [Control] or [Data]
// (or a pointer to one, when writing).
type Frame interface{ isFrame() }

// SendRequest is a FILE_SENDREQUEST: the sender offers a file.
type SendRequest struct {
	FileNumber uint8    // sender-chosen number identifying the transfer
	Kind       uint32   // KindData or KindAvatar
	Size       uint64   // file size in bytes, at most MaxSize
	FileID     [32]byte // file id (toxcore: random or hash)
	Name       string   // 1..255 bytes of UTF-8 without NUL
}

// Control is a FILE_CONTROL packet.
type Control struct {
	SendReceive uint8       // FileWeSend or FileWeReceive
	FileNumber  uint8       // the transfer it concerns
	Type        ControlType // what to do
	Position    uint64      // SEEK only (must be 0 otherwise), at most MaxSize
	Reason      uint8       // KILL only: ReasonNone, or why (the reason addon)
	Text        string      // with a Reason only: up to MaxReasonText bytes of UTF-8
}

// Data is a FILE_DATA packet: a chunk of file content.
//
// A Data returned by [Reader.Next] aliases the reader's internal buffer:
// Data.Data is valid only until the next call to Next.
type Data struct {
	FileNumber uint8  // the transfer it belongs to
	Data       []byte // the chunk; may be empty
}

func (SendRequest) isFrame() {}
func (Control) isFrame()     {}
func (Data) isFrame()        {}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrMalformed, ErrTooLarge}, args...)...)
}

func (s *SendRequest) validate() error {
	if s.Kind > KindAvatar {
		return malformed("FILE_SENDREQUEST kind %d unknown (want 0 data or 1 avatar)", s.Kind)
	}
	if s.Size > MaxSize {
		return malformed("FILE_SENDREQUEST size %d is absurd (max 1<<62)", s.Size)
	}
	switch {
	case s.Name == "":
		return malformed("FILE_SENDREQUEST name is empty")
	case len(s.Name) > MaxNameLen:
		return tooLarge("FILE_SENDREQUEST name is %d bytes (max %d)", len(s.Name), MaxNameLen)
	case !utf8.ValidString(s.Name):
		return malformed("FILE_SENDREQUEST name is not valid UTF-8")
	case strings.IndexByte(s.Name, 0) >= 0:
		return malformed("FILE_SENDREQUEST name contains NUL")
	}
	return nil
}

func (c *Control) validate() error {
	if c.SendReceive > FileWeReceive {
		return malformed("FILE_CONTROL send_receive %d invalid (want 0 or 1)", c.SendReceive)
	}
	if !c.Type.valid() {
		return malformed("FILE_CONTROL control type %d unknown", uint8(c.Type))
	}
	if c.Type != Seek && c.Position != 0 {
		return malformed("FILE_CONTROL %s has position %d (only SEEK carries one)", c.Type, c.Position)
	}
	if c.Position > MaxSize {
		return malformed("FILE_CONTROL SEEK position %d is absurd (max 1<<62)", c.Position)
	}
	switch {
	case c.Reason != ReasonNone && c.Type != Kill:
		return malformed("FILE_CONTROL %s has a reason (only KILL carries one)", c.Type)
	case c.Reason > ReasonFailed:
		return malformed("FILE_CONTROL KILL reason %d unknown", c.Reason)
	case c.Reason == ReasonNone && c.Text != "":
		return malformed("FILE_CONTROL KILL has a text but no reason")
	case len(c.Text) > MaxReasonText:
		return tooLarge("FILE_CONTROL KILL reason text is %d bytes (max %d)", len(c.Text), MaxReasonText)
	case !utf8.ValidString(c.Text):
		return malformed("FILE_CONTROL KILL reason text is not valid UTF-8")
	}
	return nil
}

// appendFrame appends the encoding of f to dst after validating it.
func appendFrame(dst []byte, f Frame) ([]byte, error) {
	switch v := f.(type) {
	case *SendRequest:
		if v == nil {
			return dst, malformed("nil *SendRequest")
		}
		return appendFrame(dst, *v)
	case *Control:
		if v == nil {
			return dst, malformed("nil *Control")
		}
		return appendFrame(dst, *v)
	case *Data:
		if v == nil {
			return dst, malformed("nil *Data")
		}
		return appendFrame(dst, *v)
	case SendRequest:
		if err := v.validate(); err != nil {
			return dst, err
		}
		dst = appendHeader(dst, PacketFileSendRequest, sendRequestFixed+len(v.Name))
		dst = append(dst, v.FileNumber)
		dst = binary.BigEndian.AppendUint32(dst, v.Kind)
		dst = binary.BigEndian.AppendUint64(dst, v.Size)
		dst = append(dst, v.FileID[:]...)
		return append(dst, v.Name...), nil
	case Control:
		if err := v.validate(); err != nil {
			return dst, err
		}
		n := controlShort
		switch {
		case v.Type == Seek:
			n = seekPayload
		case v.Reason != ReasonNone:
			n = controlShort + 1 + len(v.Text)
		}
		dst = appendHeader(dst, PacketFileControl, n)
		dst = append(dst, v.SendReceive, v.FileNumber, byte(v.Type))
		switch {
		case v.Type == Seek:
			dst = binary.BigEndian.AppendUint64(dst, v.Position)
		case v.Reason != ReasonNone:
			dst = append(dst, v.Reason)
			dst = append(dst, v.Text...)
		}
		return dst, nil
	case Data:
		if len(v.Data) > MaxDataLimit {
			return dst, tooLarge("FILE_DATA data is %d bytes (max %d)", len(v.Data), MaxDataLimit)
		}
		dst = appendHeader(dst, PacketFileData, 1+len(v.Data))
		dst = append(dst, v.FileNumber)
		return append(dst, v.Data...), nil
	case nil:
		return dst, malformed("nil frame")
	}
	return dst, malformed("unknown frame type %T", f)
}

func appendHeader(dst []byte, id byte, n int) []byte {
	return append(dst, id, byte(n>>16), byte(n>>8), byte(n))
}

// WriteFrame validates f and writes it to w as a single Write call. An
// invalid frame is refused with an error wrapping [ErrMalformed] (and
// [ErrTooLarge] for oversized names or data) and nothing is written.
func WriteFrame(w io.Writer, f Frame) error {
	buf, err := appendFrame(nil, f)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// Reader decodes frames from a byte stream. It reads exactly one frame's
// bytes per call (no read-ahead), so the stream can be handed on afterwards.
// A Reader is not safe for concurrent use.
type Reader struct {
	r       io.Reader
	maxData int
	hdr     [HeaderSize]byte
	buf     []byte
}

// NewReader returns a Reader on r accepting FILE_DATA chunks of at most
// maxData bytes. maxData <= 0 selects [DefaultMaxData]; larger values than
// [MaxDataLimit] are clamped to it, so the limit is always in [1, 1 MiB].
func NewReader(r io.Reader, maxData int) *Reader {
	if maxData <= 0 {
		maxData = DefaultMaxData
	}
	maxData = min(maxData, MaxDataLimit)
	return &Reader{r: r, maxData: maxData}
}

// MaxData returns the reader's FILE_DATA chunk limit.
func (r *Reader) MaxData() int { return r.maxData }

// Next reads and decodes the next frame. It returns io.EOF (unwrapped) when
// the stream ends cleanly between frames; a stream ending inside a frame
// gives an error wrapping both [ErrMalformed] and io.ErrUnexpectedEOF. Other
// read errors from the underlying reader are returned as they are; every
// format violation wraps [ErrMalformed]. After an error the Reader must not
// be used further.
//
// A returned [Data] aliases an internal buffer that the next call reuses.
func (r *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated frame header: %w", ErrMalformed, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	id := r.hdr[0]
	n := int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
	var limit int
	var what string
	switch id {
	case PacketFileSendRequest:
		limit, what = MaxSendRequestPayload, "FILE_SENDREQUEST payload (name over 255 bytes?)"
	case PacketFileControl:
		limit, what = MaxControlPayload, "FILE_CONTROL payload"
	case PacketFileData:
		limit, what = 1+r.maxData, "FILE_DATA payload (1 + maxData)"
	default:
		return nil, malformed("unknown packet id %d", id)
	}
	if n > limit {
		return nil, tooLarge("%s length %d exceeds limit %d", what, n, limit)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated payload of packet %d (want %d bytes): %w", ErrMalformed, id, n, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	switch id {
	case PacketFileSendRequest:
		return decodeSendRequest(p)
	case PacketFileControl:
		return decodeControl(p)
	default:
		if len(p) < 1 {
			return nil, malformed("FILE_DATA payload is empty (need a file number)")
		}
		return Data{FileNumber: p[0], Data: p[1:]}, nil
	}
}

func decodeSendRequest(p []byte) (Frame, error) {
	if len(p) < sendRequestFixed {
		return nil, malformed("FILE_SENDREQUEST payload is %d bytes, short of the %d fixed bytes", len(p), sendRequestFixed)
	}
	s := SendRequest{
		FileNumber: p[0],
		Kind:       binary.BigEndian.Uint32(p[1:5]),
		Size:       binary.BigEndian.Uint64(p[5:13]),
		Name:       string(p[sendRequestFixed:]),
	}
	copy(s.FileID[:], p[13:sendRequestFixed])
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func decodeControl(p []byte) (Frame, error) {
	if len(p) < controlShort {
		return nil, malformed("FILE_CONTROL payload is %d bytes, short of %d", len(p), controlShort)
	}
	c := Control{SendReceive: p[0], FileNumber: p[1], Type: ControlType(p[2])}
	if !c.Type.valid() {
		return nil, malformed("FILE_CONTROL control type %d unknown", p[2])
	}
	want := controlShort
	switch {
	case c.Type == Seek:
		want = seekPayload
	case c.Type == Kill && len(p) > controlShort:
		// The reason addon: a reason byte (never ReasonNone, which is
		// the 3-byte form) and its text.
		c.Reason, c.Text = p[controlShort], string(p[controlShort+1:])
		if c.Reason == ReasonNone {
			return nil, malformed("FILE_CONTROL KILL with reason 0 (a plain KILL has 3 bytes)")
		}
		want = len(p)
	}
	if len(p) != want {
		return nil, malformed("FILE_CONTROL %s payload is %d bytes, want %d", c.Type, len(p), want)
	}
	if c.Type == Seek {
		c.Position = binary.BigEndian.Uint64(p[controlShort:])
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}
