package jsonchunk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// verifyBlock returns the verify block size of a file of size bytes sent
// in chunks of chunk bytes: size/MaxVerifyBlocks rounded up to a multiple
// of chunk, and at least chunk, so that a file has at most
// MaxVerifyBlocks blocks and a block is whole chunks.
func verifyBlock(chunk int, size int64) int64 {
	c := int64(max(chunk, 1))
	b := (size + MaxVerifyBlocks - 1) / MaxVerifyBlocks
	b = (b + c - 1) / c * c
	return max(b, c)
}

// hashBlocks returns the lowercase hex SHA-256 of each block of the first
// size bytes of r.
func hashBlocks(ctx context.Context, r io.ReaderAt, size, block int64) ([]string, error) {
	sr := io.NewSectionReader(r, 0, size)
	out := make([]string, 0, (size+block-1)/block)
	for off := int64(0); off < size; off += block {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := sha256.New()
		n := min(block, size-off)
		if _, err := io.CopyN(h, sr, n); err != nil {
			return nil, fmt.Errorf("read [%d, %d): %w", off, off+n, err)
		}
		out = append(out, hex.EncodeToString(h.Sum(nil)))
	}
	return out, nil
}

// openView returns a read handle of part's file of its own, which stays
// valid after the host closes (and perhaps deletes) the part file: a
// duplicate of the descriptor of a [sdk.FileBacked] part. It returns nil
// for a part that is not file-backed or cannot be duplicated.
func openView(part sdk.PartFile) *os.File {
	fb, ok := part.(sdk.FileBacked)
	if !ok {
		return nil
	}
	f := fb.File()
	if f == nil {
		return nil
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	_ = raw.Control(func(s uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if d, err := syscall.Dup(int(s)); err == nil {
			syscall.CloseOnExec(d)
			fd = d
		}
	})
	if fd < 0 {
		return nil
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// mismatch handles file i failing its hash check (cause, from
// PartFile.Close): it answers answerTo with RESPONSE Error "sha-256
// mismatch" carrying the file's block hashes, waits verify_wait for the
// sender to name the differing bytes, and returns an error wrapping cause
// that names them when it did.
func (r *receiver) mismatch(ctx context.Context, i int, answerTo string, cause error) error {
	f := r.files[i]
	ext := &ResponseExtension{Code: CodeHashMismatch, File: &i}
	if f.view != nil {
		block := verifyBlock(r.chunk, f.info.Size)
		hashes, err := hashBlocks(ctx, f.view, f.info.Size, block)
		if err == nil {
			ext.Verify = &Verify{File: i, Block: block, SHA256: hashes}
		} else {
			r.Log.Warn("jsonchunk: cannot read back the file that failed its hash check", "file", f.info.Name, "err", err)
		}
	}
	r.Log.Warn("jsonchunk: file failed its sha-256 check", "file", f.info.Name, "transfer", r.tid, "err", cause)
	r.respond(&Response{MessageID: answerTo, Response: Error, Reason: "sha-256 mismatch", Ferry: ext})
	wait := time.NewTimer(r.Config.VerifyWait)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.Err(ctx)
		case <-wait.C:
			return fmt.Errorf("jsonchunk: transfer %s: file %q: the sender did not say which bytes differ within %v: %w", r.tid, f.info.Name, r.Config.VerifyWait, cause)
		case m := <-r.in:
			if m.err != nil {
				return fmt.Errorf("jsonchunk: transfer %s: file %q: the sender hung up without saying which bytes differ: %w", r.tid, f.info.Name, cause)
			}
			switch v := m.m.(type) {
			case *Transfer:
				r.pool.put(v.Data)
			case *Response:
				if v.MessageID != answerTo {
					continue
				}
				if v.Ferry != nil && len(v.Ferry.Ranges) > 0 {
					return fmt.Errorf("jsonchunk: transfer %s: file %q: bytes %s differ from the sender's: %w", r.tid, f.info.Name, ranges.Set(v.Ferry.Ranges).Format(0), cause)
				}
				return fmt.Errorf("jsonchunk: transfer %s: file %q: %s: %w", r.tid, f.info.Name, v.Reason, cause)
			}
		}
	}
}

// mismatch handles the receiver's report that a file failed its hash
// check: it hashes the same blocks of the source, names the blocks that
// differ, tells the receiver, and returns an error wrapping
// sdk.ErrHashMismatch that names them.
func (s *sender) mismatch(ctx context.Context, r *Response) error {
	e := r.Ferry
	name := "a file"
	if e.File != nil && *e.File < len(s.offer.Files) {
		name = fmt.Sprintf("%q", s.offer.Files[*e.File].Name)
	}
	if e.Verify == nil {
		return fmt.Errorf("jsonchunk: transfer %s: %s failed the receiver's check (%s), which could not say which bytes differ: %w",
			s.offer.TransferID, name, r.Reason, sdk.ErrHashMismatch)
	}
	v := e.Verify
	if v.File >= len(s.offer.Files) {
		return fmt.Errorf("jsonchunk: the receiver reports a hash mismatch in file %d of %d: %w", v.File, len(s.offer.Files), ErrMalformed)
	}
	fi := s.offer.Files[v.File]
	if want := (fi.Size + v.Block - 1) / v.Block; int64(len(v.SHA256)) != want {
		return fmt.Errorf("jsonchunk: the receiver sent %d block hashes of %q, want %d for blocks of %d bytes: %w", len(v.SHA256), fi.Name, want, v.Block, ErrMalformed)
	}
	diff, err := s.differing(ctx, v, fi)
	if err != nil {
		return fmt.Errorf("jsonchunk: transfer %s: %q failed the receiver's sha-256 check, and hashing the source failed: %v: %w", s.offer.TransferID, fi.Name, err, sdk.ErrHashMismatch)
	}
	var text string
	if len(diff) > 0 {
		text = fmt.Sprintf("sha-256 mismatch: bytes %s of %q differ between the receiver's copy and the source", diff.Format(0), fi.Name)
	} else {
		text = fmt.Sprintf("sha-256 mismatch: the receiver's copy of %q matches the source block by block, so the source changed after its sha-256 was announced", fi.Name)
	}
	i := v.File
	reply := &Response{MessageID: r.MessageID, Response: Error, Reason: text, Ferry: &ResponseExtension{Code: CodeHashMismatch, File: &i, Ranges: diff}}
	if err := WriteMessage(s.Writer, reply); err == nil {
		_ = s.Writer.Flush()
	}
	s.Log.Warn("jsonchunk: "+text, "transfer", s.offer.TransferID, "file", fi.Name)
	return fmt.Errorf("jsonchunk: transfer %s: %s: %w", s.offer.TransferID, text, sdk.ErrHashMismatch)
}

// differing hashes the source's blocks of file fi and returns the ranges
// whose hash is not the receiver's, merged.
func (s *sender) differing(ctx context.Context, v *Verify, fi sdk.FileInfo) (ranges.Set, error) {
	if s.rd != nil {
		_ = s.rd.Close()
		s.rd = nil
		s.cf = len(s.files) // nothing more is sent
	}
	rd, err := s.src.Open(ctx, v.File, 0)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var diff ranges.Set
	for k, want := range v.SHA256 {
		off := int64(k) * v.Block
		n := min(v.Block, fi.Size-off)
		h := sha256.New()
		if _, err := io.CopyN(h, rd, n); err != nil {
			return nil, fmt.Errorf("read [%d, %d): %w", off, off+n, err)
		}
		if hex.EncodeToString(h.Sum(nil)) != strings.ToLower(want) {
			diff.Add(off, off+n)
		}
	}
	return diff, nil
}
