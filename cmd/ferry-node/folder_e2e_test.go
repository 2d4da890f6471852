package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFolderAsSent: what a folder is, end to end with the real binaries.
// Empty folders (nested, and one holding only a link) are made; the
// modification times and the executable bit arrive; a symbolic link
// pointing outside the tree is not followed and is reported by name (exit
// status 3); an NFC and an NFD spelling of "é" in one folder both arrive,
// neither overwriting the other. Both the small offer (listed in the ASK)
// and the large one (a summary, the manifest on the stream) are checked.
func TestFolderAsSent(t *testing.T) {
	bin := binDir(t)
	cases := []struct {
		name   string
		filler int // extra files, enough for a manifest when large
	}{
		{"listed in the ASK", 0},
		{"by manifest", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newNode(t, bin), newNode(t, bin)
			idB := b.id()
			outside := filepath.Join(t.TempDir(), "secret.txt")
			writeRandom(t, outside, 100, 1)
			src := filepath.Join(t.TempDir(), "tree")
			mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			nfc, nfd := "caf\u00e9.txt", "cafe\u0301.txt"
			files := map[string]os.FileMode{"run.sh": 0o755, "docs/" + nfc: 0o644, "docs/" + nfd: 0o600, "docs/deep/x.bin": 0o644}
			for name, mode := range files {
				p := filepath.Join(src, name)
				writeRandom(t, p, 500+int64(len(name)), uint64(len(name))+uint64(mode))
				if err := os.Chmod(p, mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, mtime, mtime); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tc.filler {
				writeRandom(t, filepath.Join(src, "filler", string(rune('a'+i%26)), "f"+time.Duration(i).String()), 10, uint64(i))
			}
			empties := []string{"empty", "a/b/c", "links"}
			for _, d := range empties {
				if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(outside, filepath.Join(src, "links", "out")); err != nil {
				t.Fatal(err)
			}
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			_, errs, err := a.run("send", src, "--to", idB)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitSkipped {
				t.Fatalf("send exited with %v, want status %d (a link skipped):\n%s\nreceiver:\n%s", err, exitSkipped, errs, recv.stderr.String())
			}
			if !contains(errs, "skipped 1 path(s)", filepath.Join("links", "out"), "symbolic link, not followed") {
				t.Errorf("the link is not reported by name:\n%s", errs)
			}
			got := filepath.Join(dst, "tree")
			want := treeHashes(t, src)
			delete(want, "links/out") // a link: treeHashes reads through it
			have := treeHashes(t, got)
			if len(have) != len(want) {
				t.Errorf("received %d files, want %d", len(have), len(want))
			}
			for name, sum := range want {
				if have[name] != sum {
					t.Errorf("%s: missing or different", name)
				}
			}
			if _, err := os.Lstat(filepath.Join(got, "links", "out")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("links/out arrived (%v): the link was followed", err)
			}
			um := umaskOf(t)
			for name, mode := range files {
				st, err := os.Stat(filepath.Join(got, name))
				if err != nil {
					t.Errorf("%q: %v", name, err)
					continue
				}
				if st.Mode().Perm() != mode&^um {
					t.Errorf("%q: mode %04o, want %04o", name, st.Mode().Perm(), mode&^um)
				}
				if !st.ModTime().Equal(mtime) {
					t.Errorf("%q: modified %v, want %v", name, st.ModTime(), mtime)
				}
			}
			for _, d := range empties {
				if st, err := os.Stat(filepath.Join(got, d)); err != nil || !st.IsDir() {
					t.Errorf("empty folder %s: %v", d, err)
				}
			}
		})
	}
}
