package transfer_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// newPeer returns a random peer ID.
func newPeer(t testing.TB) sdk.PeerID {
	t.Helper()
	var key [sdk.PeerIDLen]byte
	if _, err := crand.Read(key[:]); err != nil {
		t.Fatal(err)
	}
	id, err := sdk.PeerIDFromKey(key[:])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// inboxDirs returns a fresh receive folder and state folder.
func inboxDirs(t testing.TB) (dir, state string) {
	t.Helper()
	base := t.TempDir()
	return filepath.Join(base, "inbox"), filepath.Join(base, "state")
}

// openInbox opens an inbox on dir and state, closed at the end of the test.
func openInbox(t testing.TB, dir, state string) *transfer.Inbox {
	t.Helper()
	in, err := transfer.OpenInbox(dir, state)
	if err != nil {
		t.Fatalf("OpenInbox: %v", err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// data returns n pseudo-random bytes from seed.
func data(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// file returns the FileInfo of content under name, with its hash.
func file(name string, content []byte) sdk.FileInfo {
	return sdk.FileInfo{Name: name, Size: int64(len(content)), SHA256: sum(content)}
}

// accept accepts files from peer under a new ID.
func accept(t testing.TB, in *transfer.Inbox, peer sdk.PeerID, files ...sdk.FileInfo) *transfer.Incoming {
	t.Helper()
	inc, err := in.Accept(peer, "tester", sdk.Offer{TransferID: transfer.NewID(), Files: files})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return inc
}

// create opens the part of file index as a *transfer.Part.
func create(t testing.TB, inc *transfer.Incoming, index int) *transfer.Part {
	t.Helper()
	pf, err := inc.Create(context.Background(), index)
	if err != nil {
		t.Fatalf("Create(%d): %v", index, err)
	}
	p, ok := pf.(*transfer.Part)
	if !ok {
		t.Fatalf("Create returned %T", pf)
	}
	if _, ok := pf.(sdk.FileBacked); !ok {
		t.Fatal("part is not sdk.FileBacked")
	}
	return p
}

// put writes content[off:off+n] and commits it.
func put(t testing.TB, p *transfer.Part, content []byte, off, n int64) {
	t.Helper()
	if _, err := p.WriteAt(content[off:off+n], off); err != nil {
		t.Fatalf("WriteAt(%d, %d): %v", off, n, err)
	}
	if err := p.Commit(context.Background(), off, n); err != nil {
		t.Fatalf("Commit(%d, %d): %v", off, n, err)
	}
}

// receive writes content through a fresh part of file index and completes
// it.
func receive(t testing.TB, inc *transfer.Incoming, index int, content []byte) {
	t.Helper()
	p := create(t, inc, index)
	for off := int64(0); off < int64(len(content)); off += 4096 {
		put(t, p, content, off, min(4096, int64(len(content))-off))
	}
	if err := p.Close(context.Background(), true); err != nil {
		t.Fatalf("Close(true): %v", err)
	}
}

// tree lists every file and folder under dir, relative, with forward
// slashes, sorted; the root itself is left out.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkFile fails unless the file at p holds want.
func checkFile(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, differ from the %d sent", p, len(got), len(want))
	}
}
