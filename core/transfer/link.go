package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Link is the connection a transfer last ran on: which transport carried
// it and, when the transport says, which way its bytes went ("direct
// srflx", "relay via turn:198.51.100.7:3478"). `ferry status` shows it
// for each unfinished transfer, so a user can tell a slow relayed
// transfer from a direct one.
type Link struct {
	// Transport is the transport instance that won the connection race.
	Transport string `json:"transport"`
	// Route names the way the bytes went; "" when the transport has one
	// way only (tcp).
	Route string `json:"route,omitempty"`
	// At is when the connection was made.
	At time.Time `json:"at"`
}

// linkFile holds a receiving transfer's Link in its state folder, beside
// record.json (which is written once, at Accept).
const linkFile = "link.json"

// maxLinkSize bounds what loadLink reads.
const maxLinkSize = 4 << 10

func linkRel(id string) string { return id + "/" + linkFile }

// SetLink records the connection the transfer now runs on. The record
// only informs (`ferry status`), so it is written without waiting for the
// disk: no fsync sits between the connection and the first byte.
func (t *Incoming) SetLink(l Link) error {
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("transfer %s: link: %w", t.rec.ID, err)
	}
	if err := writeFileQuick(t.in.state, linkRel(t.rec.ID), data); err != nil {
		return fmt.Errorf("transfer %s: link: %w", t.rec.ID, err)
	}
	t.mu.Lock()
	t.rec.Link = l
	t.mu.Unlock()
	return nil
}

// loadLink reads transfer id's link.json; a missing one (no connection
// recorded yet, or a record of an earlier version) is the zero Link.
func loadLink(state *os.Root, id string) (Link, error) {
	f, err := state.Open(native(linkRel(id)))
	if errors.Is(err, fs.ErrNotExist) {
		return Link{}, nil
	}
	if err != nil {
		return Link{}, fmt.Errorf("load transfer %s: link: %w", id, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLinkSize+1))
	if err != nil {
		return Link{}, fmt.Errorf("load transfer %s: link: %w", id, err)
	}
	if len(data) > maxLinkSize {
		return Link{}, fmt.Errorf("load transfer %s: %s: over %d bytes", id, displayPath(state, linkRel(id)), maxLinkSize)
	}
	var l Link
	if err := json.Unmarshal(data, &l); err != nil {
		return Link{}, fmt.Errorf("load transfer %s: %s: %w", id, displayPath(state, linkRel(id)), err)
	}
	return l, nil
}
