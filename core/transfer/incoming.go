package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// Incoming is one accepted transfer on the receiving side. It is safe for
// concurrent use; each of its files may have one open part at a time.
type Incoming struct {
	in     *Inbox
	byName map[string]int // sanitised name -> index; immutable

	mu         sync.Mutex
	rec        Record // ID, Peer, PeerName, Files (but for SHA256), Accepted immutable; Done, Final, SHA256 under mu
	doneLen    int64  // valid length of the done log
	doneSynced bool   // the done log's folder entry is durable
	parts      map[int]*Part
	discarded  bool
}

func newIncoming(in *Inbox, rec Record, doneLen int64) *Incoming {
	t := &Incoming{in: in, rec: rec, doneLen: doneLen, parts: map[int]*Part{}, byName: make(map[string]int, len(rec.Files))}
	for i, f := range rec.Files {
		t.byName[f.Name] = i
	}
	return t
}

// ID returns the transfer ID.
func (t *Incoming) ID() string { return t.rec.ID }

// Peer returns the sender.
func (t *Incoming) Peer() sdk.PeerID { return t.rec.Peer }

// Record returns a copy of the transfer's record.
func (t *Incoming) Record() Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec.clone()
}

// File returns file index of the record (its SHA256 shared, not to be
// changed), without copying the whole record as Record does.
func (t *Incoming) File(index int) sdk.FileInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec.Files[index]
}

// Final returns where file index was placed, relative to the receive
// folder, or "" if it is not done.
func (t *Incoming) Final(index int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec.Final[index]
}

// Match returns the index in the record of a file the protocol offers one at
// a time: same sanitised name and size (and, if f.SHA256 is set, same hash).
// An error wrapping [ErrBadOffer] otherwise.
func (t *Incoming) Match(f sdk.FileInfo) (int, error) {
	name, err := SanitizeName(f.Name)
	if errors.Is(err, ErrNameUnholdable) {
		name = f.Name // a file refused on its own, if it is one (Create)
	} else if err != nil {
		return -1, fmt.Errorf("transfer %s: match: %w: %w", t.rec.ID, ErrBadOffer, err)
	}
	i, ok := t.byName[name]
	if !ok {
		return -1, fmt.Errorf("transfer %s: file %q was not offered: %w", t.rec.ID, name, ErrBadOffer)
	}
	t.mu.Lock()
	want := t.rec.Files[i]
	t.mu.Unlock()
	if f.Size != want.Size {
		return -1, fmt.Errorf("transfer %s: file %q: size %d, offered as %d: %w", t.rec.ID, name, f.Size, want.Size, ErrBadOffer)
	}
	if len(f.SHA256) > 0 && len(want.SHA256) == 0 {
		// Offered before it was hashed; the hash comes now.
		if err := t.SetHash(i, f.SHA256); err != nil {
			return -1, fmt.Errorf("%w: %w", err, ErrBadOffer)
		}
		return i, nil
	}
	if len(f.SHA256) > 0 && !bytes.Equal(f.SHA256, want.SHA256) {
		return -1, fmt.Errorf("transfer %s: file %q: sha-256 %x, offered as %x: %w", t.rec.ID, name, f.SHA256, want.SHA256, ErrBadOffer)
	}
	return i, nil
}

// TakeHashes records the hashes of a resumed offer (files, in the order
// of the transfer's files) that the first offer lacked; see SetHash.
func (t *Incoming) TakeHashes(files []sdk.FileInfo) error {
	if len(files) != len(t.rec.Files) {
		return fmt.Errorf("transfer %s: resumed with %d files, accepted with %d: %w", t.rec.ID, len(files), len(t.rec.Files), ErrBadOffer)
	}
	for i, f := range files {
		if len(f.SHA256) == 0 {
			continue
		}
		if err := t.SetHash(i, f.SHA256); err != nil {
			return err
		}
	}
	return nil
}

// Create opens, or reopens after a crash or restart, the part file of file
// index and returns it: a [*Part], which implements [sdk.PartFile] and
// [sdk.FileBacked]. The part resumes from what its journal holds.
//
// For a file already done it returns a part whose Offset is the file's
// size, whose Close(ctx, true) succeeds without touching the final file
// again (so a resumed protocol re-offering the file is fine), and whose
// File is the null device.
func (t *Incoming) Create(ctx context.Context, index int) (sdk.PartFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transfer %s: create part %d: %w", t.rec.ID, index, err)
	}
	if t.in.closed.Load() {
		return nil, t.in.errClosed("create part")
	}
	if index < 0 || index >= len(t.rec.Files) {
		return nil, fmt.Errorf("transfer %s: create part: no file %d of %d: %w", t.rec.ID, index, len(t.rec.Files), ErrBadOffer)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.discarded {
		return nil, fmt.Errorf("transfer %s: create part %d: discarded: %w", t.rec.ID, index, sdk.ErrClosed)
	}
	if _, open := t.parts[index]; open {
		return nil, fmt.Errorf("transfer %s: create part for %q: it is already open", t.rec.ID, t.rec.Files[index].Name)
	}
	var p *Part
	var err error
	if _, refused := t.rec.Refused[index]; refused {
		p, err = t.openRefused(index)
	} else if t.rec.Done[index] {
		p, err = t.openDone(index)
	} else {
		p, err = openPart(ctx, t, index)
	}
	if err != nil {
		return nil, err
	}
	t.parts[index] = p
	return p, nil
}

