package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// hashChunk is how much Part reads back at a time to hash the committed
// prefix.
const hashChunk = 1 << 20

// minSavedHash is the least hashed prefix whose SHA-256 state Commit saves
// in the journal: below it, reading the prefix back on a reopen costs no
// more than one read, and less than the 125-byte hash record per commit.
const minSavedHash = hashChunk

// maxCandidates bounds the "name (n).ext" names tried for a final file.
const maxCandidates = 10000

// Part is the part file of one incoming file: where a receiving protocol
// writes it. It implements [sdk.PartFile] and [sdk.FileBacked] and is safe
// for concurrent use.
//
// The part file lives beside its destination in the receive folder (so the
// final rename stays on one file system), as
// "<folder>/.<base>.<id[:8]>.<index>.ferry-part" with mode 0600; its
// journal lives in the state folder, as "<id>/<index>.journal".
type Part struct {
	t     *Incoming
	index int
	name  string // sanitised wire name: the final name wanted
	rel   string // the part file, relative to the receive folder
	size  int64
	want  []byte // SHA-256 announced by the sender, or nil

	mu        sync.Mutex
	f         *os.File
	j         *journal // nil if done
	done      bool     // the file was done before Create
	closed    bool
	completed bool // closed by a successful Close(ctx, true)

	// The SHA-256 of [0, hashed), fed as the committed prefix grows.
	hash   hash.Hash
	hashed int64
	buf    []byte
	// readBack counts the bytes read back from the part file for the hash,
	// for tests.
	readBack int64
	// hashRefused says why the SHA-256 state saved in the journal was not
	// taken up on reopening, if it was not.
	hashRefused error
	// hashResumed is set when p.hash was taken up from the journal.
	hashResumed bool
	// damaged lists the committed blocks that checkBlocks found altered
	// on reopening, and forgot, for tests and the log.
	damaged [][2]int64
}

// openPart opens or creates the part of file index of t; ctx bounds the
// block check of a part reopened after a crash. t.mu is held.
func openPart(ctx context.Context, t *Incoming, index int) (*Part, error) {
	fi := t.rec.Files[index]
	root, state := t.in.root, t.in.state
	dest := t.rec.Dest(index)
	p := &Part{t: t, index: index, name: dest, rel: partName(dest, t.rec.ID, index), size: fi.Size}
	// The hash may come later (SetHash): hash in any case.
	if len(fi.SHA256) > 0 {
		p.want = fi.SHA256
	}
	p.hash = sha256.New()
	fail := func(err error) (*Part, error) {
		return nil, fmt.Errorf("transfer %s: receive %q: %w", t.rec.ID, fi.Name, err)
	}
	if dir := path.Dir(dest); dir != "." {
		if err := t.makeDirs(dir); err != nil {
			return fail(err)
		}
	}
	j, existed, err := openJournal(state, journalRel(t.rec.ID, index), fi.Size, index)
	if err != nil {
		return fail(err)
	}
	if existed {
		p.f, err = root.OpenFile(native(p.rel), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			p.f, err = nil, nil
		}
		if err != nil {
			_ = j.close()
			return fail(fmt.Errorf("open part file: %w", err))
		}
	}
	if p.f == nil {
		// A new part file. Anything at its name is a leftover of a crash
		// before the journal was written (or a planted link): unlink it.
		if err := removeIfExists(root, p.rel); err != nil {
			_ = j.close()
			return fail(err)
		}
		p.f, err = root.OpenFile(native(p.rel), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			err = syncDir(root, path.Dir(p.rel))
		}
		if err != nil {
			_ = j.close()
			if p.f != nil {
				_ = p.f.Close()
			}
			return fail(fmt.Errorf("create part file: %w", err))
		}
	}
	st, err := p.f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (mode %v)", displayPath(root, p.rel), st.Mode())
	}
	if err != nil {
		_ = j.close()
		_ = p.f.Close()
		return fail(err)
	}
	// Ranges past the end of the part file were lost (the file was cut
	// short behind our back): forget them, durably, before the file can
	// grow with bytes that were never committed.
	if clipped := j.ranges.Clip(st.Size()); !slices.Equal(clipped, j.ranges) {
		_ = j.close()
		j.ranges = clipped
		if err := j.rewrite(); err != nil {
			_ = p.f.Close()
			return fail(err)
		}
	}
	p.j = j
	if existed && !j.stamped(st) {
		// The receiver died with the part open, or the part was written
		// since it was closed: check what it holds against the block
		// hashes before anything resumes from it.
		if err := p.checkBlocks(ctx); err != nil {
			_ = j.close()
			_ = p.f.Close()
			return fail(err)
		}
	}
	p.resumeHash()
	return p, nil
}

