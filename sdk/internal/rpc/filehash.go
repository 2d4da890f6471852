package rpc

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

// hashingFile reads a source file handed over by the host and hashes it,
// when the host asked (OpenResponse.hash_wanted): once all size bytes were
// read from offset 0, done gets the SHA-256, once.
type hashingFile struct {
	*os.File
	h          hash.Hash
	read       int64
	size       int64
	done       func(sum []byte)
	checkpoint func(hashed int64, state []byte)
	once       sync.Once
}

// checkpointEvery is how often, in bytes read, a hashingFile reports its
// state for a resume to go on from.
const checkpointEvery = 16 << 20

func newHashingFile(f *os.File, done func(sum []byte), checkpoint func(int64, []byte)) (*hashingFile, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	hf := &hashingFile{File: f, h: sha256.New(), size: st.Size(), done: done, checkpoint: checkpoint}
	if hf.size == 0 {
		hf.finish()
	}
	return hf, nil
}

// catchUp starts the hash from the state of the file's first hashed bytes
// and reads [hashed, offset) to reach the offset the protocol reads from.
func (f *hashingFile) catchUp(hashed int64, state []byte, offset int64) error {
	if err := f.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return fmt.Errorf("hash state: %w", err)
	}
	if len(state) < 8 || int64(binary.BigEndian.Uint64(state[len(state)-8:])) != hashed || hashed > offset {
		return fmt.Errorf("hash state covers another prefix than [0, %d)", hashed)
	}
	n, err := io.Copy(f.h, io.NewSectionReader(f.File, hashed, offset-hashed))
	if err != nil {
		return fmt.Errorf("hash [%d, %d): %w", hashed, offset, err)
	}
	if hashed+n != offset {
		return fmt.Errorf("hash [%d, %d): the file ended at %d", hashed, offset, hashed+n)
	}
	f.read = offset
	if f.read == f.size {
		f.finish()
	}
	return nil
}

func (f *hashingFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	if n > 0 && f.read < f.size {
		k := min(int64(n), f.size-f.read)
		before := f.read
		f.h.Write(b[:k])
		f.read += k
		if f.read == f.size {
			f.finish()
		} else if f.read/checkpointEvery != before/checkpointEvery {
			if st, err := f.h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
				f.checkpoint(f.read, st)
			}
		}
	}
	return n, err
}

// WriteTo keeps io.Copy from bypassing Read (os.File's WriteTo would use
// sendfile, which the hash would not see).
func (f *hashingFile) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{f})
}

func (f *hashingFile) finish() {
	f.once.Do(func() { f.done(f.h.Sum(nil)) })
}
