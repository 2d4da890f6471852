package transfer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

var ctx = context.Background()

// journalPath returns the journal of file index of inc.
func journalPath(state string, inc *transfer.Incoming, index int) string {
	return filepath.Join(state, inc.ID(), fmt.Sprintf("%d.journal", index))
}

func checkMissing(t *testing.T, p *transfer.Part, offset int64, missing [][2]int64) {
	t.Helper()
	if got := p.Offset(); got != offset {
		t.Errorf("Offset() = %d, want %d", got, offset)
	}
	if got := p.Missing(); !slices.Equal(got, missing) {
		t.Errorf("Missing() = %v, want %v", got, missing)
	}
}

func TestPartWrite(t *testing.T) {
	const size = 10000
	tests := []struct {
		name   string
		chunks [][2]int64 // [off, n] in the order written and committed
		// after each chunk: Offset and Missing
		offsets []int64
		missing [][][2]int64
	}{
		{
			name:    "in order",
			chunks:  [][2]int64{{0, 4000}, {4000, 4000}, {8000, 2000}},
			offsets: []int64{4000, 8000, 10000},
			missing: [][][2]int64{{{4000, 10000}}, {{8000, 10000}}, nil},
		},
		{
			name:    "out of order",
			chunks:  [][2]int64{{6000, 2000}, {2000, 2000}, {0, 2000}, {8000, 2000}, {4000, 2000}},
			offsets: []int64{0, 0, 4000, 4000, 10000},
			missing: [][][2]int64{
				{{0, 6000}, {8000, 10000}},
				{{0, 2000}, {4000, 6000}, {8000, 10000}},
				{{4000, 6000}, {8000, 10000}},
				{{4000, 6000}},
				nil,
			},
		},
		{
			name:    "overlapping and replayed",
			chunks:  [][2]int64{{0, 3000}, {0, 3000}, {2000, 5000}, {1000, 1000}, {6500, 3500}},
			offsets: []int64{3000, 3000, 7000, 7000, 10000},
			missing: [][][2]int64{{{3000, 10000}}, {{3000, 10000}}, {{7000, 10000}}, {{7000, 10000}}, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, state := inboxDirs(t)
			in := openInbox(t, dir, state)
			content := data(size, 1)
			inc := accept(t, in, newPeer(t), file("sub/dir/f.bin", content))
			p := create(t, inc, 0)
			if p.Size() != size || p.Name() != "sub/dir/f.bin" {
				t.Fatalf("Size, Name = %d, %q", p.Size(), p.Name())
			}
			checkMissing(t, p, 0, [][2]int64{{0, size}})
			for i, c := range tt.chunks {
				put(t, p, content, c[0], c[1])
				checkMissing(t, p, tt.offsets[i], tt.missing[i])
			}
			if err := p.Close(ctx, true); err != nil {
				t.Fatalf("Close(true): %v", err)
			}
			checkFile(t, filepath.Join(dir, "sub/dir/f.bin"), content)
			if got := tree(t, dir); !slices.Equal(got, []string{"sub", "sub/dir", "sub/dir/f.bin"}) {
				t.Errorf("receive folder = %v", got)
			}
			if got := tree(t, filepath.Join(state, inc.ID())); !slices.Equal(got, []string{"dirs.log", "done.log", "record.json"}) {
				t.Errorf("state folder = %v", got)
			}
			if !inc.Complete() {
				t.Error("Complete() = false")
			}
			if got := inc.Results(); !slices.Equal(got, []string{filepath.Join(dir, "sub/dir/f.bin")}) {
				t.Errorf("Results() = %v", got)
			}
			st, err := os.Stat(filepath.Join(dir, "sub/dir/f.bin"))
			if err != nil {
				t.Fatal(err)
			}
			// No mode from the sender: 0644 under the umask.
			if perm, want := st.Mode().Perm(), 0o644&^testUmask(); perm != want {
				t.Errorf("final file mode %04o, want %04o", perm, want)
			}
		})
	}
}