// checkBlocks checks the committed prefix against the journal's block
// hashes (see journal), reading it once, and forgets the blocks that do
// not match or cannot be read, so that only they are fetched again. A
// block forgotten below the saved SHA-256 state makes resumeHash refuse
// that state, so the whole file is hashed from disk before it is placed.
// ctx stops the check, leaving the journal as it was.
func (p *Part) checkBlocks(ctx context.Context) error {
	j := p.j
	prefix := j.ranges.Prefix()
	var ends []int64
	for off := range j.states {
		if off > 0 && off <= prefix {
			ends = append(ends, off)
		}
	}
	if len(ends) == 0 {
		return nil
	}
	slices.Sort(ends)
	buf := make([]byte, min(hashChunk, p.size))
	var bad [][2]int64
	start := int64(0)
	for _, end := range ends {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("check the part's blocks: %w", err)
		}
		if !p.blockMatches(start, end, buf) {
			bad = append(bad, [2]int64{start, end})
		}
		start = end
	}
	if len(bad) == 0 {
		return nil
	}
	p.damaged = bad
	if err := j.forget(bad); err != nil {
		return fmt.Errorf("forget damaged blocks %v: %w", bad, err)
	}
	return nil
}

// blockMatches reports whether the part file's bytes [start, end) take the
// SHA-256 state saved at start to the one saved at end.
func (p *Part) blockMatches(start, end int64, buf []byte) bool {
	h := sha256.New()
	if start > 0 {
		var err error
		if h, err = loadHash(start, p.j.states[start], start); err != nil {
			return false
		}
	}
	for pos := start; pos < end; {
		b := buf[:min(int64(len(buf)), end-pos)]
		if _, err := p.f.ReadAt(b, pos); err != nil {
			return false
		}
		p.readBack += int64(len(b))
		h.Write(b)
		pos += int64(len(b))
	}
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return false
	}
	got, err := m.MarshalBinary()
	return err == nil && bytes.Equal(got, p.j.states[end])
}

// resumeHash takes up the SHA-256 state saved in the journal, if any, so
// that the committed prefix it covers is never read back. A state that
// does not fit is refused, with the reason in p.hashRefused, and the hash
// starts from the file's first byte, as for a journal without one: a
// refused state costs a re-read, never a wrong hash.
func (p *Part) resumeHash() {
	j := p.j
	if p.hash == nil || j.hashState == nil {
		return
	}
	h, err := loadHash(j.hashOff, j.hashState, j.ranges.Prefix())
	if err != nil {
		p.hashRefused = fmt.Errorf("saved sha-256 state at %d refused, hashing from the start: %w", j.hashOff, err)
		j.hashState = nil
		return
	}
	p.hash, p.hashed, p.hashResumed = h, j.hashOff, true
}

// loadHash unmarshals a SHA-256 state that should cover the first off
// bytes of a file whose first prefix bytes are committed.
func loadHash(off int64, state []byte, prefix int64) (hash.Hash, error) {
	if off > prefix {
		return nil, fmt.Errorf("it covers %d bytes, only %d are committed", off, prefix)
	}
	// crypto/sha256's marshalled state ends with the number of bytes
	// hashed, big endian.
	if len(state) < 8 || binary.BigEndian.Uint64(state[len(state)-8:]) != uint64(off) {
		return nil, fmt.Errorf("it does not hash %d bytes", off)
	}
	h := sha256.New()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, errors.New("sha-256 state cannot be restored")
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, err
	}
	return h, nil
}

// saveHash hashes the committed prefix that the range [off, off+n), about
// to be committed, makes longer, and returns the state to save with it in
// the journal: nil when there is none to save (no hash, a read error, a
// prefix too short to be worth it, or nothing new). p.mu is held.
func (p *Part) saveHash(ctx context.Context, off, n int64) (hashOff int64, state []byte) {
	if p.hash == nil {
		return 0, nil
	}
	next := p.j.ranges.Clone()
	next.Add(off, off+n)
	// Hashing is only a head start for Close, which catches up anyway:
	// a failure here is not the commit's.
	if err := p.hashPrefix(ctx, next.Prefix()); err != nil {
		return 0, nil
	}
	if p.hashed < minSavedHash || (p.j.hashState != nil && p.j.hashOff == p.hashed) {
		return 0, nil
	}
	m, ok := p.hash.(encoding.BinaryMarshaler)
	if !ok {
		return 0, nil
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return 0, nil
	}
	return p.hashed, state
}

