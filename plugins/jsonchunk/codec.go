package jsonchunk

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readStep is how much of a frame body Reader allocates at a time, so that
// a length announced but never sent costs no more than what arrived.
const readStep = 1 << 20

// Reader decodes messages from a stream, one at a time. It is not safe for
// concurrent use.
type Reader struct {
	r       io.Reader
	maxData int
	hdr     [HeaderSize]byte
	body    []byte          // the frame's JSON, reused
	b64     json.RawMessage // a strict TRANSFER's data as it came, reused
	reduced []byte          // a strict TRANSFER's JSON without its data, reused
	alloc   func(n int) []byte
}

// NewReader returns a Reader of r that accepts chunks of at most maxData
// bytes (MaxChunkSize when maxData is 0 or more than MaxChunkSize; strict
// chunks are also limited to MaxStrictChunkSize).
func NewReader(r io.Reader, maxData int) *Reader {
	if maxData <= 0 || maxData > MaxChunkSize {
		maxData = MaxChunkSize
	}
	return &Reader{r: r, maxData: maxData, alloc: func(n int) []byte { return make([]byte, n) }}
}

// Next returns the next message. At a clean end of the stream between
// messages it returns io.EOF; a stream that ends inside a message gives
// an error wrapping io.ErrUnexpectedEOF, and other read errors are
// returned wrapped. A message that breaks the wire format gives an error
// wrapping ErrMalformed (and ErrTooLarge for lengths over the limits,
// which are refused before anything is allocated for them); the stream is
// then out of step and must be closed. A TRANSFER's Data belongs to the
// caller (the receiver here hands it back to its buffer pool).
func (r *Reader) Next() (Message, error) {
	if n, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("jsonchunk: read frame header: %w", err)
	}
	length := binary.BigEndian.Uint32(r.hdr[:4])
	typ := MessageType(r.hdr[4])
	switch {
	case length < 1:
		return nil, malformed("frame length 0 leaves no room for its type")
	case length > MaxFrame:
		return nil, tooLarge("frame length %d is over the limit of %d", length, MaxFrame)
	case typ < TypeAuthentication || typ > TypeTransfer:
		return nil, malformed("unknown message type %d", uint8(typ))
	}
	if err := r.readBody(int(length) - 1); err != nil {
		return nil, fmt.Errorf("jsonchunk: read %s of %d bytes: %w", typ, length-1, err)
	}
	// A typed nil pointer must not become a non-nil Message.
	switch typ {
	case TypeAuthentication:
		a, err := decodeAuthentication(r.body)
		if err != nil {
			return nil, err
		}
		return a, nil
	case TypeResponse:
		resp, err := decodeResponse(r.body)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
	t, err := r.decodeTransfer()
	if err != nil {
		return nil, err
	}
	return t, nil
}

// setAlloc makes the Reader take chunk buffers from alloc, which returns
// a slice of length n.
func (r *Reader) setAlloc(alloc func(n int) []byte) { r.alloc = alloc }

