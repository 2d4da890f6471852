package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

func TestOpenInboxRefusesStateIsDir(t *testing.T) {
	dir := t.TempDir()
	if in, err := transfer.OpenInbox(dir, dir); err == nil {
		_ = in.Close()
		t.Errorf("OpenInbox(%s, %s) succeeded", dir, dir)
	}
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	for d, want := range map[string]os.FileMode{dir: 0o755 &^ testUmask(), state: 0o700} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != want {
			t.Errorf("%s created with mode %04o, want %04o", d, perm, want)
		}
	}
	if in.Dir() != dir {
		t.Errorf("Dir() = %s, want %s", in.Dir(), dir)
	}
}

func TestAcceptValidation(t *testing.T) {
	good := sdk.FileInfo{Name: "a.txt", Size: 1}
	many := make([]sdk.FileInfo, transfer.MaxFiles+1)
	for i := range many {
		many[i] = sdk.FileInfo{Name: fmt.Sprintf("f%d", i)}
	}
	tests := []struct {
		name  string
		id    string
		files []sdk.FileInfo
		why   string
	}{
		{"bad id", "not-an-id", []sdk.FileInfo{good}, "transfer id"},
		{"upper-case id", strings.ToUpper(transfer.NewID()), []sdk.FileInfo{good}, "transfer id"},
		{"no files", "", nil, "no files"},
		{"too many files", "", many, "more than 100000"},
		{"bad name", "", []sdk.FileInfo{good, {Name: "../x"}}, "file 1"},
		{"duplicate names", "", []sdk.FileInfo{good, good}, "same name as file 0"},
		{"negative size", "", []sdk.FileInfo{{Name: "x", Size: -1}}, "size -1"},
		{"size too big", "", []sdk.FileInfo{{Name: "x", Size: 1<<50 + 1}}, "outside"},
		{"short hash", "", []sdk.FileInfo{{Name: "x", SHA256: make([]byte, 31)}}, "sha-256 of 31 bytes"},
		{"file inside file", "", []sdk.FileInfo{{Name: "a/b"}, {Name: "c"}, {Name: "a/b/c/d"}}, `inside file 0 ("a/b")`},
	}
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = transfer.NewID()
			}
			_, err := in.Accept(peer, "p", sdk.Offer{TransferID: id, Files: tt.files})
			if !errors.Is(err, transfer.ErrBadOffer) {
				t.Fatalf("Accept: %v, want ErrBadOffer", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
		})
	}
	if _, err := in.Accept(sdk.PeerID{}, "", sdk.Offer{TransferID: transfer.NewID(), Files: []sdk.FileInfo{good}}); !errors.Is(err, transfer.ErrBadOffer) {
		t.Errorf("Accept from the zero peer: %v", err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("receive folder after refused offers: %v", got)
	}
	if got := tree(t, state); len(got) != 0 {
		t.Errorf("state folder after refused offers: %v", got)
	}
}

func TestAcceptIdempotent(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer, other := newPeer(t), newPeer(t)
	content := []byte("hello")
	offer := sdk.Offer{TransferID: transfer.NewID(), Files: []sdk.FileInfo{file("a.txt", content), {Name: "b/c.bin", Size: 3}}}
	first, err := in.Accept(peer, "Alice", offer)
	if err != nil {
		t.Fatal(err)
	}
	again, err := in.Accept(peer, "Alice", offer)
	if err != nil || again != first {
		t.Fatalf("Accept again = %p, %v; want %p", again, err, first)
	}
	changed := offer
	changed.Files = []sdk.FileInfo{file("a.txt", content), {Name: "b/c.bin", Size: 4}}
	if _, err := in.Accept(peer, "Alice", changed); !errors.Is(err, transfer.ErrBadOffer) {
		t.Errorf("Accept with other files: %v, want ErrBadOffer", err)
	}
	if _, err := in.Accept(other, "Mallory", offer); !errors.Is(err, transfer.ErrBadOffer) {
		t.Errorf("Accept from another peer: %v, want ErrBadOffer", err)
	}
	if _, err := in.Find(other, offer.TransferID); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find by another peer: %v, want ErrNotFound", err)
	}
	if _, err := in.Find(peer, transfer.NewID()); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find unknown: %v, want ErrNotFound", err)
	}
	if _, err := in.Find(peer, "../../etc"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find with a bad id: %v, want ErrNotFound", err)
	}

	// After a restart the record is loaded.
	in2 := openInbox(t, dir, state)
	loaded, err := in2.Accept(peer, "Alice", offer)
	if err != nil {
		t.Fatalf("Accept after restart: %v", err)
	}
	found, err := in2.Find(peer, offer.TransferID)
	if err != nil || found != loaded {
		t.Fatalf("Find after restart = %p, %v; want %p", found, err, loaded)
	}
	rec := loaded.Record()
	want := first.Record()
	if rec.ID != want.ID || rec.Peer != peer || rec.PeerName != "Alice" || !rec.Accepted.Equal(want.Accepted) ||
		len(rec.Files) != 2 || rec.Files[1].Name != "b/c.bin" || string(rec.Files[0].SHA256) != string(sum(content)) {
		t.Errorf("record after restart = %+v, want %+v", rec, want)
	}
	if _, err := in2.Accept(other, "Mallory", offer); !errors.Is(err, transfer.ErrBadOffer) {
		t.Errorf("Accept from another peer after restart: %v, want ErrBadOffer", err)
	}
}

