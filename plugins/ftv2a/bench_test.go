package ftv2a

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// benchSize is the file BenchmarkTransfer moves.
const benchSize = 256 << 20

// BenchmarkTransfer moves a 256 MiB file, file to file, through Send and
// Receive in this process over a loopback TCP pair, with the default
// configuration. Commit does not sync, so the figure is the plugin's own
// cost (plus loopback TCP and the page cache), not the disk's.
func BenchmarkTransfer(b *testing.B) {
	dir := b.TempDir()
	srcPath := filepath.Join(dir, "src")
	writeBenchFile(b, srcPath)
	sender, _ := newProtocol(b, Config{})
	receiver, _ := newProtocol(b, Config{})
	src := fileSource{srcPath}
	offer := sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{{Name: "dst", Size: benchSize}}}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sink := &fileSink{path: filepath.Join(dir, "dst")}
		_ = os.Remove(sink.path)
		x, y := tcpPair(b)
		ctx := context.Background()
		b.StartTimer()
		errc := runAsync(func() error { return receiver.Receive(ctx, sdk.ReceiveRequest{Stream: y, Sink: sink}) })
		if err := sender.Send(ctx, sdk.SendRequest{Stream: x, Offer: offer, Source: src}); err != nil {
			b.Fatalf("Send: %v", err)
		}
		if err := <-errc; err != nil {
			b.Fatalf("Receive: %v", err)
		}
		b.StopTimer()
		_ = x.Close()
		_ = y.Close()
		if fi, err := os.Stat(sink.path); err != nil || fi.Size() != benchSize {
			b.Fatalf("destination: %v, %v", fi, err)
		}
		b.StartTimer()
	}
}

// writeBenchFile writes benchSize pseudo-random bytes to path.
func writeBenchFile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	block := randomBytes(1<<20, 7)
	for range benchSize / len(block) {
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
		block[0]++ // no two blocks alike
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// fileSource serves one file from disk.
type fileSource struct{ path string }

func (s fileSource) Open(_ context.Context, index int, offset int64) (io.ReadCloser, error) {
	if index != 0 {
		return nil, fmt.Errorf("open file %d: %w", index, sdk.ErrNotFound)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// fileSink writes the one file it accepts to path; Commit does nothing.
type fileSink struct{ path string }

func (s *fileSink) Decide(context.Context, sdk.Offer) error { return nil }

func (s *fileSink) Create(_ context.Context, index int) (sdk.PartFile, error) {
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return filePart{f}, nil
}

// filePart is a part file on disk.
type filePart struct{ *os.File }

func (p filePart) Offset() int64                              { return 0 }
func (p filePart) Commit(context.Context, int64, int64) error { return nil }
func (p filePart) Close(_ context.Context, _ bool) error      { return p.File.Close() }