// readBody reads n bytes into r.body, growing it as bytes arrive.
func (r *Reader) readBody(n int) error {
	r.body = r.body[:0]
	for len(r.body) < n {
		step := min(n-len(r.body), readStep)
		if cap(r.body)-len(r.body) < step {
			r.body = append(r.body, make([]byte, step)...)[:len(r.body)]
		}
		m, err := io.ReadFull(r.r, r.body[len(r.body):len(r.body)+step])
		r.body = r.body[:len(r.body)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// decodeJSON decodes one JSON object into v, with a clear error.
func decodeJSON(t MessageType, body []byte, v any) error {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return malformed("%s is not a JSON object", t)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return malformed("%s: field %q has the wrong JSON type (%s, want %s)", t, te.Field, te.Value, te.Type)
		}
		return malformed("%s is not valid JSON: %v", t, err)
	}
	return nil
}

// authWire is AUTHENTICATION as decoded: pointers tell absent from empty.
type authWire struct {
	MessageID *string        `json:"message-id"`
	Token     *string        `json:"token"`
	Files     *[]File        `json:"files"`
	FID       *string        `json:"fid"`
	Tags      []string       `json:"tags"`
	Ferry     *AuthExtension `json:"ferry"`
}

func decodeAuthentication(body []byte) (*Authentication, error) {
	var w authWire
	if err := decodeJSON(TypeAuthentication, body, &w); err != nil {
		return nil, err
	}
	switch {
	case w.MessageID == nil:
		return nil, malformed("AUTHENTICATION has no message-id")
	case w.FID == nil:
		return nil, malformed("AUTHENTICATION has no fid")
	case w.Files == nil:
		return nil, malformed("AUTHENTICATION has no files")
	}
	a := &Authentication{MessageID: *w.MessageID, Files: *w.Files, FID: *w.FID, Tags: w.Tags, Ferry: w.Ferry}
	if w.Token != nil {
		a.Token = *w.Token
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// responseWire is RESPONSE as decoded.
type responseWire struct {
	MessageID *string            `json:"message-id"`
	Response  *string            `json:"response"`
	Reason    string             `json:"reason"`
	Ferry     *ResponseExtension `json:"ferry"`
}

func decodeResponse(body []byte) (*Response, error) {
	var w responseWire
	if err := decodeJSON(TypeResponse, body, &w); err != nil {
		return nil, err
	}
	switch {
	case w.MessageID == nil:
		return nil, malformed("RESPONSE has no message-id")
	case w.Response == nil:
		return nil, malformed("RESPONSE has no response")
	}
	r := &Response{MessageID: *w.MessageID, Response: *w.Response, Reason: w.Reason, Ferry: w.Ferry}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// transferWire is TRANSFER as decoded.
type transferWire struct {
	MessageID *string          `json:"message-id"`
	Chunk     *string          `json:"chunk"`
	Data      json.RawMessage  `json:"data"`
	Ferry     *transferExtWire `json:"ferry"`
}

// transferExtWire is TRANSFER's "ferry" object.
type transferExtWire struct {
	File   *int64 `json:"file"`
	Offset *int64 `json:"offset"`
	Length *int64 `json:"length"`
}

// dataKey opens a strict TRANSFER's data, as Ferry writes it.
var dataKey = []byte(`"data":"`)

// splitData is the fast path of a strict TRANSFER: encoding/json scans
// every byte of a string twice, which for base64 data costs more than
// everything else together. It finds the data string as Ferry writes it
// and returns the body without the string's content, and the content. In
// valid JSON `"data":"` can only open the value of a key "data" (inside a
// string its second quote would have to be escaped), but maybe one in a
// nested object: the caller checks that the top-level data came out empty.
// Content with escapes or line breaks (which the base64 decoder would
// skip, and JSON forbids raw) takes the slow path.
func (r *Reader) splitData() (reduced, text []byte, ok bool) {
	i := bytes.Index(r.body, dataKey)
	if i < 0 {
		return nil, nil, false
	}
	start := i + len(dataKey)
	n := bytes.IndexByte(r.body[start:], '"')
	if n < 0 {
		return nil, nil, false
	}
	text = r.body[start : start+n]
	if bytes.IndexByte(text, '\\') >= 0 || bytes.IndexByte(text, '\n') >= 0 || bytes.IndexByte(text, '\r') >= 0 {
		return nil, nil, false
	}
	reduced = append(append(r.reduced[:0], r.body[:start]...), r.body[start+n:]...)
	r.reduced = reduced
	return reduced, text, true
}

func (r *Reader) decodeTransfer() (*Transfer, error) {
	w := transferWire{Data: r.b64[:0]}
	var fastText []byte
	reduced, text, ok := r.splitData()
	if ok {
		if err := decodeJSON(TypeTransfer, reduced, &w); err == nil && string(w.Data) == `""` {
			fastText = text
		} else {
			w = transferWire{Data: r.b64[:0]}
		}
	}
	if fastText == nil {
		err := decodeJSON(TypeTransfer, r.body, &w)
		if cap(w.Data) > cap(r.b64) {
			r.b64 = w.Data[:0]
		}
		if err != nil {
			return nil, err
		}
	}
	e := w.Ferry
	switch {
	case w.MessageID == nil:
		return nil, malformed("TRANSFER has no message-id")
	case w.Chunk == nil:
		return nil, malformed("TRANSFER has no chunk")
	case e == nil || e.File == nil || e.Offset == nil:
		return nil, malformed("TRANSFER has no ferry.file and ferry.offset: the chunk's place in the transfer is unknown")
	case *e.File < 0 || *e.File >= MaxFiles:
		return nil, malformed("TRANSFER ferry.file is %d", *e.File)
	case *e.Offset < 0 || *e.Offset > MaxSize:
		return nil, malformed("TRANSFER ferry.offset is %d", *e.Offset)
	}
	t := &Transfer{MessageID: *w.MessageID, Chunk: *w.Chunk, File: int(*e.File), Offset: *e.Offset}
	hasData := len(w.Data) > 0 && string(w.Data) != "null"
	if fastText != nil {
		hasData = true // the data string, maybe empty
	}
	switch {
	case hasData && e.Length != nil:
		return nil, malformed("TRANSFER has both data and ferry.length")
	case e.Length != nil:
		n := *e.Length
		if n < 1 || n > int64(r.maxData) {
			if n > 0 {
				return nil, tooLarge("TRANSFER ferry.length is %d, over the chunk limit of %d", n, r.maxData)
			}
			return nil, malformed("TRANSFER ferry.length is %d", n)
		}
		t.Raw = true
		t.Data = r.alloc(int(n))
		if _, err := io.ReadFull(r.r, t.Data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("jsonchunk: read the %d bytes of a chunk: %w", n, err)
		}
	case fastText != nil:
		var err error
		if t.Data, err = r.decodeBase64Text(fastText); err != nil {
			return nil, err
		}
	case hasData:
		var err error
		if t.Data, err = r.decodeBase64(w.Data); err != nil {
			return nil, err
		}
	default:
		return nil, malformed("TRANSFER has neither data nor ferry.length")
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// decodeBase64 decodes a JSON string of base64 into a chunk buffer.
func (r *Reader) decodeBase64(raw json.RawMessage) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, malformed("TRANSFER data is not a JSON string")
	}
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		// Escapes (a peer may write "/" as "\/"): let encoding/json undo them.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, malformed("TRANSFER data: %v", err)
		}
		text = []byte(s)
	}
	return r.decodeBase64Text(text)
}

// decodeBase64Text decodes base64 text into a chunk buffer.
func (r *Reader) decodeBase64Text(text []byte) ([]byte, error) {
	if bytes.IndexByte(text, '\n') >= 0 || bytes.IndexByte(text, '\r') >= 0 {
		// The base64 decoder would skip them; the wire has none.
		return nil, malformed("TRANSFER data is not base64: it holds a line break")
	}
	limit := min(r.maxData, MaxStrictChunkSize)
	if n := base64.StdEncoding.DecodedLen(len(text)); n > limit+2 {
		return nil, tooLarge("TRANSFER data of %d base64 characters is over the chunk limit of %d bytes", len(text), limit)
	}
	buf := r.alloc(base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(buf, text)
	if err != nil {
		return nil, malformed("TRANSFER data is not base64: %v", err)
	}
	if n > limit {
		return nil, tooLarge("TRANSFER data of %d bytes is over the chunk limit of %d", n, limit)
	}
	return buf[:n], nil
}
