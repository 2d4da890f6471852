package transfer_test

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// BenchmarkReceive256MiB writes 256 MiB through a Part in 64 KiB WriteAt
// calls, with a Commit every 16 MiB, then Close(true), and reports the
// throughput and what Close costs (close-ms/op):
//
//   - hash: the sender announced a SHA-256, hashed as the prefix grows;
//   - nohash: no SHA-256 announced, so none is computed;
//   - reopen: as hash, but the part is closed incomplete and reopened
//     before Close(true), which takes up the SHA-256 state saved in the
//     journal: what a resume costs Close (before that state was saved,
//     Close hashed the whole file here).
func BenchmarkReceive256MiB(b *testing.B) {
	const (
		size        = 256 << 20
		chunk       = 64 << 10
		commitEvery = 16 << 20
	)
	buf := data(chunk, 14)
	h := sha256.New()
	for range size / chunk {
		h.Write(buf)
	}
	want := h.Sum(nil)
	for _, mode := range []string{"hash", "nohash", "reopen"} {
		b.Run(mode, func(b *testing.B) {
			dir, state := inboxDirs(b)
			in := openInbox(b, dir, state)
			peer := newPeer(b)
			info := sdk.FileInfo{Name: "big.bin", Size: size}
			if mode != "nohash" {
				info.SHA256 = want
			}
			b.SetBytes(size)
			var closing time.Duration
			for b.Loop() {
				inc := accept(b, in, peer, info)
				p := create(b, inc, 0)
				var committed int64
				for off := int64(0); off < size; off += chunk {
					if _, err := p.WriteAt(buf, off); err != nil {
						b.Fatal(err)
					}
					if end := off + chunk; end-committed == commitEvery {
						if err := p.Commit(ctx, committed, end-committed); err != nil {
							b.Fatal(err)
						}
						committed = end
					}
				}
				if mode == "reopen" {
					if err := p.Close(ctx, false); err != nil {
						b.Fatal(err)
					}
					p = create(b, inc, 0)
				}
				start := time.Now()
				if err := p.Close(ctx, true); err != nil {
					b.Fatal(err)
				}
				closing += time.Since(start)
				b.StopTimer()
				if err := os.Remove(filepath.Join(dir, "big.bin")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "close-ms/op")
		})
	}
}