func TestPartReopen(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	content := data(100000, 2)
	inc := accept(t, in, newPeer(t), file("f.bin", content))
	p := create(t, inc, 0)
	put(t, p, content, 0, 30000)
	put(t, p, content, 50000, 10000)
	// Written but not committed: not counted after a reopen.
	if _, err := p.WriteAt(content[30000:40000], 30000); err != nil {
		t.Fatal(err)
	}
	if _, err := inc.Create(ctx, 0); err == nil {
		t.Error("a second Create of an open part succeeded")
	}
	if err := p.Close(ctx, false); err != nil {
		t.Fatalf("Close(false): %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file after Close(false): %v", err)
	}
	p = create(t, inc, 0)
	checkMissing(t, p, 30000, [][2]int64{{30000, 50000}, {60000, 100000}})
	put(t, p, content, 30000, 20000)
	put(t, p, content, 60000, 40000)
	if err := p.Close(ctx, true); err != nil {
		t.Fatalf("Close(true): %v", err)
	}
	checkFile(t, filepath.Join(dir, "f.bin"), content)
}

func TestJournalTorn(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, path string)
		missing   [][2]int64
		committed int64 // ranges left
	}{
		{"intact", func(*testing.T, string) {}, [][2]int64{{1000, 2000}, {3000, 4000}, {5000, 6000}}, 3},
		{"last record cut short", func(t *testing.T, p string) { truncateBy(t, p, 3) }, [][2]int64{{1000, 2000}, {3000, 6000}}, 2},
		{"only a length left", func(t *testing.T, p string) { truncateBy(t, p, 21) }, [][2]int64{{1000, 2000}, {3000, 6000}}, 2},
		{"garbage appended", func(t *testing.T, p string) { appendBytes(t, p, []byte{9, 0, 0, 0, 1, 2, 3, 4, 5, 6}) }, [][2]int64{{1000, 2000}, {3000, 4000}, {5000, 6000}}, 3},
		{"last record corrupt", func(t *testing.T, p string) { flipLast(t, p) }, [][2]int64{{1000, 2000}, {3000, 6000}}, 2},
		{"header cut", func(t *testing.T, p string) { truncateTo(t, p, 5) }, [][2]int64{{0, 6000}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, state := inboxDirs(t)
			in := openInbox(t, dir, state)
			content := data(6000, 3)
			inc := accept(t, in, newPeer(t), file("f.bin", content))
			p := create(t, inc, 0)
			put(t, p, content, 0, 1000)
			put(t, p, content, 2000, 1000)
			put(t, p, content, 4000, 1000)
			if err := p.Close(ctx, false); err != nil {
				t.Fatal(err)
			}
			jp := journalPath(state, inc, 0)
			// As a crash leaves it: without the closing stamp Close
			// appended last (a frame of 8 + 33 bytes), so that the
			// damage hits the last commit record.
			truncateBy(t, jp, 8+33)
			tt.damage(t, jp)
			p = create(t, inc, 0)
			checkMissing(t, p, p.Offset(), tt.missing)
			// Compacted: the header and one record per range.
			st, err := os.Stat(jp)
			if err != nil {
				t.Fatal(err)
			}
			if want := 8 + 13 + tt.committed*(8+17); st.Size() != want {
				t.Errorf("journal after reopen: %d bytes, want %d", st.Size(), want)
			}
			for _, m := range p.Missing() {
				put(t, p, content, m[0], m[1]-m[0])
			}
			if err := p.Close(ctx, true); err != nil {
				t.Fatalf("Close(true): %v", err)
			}
			checkFile(t, filepath.Join(dir, "f.bin"), content)
		})
	}
}

func truncateBy(t *testing.T, p string, n int64) {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	truncateTo(t, p, st.Size()-n)
}

