package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// umaskOf returns this process's umask, which the ferry processes it
// starts inherit.
func umaskOf(t *testing.T) os.FileMode {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	m := syscall.Umask(0o022)
	syscall.Umask(m)
	return os.FileMode(m)
}

// TestReceivedAsSent: `ferry receive` without --dir (and no transfer.dir)
// receives into its current folder; the files keep the source's permission
// bits under the umask and its modification times; a second send of the
// same folder lands in "folder (1)" rather than merging into the first.
func TestReceivedAsSent(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	b.wd = t.TempDir()
	idB := b.id()
	src := filepath.Join(t.TempDir(), "folder")
	mtime := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	files := map[string]os.FileMode{"run.sh": 0o755, "notes.txt": 0o640, "sub/plain.txt": 0o644}
	for name, mode := range files {
		p := filepath.Join(src, name)
		writeRandom(t, p, 1000, uint64(len(name)))
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	recv := b.start(nil, "receive", "--yes", "--json")
	for i, into := range []string{"folder", "folder (1)"} {
		out, errs, err := a.run("send", src, "--to", idB, "--json")
		if err != nil {
			t.Fatalf("send %d: %v\nstdout:\n%s\nstderr:\n%s\nreceiver:\n%s", i+1, err, out, errs, recv.stderr.String())
		}
		um := umaskOf(t)
		for name, mode := range files {
			st, err := os.Stat(filepath.Join(b.wd, into, name))
			if err != nil {
				t.Fatalf("send %d: %v", i+1, err)
			}
			if got, want := st.Mode().Perm(), mode&^um; got != want {
				t.Errorf("%s/%s: mode %04o, want %04o (source %04o, umask %03o)", into, name, got, want, mode, um)
			}
			if !st.ModTime().Equal(mtime) {
				t.Errorf("%s/%s: modified %v, want %v", into, name, st.ModTime(), mtime)
			}
		}
	}
	if got := treeHashes(t, filepath.Join(b.wd, "folder")); len(got) != len(files) {
		t.Errorf("the first folder holds %d files after the second send, want %d: %v", len(got), len(files), got)
	}
}
