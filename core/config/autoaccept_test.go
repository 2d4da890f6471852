package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

func peerID(b byte) sdk.PeerID {
	var id sdk.PeerID
	for i := range id {
		id[i] = b
	}
	return id
}

// AddAutoAccept puts a peer in transfer.auto_accept of the file Load reads,
// whatever shape the file is in, keeps its comments and other keys, and
// does not list a peer twice.
func TestAddAutoAccept(t *testing.T) {
	a, b := peerID(1), peerID(2)
	cases := []struct{ name, content string }{
		{"no file", ""},
		{"empty file", "\n"},
		{"comment only", "# my config\n"},
		{"no transfer section", "# keep me\ndevice:\n  name: laptop # inline\n"},
		{"null list", "transfer:\n  auto_accept:\n"},
		{"flow list", "transfer:\n  dir: /tmp/x # where\n  auto_accept: []\n"},
		{"one listed", "transfer:\n  auto_accept:\n    - " + a.String() + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ferry.yaml")
			if c.name != "no file" {
				writeFile(t, dir, "ferry.yaml", c.content)
			}
			for range 2 { // the second time changes nothing
				if err := AddAutoAccept(path, b); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(c.content, "\n") {
				if _, comment, ok := strings.Cut(line, "#"); ok && !strings.Contains(string(data), comment) {
					t.Errorf("comment %q lost:\n%s", comment, data)
				}
			}
			if n := strings.Count(string(data), b.String()); n != 1 {
				t.Errorf("peer listed %d times:\n%s", n, data)
			}
			cfg := mustLoad(t, LoadOptions{File: path})
			want := []string{b.String()}
			if strings.Contains(c.content, a.String()) {
				want = []string{a.String(), b.String()}
			}
			if !slices.Equal(cfg.Transfer.AutoAccept, want) {
				t.Errorf("transfer.auto_accept = %v, want %v\n%s", cfg.Transfer.AutoAccept, want, data)
			}
			if strings.Contains(c.content, "laptop") && cfg.Device.Name != "laptop" {
				t.Errorf("device.name lost:\n%s", data)
			}
		})
	}
	t.Run("not a list", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, dir, "ferry.yaml", "transfer:\n  auto_accept: everyone\n")
		if err := AddAutoAccept(path, b); err == nil || !strings.Contains(err.Error(), "ferry.yaml:2") {
			t.Errorf("err = %v, want one naming ferry.yaml:2", err)
		}
		if data, _ := os.ReadFile(path); string(data) != "transfer:\n  auto_accept: everyone\n" {
			t.Errorf("file changed:\n%s", data)
		}
	})
}