// setWant sets the SHA-256 the sender gave after its offer.
func (p *Part) setWant(sum []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.want) == 0 {
		p.want = bytes.Clone(sum)
	}
}

// Damaged returns the committed blocks, [off, end) each, that the block
// check found altered on disk when the part was reopened, and that are
// missing again so that they are fetched again; nil when none were.
func (p *Part) Damaged() [][2]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.damaged)
}

// Name returns the file's sanitised name, the final name it is meant for.
func (p *Part) Name() string { return p.name }

// Size returns the file's size.
func (p *Part) Size() int64 { return p.size }

// File returns the open part file, read-write, for WriteAt. For a file
// already done it is the null device.
func (p *Part) File() *os.File { return p.f }

// errorf returns an error about this part: "transfer ID: receive NAME: ...".
func (p *Part) errorf(format string, args ...any) error {
	return fmt.Errorf("transfer %s: receive %q: %w", p.t.rec.ID, p.name, fmt.Errorf(format, args...))
}

// WriteAt writes b at off in the part file. Writing outside the file's
// size, after Close or to a file already done is an error. Write errors
// (a full disk) wrap the OS error and name the file.
func (p *Part) WriteAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	f, done, closed := p.f, p.done, p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return 0, p.errorf("write: %w", sdk.ErrClosed)
	case done:
		return 0, p.errorf("write: the file is already received")
	case off < 0 || int64(len(b)) > p.size-off:
		return 0, p.errorf("write of %d bytes at %d: outside the file's %d bytes", len(b), off, p.size)
	}
	n, err := f.WriteAt(b, off)
	if err != nil {
		return n, p.errorf("write at %d: %w", off, err)
	}
	return n, nil
}

// Commit records that bytes [off, off+n) are written. It fsyncs the part
// file, then appends the range to the journal and fsyncs that, and only
// then returns, so the protocol may acknowledge the bytes. A range already
// committed returns at once. A range outside [0, size] is an error.
//
// When the committed prefix grows, Commit reads the newly contiguous bytes
// back (from the page cache) into the running SHA-256, so that Close need
// not read the whole file, and saves the SHA-256 state with the commit in
// the journal, so that a part reopened after a crash need not read its
// committed prefix back either. Bytes must not be written again once
// committed.
func (p *Part) Commit(ctx context.Context, off, n int64) error {
	return p.commit(ctx, off, n, 0, nil)
}

// CommitHashed is Commit with the SHA-256 state of the part file's first
// hashed bytes, computed by the writer as it wrote them (the SDK's shim in
// a protocol plugin's process, which writes through the handed-over
// descriptor). When hashed is the committed prefix the commit makes, the
// state is taken up instead of reading those bytes back; otherwise, or if
// the state does not fit, Commit reads back as usual. The state is trusted
// as the bytes are: the plugin process that wrote them computed it.
func (p *Part) CommitHashed(ctx context.Context, off, n, hashed int64, state []byte) error {
	return p.commit(ctx, off, n, hashed, state)
}

// HashState returns the SHA-256 state of the part file's first hashed
// bytes, for a writer that goes on hashing from there (see CommitHashed);
// state is nil when there is none for the whole committed prefix.
func (p *Part) HashState() (hashed int64, state []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hash == nil || p.j == nil {
		return 0, nil
	}
	// A state saved a window behind the prefix catches up by reading
	// that window back.
	if p.hashPrefix(context.Background(), p.j.ranges.Prefix()) != nil || p.hashed != p.j.ranges.Prefix() {
		return 0, nil
	}
	m, ok := p.hash.(encoding.BinaryMarshaler)
	if !ok {
		return 0, nil
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return 0, nil
	}
	return p.hashed, b
}

