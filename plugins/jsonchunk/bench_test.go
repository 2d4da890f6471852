package jsonchunk

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// BenchmarkTransfer moves one file, file to file, through Send and Receive
// in this process over a loopback TCP pair (no TLS): in each mode with the
// default configuration (256 MiB in fast mode, 64 MiB in strict mode), and
// with the seed's 1 KiB chunks (8 MiB), where every chunk's round of
// commit and acknowledgement, not the bytes, sets the pace.
// Commit does not sync, so the figure is the plugin's own cost (plus
// loopback TCP and the page cache), not the disk's.
//
// Profile note (go test -bench Transfer/strict -cpuprofile): in strict
// mode the work per byte is base64, the sender's encoding and the
// receiver's decoding, about half of the CPU time, beside the system calls
// for a third more bytes on the wire than the file has. encoding/json is
// kept off the data: scanning a base64 string of 87 KiB twice (checkValid,
// then the decoder) took two thirds of the CPU and halved the throughput,
// so the Reader cuts the data string out before decoding the rest
// (Reader.splitData). Fast mode is bound by the system calls alone: its
// JSON is a header of about 170 bytes per chunk.
func BenchmarkTransfer(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
		size int64
	}{
		{"fast", Config{Mode: ModeFast}, 256 << 20},
		{"strict", Config{Mode: ModeStrict}, 64 << 20},
		{"strict-seed-1KiB", Config{Mode: ModeStrict, StrictChunkSize: 1024}, 8 << 20},
		{"strict-seed-1KiB-window-256", Config{Mode: ModeStrict, StrictChunkSize: 1024, Window: 256}, 8 << 20},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			srcPath := filepath.Join(dir, "src")
			writeBenchFile(b, srcPath, c.size)
			sender := quietProtocol(b, c.cfg)
			receiver := quietProtocol(b, c.cfg)
			src := fileSource{srcPath}
			offer := sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{{Name: "dst", Size: c.size}}}
			b.SetBytes(c.size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
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
				if fi, err := os.Stat(sink.path); err != nil || fi.Size() != c.size {
					b.Fatalf("destination: %v, %v", fi, err)
				}
				b.StartTimer()
			}
		})
	}
}

// writeBenchFile writes size pseudo-random bytes to path.
func writeBenchFile(b *testing.B, path string, size int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	block := randomBytes(1<<20, 7)
	for range size / int64(len(block)) {
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

func (s *fileSink) Create(context.Context, int) (sdk.PartFile, error) {
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
func (p filePart) Close(context.Context, bool) error          { return p.File.Close() }
