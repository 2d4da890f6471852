package transfer

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	b, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var peer, other sdk.PeerID
	peer[0], other[0] = 1, 2
	sum := sha256.Sum256([]byte("x"))
	files := []sdk.FileInfo{{Name: "a", Size: 10, SHA256: sum[:]}, {Name: "d/b", Size: 30}}
	o := &Outgoing{ID: NewID(), Peer: peer, Paths: []string{"/tmp/a"}, Files: files, Sent: []int64{10, 5}}
	if err := b.Save(o); err != nil {
		t.Fatal(err)
	}
	if got := o.Done(); got != 15 {
		t.Errorf("Done = %d, want 15", got)
	}
	if got := o.Total(); got != 40 {
		t.Errorf("Total = %d, want 40", got)
	}
	if m := b.Match(peer, files); m == nil || m.ID != o.ID {
		t.Errorf("Match(same peer, same files) = %v, want %s", m, o.ID)
	}
	if m := b.Match(other, files); m != nil {
		t.Errorf("Match(other peer) = %s, want nil", m.ID)
	}
	changed := []sdk.FileInfo{files[0], {Name: "d/b", Size: 31}}
	if m := b.Match(peer, changed); m != nil {
		t.Errorf("Match(changed files) = %s, want nil", m.ID)
	}
	if f, err := b.Find(o.ID[:6]); err != nil || f.ID != o.ID {
		t.Errorf("Find(prefix) = %v, %v", f, err)
	}
	if _, err := b.Find("ffff"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find(unknown) error = %v, want ErrNotFound", err)
	}
	// A damaged record is reported, not fatal.
	if err := os.WriteFile(filepath.Join(dir, NewID()+".json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := b.List()
	if len(list) != 1 || err == nil || !strings.Contains(err.Error(), "outbox record") {
		t.Errorf("List with a damaged record = %d records, %v", len(list), err)
	}
	if err := b.Remove(o.ID); err != nil {
		t.Fatal(err)
	}
	if m := b.Match(peer, files); m != nil {
		t.Errorf("Match after Remove = %s", m.ID)
	}
	if err := b.Save(&Outgoing{ID: "../../x"}); err == nil {
		t.Error("Save accepted an invalid id")
	}
}