// openDone returns the part of a file already done. It removes what a crash
// between recording the file done and cleaning up may have left.
func (t *Incoming) openDone(index int) (*Part, error) {
	f := t.rec.Files[index]
	rel := partName(t.rec.Dest(index), t.rec.ID, index)
	_ = removeIfExists(t.in.root, rel)
	_ = removeIfExists(t.in.state, journalRel(t.rec.ID, index))
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("transfer %s: reopen %q, already done: %w", t.rec.ID, f.Name, err)
	}
	return &Part{t: t, index: index, name: t.rec.Dest(index), rel: rel, size: f.Size, f: null, done: true}, nil
}

// openRefused returns the part of a file refused on its own (see
// Record.Refused): it looks done, so the protocol sends nothing of it, and
// nothing is written for it.
func (t *Incoming) openRefused(index int) (*Part, error) {
	f := t.rec.Files[index]
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("transfer %s: open %q, refused: %w", t.rec.ID, f.Name, err)
	}
	return &Part{t: t, index: index, name: f.Name, size: f.Size, f: null, done: true}, nil
}

// Refused returns the files refused on their own, by index, with the
// reason (see Record.Refused).
func (t *Incoming) Refused() map[int]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.rec.Refused)
}

// IsRefused reports whether file index was refused on its own.
func (t *Incoming) IsRefused(index int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.rec.Refused[index]
	return ok
}

// release forgets the open part p of file index.
func (t *Incoming) release(index int, p *Part) {
	t.mu.Lock()
	if t.parts[index] == p {
		delete(t.parts, index)
	}
	t.mu.Unlock()
}

// SetHash records the SHA-256 of file index that the sender gave after its
// offer (it hashed the file as it sent it) and hands it to the file's open
// part, which checks the file against it when it closes. It is appended to
// the transfer's done log without an fsync of its own: the file's done
// record, fsynced in the same log, makes it durable, and a hash lost in a
// crash before that comes again with the resumed offer. (Rewriting the
// whole record for each hash made a transfer of n files cost n² bytes.) A
// hash other than one already known is refused: the sender's file changed
// since it was offered.
func (t *Incoming) SetHash(index int, sum []byte) error {
	if len(sum) != sha256.Size {
		return fmt.Errorf("transfer %s: hash of file %d: %d bytes, want %d", t.rec.ID, index, len(sum), sha256.Size)
	}
	t.mu.Lock()
	if index < 0 || index >= len(t.rec.Files) {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: hash of file %d of %d: %w", t.rec.ID, index, len(t.rec.Files), ErrBadOffer)
	}
	f := t.rec.Files[index]
	if len(f.SHA256) > 0 {
		t.mu.Unlock()
		if !bytes.Equal(f.SHA256, sum) {
			return fmt.Errorf("transfer %s: file %q: the sender now gives sha-256 %x, it offered %x: %w", t.rec.ID, f.Name, sum, f.SHA256, ErrFileChanged)
		}
		return nil
	}
	if err := t.appendDoneLog(appendFrame(nil, hashRecPayload(index, sum)), false); err != nil {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: record the sha-256 of %q: %w", t.rec.ID, f.Name, err)
	}
	t.rec.Files[index].SHA256 = bytes.Clone(sum)
	p := t.parts[index]
	t.mu.Unlock()
	// Outside t.mu: a closing part holds p.mu and then takes t.mu.
	if p != nil {
		p.setWant(sum)
	}
	return nil
}

// appendDoneLog appends frames to the transfer's done log, fsynced if
// sync. t.mu is held.
func (t *Incoming) appendDoneLog(frames []byte, sync bool) error {
	if t.discarded {
		return fmt.Errorf("discarded: %w", sdk.ErrClosed)
	}
	rel := doneLogRel(t.rec.ID)
	f, err := t.in.state.OpenFile(native(rel), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	l := logFile{f: f, name: displayPath(t.in.state, rel), size: t.doneLen}
	if sync {
		err = l.append(frames)
	} else {
		err = l.appendUnsynced(frames)
	}
	if cerr := l.close(); err == nil {
		err = cerr
	}
	if err == nil && sync && !t.doneSynced {
		// The log's own entry in its folder, once.
		err = syncDir(t.in.state, t.rec.ID)
		t.doneSynced = err == nil
	}
	if err != nil {
		return err
	}
	t.doneLen = l.size
	return nil
}

// markDone durably records file index as done, in place at final.
func (t *Incoming) markDone(index int, final string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.appendDoneLog(appendFrame(nil, donePayload(index, final)), true); err != nil {
		return fmt.Errorf("transfer %s: record %q done: %w", t.rec.ID, final, err)
	}
	t.rec.Done[index], t.rec.Final[index] = true, final
	return nil
}

// Complete reports whether every file is done: received, verified and in
// place.
func (t *Incoming) Complete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec.Complete()
}

