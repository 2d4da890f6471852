package jsonchunk

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// WriteMessage writes m (an *Authentication, *Response or *Transfer) as
// one frame, after checking it as Reader would; a message Reader would
// refuse is an error wrapping ErrMalformed, and nothing is written. A
// Transfer with Raw set is written in fast mode (its bytes after the
// frame), otherwise in strict mode (base64 in the JSON).
func WriteMessage(w io.Writer, m Message) error {
	var frame []byte
	var err error
	switch v := m.(type) {
	case *Authentication:
		frame, err = appendAuthentication(nil, v)
	case *Response:
		frame, err = appendResponse(nil, v)
	case *Transfer:
		frame, err = appendTransfer(nil, v)
	default:
		return malformed("cannot write a %T", m)
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return err
	}
	if t, ok := m.(*Transfer); ok && t.Raw {
		_, err = w.Write(t.Data)
	}
	return err
}

// appendFrame appends the frame of type t around the JSON body.
func appendFrame(dst []byte, t MessageType, body []byte) ([]byte, error) {
	if len(body)+1 > MaxFrame {
		return dst, tooLarge("%s of %d bytes is over the frame limit of %d", t, len(body)+1, MaxFrame)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)+1))
	dst = append(dst, byte(t))
	return append(dst, body...), nil
}

func appendAuthentication(dst []byte, a *Authentication) ([]byte, error) {
	if err := a.validate(); err != nil {
		return dst, err
	}
	c := *a
	if c.Files == nil {
		c.Files = []File{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	body, err := json.Marshal(&c)
	if err != nil {
		return dst, fmt.Errorf("jsonchunk: encode AUTHENTICATION: %w", err)
	}
	return appendFrame(dst, TypeAuthentication, body)
}

func appendResponse(dst []byte, r *Response) ([]byte, error) {
	if err := r.validate(); err != nil {
		return dst, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return dst, fmt.Errorf("jsonchunk: encode RESPONSE: %w", err)
	}
	return appendFrame(dst, TypeResponse, body)
}

// appendTransfer appends a TRANSFER's frame; in fast mode its data is not
// included. The JSON is written by hand, as this is the hot path; its
// strings are UUIDs, which need no escaping.
func appendTransfer(dst []byte, t *Transfer) ([]byte, error) {
	if err := t.validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(TypeTransfer))
	dst = append(dst, `{"message-id":"`...)
	dst = append(dst, t.MessageID...)
	dst = append(dst, `","chunk":"`...)
	dst = append(dst, t.Chunk...)
	if !t.Raw {
		dst = append(dst, `","data":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, t.Data)
	}
	dst = append(dst, `","ferry":{"file":`...)
	dst = strconv.AppendInt(dst, int64(t.File), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, t.Offset, 10)
	if t.Raw {
		dst = append(dst, `,"length":`...)
		dst = strconv.AppendInt(dst, int64(len(t.Data)), 10)
	}
	dst = append(dst, "}}"...)
	n := len(dst) - start - 4
	if n > MaxFrame {
		return dst[:start], tooLarge("TRANSFER of %d bytes is over the frame limit of %d", n, MaxFrame)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}
