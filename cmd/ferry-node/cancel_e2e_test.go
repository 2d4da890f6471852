package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestCancel: `ferry cancel` drops an unfinished outgoing transfer from the
// outbox and an unfinished incoming one with its part file, by ID prefix;
// an unknown ID is an error, and `ferry status` lists nothing afterwards.
func TestCancel(t *testing.T) {
	bin := binDir(t)
	n := newNode(t, bin)
	dir := t.TempDir()
	peer := sdk.PeerID{7}

	box, err := transfer.OpenOutbox(filepath.Join(n.home, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	out := &transfer.Outgoing{ID: transfer.NewID(), Peer: peer, PeerName: "bob", Paths: []string{"/nowhere"},
		Files: []sdk.FileInfo{{Name: "f", Size: 10}}, Created: time.Now()}
	if err := box.Save(out); err != nil {
		t.Fatal(err)
	}
	_ = box.Close()

	inbox, err := transfer.OpenInbox(dir, filepath.Join(n.home, "transfers"))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := inbox.Accept(peer, "alice", sdk.Offer{TransferID: transfer.NewID(), Files: []sdk.FileInfo{{Name: "big.bin", Size: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	part, err := inc.Create(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
	if err := part.Commit(ctx, 0, 4096); err != nil {
		t.Fatal(err)
	}
	_ = part.Close(ctx, false)
	inID := inc.ID()
	_ = inbox.Close()
	if parts, _ := filepath.Glob(filepath.Join(dir, ".*"+transfer.PartSuffix)); len(parts) != 1 {
		t.Fatalf("setup: part files %v, want one", parts)
	}

	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"outgoing by prefix", []string{"cancel", out.ID[:8], "--dir", dir}, "cancelled transfer " + out.ID[:8] + " to bob", ""},
		{"incoming by prefix", []string{"cancel", inID[:8], "--dir", dir}, "cancelled transfer " + inID[:8] + " from alice", ""},
		{"again: gone", []string{"cancel", inID[:8], "--dir", dir}, "", "no unfinished transfer"},
		{"unknown", []string{"cancel", "ffffffff", "--dir", dir}, "", "no unfinished transfer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := n.run(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(stderr, tt.wantErr) {
					t.Fatalf("err %v, stderr %q; want an error saying %q", err, stderr, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(stdout, tt.wantOut) {
				t.Fatalf("err %v, stdout %q, stderr %q; want %q", err, stdout, stderr, tt.wantOut)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*"+transfer.PartSuffix)); len(left) > 0 {
		t.Errorf("part files left: %v", left)
	}
	stdout, _, err := n.run("status", "--json", "--dir", dir)
	if err != nil || strings.TrimSpace(stdout) != "" {
		t.Errorf("status after cancelling both: %q, %v; want nothing", stdout, err)
	}
	if _, err := os.Stat(filepath.Join(n.home, "outbox")); err != nil {
		t.Errorf("outbox folder: %v", err)
	}
}