func truncateTo(t *testing.T, p string, n int64) {
	t.Helper()
	if err := os.Truncate(p, n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipLast(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCommitReplayIdempotent(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	content := data(8192, 4)
	inc := accept(t, in, newPeer(t), file("f.bin", content))
	p := create(t, inc, 0)
	put(t, p, content, 0, 4096)
	jp := journalPath(state, inc, 0)
	before, err := os.Stat(jp)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		put(t, p, content, 0, 4096)
		put(t, p, content, 1000, 96)
	}
	after, err := os.Stat(jp)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() {
		t.Errorf("journal grew from %d to %d bytes on replayed commits", before.Size(), after.Size())
	}
	checkMissing(t, p, 4096, [][2]int64{{4096, 8192}})
	// Replays across a reopen, too.
	if err := p.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	p = create(t, inc, 0)
	put(t, p, content, 0, 4096)
	put(t, p, content, 4096, 4096)
	put(t, p, content, 4096, 4096)
	if err := p.Close(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx, true); err != nil {
		t.Errorf("second Close(true): %v", err)
	}
	checkFile(t, filepath.Join(dir, "f.bin"), content)
}

func TestPartRangeErrors(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	inc := accept(t, in, newPeer(t), sdk.FileInfo{Name: "f", Size: 100})
	p := create(t, inc, 0)
	defer p.Close(ctx, false)
	for _, c := range [][2]int64{{-1, 10}, {0, -1}, {0, 101}, {101, 0}, {50, 51}, {1, 1<<63 - 1}} {
		if err := p.Commit(ctx, c[0], c[1]); err == nil || !strings.Contains(err.Error(), `"f"`) {
			t.Errorf("Commit(%d, %d) = %v, want an error naming the file", c[0], c[1], err)
		}
	}
	for _, c := range [][2]int64{{-1, 10}, {95, 10}, {101, 0}} {
		if _, err := p.WriteAt(make([]byte, c[1]), c[0]); err == nil {
			t.Errorf("WriteAt(%d bytes at %d) succeeded", c[1], c[0])
		}
	}
	if err := p.Commit(ctx, 100, 0); err != nil {
		t.Errorf("Commit(100, 0): %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Commit(cancelled, 0, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context: %v", err)
	}
	if _, err := inc.Create(ctx, 1); !errors.Is(err, transfer.ErrBadOffer) {
		t.Errorf("Create(1) of a 1-file transfer: %v", err)
	}
}

func TestCloseIncomplete(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	content := data(5000, 5)
	inc := accept(t, in, newPeer(t), file("f.bin", content))
	p := create(t, inc, 0)
	put(t, p, content, 0, 1000)
	put(t, p, content, 2000, 1000)
	err := p.Close(ctx, true)
	if err == nil || !strings.Contains(err.Error(), "[1000, 2000), [3000, 5000)") {
		t.Fatalf("Close(true) of an incomplete part: %v, want the missing ranges", err)
	}
	if err := p.Close(ctx, true); err == nil {
		t.Error("Close(true) again after a failed one succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "f.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file of an incomplete part: %v", err)
	}
	p = create(t, inc, 0)
	checkMissing(t, p, 1000, [][2]int64{{1000, 2000}, {3000, 5000}})
	_ = p.Close(ctx, false)
}

func TestCollision(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		want     string
	}{
		{"report.pdf", nil, "report.pdf"},
		{"report.pdf", []string{"report.pdf"}, "report (1).pdf"},
		{"report.pdf", []string{"report.pdf", "report (1).pdf"}, "report (2).pdf"},
		{"d/.bashrc", []string{"d/.bashrc"}, "d (1)/.bashrc"}, // the folder was there: see TestFolderOfEarlierTransfer
		{"Makefile", []string{"Makefile"}, "Makefile (1)"},
		{"a.tar.gz", []string{"a.tar.gz"}, "a.tar (1).gz"},
		{strings.Repeat("é", 125) + ".txt", []string{strings.Repeat("é", 125) + ".txt"}, strings.Repeat("é", 123) + " (1).txt"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir, state := inboxDirs(t)
			in := openInbox(t, dir, state)
			for _, e := range tt.existing {
				p := filepath.Join(dir, e)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("old "+e), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			content := data(3000, 6)
			inc := accept(t, in, newPeer(t), file(tt.name, content))
			receive(t, inc, 0, content)
			if got := inc.Record().Final[0]; got != tt.want {
				t.Fatalf("final name %q, want %q", got, tt.want)
			}
			checkFile(t, filepath.Join(dir, tt.want), content)
			for _, e := range tt.existing {
				checkFile(t, filepath.Join(dir, e), []byte("old "+e))
			}
		})
	}
}

func TestHashMismatch(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	content := data(70000, 7)
	announced := sum([]byte("something else"))
	inc := accept(t, in, newPeer(t), sdk.FileInfo{Name: "docs/bad.bin", Size: int64(len(content)), SHA256: announced})
	p := create(t, inc, 0)
	put(t, p, content, 0, int64(len(content)))
	err := p.Close(ctx, true)
	if !errors.Is(err, transfer.ErrHashMismatch) {
		t.Fatalf("Close(true) = %v, want ErrHashMismatch", err)
	}
	for _, s := range []string{`"docs/bad.bin"`, fmt.Sprintf("%x", announced), fmt.Sprintf("%x", sum(content))} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
	if got := tree(t, dir); !slices.Equal(got, []string{"docs"}) {
		t.Errorf("receive folder after a mismatch = %v, want only the folder", got)
	}
	if got := tree(t, filepath.Join(state, inc.ID())); !slices.Equal(got, []string{"dirs.log", "record.json"}) {
		t.Errorf("state folder after a mismatch = %v", got)
	}
	if inc.Complete() {
		t.Error("Complete() after a mismatch")
	}
	// The file can be received again from scratch.
	p = create(t, inc, 0)
	checkMissing(t, p, 0, [][2]int64{{0, 70000}})
	_ = p.Close(ctx, false)
}

func TestZeroSize(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	inc := accept(t, in, newPeer(t), file("empty", nil), sdk.FileInfo{Name: "empty-nohash"})
	for i := range 2 {
		p := create(t, inc, i)
		checkMissing(t, p, 0, nil)
		err := p.Close(ctx, true)
		if i == 1 {
			// Offered without a hash: kept until the sender gives it.
			if !errors.Is(err, transfer.ErrNoHash) {
				t.Fatalf("Close(true) without a hash: %v, want ErrNoHash", err)
			}
			sum := sha256.Sum256(nil)
			if err := inc.SetHash(1, sum[:]); err != nil {
				t.Fatal(err)
			}
			p = create(t, inc, i)
			err = p.Close(ctx, true)
		}
		if err != nil {
			t.Fatalf("Close(true): %v", err)
		}
	}
	checkFile(t, filepath.Join(dir, "empty"), nil)
	checkFile(t, filepath.Join(dir, "empty-nohash"), nil)
	if !inc.Complete() {
		t.Error("not Complete")
	}
}

// TestRestart receives a transfer across a restart of the receiver: a
// second OpenInbox on the same folders, the first one abandoned as in a
// crash.
func TestRestart(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	f0, f1, f2 := data(10000, 8), data(20000, 9), data(300, 10)
	inc := accept(t, in, peer, file("a/f0", f0), file("a/f1", f1), sdk.FileInfo{Name: "f2", Size: 300})
	receive(t, inc, 0, f0)
	p := create(t, inc, 1)
	put(t, p, f1, 0, 12000)
	// p is left open: the "crash".

	in2 := openInbox(t, dir, state)
	inc2, err := in2.Find(peer, inc.ID())
	if err != nil {
		t.Fatalf("Find after restart: %v", err)
	}
	if rec := inc2.Record(); !slices.Equal(rec.Done, []bool{true, false, false}) || rec.Final[0] != "a/f0" {
		t.Fatalf("record after restart: Done %v, Final %q", rec.Done, rec.Final)
	}
	// A done file is offered again: it reports all bytes and completes
	// without touching the file.
	final0 := filepath.Join(dir, "a/f0")
	st0, err := os.Stat(final0)
	if err != nil {
		t.Fatal(err)
	}
	d := create(t, inc2, 0)
	checkMissing(t, d, 10000, nil)
	if _, err := d.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt to a done file succeeded")
	}
	if err := d.Commit(ctx, 0, 10000); err != nil {
		t.Errorf("Commit of a done file: %v", err)
	}
	if err := d.Close(ctx, true); err != nil {
		t.Fatalf("Close(true) of a done file: %v", err)
	}
	checkFile(t, final0, f0)
	if st, err := os.Stat(final0); err != nil || !os.SameFile(st, st0) || !st.ModTime().Equal(st0.ModTime()) {
		t.Errorf("done file touched again: %v", err)
	}
	if got := tree(t, dir); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "a/f0 (") }) {
		t.Errorf("a second copy of the done file: %v", got)
	}

	p2 := create(t, inc2, 1)
	checkMissing(t, p2, 12000, [][2]int64{{12000, 20000}})
	put(t, p2, f1, 12000, 8000)
	if err := p2.Close(ctx, true); err != nil {
		t.Fatalf("Close(true) after resume: %v", err)
	}
	// f2 was offered without its hash; the sender gives it later.
	sum2 := sha256.Sum256(f2)
	if err := inc2.SetHash(2, sum2[:]); err != nil {
		t.Fatal(err)
	}
	if err := inc2.SetHash(2, make([]byte, 32)); !errors.Is(err, transfer.ErrFileChanged) {
		t.Errorf("SetHash with another hash: %v, want ErrFileChanged", err)
	}
	receive(t, inc2, 2, f2)
	if !inc2.Complete() {
		t.Error("not Complete after resume")
	}
	checkFile(t, filepath.Join(dir, "a/f1"), f1)
	checkFile(t, filepath.Join(dir, "f2"), f2)
	if got := tree(t, dir); !slices.Equal(got, []string{"a", "a/f0", "a/f1", "f2"}) {
		t.Errorf("receive folder = %v", got)
	}
	_ = p.Close(ctx, false) // the abandoned part of the first inbox
}