func (p *Part) commit(ctx context.Context, off, n, hashed int64, given []byte) error {
	if err := ctx.Err(); err != nil {
		return p.errorf("commit: %w", err)
	}
	if off < 0 || n < 0 || off > p.size || n > p.size-off {
		return p.errorf("commit of [%d, %d+%d): outside the file's %d bytes", off, off, n, p.size)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return p.errorf("commit: %w", sdk.ErrClosed)
	case p.done || n == 0 || p.j.ranges.Covers(off, off+n):
		return nil
	}
	if err := p.f.Sync(); err != nil {
		return p.errorf("commit: sync part file: %w", err)
	}
	if given != nil && p.hash != nil && hashed > p.hashed {
		next := p.j.ranges.Clone()
		next.Add(off, off+n)
		if hashed == next.Prefix() {
			if h, err := loadHash(hashed, given, hashed); err == nil {
				// Like a state from the journal, checked by a full
				// re-read before a mismatch deletes the file.
				p.hash, p.hashed, p.hashResumed = h, hashed, true
			}
		}
	}
	hashOff, state := p.saveHash(ctx, off, n)
	if err := p.j.commit(off, n, hashOff, state); err != nil {
		if p.hash != nil && p.hashed > p.j.ranges.Prefix() {
			// Bytes hashed ahead are not committed after all.
			p.hash.Reset()
			p.hashed = 0
		}
		return p.errorf("commit: %w", err)
	}
	return nil
}

// hashPrefix feeds the file's bytes [p.hashed, end) into p.hash; end is
// at most the committed prefix, or the prefix a commit under way makes.
// On a read error the hash starts over (at the next call). p.mu is held.
func (p *Part) hashPrefix(ctx context.Context, end int64) error {
	if p.hash == nil {
		return nil
	}
	if p.hashed >= end {
		return nil
	}
	if p.buf == nil {
		p.buf = make([]byte, min(hashChunk, p.size))
	}
	for p.hashed < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := p.buf[:min(int64(len(p.buf)), end-p.hashed)]
		if _, err := p.f.ReadAt(b, p.hashed); err != nil {
			at := p.hashed
			p.hash.Reset()
			p.hashed = 0
			return fmt.Errorf("read back %s at %d: %w", displayPath(p.t.in.root, p.rel), at, err)
		}
		p.readBack += int64(len(b))
		p.hash.Write(b)
		p.hashed += int64(len(b))
	}
	return nil
}

// Offset returns how many leading bytes are committed: a resuming protocol
// asks the sender to start there. For a file already done it is the size.
func (p *Part) Offset() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.j == nil {
		return p.size
	}
	return p.j.ranges.Prefix()
}

// Missing returns the byte ranges not committed yet, as [off, end) pairs in
// order, for protocols that resume by chunks. It is empty when the whole
// file is committed.
func (p *Part) Missing() [][2]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.j == nil {
		return nil
	}
	return p.j.ranges.Gaps(0, p.size)
}

// Close finishes with the part.
//
// With complete false it syncs and closes the part file and its journal,
// keeping both for a resume.
//
// With complete true the committed ranges must cover the whole file (else
// the error names the missing ranges, and the part is kept). If the sender
// announced a SHA-256 it is checked: on a mismatch the part file and its
// journal are deleted and the error, wrapping [ErrHashMismatch], names the
// file and both hashes; no final file is made. Then the part file is moved
// into place without ever replacing a file: it is hard-linked as the file's
// name, or, if that is taken, "name (1).ext", "name (2).ext" and so on, and
// then unlinked; the folder is fsynced; the file is recorded done; the
// journal is removed.
//
// Closing a part again is a no-op, except that asking for completion of a
// part closed incomplete is an error.
func (p *Part) Close(ctx context.Context, complete bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		if complete && !p.completed {
			return p.errorf("close: %w", sdk.ErrClosed)
		}
		return nil
	}
	if p.done {
		p.closed, p.completed = true, complete
		_ = p.f.Close()
		p.t.release(p.index, p)
		return nil
	}
	if !complete {
		return p.keep()
	}
	if miss := p.j.ranges.Gaps(0, p.size); len(miss) > 0 {
		return errors.Join(p.errorf("incomplete: bytes %s were not received", miss.Format(4)), p.keep())
	}
	if len(p.want) == 0 {
		return errors.Join(p.errorf("the sender has not given the file's sha-256 (it is sent at the end of the file): %w", ErrNoHash), p.keep())
	}
	if p.hash != nil {
		if err := p.hashPrefix(ctx, p.j.ranges.Prefix()); err != nil {
			return errors.Join(p.errorf("check sha-256: %w", err), p.keep())
		}
		got := p.hash.Sum(nil)
		if !bytes.Equal(got, p.want) && p.hashResumed {
			// The saved state passed its checks but may still be
			// wrong (the journal was edited): before deleting the
			// file, hash it from the start.
			p.hash, p.hashed, p.hashResumed = sha256.New(), 0, false
			if err := p.hashPrefix(ctx, p.j.ranges.Prefix()); err != nil {
				return errors.Join(p.errorf("check sha-256: %w", err), p.keep())
			}
			got = p.hash.Sum(nil)
		}
		if !bytes.Equal(got, p.want) {
			err := p.errorf("got sha-256 %x, the sender announced %x; part file deleted: %w", got, p.want, ErrHashMismatch)
			return errors.Join(err, p.drop())
		}
	}
	final, err := p.place()
	if err != nil {
		return errors.Join(err, p.keep())
	}
	if err := p.t.markDone(p.index, final); err != nil {
		// The file is in place but not recorded: keep the part, so that
		// a retry finds the link it made (place recognises it).
		return errors.Join(p.errorf("%w", err), p.keep())
	}
	// The file is durable and recorded; what remains are leftovers, which
	// Create and Discard also clean up, so errors here do not fail Close,
	// and their removal needs no fsync of its own (a crash that undoes it
	// leaves what Create and Discard remove anyway).
	_ = p.f.Close()
	_ = removeIfExists(p.t.in.root, p.rel)
	_ = p.j.discard()
	p.applyAttrs(final)
	p.closed, p.completed = true, true
	p.t.release(p.index, p)
	return nil
}

