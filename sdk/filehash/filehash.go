// Package filehash hashes a file with SHA-256 as a protocol reads it to
// send it, so the sender needs no separate hashing pass before its offer.
//
// A [Reader] hashes what is read from the file's start, or from a
// checkpoint: the SHA-256 state of the file's first bytes, kept from an
// earlier attempt, which a resumed send goes on from after reading the few
// bytes between the checkpoint and where the protocol resumes. It reports a
// checkpoint every [CheckpointEvery] bytes and the whole-file hash once the
// last byte is read. The SDK's shims and the core use it; protocol plugins
// do not see it.
package filehash

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// CheckpointEvery is how often, in bytes read, a Reader reports its state.
const CheckpointEvery = 16 << 20

// Reader reads a file and hashes it. It is not safe for concurrent use.
type Reader struct {
	f          *os.File
	h          hash.Hash
	read       int64 // bytes hashed
	size       int64
	done       func(sum []byte)
	checkpoint func(off int64, state []byte)
	once       sync.Once

	// A resume from a checkpoint: the state of the first from bytes, and
	// the offset the protocol reads from; caught up at the first Read.
	from      int64
	fromState []byte
	offset    int64
	failed    bool // the catch-up failed: the file is read unhashed
}

// NewReader returns a Reader of f, a file of size bytes positioned where
// the protocol reads from (its start, unless Resume is called). done gets
// the SHA-256 once every byte was hashed; checkpoint, if not nil, gets the
// state of the first off bytes every CheckpointEvery bytes.
func NewReader(f *os.File, size int64, done func(sum []byte), checkpoint func(off int64, state []byte)) *Reader {
	r := &Reader{f: f, h: sha256.New(), size: size, done: done, checkpoint: checkpoint}
	if size == 0 {
		r.finish()
	}
	return r
}

// Resume makes the Reader go on from state, the SHA-256 state of the
// file's first from bytes (crypto/sha256's MarshalBinary form), for a file
// positioned at offset (from <= offset). The bytes [from, offset) are read
// and hashed at the first Read. A state that does not fit is an error, and
// the Reader is left as it was.
func (r *Reader) Resume(from int64, state []byte, offset int64) error {
	if from > offset || offset > r.size || len(state) < 8 || int64(binary.BigEndian.Uint64(state[len(state)-8:])) != from {
		return fmt.Errorf("filehash: the state does not cover the first %d bytes of a resume at %d", from, offset)
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return fmt.Errorf("filehash: %w", err)
	}
	r.h, r.read, r.from, r.fromState, r.offset = h, from, from, state, offset
	return nil
}

// From returns the checkpoint Resume was given: the state of the file's
// first from bytes, or a nil state.
func (r *Reader) From() (from int64, state []byte) { return r.from, r.fromState }

// catchUp hashes [from, offset) before the first Read after Resume.
func (r *Reader) catchUp() {
	if r.failed || r.read >= r.offset {
		return
	}
	n, err := io.Copy(r.h, io.NewSectionReader(r.f, r.read, r.offset-r.read))
	if err != nil || r.read+n != r.offset {
		r.failed = true // the send goes on; the receiver lacks the hash and keeps the file
		return
	}
	r.read = r.offset
	if r.read == r.size {
		r.finish()
	}
}

// Read reads from the file and hashes what it read.
func (r *Reader) Read(b []byte) (int, error) {
	r.catchUp()
	n, err := r.f.Read(b)
	if n > 0 && !r.failed && r.read < r.size {
		k := min(int64(n), r.size-r.read)
		before := r.read
		r.h.Write(b[:k])
		r.read += k
		switch {
		case r.read == r.size:
			r.finish()
		case r.checkpoint != nil && r.read/CheckpointEvery != before/CheckpointEvery:
			if st, err := r.h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
				r.checkpoint(r.read, st)
			}
		}
	}
	return n, err
}

// WriteTo keeps io.Copy from bypassing Read (os.File's WriteTo would use
// sendfile, which the hash would not see).
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{r})
}

// File returns the file read.
func (r *Reader) File() *os.File { return r.f }

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

func (r *Reader) finish() {
	r.once.Do(func() { r.done(r.h.Sum(nil)) })
}
