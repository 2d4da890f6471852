package transfer_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// testUmask returns the process's umask, from /proc where it can be read
// without changing it.
func testUmask() os.FileMode {
	if f, err := os.Open("/proc/self/status"); err == nil {
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

// A received file gets the sender's permission bits less the umask, and
// its modification time; a file whose sender gave no bits gets 0644 less
// the umask; folders 0755 less the umask. Until it is verified the part
// file stays 0600.
func TestReceivedModeAndTime(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	mtime := time.Date(2023, 7, 14, 9, 26, 53, 589e6, time.UTC)
	content := data(5000, 1)
	files := []sdk.FileInfo{
		{Name: "tools/run.sh", Mode: 0o755, ModTime: mtime},
		{Name: "tools/notes.txt", Mode: 0o640, ModTime: mtime},
		{Name: "tools/deep/plain.txt"}, // no mode, no time: an older sender
		{Name: "open.txt", Mode: 0o666},
	}
	for i := range files {
		files[i].Size, files[i].SHA256 = int64(len(content)), sum(content)
	}
	inc := accept(t, in, newPeer(t), files...)
	um := testUmask()
	p := create(t, inc, 0)
	put(t, p, content, 0, 100)
	part := filepath.Join(dir, "tools", ".run.sh."+inc.ID()[:8]+".0.ferry-part")
	if st, err := os.Stat(part); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("part file %s: %v, %v; want mode 0600", part, st, err)
	}
	put(t, p, content, 100, int64(len(content))-100)
	if err := p.Close(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(files); i++ {
		receive(t, inc, i, content)
	}
	for _, c := range []struct {
		name  string
		mode  os.FileMode
		mtime time.Time
	}{
		{"tools/run.sh", 0o755 &^ um, mtime},
		{"tools/notes.txt", 0o640 &^ um, mtime},
		{"tools/deep/plain.txt", 0o644 &^ um, time.Time{}},
		{"open.txt", 0o666 &^ um, time.Time{}},
		{"tools", os.ModeDir | 0o755&^um, time.Time{}},
		{"tools/deep", os.ModeDir | 0o755&^um, time.Time{}},
	} {
		st, err := os.Stat(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v (umask %03o)", c.name, st.Mode(), c.mode, um)
		}
		if !c.mtime.IsZero() && !st.ModTime().Equal(c.mtime) {
			t.Errorf("%s: modified %v, want %v", c.name, st.ModTime(), c.mtime)
		}
		if c.mtime.IsZero() && time.Since(st.ModTime()) > time.Hour {
			t.Errorf("%s: modified %v, want about now", c.name, st.ModTime())
		}
	}
}

// A transfer whose top-level folder is there already, from an earlier
// transfer, goes into "folder (1)" (then "(2)"), never merging; the choice
// is kept across a restart of the receiver, so a resume goes on in the same
// folder; single files keep the "name (1).ext" rule.
func TestFolderOfEarlierTransfer(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	a, b := data(3000, 2), data(4000, 3)
	files := []sdk.FileInfo{file("photos/a.jpg", a), file("photos/2024/b.jpg", b), file("top.txt", a)}

	first := accept(t, in, peer, files...)
	for i, c := range [][]byte{a, b, a} {
		receive(t, first, i, c)
	}
	second := accept(t, in, peer, files...)
	receive(t, second, 0, a)
	if got := second.Record().Final[0]; got != "photos (1)/a.jpg" {
		t.Fatalf("second transfer's first file at %q, want %q", got, "photos (1)/a.jpg")
	}
	id := second.ID()
	// The receiver restarts mid-transfer: the resume keeps the folder.
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	in = openInbox(t, dir, state)
	resumed, err := in.Find(peer, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := resumed.Record().Renamed; got["photos"] != "photos (1)" || len(got) != 1 {
		t.Errorf("Renamed after reload = %v, want photos -> photos (1)", got)
	}
	receive(t, resumed, 1, b)
	receive(t, resumed, 2, a)
	third := accept(t, in, peer, files[:1]...)
	receive(t, third, 0, a)

	want := map[int][]string{
		0: {"photos/a.jpg", "photos/2024/b.jpg", "top.txt"},
		1: {"photos (1)/a.jpg", "photos (1)/2024/b.jpg", "top (1).txt"},
		2: {"photos (2)/a.jpg"},
	}
	for n, inc := range []*transfer.Incoming{first, resumed, third} {
		got := inc.Record().Final
		for i, w := range want[n] {
			if got[i] != w {
				t.Errorf("transfer %d, file %d: at %q, want %q", n+1, i, got[i], w)
			}
		}
	}
	checkFile(t, filepath.Join(dir, "photos (1)", "2024", "b.jpg"), b)
	checkFile(t, filepath.Join(dir, "photos (2)", "a.jpg"), a)
	if got := tree(t, filepath.Join(dir, "photos")); strings.Join(got, ",") != "2024,2024/b.jpg,a.jpg" {
		t.Errorf("the first transfer's folder holds %v: something merged into it", got)
	}
}

// A transfer discarded before any file arrived leaves no folder behind,
// not even the one Accept claimed.
func TestDiscardRemovesClaimedFolder(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	inc := accept(t, in, newPeer(t), file("album/x.bin", data(10, 4)))
	if _, err := os.Stat(filepath.Join(dir, "album")); err != nil {
		t.Fatalf("Accept did not claim the folder: %v", err)
	}
	if err := inc.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

// Receiving into the home folder, with the state folder inside it
// (~/.config/ferry/transfers): a sender naming files inside the state
// folder gets a fresh ".config (1)" instead.
func TestStateInsideReceiveFolder(t *testing.T) {
	home := t.TempDir()
	state := filepath.Join(home, ".config", "ferry", "transfers")
	in := openInbox(t, home, state)
	peer := newPeer(t)
	victim := accept(t, in, peer, file("x.bin", data(10, 5)))
	forged := data(64, 6)
	inc := accept(t, in, peer, file(".config/ferry/transfers/"+victim.ID()+"/done.log", forged))
	receive(t, inc, 0, forged)
	if got, want := inc.Record().Final[0], ".config (1)/ferry/transfers/"+victim.ID()+"/done.log"; got != want {
		t.Errorf("final name %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(state, victim.ID(), "done.log")); !os.IsNotExist(err) {
		t.Errorf("a file was written into the state folder: %v", err)
	}
}
