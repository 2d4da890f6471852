package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Inbox is the receiving side of transfers: a receive folder that files
// arrive in, and a state folder where accepted transfers are recorded so
// that a restarted receiver resumes them. It is safe for concurrent use.
//
// Every file operation goes through an [os.Root] opened on one of the two
// folders, so no name from the wire, and no symbolic link planted in either
// folder, can make it touch anything outside them.
type Inbox struct {
	dir, stateDir string
	root          *os.Root // the receive folder
	state         *os.Root // the state folder
	componentMax  int      // the longest name component the receive folder's file system takes
	closed        atomic.Bool

	mu     sync.Mutex
	active map[string]*Incoming // by transfer ID
}

// OpenInbox receives into dir (created 0o755 less the umask if missing) and
// keeps transfer records under stateDir (created 0o700). The two must be
// distinct. stateDir may lie inside dir (receiving into the home folder,
// with the state in ~/.config/ferry): a sender cannot reach it, since
// files land only in top-level folders an Accept creates afresh (an
// existing one is never merged into) or as new top-level files.
func OpenInbox(dir, stateDir string) (*Inbox, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open inbox %s: %w", dir, err)
	}
	absState, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("open inbox: state folder %s: %w", stateDir, err)
	}
	if rel, err := filepath.Rel(absDir, absState); err == nil && rel == "." {
		return nil, fmt.Errorf("open inbox %s: the state folder is the receive folder", absDir)
	}
	// The state folder first: when it lies inside dir, it must be there
	// before any transfer claims its top-level folder.
	if err := os.MkdirAll(absState, 0o700); err != nil {
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	if err := os.MkdirAll(absDir, dirMode); err != nil {
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	root, err := os.OpenRoot(absDir)
	if err != nil {
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	state, err := os.OpenRoot(absState)
	if err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	return &Inbox{dir: absDir, stateDir: absState, root: root, state: state, componentMax: componentMax(absDir), active: map[string]*Incoming{}}, nil
}

// Dir returns the receive folder, as an absolute path.
func (in *Inbox) Dir() string { return in.dir }

// StateDir returns the state folder, as an absolute path.
func (in *Inbox) StateDir() string { return in.stateDir }

// Close closes the part files still open, keeping them (and their journals)
// for a later resume, and then the inbox. Calls on the inbox or its
// transfers after Close fail.
func (in *Inbox) Close() error {
	if in.closed.Swap(true) {
		return nil
	}
	in.mu.Lock()
	active := make([]*Incoming, 0, len(in.active))
	for _, t := range in.active {
		active = append(active, t)
	}
	in.mu.Unlock()
	var errs []error
	for _, t := range active {
		errs = append(errs, t.closeParts())
	}
	errs = append(errs, in.root.Close(), in.state.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close inbox %s: %w", in.dir, err)
	}
	return nil
}

func (in *Inbox) errClosed(op string) error {
	return fmt.Errorf("%s: inbox %s: %w", op, in.dir, sdk.ErrClosed)
}

// Accept records an accepted offer from peer (fsynced, atomically written,
// under the state folder) and returns its Incoming.
//
// The offer must have a valid ID (see [ValidID]) and 1 to [MaxFiles] files
// with names that pass [SanitizeName] (but that a name the receiving file
// system cannot hold, [ErrNameUnholdable], refuses that file alone: see
// [Record.Refused]), unique, none inside another (as "a" and "a/b"), sizes in [0, MaxFileSize] and SHA-256 hashes of 32 bytes or
// none; otherwise the error wraps [ErrBadOffer] and says which file and why.
//
// The top-level folders of the offer are created at once, each under the
// first free name ("photos", else "photos (1)", ...; see [Record.Renamed]),
// so that a transfer never merges into a folder that was there before it.
//
// folders are the offer's empty folders (names checked as file names are,
// none the name of a file): each is made at once, with its parents.
//
// Accepting the same (peer, ID) again with the same files (names, sizes
// and hashes) returns the existing Incoming, also after a restart: it loads
// the record. The same ID with other files, or from another peer, is an
// error wrapping ErrBadOffer.
func (in *Inbox) Accept(peer sdk.PeerID, peerName string, offer sdk.Offer, folders ...string) (*Incoming, error) {
	if in.closed.Load() {
		return nil, in.errClosed("accept")
	}
	if peer.IsZero() {
		return nil, fmt.Errorf("accept offer %s: no peer: %w", offer.TransferID, ErrBadOffer)
	}
	files, refused, err := checkOffer(offer, in.componentMax)
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	if err := checkFolders(offer.TransferID, files, folders); err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	id := offer.TransferID
	in.mu.Lock()
	defer in.mu.Unlock()
	t, err := in.lookupLocked(id)
	switch {
	case err == nil:
		if !t.rec.Peer.Equal(peer) {
			return nil, fmt.Errorf("accept offer %s from %s: the transfer id is taken by another peer: %w", id, peer.Short(), ErrBadOffer)
		}
		if !sameFiles(t.rec.Files, files) {
			return nil, fmt.Errorf("accept offer %s from %s: already accepted with other files: %w", id, peer.Short(), ErrBadOffer)
		}
		// A resumed offer may bring hashes the first one lacked.
		for i, f := range files {
			if len(f.SHA256) > 0 && len(t.rec.Files[i].SHA256) == 0 {
				if err := t.SetHash(i, f.SHA256); err != nil {
					return nil, fmt.Errorf("accept: %w", err)
				}
			}
		}
		return t, nil
	case !errors.Is(err, sdk.ErrNotFound):
		return nil, fmt.Errorf("accept: %w", err)
	}
	renamed, made, err := in.claimFolders(held(files, refused), folders)
	if err != nil {
		return nil, fmt.Errorf("accept offer %s: %w", id, err)
	}
	rec := Record{
		ID: id, Peer: peer, PeerName: peerName, Files: files,
		Accepted: time.Now().UTC().Round(time.Millisecond),
		Done:     make([]bool, len(files)), Final: make([]string, len(files)),
		Renamed: renamed, Refused: refused,
	}
	if err := saveRecord(in.state, rec); err != nil {
		for _, d := range made {
			_ = in.root.Remove(native(d))
		}
		return nil, fmt.Errorf("accept: %w", err)
	}
	in.noteDirs(id, made)
	t = newIncoming(in, rec, 0)
	in.active[id] = t
	if err := t.makeFolders(folders); err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	return t, nil
}

// held returns the files not refused.
func held(files []sdk.FileInfo, refused map[int]string) []sdk.FileInfo {
	if len(refused) == 0 {
		return files
	}
	out := make([]sdk.FileInfo, 0, len(files)-len(refused))
	for i, f := range files {
		if _, ok := refused[i]; !ok {
			out = append(out, f)
		}
	}
	return out
}

// Find returns the accepted transfer (peer, id), from memory or from the
// state folder; an error wrapping [sdk.ErrNotFound] if there is none, or if
// the transfer is another peer's.
func (in *Inbox) Find(peer sdk.PeerID, id string) (*Incoming, error) {
	if in.closed.Load() {
		return nil, in.errClosed("find transfer")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	t, err := in.lookupLocked(id)
	if err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	if !t.rec.Peer.Equal(peer) {
		return nil, fmt.Errorf("find: transfer %s from %s: %w", id, peer.Short(), sdk.ErrNotFound)
	}
	return t, nil
}

// lookupLocked returns transfer id from memory or disk. in.mu is held.
func (in *Inbox) lookupLocked(id string) (*Incoming, error) {
	if t, ok := in.active[id]; ok {
		return t, nil
	}
	rec, doneLen, err := loadRecord(in.state, id)
	if err != nil {
		return nil, err
	}
	t := newIncoming(in, rec, doneLen)
	in.active[id] = t
	return t, nil
}

// forget drops t from memory, if it is the transfer known by its ID.
func (in *Inbox) forget(t *Incoming) {
	in.mu.Lock()
	if in.active[t.rec.ID] == t {
		delete(in.active, t.rec.ID)
	}
	in.mu.Unlock()
}

// records calls fn with the record of every transfer in the state folder.
// Records that cannot be read are skipped and their errors returned,
// joined.
func (in *Inbox) records(fn func(Record)) error {
	d, err := in.state.Open(".")
	if err != nil {
		return fmt.Errorf("list transfers: %w", err)
	}
	entries, err := d.ReadDir(-1)
	_ = d.Close()
	if err != nil {
		return fmt.Errorf("list transfers in %s: %w", in.stateDir, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		in.mu.Lock()
		t := in.active[e.Name()]
		in.mu.Unlock()
		if t != nil {
			fn(t.Record())
			continue
		}
		rec, _, err := loadRecord(in.state, e.Name())
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			// A folder without a record: an Accept that crashed
			// before writing it, or a Discard in progress.
		case err != nil:
			errs = append(errs, err)
		default:
			fn(rec)
		}
	}
	return errors.Join(errs...)
}

// Pending lists the records of accepted transfers not yet complete, oldest
// first (for `ferry status`). Records that cannot be read are left out and
// reported in the error, which may come with a non-empty list.
func (in *Inbox) Pending() ([]Record, error) {
	if in.closed.Load() {
		return nil, in.errClosed("pending transfers")
	}
	var out []Record
	err := in.records(func(r Record) {
		if !r.Complete() {
			out = append(out, r)
		}
	})
	slices.SortFunc(out, func(a, b Record) int { return a.Accepted.Compare(b.Accepted) })
	return out, err
}

// Prune deletes the records of complete transfers accepted before before,
// and reports how many it deleted. Received files are not touched; a
// pruned transfer's ID is unknown afterwards, so a sender offering it again
// starts a new transfer.
func (in *Inbox) Prune(before time.Time) (int, error) {
	if in.closed.Load() {
		return 0, in.errClosed("prune transfers")
	}
	var old []string
	err := in.records(func(r Record) {
		if r.Complete() && r.Accepted.Before(before) {
			old = append(old, r.ID)
		}
	})
	n := 0
	var errs []error
	for _, id := range old {
		in.mu.Lock()
		delete(in.active, id)
		in.mu.Unlock()
		if e := in.state.RemoveAll(id); e != nil && !errors.Is(e, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("prune transfer %s: %w", id, e))
			continue
		}
		n++
	}
	if n > 0 {
		errs = append(errs, syncDir(in.state, "."))
	}
	return n, errors.Join(append([]error{err}, errs...)...)
}

// Received returns how many bytes of r's files the receiver holds durably:
// the files done plus the committed ranges of the others' journals. It
// only reads, so it may run beside a receiver writing the same transfer
// (`ferry status`); a journal it cannot read counts as empty.
func (in *Inbox) Received(r Record) int64 {
	var n int64
	for i, f := range r.Files {
		if i < len(r.Done) && r.Done[i] {
			n += f.Size
			continue
		}
		j := &journal{state: in.state, rel: journalRel(r.ID, i), size: f.Size, index: i}
		fh, err := in.state.OpenFile(native(j.rel), os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		if ok, _ := j.read(fh); ok {
			n += j.ranges.Total()
		}
		_ = fh.Close()
	}
	return n
}
