package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Outbox records the transfers this device sends until they complete, so
// that an interrupted one can be resumed under the same transfer ID
// (`ferry resume`, or the same `ferry send` run again): the receiver then
// finds its journal and asks only for what it lacks.
//
// On disk it is one JSON file per transfer, <dir>/<ID>.json, written
// atomically (a temporary file, fsync, rename, fsync of the folder).
type Outbox struct {
	root *os.Root
	dir  string
	mu   sync.Mutex
}

// Outgoing is one transfer being sent.
type Outgoing struct {
	// ID is the transfer ID.
	ID string `json:"id"`
	// Peer and PeerName are the receiver.
	Peer     sdk.PeerID `json:"peer"`
	PeerName string     `json:"peer_name,omitempty"`
	// Protocol is the protocol the user asked for, "" for any.
	Protocol string `json:"protocol,omitempty"`
	// Paths are the local paths the user named, absolute, to scan again
	// on resume.
	Paths []string `json:"paths"`
	// Files are the files offered, as in the offer.
	Files []sdk.FileInfo `json:"files"`
	// Sent holds, per file, the bytes the receiver has confirmed as far
	// as this device knows: the offsets it resumed from and what the
	// protocol reports confirmed (sdk.Confirmations), saved now and then;
	// never bytes only written to the stream.
	Sent []int64 `json:"sent"`
	// Created and Updated are when the record was made and last saved.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// LastError is why the last attempt stopped, if it failed.
	LastError string `json:"last_error,omitempty"`
	// Instance is the receiver instance that accepted the transfer and
	// holds its journal (its nonce), for resumes to go to it when one
	// identity runs twice.
	Instance string `json:"instance,omitempty"`
	// Link is the connection the transfer last ran on, nil before the
	// first.
	Link *Link `json:"link,omitempty"`
	// Account is the account ID (printable) a send to an account reached
	// this device through; "" for a send to the device itself. Each
	// device of the account has its own record.
	Account string `json:"account,omitempty"`
}

// Total returns the size of all files.
func (o *Outgoing) Total() int64 {
	var n int64
	for _, f := range o.Files {
		n += f.Size
	}
	return n
}

// Done returns the bytes confirmed, summed over the files.
func (o *Outgoing) Done() int64 {
	var n int64
	for i, s := range o.Sent {
		if i < len(o.Files) {
			n += min(s, o.Files[i].Size)
		}
	}
	return n
}

// SameFiles reports whether files are the files of o, in order: the same
// names and sizes, and the same SHA-256 sums where both have one (see
// [SameFile]).
func (o *Outgoing) SameFiles(files []sdk.FileInfo) bool {
	return slices.EqualFunc(o.Files, files, SameFile)
}

// OpenOutbox opens (creating it, mode 0700) the outbox folder dir.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	return &Outbox{root: root, dir: dir}, nil
}

// Close releases the outbox folder.
func (b *Outbox) Close() error { return b.root.Close() }

// Save writes o durably, replacing its earlier record.
func (b *Outbox) Save(o *Outgoing) error {
	if !ValidID(o.ID) {
		return fmt.Errorf("save outgoing transfer: invalid id %q", o.ID)
	}
	o.Updated = time.Now().UTC()
	if o.Created.IsZero() {
		o.Created = o.Updated
	}
	data, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("save outgoing transfer %s: %w", o.ID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := writeFileAtomic(b.root, o.ID+".json", data); err != nil {
		return fmt.Errorf("save outgoing transfer %s: %w", o.ID, err)
	}
	return nil
}

// Remove deletes the record of transfer id (it completed, or the user
// gave it up). Removing a record that is not there is not an error.
func (b *Outbox) Remove(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("remove outgoing transfer: invalid id %q", id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := removeIfExists(b.root, id+".json"); err != nil {
		return fmt.Errorf("remove outgoing transfer %s: %w", id, err)
	}
	return syncDir(b.root, ".")
}

// List returns every recorded transfer, oldest first. Records that cannot
// be read are left out and reported in the error.
func (b *Outbox) List() ([]*Outgoing, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return nil, fmt.Errorf("list outbox %s: %w", b.dir, err)
	}
	var out []*Outgoing
	var errs []error
	for _, name := range names {
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !ValidID(id) {
			continue
		}
		data, err := b.root.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var o Outgoing
		if err == nil {
			err = json.Unmarshal(data, &o)
		}
		if err == nil && o.ID != id {
			err = fmt.Errorf("holds transfer %q", o.ID)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("outbox record %s: %w", displayPath(b.root, name), err))
			continue
		}
		out = append(out, &o)
	}
	slices.SortFunc(out, func(a, c *Outgoing) int { return a.Created.Compare(c.Created) })
	return out, errors.Join(errs...)
}

// Find returns the transfer whose ID is id or starts with it; an ambiguous
// prefix is an error listing the candidates, and none is an error wrapping
// [sdk.ErrNotFound].
func (b *Outbox) Find(id string) (*Outgoing, error) {
	all, err := b.List()
	var hits []*Outgoing
	for _, o := range all {
		if id != "" && strings.HasPrefix(o.ID, strings.ToLower(id)) {
			hits = append(hits, o)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return nil, errors.Join(fmt.Errorf("no unfinished outgoing transfer %q: %w", id, sdk.ErrNotFound), err)
	}
	ids := make([]string, len(hits))
	for i, o := range hits {
		ids[i] = o.ID
	}
	return nil, fmt.Errorf("transfer %q is ambiguous: it starts %s", id, strings.Join(ids, ", "))
}

// Match returns the newest recorded transfer to peer of exactly files, or
// nil: running the same `ferry send` again resumes it.
func (b *Outbox) Match(peer sdk.PeerID, files []sdk.FileInfo) *Outgoing {
	all, _ := b.List()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Peer == peer && all[i].SameFiles(files) {
			return all[i]
		}
	}
	return nil
}
