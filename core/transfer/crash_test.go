package transfer

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestCrashAfterLink simulates a crash after the part file was linked into
// place but before the file was recorded done: the retried Close must
// recognise its own link and not make "f.bin (1)".
func TestCrashAfterLink(t *testing.T) {
	base := t.TempDir()
	dir, state := filepath.Join(base, "inbox"), filepath.Join(base, "state")
	in, err := OpenInbox(dir, state)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	content := []byte("linked but not recorded")
	h := sha256.Sum256(content)
	peer := sdk.PeerID{1}
	inc, err := in.Accept(peer, "", sdk.Offer{TransferID: NewID(), Files: []sdk.FileInfo{{Name: "f.bin", Size: int64(len(content)), SHA256: h[:]}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pf, err := inc.Create(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := pf.(*Part)
	if _, err := p.WriteAt(content, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, 0, int64(len(content))); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	final, err := p.place()
	if err != nil || final != "f.bin" {
		t.Fatalf("place = %q, %v", final, err)
	}
	_ = p.keep() // the crash: not recorded, part and journal kept
	p.mu.Unlock()

	in2, err := OpenInbox(dir, state)
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Close()
	inc2, err := in2.Find(peer, inc.ID())
	if err != nil {
		t.Fatal(err)
	}
	pf, err = inc2.Create(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pf.Offset() != int64(len(content)) {
		t.Errorf("Offset() = %d after the crash", pf.Offset())
	}
	if err := pf.Close(ctx, true); err != nil {
		t.Fatalf("Close(true): %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"f.bin"}) {
		t.Errorf("receive folder = %q, want only f.bin", names)
	}
	if got := inc2.Record().Final; !slices.Equal(got, []string{"f.bin"}) {
		t.Errorf("Final = %q", got)
	}
}
