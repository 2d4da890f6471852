package account

import (
	"encoding/binary"
	"fmt"
)

// Kinds: the first byte of each encoded object, so that one kind is never
// read as another.
const (
	kindCertificate = 1
	kindRevocations = 2
	kindCredentials = 3
	kindRecord      = 4
	// wireVersion is the second byte of each encoded object.
	wireVersion = 1
)

// reader decodes the fixed binary forms; the first error sticks and every
// later read returns zero values.
type reader struct {
	b    []byte
	what string
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMalformed, r.what, fmt.Sprintf(format, args...))
	}
}

func (r *reader) bytes(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("%s: truncated", field)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte(field string) byte {
	b := r.bytes(1, field)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16(field string) int {
	b := r.bytes(2, field)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (r *reader) u64(field string) uint64 {
	b := r.bytes(8, field)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) i64(field string) int64 { return int64(r.u64(field)) }

// header reads and checks the kind and version bytes.
func (r *reader) header(kind byte) {
	k, v := r.byte("kind"), r.byte("version")
	switch {
	case r.err != nil:
	case k != kind:
		r.fail("kind %d, want %d", k, kind)
	case v != wireVersion:
		r.fail("version %d, want %d", v, wireVersion)
	}
}

// end checks that nothing is left.
func (r *reader) end() {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes of trailing data", len(r.b))
	}
}