func TestDiscard(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	if err := os.Mkdir(filepath.Join(dir, "kept"), 0o700); err != nil {
		t.Fatal(err)
	}
	peer := newPeer(t)
	f0, f1 := data(5000, 11), data(7000, 12)
	inc := accept(t, in, peer, file("x/y/f0", f0), file("x/f1", f1), file("z/f2", f1), file("kept/f3", f0))
	p0 := create(t, inc, 0)
	put(t, p0, f0, 0, 2000)
	p1 := create(t, inc, 1)
	put(t, p1, f1, 3000, 2000)
	if err := p1.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	p3 := create(t, inc, 3)
	put(t, p3, f0, 0, 10)
	if err := inc.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if got := tree(t, dir); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("receive folder after Discard = %v, want only the folder that was there", got)
	}
	if got := tree(t, state); len(got) != 0 {
		t.Errorf("state folder after Discard = %v", got)
	}
	if _, err := p0.WriteAt(f0[:10], 0); err == nil {
		t.Error("WriteAt after Discard succeeded")
	}
	if err := p0.Close(ctx, true); err == nil {
		t.Error("Close(true) after Discard succeeded")
	}
	if _, err := inc.Create(ctx, 2); err == nil {
		t.Error("Create after Discard succeeded")
	}
	if _, err := in.Find(peer, inc.ID()); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find after Discard: %v", err)
	}
	if _, err := openInbox(t, dir, state).Find(peer, inc.ID()); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Find after Discard and restart: %v", err)
	}
}

