package transfer

import (
	"context"
	"crypto/sha256"
	"encoding"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestCommitHashed: a writer's SHA-256 state that covers the committed
// prefix is taken up and nothing is read back; a state for another offset
// or a forged one costs a read-back, never a wrong verdict.
func TestCommitHashed(t *testing.T) {
	const size, step = 8 << 20, 1 << 20
	content := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{5}).Read(content)
	sum := sha256.Sum256(content)
	tests := []struct {
		name     string
		state    func(h []byte, end int64) (int64, []byte) // what the writer gives
		readBack int64
		wantErr  error
	}{
		{"writer's state", func(h []byte, end int64) (int64, []byte) { return end, h }, 0, nil},
		{"no state", func(h []byte, end int64) (int64, []byte) { return 0, nil }, size, nil},
		{"state for another offset", func(h []byte, end int64) (int64, []byte) { return end - 1, h }, size, nil},
		{"forged state", func(h []byte, end int64) (int64, []byte) {
			f := sha256.New()
			f.Write(make([]byte, end))
			st, _ := f.(encoding.BinaryMarshaler).MarshalBinary()
			return end, st
		}, size, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			in, err := OpenInbox(filepath.Join(base, "in"), filepath.Join(base, "state"))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			inc, err := in.Accept(sdk.PeerID{3}, "", sdk.Offer{TransferID: NewID(), Files: []sdk.FileInfo{{Name: "f", Size: size, SHA256: sum[:]}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			pf, err := inc.Create(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			p := pf.(*Part)
			hashed, st := p.HashState()
			if hashed != 0 || st == nil {
				t.Fatalf("HashState of a new part = %d, %d bytes; want 0 and a state", hashed, len(st))
			}
			w := sha256.New()
			for off := int64(0); off < size; off += step {
				if _, err := p.WriteAt(content[off:off+step], off); err != nil {
					t.Fatal(err)
				}
				w.Write(content[off : off+step])
				ws, _ := w.(encoding.BinaryMarshaler).MarshalBinary()
				h, s := tt.state(ws, off+step)
				if err := p.CommitHashed(ctx, off, step, h, s); err != nil {
					t.Fatal(err)
				}
			}
			err = p.Close(ctx, true)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Close: %v, want %v", err, tt.wantErr)
			}
			if p.readBack != tt.readBack {
				t.Errorf("read back %d bytes, want %d", p.readBack, tt.readBack)
			}
		})
	}
}
