package rpc

import (
	"crypto/sha256"
	"encoding"
	"hash"
	"sync"
)

// snapshots is how many recent write ends a writeHash keeps the state of:
// a protocol that commits behind its writes (ftv2a commits a window while
// the next arrives) finds the state of its commit's end among them.
const snapshots = 64

// writeHash is the SHA-256 of a part file's bytes as they are written in
// order, from a prefix the host had hashed. A write anywhere else (a gap,
// a rewrite) stops it for good: the host then reads back, as without it.
type writeHash struct {
	mu    sync.Mutex
	h     hash.Hash
	next  int64 // bytes hashed
	snaps [snapshots]snap
	n     int // snapshots taken
}

type snap struct {
	off   int64
	state []byte
}

// newWriteHash goes on from the host's state of its first hashed bytes; nil
// if the state cannot be taken up.
func newWriteHash(hashed int64, state []byte) *writeHash {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil
	}
	return &writeHash{h: h, next: hashed}
}

// wrote feeds b, just written at off.
func (w *writeHash) wrote(b []byte, off int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.h == nil || len(b) == 0 {
		return
	}
	if off != w.next {
		w.h = nil
		return
	}
	w.h.Write(b)
	w.next += int64(len(b))
	st, err := w.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		w.h = nil
		return
	}
	w.snaps[w.n%snapshots] = snap{off: w.next, state: st}
	w.n++
}

// at returns the state after the first end bytes, if a recent write ended
// there.
func (w *writeHash) at(end int64) (int64, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.h == nil {
		return 0, nil
	}
	for _, s := range w.snaps {
		if s.state != nil && s.off == end {
			return s.off, s.state
		}
	}
	return 0, nil
}