func TestMatch(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	a, b := []byte("alpha"), []byte("bravo!")
	inc := accept(t, in, newPeer(t), file("x/a.txt", a), sdk.FileInfo{Name: "b.txt", Size: int64(len(b))})
	tests := []struct {
		name string
		f    sdk.FileInfo
		want int // -1: error
	}{
		{"first", sdk.FileInfo{Name: "x/a.txt", Size: 5}, 0},
		{"first with hash", file("x/a.txt", a), 0},
		{"second", sdk.FileInfo{Name: "b.txt", Size: 6}, 1},
		{"wrong size", sdk.FileInfo{Name: "b.txt", Size: 7}, -1},
		{"wrong hash", sdk.FileInfo{Name: "x/a.txt", Size: 5, SHA256: sum(b)}, -1},
		// Offered before it was hashed: the hash is taken up, and from
		// then on another one is refused.
		{"hash where none offered", file("b.txt", b), 1},
		{"another hash after that", sdk.FileInfo{Name: "b.txt", Size: 6, SHA256: sum([]byte("other!"))}, -1},
		{"unknown", sdk.FileInfo{Name: "c.txt"}, -1},
		{"bad name", sdk.FileInfo{Name: "x/../b.txt", Size: 6}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inc.Match(tt.f)
			if tt.want < 0 {
				if !errors.Is(err, transfer.ErrBadOffer) {
					t.Fatalf("Match = %d, %v; want ErrBadOffer", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Match = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestSymlinkEscape plants symbolic links in the receive folder that point
// outside it: nothing may be written outside.
func TestSymlinkEscape(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "target")); err != nil {
		t.Fatal(err)
	}
	payload := []byte("root::0:0::/:/bin/sh\n")
	peer := newPeer(t)

	t.Run("folder link", func(t *testing.T) {
		// A link in place of a top-level folder is a name taken: the
		// transfer goes into "evil (1)" instead.
		inc := accept(t, in, peer, file("evil/passwd", payload))
		receive(t, inc, 0, payload)
		if got := inc.Record().Final[0]; got != "evil (1)/passwd" {
			t.Errorf("final name %q, want %q", got, "evil (1)/passwd")
		}
	})
	t.Run("inner folder link", func(t *testing.T) {
		// A link planted inside the transfer's folder after Accept made
		// it is not followed.
		inc := accept(t, in, peer, file("fresh/sub/passwd", payload))
		if err := os.Symlink(outside, filepath.Join(dir, "fresh", "sub")); err != nil {
			t.Fatal(err)
		}
		if p, err := inc.Create(context.Background(), 0); err == nil {
			_, _ = p.WriteAt(payload, 0)
			_ = p.Commit(context.Background(), 0, int64(len(payload)))
			_ = p.Close(context.Background(), true)
			t.Error("Create through a link to outside succeeded")
		}
	})
	t.Run("file link", func(t *testing.T) {
		// The final name is taken by the link: the file goes beside it.
		inc := accept(t, in, peer, file("target", payload))
		receive(t, inc, 0, payload)
		if got := inc.Record().Final[0]; got != "target (1)" {
			t.Errorf("final name %q, want %q", got, "target (1)")
		}
		checkFile(t, filepath.Join(dir, "target (1)"), payload)
	})
	t.Run("part file link", func(t *testing.T) {
		// A link planted where the part file will be is replaced, not
		// followed.
		inc := accept(t, in, peer, file("plain.txt", payload))
		part := filepath.Join(dir, ".plain.txt."+inc.ID()[:8]+".0.ferry-part")
		if err := os.Symlink(victim, part); err != nil {
			t.Fatal(err)
		}
		receive(t, inc, 0, payload)
		checkFile(t, filepath.Join(dir, "plain.txt"), payload)
	})
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("written outside the receive folder: %v", got)
	}
	checkFile(t, victim, []byte("precious"))
}

func TestPending(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	a := []byte("aaa")
	done := accept(t, in, peer, file("a", a))
	receive(t, done, 0, a)
	open := accept(t, in, peer, file("b", a), file("c", a))
	receive(t, open, 0, a)
	if err := os.MkdirAll(filepath.Join(state, transfer.NewID()), 0o700); err != nil { // a crashed Accept
		t.Fatal(err)
	}

	in2 := openInbox(t, dir, state)
	for _, box := range []*transfer.Inbox{in, in2} {
		recs, err := box.Pending()
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if len(recs) != 1 || recs[0].ID != open.ID() || !slices.Equal(recs[0].Done, []bool{true, false}) {
			t.Errorf("Pending = %+v, want only %s with file 0 done", recs, open.ID())
		}
	}
	n, err := in2.Prune(done.Record().Accepted.Add(1))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := in2.Find(peer, done.ID()); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find after Prune: %v", err)
	}
	checkFile(t, filepath.Join(dir, "a"), a)
}

// TestLink: the connection a transfer last ran on is kept beside its
// record, replaced by the next, and read back by another Inbox; a damaged
// link.json shows as none and leaves the transfer resumable.
func TestLink(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	inc := accept(t, in, newPeer(t), file("a", []byte("aaa")))
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for _, l := range []transfer.Link{
		{Transport: "tcp", At: at},
		{Transport: "ice", Route: "relay via turn:198.18.0.10:3478", At: at.Add(time.Minute)},
	} {
		if err := inc.SetLink(l); err != nil {
			t.Fatalf("SetLink: %v", err)
		}
		recs, err := openInbox(t, dir, state).Pending()
		if err != nil || len(recs) != 1 {
			t.Fatalf("Pending = %v, %v", recs, err)
		}
		if got := recs[0].Link; got != l {
			t.Errorf("Link after reopening = %+v, want %+v", got, l)
		}
	}
	if err := os.WriteFile(filepath.Join(state, inc.ID(), "link.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := openInbox(t, dir, state).Pending()
	if err != nil || len(recs) != 1 || recs[0].Link != (transfer.Link{}) {
		t.Errorf("with a damaged link.json: Pending = %+v, %v; want the transfer with no link", recs, err)
	}
}

// TestFileStates: without opening part files, a transfer says which files
// are settled (done) and which have a journal (some bytes may be held),
// also from another Inbox after a restart.
func TestFileStates(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	a := []byte("aaaa")
	inc := accept(t, in, newPeer(t), file("done", a), file("started", a), file("fresh", a))
	receive(t, inc, 0, a)
	p := create(t, inc, 1)
	put(t, p, a, 0, 2)
	if err := p.Close(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	check := func(inc *transfer.Incoming) {
		t.Helper()
		settled, journaled, err := inc.FileStates()
		if err != nil {
			t.Fatalf("FileStates: %v", err)
		}
		if !slices.Equal(settled, []bool{true, false, false}) || !slices.Equal(journaled, []bool{false, true, false}) {
			t.Errorf("FileStates = settled %v, journaled %v; want done, started, fresh", settled, journaled)
		}
	}
	check(inc)
	again, err := openInbox(t, dir, state).Find(inc.Peer(), inc.ID())
	if err != nil {
		t.Fatal(err)
	}
	check(again)
}
