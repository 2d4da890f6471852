package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	crashSize   = 40 << 20
	crashPrefix = 32 << 20
	crashStep   = 4 << 20
)

// partHeld is a part that received the first crashPrefix bytes of a
// crashSize-byte file in crashStep commits, and what is needed to open it
// again through a second inbox on the same folders.
type partHeld struct {
	dir, state string
	peer       sdk.PeerID
	id         string
	content    []byte
	p          *Part
}

// holdPart receives the first crashPrefix bytes of a crashSize-byte file
// of random content (from seed) in crashStep commits, and returns the part
// still open.
func holdPart(t *testing.T, seed byte, peer sdk.PeerID) partHeld {
	t.Helper()
	base := t.TempDir()
	h := partHeld{dir: filepath.Join(base, "inbox"), state: filepath.Join(base, "state"), peer: peer, content: make([]byte, crashSize)}
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(h.content)
	sum := sha256.Sum256(h.content)
	in, err := OpenInbox(h.dir, h.state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	inc, err := in.Accept(peer, "", sdk.Offer{TransferID: NewID(), Files: []sdk.FileInfo{{Name: "f.bin", Size: crashSize, SHA256: sum[:]}}})
	if err != nil {
		t.Fatal(err)
	}
	h.id = inc.ID()
	ctx := context.Background()
	pf, err := inc.Create(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.p = pf.(*Part)
	for off := int64(0); off < crashPrefix; off += crashStep {
		if _, err := h.p.WriteAt(h.content[off:off+crashStep], off); err != nil {
			t.Fatal(err)
		}
		if err := h.p.Commit(ctx, off, crashStep); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// reopen opens the held part again through a second inbox on the same
// folders, as a restarted receiver does.
func (h partHeld) reopen(t *testing.T) *Part {
	t.Helper()
	in2, err := OpenInbox(h.dir, h.state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in2.Close() })
	inc2, err := in2.Find(h.peer, h.id)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := inc2.Create(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return pf.(*Part)
}

// reopenAfterCrash holds a part (holdPart), abandons it as a kill -9
// would (nothing closed), lets damage edit the journal, and reopens it.
// It returns the content and the reopened part.
func reopenAfterCrash(t *testing.T, damage func(t *testing.T, journal string)) ([]byte, *Part) {
	t.Helper()
	h := holdPart(t, 17, sdk.PeerID{2})
	t.Cleanup(h.p.abort) // the crash: p is never closed
	damage(t, filepath.Join(h.state, journalRel(h.id, 0)))
	p2 := h.reopen(t)
	t.Cleanup(func() { _ = p2.Close(context.Background(), false) })
	return h.content, p2
}

// editHashRecord rewrites the journal at path with fn applied to the
// payload of its last hash record, framed anew so that its CRC is valid:
// damage a CRC cannot catch.
func editHashRecord(fn func(payload []byte) []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var payloads [][]byte
		last := -1
		if _, err := scanFrames(bytes.NewReader(b), func(p []byte) error {
			if p[0] == recHash {
				last = len(payloads)
			}
			payloads = append(payloads, bytes.Clone(p))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if last < 0 {
			t.Fatal("no hash record in the journal")
		}
		payloads[last] = fn(payloads[last])
		var out []byte
		for _, p := range payloads {
			out = appendFrame(out, p)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitAfterCrash checks what a part reopened after a crash reads
// (issues 18 and 13). The crash leaves no closing stamp, so the reopen
// checks the committed prefix once against the block hashes (the saved
// SHA-256 states) and forgets a block whose state does not check out;
// then, with the state saved in the journal, the first Commit reads back
// only the bytes it commits, and with a state that is damaged, the state is
// refused and the prefix hashed from the start. Either way the file
// completes with the right hash.
func TestCommitAfterCrash(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name       string
		damage     func(t *testing.T, path string)
		offset     int64 // Offset() after reopening
		checked    int64 // read by the block check
		hashedFrom int64 // p.hashed right after reopening
		refused    bool
	}{
		{"intact", func(*testing.T, string) {}, crashPrefix, crashPrefix, crashPrefix, false},
		// A torn last record: the state saved one commit earlier; the
		// last block has no hash to check.
		{"last record torn", func(t *testing.T, p string) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, st.Size()-3); err != nil {
				t.Fatal(err)
			}
		}, crashPrefix, crashPrefix - crashStep, crashPrefix - crashStep, false},
		// The old journal format: commit records only, nothing to check.
		{"no hash record", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			if _, err := scanFrames(bytes.NewReader(b), func(pl []byte) error {
				if pl[0] != recHash {
					out = appendFrame(out, pl)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, out, 0o600); err != nil {
				t.Fatal(err)
			}
		}, crashPrefix, 0, 0, false},
		// A damaged last state fails the last block's check: that block
		// is fetched again, and the state is refused.
		{"state cut short", editHashRecord(func(p []byte) []byte { return p[:40] }), crashPrefix - crashStep, crashPrefix, 0, true},
		{"state of another offset", editHashRecord(func(p []byte) []byte {
			binary.LittleEndian.PutUint64(p[1:], crashPrefix-crashStep)
			return p
		}), crashPrefix - 2*crashStep, crashPrefix - crashStep, 0, true},
		{"state beyond the committed prefix", editHashRecord(func(p []byte) []byte {
			binary.LittleEndian.PutUint64(p[1:], crashPrefix+crashStep)
			binary.BigEndian.PutUint64(p[len(p)-8:], crashPrefix+crashStep)
			return p
		}), crashPrefix, crashPrefix - crashStep, 0, true},
		{"state not sha-256", editHashRecord(func(p []byte) []byte { p[9] ^= 0xff; return p }), crashPrefix - crashStep, crashPrefix, 0, true},
		// Damage the state's own checks cannot see is seen by the block
		// check.
		{"state's digest altered", editHashRecord(func(p []byte) []byte { p[9+4] ^= 0xff; return p }), crashPrefix - crashStep, crashPrefix, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content, p := reopenAfterCrash(t, tt.damage)
			if got := p.Offset(); got != tt.offset {
				t.Errorf("Offset() after the crash = %d MiB, want %d MiB", got/MiB, tt.offset/MiB)
			}
			if p.readBack != tt.checked {
				t.Errorf("the block check read %d MiB, want %d MiB", p.readBack/MiB, tt.checked/MiB)
			}
			if p.hashed != tt.hashedFrom {
				t.Errorf("hashed %d bytes on reopening, want %d", p.hashed, tt.hashedFrom)
			}
			if (p.hashRefused != nil) != tt.refused {
				t.Errorf("saved state refused: %v, want refused %v", p.hashRefused, tt.refused)
			} else if p.hashRefused != nil {
				t.Logf("refused: %v", p.hashRefused)
			}
			ctx := context.Background()
			first := true
			for _, m := range p.Missing() {
				for off := m[0]; off < m[1]; off += crashStep {
					if _, err := p.WriteAt(content[off:off+crashStep], off); err != nil {
						t.Fatal(err)
					}
					if err := p.Commit(ctx, off, crashStep); err != nil {
						t.Fatal(err)
					}
					if first && tt.offset == crashPrefix {
						// The first Commit reads back what it commits and
						// what the saved state did not cover.
						if want := tt.checked + crashPrefix + crashStep - tt.hashedFrom; p.readBack != want {
							t.Errorf("first Commit after the crash read back %d bytes, want %d", p.readBack, want)
						}
					}
					first = false
				}
			}
			if err := p.Close(ctx, true); err != nil {
				t.Fatalf("Close(true): %v", err)
			}
			if want := tt.checked + crashSize - tt.hashedFrom; p.readBack != want {
				t.Errorf("read back %d bytes in all, want %d", p.readBack, want)
			}
			got, err := os.ReadFile(filepath.Join(p.t.in.root.Name(), "f.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Error("the final file differs from what was sent")
			}
		})
	}
}