// Results returns, for each file in offer order, the local path it was
// saved at, or "" if it is not done yet.
func (t *Incoming) Results() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, len(t.rec.Final))
	for i, f := range t.rec.Final {
		if t.rec.Done[i] {
			out[i] = filepath.Join(t.in.dir, native(f))
		}
	}
	return out
}

// closeParts closes the open parts, keeping them for a resume.
func (t *Incoming) closeParts() error {
	t.mu.Lock()
	parts := make([]*Part, 0, len(t.parts))
	for _, p := range t.parts {
		parts = append(parts, p)
	}
	t.mu.Unlock()
	var errs []error
	for _, p := range parts {
		errs = append(errs, p.Close(context.Background(), false))
	}
	return errors.Join(errs...)
}

// Discard cancels the transfer: it closes its open parts and removes the
// part files, the journals and the record, and the folders the transfer
// created if they are left empty. Files already done stay: they were
// verified and are the user's. The ID is then unknown, and the Incoming
// unusable.
func (t *Incoming) Discard() error {
	if t.in.closed.Load() {
		return t.in.errClosed("discard transfer")
	}
	t.mu.Lock()
	if t.discarded {
		t.mu.Unlock()
		return nil
	}
	t.discarded = true
	parts := make([]*Part, 0, len(t.parts))
	for _, p := range t.parts {
		parts = append(parts, p)
	}
	clear(t.parts)
	t.mu.Unlock()

	for _, p := range parts {
		p.abort()
	}
	var errs []error
	for i := range t.rec.Files {
		errs = append(errs, removeIfExists(t.in.root, partName(t.rec.Dest(i), t.rec.ID, i)))
	}
	// Remove the folders the transfer made, children first, if empty; a
	// folder that is not (it holds a done file, or anything else) stays.
	dirs := t.madeDirs()
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = t.in.root.Remove(native(dirs[i]))
	}
	if err := t.in.state.RemoveAll(t.rec.ID); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", displayPath(t.in.state, t.rec.ID), err))
	}
	errs = append(errs, syncDir(t.in.state, "."))
	t.in.forget(t)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discard transfer %s: %w", t.rec.ID, err)
	}
	return nil
}

// makeDirs creates folder dir of the receive folder and its missing parents,
// noting each one it creates in the transfer's dirs.log, so that Discard
// removes exactly those. t.mu is held.
func (t *Incoming) makeDirs(dir string) error {
	root := t.in.root
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		d := dir[:i]
		if _, err := root.Lstat(native(d)); err == nil {
			continue // there already (if it is a link, the root judges where it leads)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("create folder %s: %w", displayPath(root, d), err)
		}
		err := root.Mkdir(native(d), dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = syncDir(root, path.Dir(d))
		}
		if err != nil {
			return fmt.Errorf("create folder %s: %w", displayPath(root, d), err)
		}
		// Best effort: a folder not noted is only left behind by Discard.
		if f, err := t.in.state.OpenFile(native(dirsLogRel(t.rec.ID)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			_, _ = f.Write(appendFrame(nil, append([]byte{recDir}, d...)))
			_ = f.Close()
		}
	}
	return nil
}

// makeFolders makes the offer's empty folders (checked by checkFolders),
// under the top-level folders the transfer claimed.
func (t *Incoming) makeFolders(folders []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range folders {
		if top, rest, ok := strings.Cut(d, "/"); ok {
			if to, ok := t.rec.Renamed[top]; ok {
				d = to + "/" + rest
			}
		} else if to, ok := t.rec.Renamed[d]; ok {
			d = to
		}
		if err := t.makeDirs(d); err != nil {
			return fmt.Errorf("transfer %s: empty folder: %w", t.rec.ID, err)
		}
	}
	return nil
}

// madeDirs returns the folders noted by makeDirs, in the order made.
func (t *Incoming) madeDirs() []string {
	f, err := t.in.state.Open(native(dirsLogRel(t.rec.ID)))
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	_, _ = scanFrames(f, func(p []byte) error {
		if len(p) < 2 || p[0] != recDir {
			return errStopScan
		}
		d := string(p[1:])
		if _, err := SanitizeName(d); err != nil {
			return errStopScan
		}
		dirs = append(dirs, d)
		return nil
	})
	return dirs
}