// place links the part file to its first free final name and returns that
// name. p.mu is held.
func (p *Part) place() (string, error) {
	root := p.t.in.root
	st, err := p.f.Stat()
	if err != nil {
		return "", p.errorf("stat part file: %w", err)
	}
	for n := 0; n < maxCandidates; n++ {
		cand := candidateName(p.name, n)
		err := root.Link(native(p.rel), native(cand))
		if errors.Is(err, fs.ErrExist) {
			// Taken, unless by this very file: the link an earlier
			// Close made before it failed or the receiver crashed.
			if cst, lerr := root.Lstat(native(cand)); lerr != nil || !os.SameFile(st, cst) {
				continue
			}
			err = nil
		}
		if err != nil && (errors.Is(err, errors.ErrUnsupported) || errors.Is(err, fs.ErrPermission)) {
			// No hard links here (FAT, some network file systems):
			// rename, after checking that the name is free. Unlike
			// a link this can race with another process taking the
			// name.
			if _, lerr := root.Lstat(native(cand)); lerr == nil {
				continue
			}
			err = root.Rename(native(p.rel), native(cand))
		}
		if err != nil {
			return "", p.errorf("move %s into place as %s: %w", displayPath(root, p.rel), displayPath(root, cand), err)
		}
		if err := syncDir(root, path.Dir(cand)); err != nil {
			return "", p.errorf("%w", err)
		}
		return cand, nil
	}
	return "", p.errorf("names %q to %q are all taken", p.name, candidateName(p.name, maxCandidates-1))
}

// keep syncs and closes the part file and its journal, keeping both for a
// resume. p.mu is held.
func (p *Part) keep() error {
	p.closed = true
	p.t.release(p.index, p)
	var errs []error
	if err := p.f.Sync(); err != nil {
		errs = append(errs, p.errorf("sync part file: %w", err))
	} else if st, err := p.f.Stat(); err == nil {
		// Closed cleanly: a reopen that finds the part as it is now
		// need not check its blocks.
		if err := p.j.closeStamp(st); err != nil {
			errs = append(errs, p.errorf("%w", err))
		}
	}
	if err := p.f.Close(); err != nil {
		errs = append(errs, p.errorf("close part file: %w", err))
	}
	if err := p.j.close(); err != nil {
		errs = append(errs, p.errorf("%w", err))
	}
	return errors.Join(errs...)
}

// drop closes and deletes the part file and its journal. p.mu is held.
func (p *Part) drop() error {
	p.closed = true
	p.t.release(p.index, p)
	_ = p.f.Close()
	var errs []error
	if err := removeIfExists(p.t.in.root, p.rel); err != nil {
		errs = append(errs, p.errorf("%w", err))
	} else if err := syncDir(p.t.in.root, path.Dir(p.rel)); err != nil {
		errs = append(errs, p.errorf("%w", err))
	}
	if err := p.j.remove(); err != nil {
		errs = append(errs, p.errorf("%w", err))
	}
	return errors.Join(errs...)
}

// abort closes the part's files without syncing, for Discard, which
// removes them.
func (p *Part) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	_ = p.f.Close()
	if p.j != nil {
		_ = p.j.close()
	}
}
