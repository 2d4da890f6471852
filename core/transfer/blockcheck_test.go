package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestDamagedBlockFetchedAgain: a part file altered on disk between a
// crash (or a clean close) and the resume is caught by the block hashes
// on reopening, and only the damaged block is missing again, so only it is
// fetched again; the file then verifies. A part closed cleanly and left
// alone is not read at all, and one left alone after a crash is read
// once and kept whole.
func TestDamagedBlockFetchedAgain(t *testing.T) {
	const MiB = 1 << 20
	flip := int64(10*MiB + 12345) // in the block [8, 12) MiB
	tests := []struct {
		name    string
		clean   bool // closed with Close(false) before the damage, else abandoned
		alter   bool
		checked int64      // read by the block check on reopening
		missing [][2]int64 // after reopening
	}{
		{"crash, byte flipped", false, true, crashPrefix, [][2]int64{{8 * MiB, 12 * MiB}, {crashPrefix, crashSize}}},
		{"clean close, byte flipped", true, true, crashPrefix, [][2]int64{{8 * MiB, 12 * MiB}, {crashPrefix, crashSize}}},
		{"crash, untouched", false, false, crashPrefix, [][2]int64{{crashPrefix, crashSize}}},
		{"clean close, untouched", true, false, 0, [][2]int64{{crashPrefix, crashSize}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := holdPart(t, 13, sdk.PeerID{3})
			content, p, ctx := h.content, h.p, context.Background()
			partPath := filepath.Join(h.dir, p.rel)
			if tt.clean {
				if err := p.Close(ctx, false); err != nil {
					t.Fatal(err)
				}
				// File times tick coarsely (a few ms): let a write
				// after the close show in them, as it would later.
				time.Sleep(20 * time.Millisecond)
			} else {
				t.Cleanup(p.abort) // the crash: p is never closed
			}
			if tt.alter {
				f, err := os.OpenFile(partPath, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte{content[flip] ^ 0x01}, flip); err != nil {
					t.Fatal(err)
				}
				_ = f.Close()
			}

			p2 := h.reopen(t)
			if p2.readBack != tt.checked {
				t.Errorf("reopening read %d MiB, want %d MiB", p2.readBack/MiB, tt.checked/MiB)
			}
			if got := p2.Missing(); !slices.Equal(got, tt.missing) {
				t.Fatalf("Missing() = %v, want %v (damaged blocks found: %v)", got, tt.missing, p2.damaged)
			}
			var resent int64
			for _, m := range p2.Missing() {
				if _, err := p2.WriteAt(content[m[0]:m[1]], m[0]); err != nil {
					t.Fatal(err)
				}
				if err := p2.Commit(ctx, m[0], m[1]-m[0]); err != nil {
					t.Fatal(err)
				}
				resent += m[1] - m[0]
			}
			if err := p2.Close(ctx, true); err != nil {
				t.Fatalf("Close(true) after fetching %d MiB again: %v", resent/MiB, err)
			}
			got, err := os.ReadFile(filepath.Join(h.dir, "f.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Error("the final file differs from what was sent")
			}
			t.Logf("fetched again %d MiB of %d (the damaged block and the part never received)", resent/MiB, crashSize/MiB)
		})
	}
}
