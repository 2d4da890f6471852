package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHashCache: a stored hash is found while the file is unchanged, and
// missed once it changes, even with its modification time put back.
func TestHashCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	c := OpenHashCache(filepath.Join(dir, "home", "hashcache.json"))
	if got := c.Lookup(st); got != nil {
		t.Fatalf("empty cache found %x", got)
	}
	sum := sha256.Sum256([]byte("one"))
	if err := c.Store(st, sum[:]); err != nil {
		t.Fatal(err)
	}
	// Another process opening the same file sees it.
	c2 := OpenHashCache(filepath.Join(dir, "home", "hashcache.json"))
	if got := c2.Lookup(st); !bytes.Equal(got, sum[:]) {
		t.Fatalf("reopened cache: %x, want %x", got, sum)
	}
	// Same size, content rewritten, modification time put back.
	time.Sleep(10 * time.Millisecond) // ctime has nanosecond resolution; make sure it moves
	if err := os.WriteFile(p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	st2, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Lookup(st2); got != nil {
		t.Fatalf("rewritten file with its mtime restored: cache gave %x", got)
	}
	var nilCache *HashCache
	if nilCache.Lookup(st) != nil || nilCache.Store(st, sum[:]) != nil {
		t.Fatal("a nil cache is not an empty one")
	}
}

// TestScanDefer: with Defer, a file the cache does not know has no hash
// and is not read whole; an empty file has its hash; a file the cache knows
// has the cached hash; HashMissing fills the rest.
func TestScanDefer(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("x"), 3<<20)
	for name, data := range map[string][]byte{"big": big, "empty": nil, "known": []byte("known")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := OpenHashCache(filepath.Join(t.TempDir(), "hc.json"))
	st, _ := os.Stat(filepath.Join(dir, "known"))
	knownSum := sha256.Sum256([]byte("known"))
	if err := cache.Store(st, knownSum[:]); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := ScanWith(ctx, []string{dir}, ScanOptions{Cache: cache, Defer: true})
	if err != nil {
		t.Fatal(err)
	}
	emptySum := sha256.Sum256(nil)
	want := map[string][]byte{"big": nil, "empty": emptySum[:], "known": knownSum[:]}
	for _, lf := range m.Files {
		if w := want[filepath.Base(lf.Info.Name)]; !bytes.Equal(lf.Info.SHA256, w) {
			t.Errorf("%s: hash %x, want %x", lf.Info.Name, lf.Info.SHA256, w)
		}
	}
	if err := m.HashMissing(ctx, cache); err != nil {
		t.Fatal(err)
	}
	bigSum := sha256.Sum256(big)
	for _, lf := range m.Files {
		if filepath.Base(lf.Info.Name) == "big" && !bytes.Equal(lf.Info.SHA256, bigSum[:]) {
			t.Errorf("big after HashMissing: %x", lf.Info.SHA256)
		}
	}
	// HashMissing stored it: a new deferred scan knows it.
	m2, err := ScanWith(ctx, []string{dir}, ScanOptions{Cache: cache, Defer: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lf := range m2.Files {
		if len(lf.Info.SHA256) != 32 {
			t.Errorf("%s: no hash in the second scan", lf.Info.Name)
		}
	}
}

// TestHashFromCheckpoint: HashMissing goes on from a checkpoint and reads
// only the rest of the file; a checkpoint that does not fit costs a full
// pass, never a wrong hash.
func TestHashFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(content)
	half := sha256.New()
	half.Write(content[:len(content)/2])
	good, _ := half.(encoding.BinaryMarshaler).MarshalBinary()
	tests := []struct {
		name  string
		off   int64
		state []byte
	}{
		{"good checkpoint", int64(len(content) / 2), good},
		{"checkpoint for another offset", int64(len(content)/2) + 1, good},
		{"garbage state", 10, []byte("garbage")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := OpenHashCache(filepath.Join(t.TempDir(), "hc.json"))
			m, err := ScanWith(context.Background(), []string{p}, ScanOptions{Cache: cache, Defer: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetCheckpoint(0, tt.off, tt.state, cache); err != nil {
				t.Fatal(err)
			}
			if err := m.HashMissing(context.Background(), cache); err != nil {
				t.Fatal(err)
			}
			if got := m.Files[0].Info.SHA256; !bytes.Equal(got, want[:]) {
				t.Fatalf("hash %x, want %x", got, want)
			}
		})
	}
}

// TestHashCacheFlush: storing many hashes in a row rewrites the cache
// file once, not once per hash (that made a folder's send O(n²)); Flush
// writes the rest, and a cache opened afterwards knows every file.
func TestHashCacheFlush(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "home", "hashcache.json")
	c := OpenHashCache(path)
	var stats []os.FileInfo
	began := time.Now()
	for i := range 50 {
		p := filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
		sum := sha256.Sum256([]byte(p))
		if err := c.Store(st, sum[:]); err != nil {
			t.Fatal(err)
		}
	}
	// The first store wrote the file; the 49 after it within
	// cacheSaveEvery did not (unless this machine took that long).
	if took := time.Since(began); took >= cacheSaveEvery {
		t.Logf("50 stores took %s, over %s: not checking that they were written once", took, cacheSaveEvery)
	} else if known := OpenHashCache(path); known.Lookup(stats[0]) == nil || known.Lookup(stats[49]) != nil {
		t.Errorf("before Flush: first file known %v, last file known %v; want the first only", known.Lookup(stats[0]) != nil, known.Lookup(stats[49]) != nil)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	known := OpenHashCache(path)
	for i, st := range stats {
		if known.Lookup(st) == nil {
			t.Errorf("after Flush: file %d unknown", i)
		}
	}
	if err := c.Flush(); err != nil { // nothing left: no write
		t.Fatal(err)
	}
}