// TestConcurrent writes several files at once, each from several
// goroutines, for the race detector.
func TestConcurrent(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	const files, chunk, chunks = 4, 8192, 16
	contents := make([][]byte, files)
	infos := make([]sdk.FileInfo, files)
	for i := range contents {
		contents[i] = data(chunk*chunks, uint64(100+i))
		infos[i] = file(fmt.Sprintf("f%d", i), contents[i])
	}
	inc := accept(t, in, newPeer(t), infos...)
	var wg sync.WaitGroup
	errs := make(chan error, files*chunks)
	for i := range files {
		p := create(t, inc, i)
		var pw sync.WaitGroup
		for c := range chunks {
			pw.Go(func() {
				off := int64(c * chunk)
				if _, err := p.WriteAt(contents[i][off:off+chunk], off); err != nil {
					errs <- err
					return
				}
				if err := p.Commit(ctx, off, chunk); err != nil {
					errs <- err
				}
				_ = p.Offset()
				_ = inc.Record()
			})
		}
		wg.Go(func() {
			pw.Wait()
			if err := p.Close(ctx, true); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range files {
		checkFile(t, filepath.Join(dir, fmt.Sprintf("f%d", i)), contents[i])
	}
	if !inc.Complete() {
		t.Error("not Complete")
	}
}

// TestSetHashAppends: a hash the sender gives after its offer goes to the
// done log, not into a rewrite of the whole record (which made n files
// cost n² bytes), and is there after a restart.
func TestSetHashAppends(t *testing.T) {
	dir, state := inboxDirs(t)
	in := openInbox(t, dir, state)
	peer := newPeer(t)
	var files []sdk.FileInfo
	for i := range 200 {
		files = append(files, sdk.FileInfo{Name: fmt.Sprintf("d/f%03d", i), Size: 10})
	}
	inc := accept(t, in, peer, files...)
	recPath := filepath.Join(state, inc.ID(), "record.json")
	before, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[int][]byte{}
	for _, i := range []int{3, 150, 199} {
		s := sha256.Sum256([]byte{byte(i)})
		sums[i] = s[:]
		if err := inc.SetHash(i, s[:]); err != nil {
			t.Fatal(err)
		}
	}
	if after, err := os.ReadFile(recPath); err != nil || !bytes.Equal(after, before) {
		t.Errorf("record.json rewritten by SetHash (%v)", err)
	}
	inc2, err := openInbox(t, dir, state).Find(peer, inc.ID())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range inc2.Record().Files {
		if want := sums[i]; !bytes.Equal(f.SHA256, want) {
			t.Errorf("file %d after a restart: sha-256 %x, want %x", i, f.SHA256, want)
		}
	}
}
