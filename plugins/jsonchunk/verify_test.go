package jsonchunk

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// flipAt returns an afterCommit hook that flips the byte at off of file
// f0 once a commit has covered it, as a disk that rots would.
func flipAt(off int64) func(name string, f *os.File, from, n int64) {
	var once sync.Once
	return func(name string, f *os.File, from, n int64) {
		if name != "f0" || off < from || off >= from+n {
			return
		}
		once.Do(func() {
			b := []byte{0}
			_, _ = f.ReadAt(b, off)
			b[0] ^= 0x55
			_, _ = f.WriteAt(b, off)
		})
	}
}

// protocolPair makes a sender and a receiver configured with cfg, in this
// process or behind the RPC shims.
type protocolPair func(t *testing.T, cfg Config) (sdk.Protocol, sdk.Protocol)

func goPair(t *testing.T, cfg Config) (sdk.Protocol, sdk.Protocol) {
	return newProtocol(t, cfg), newProtocol(t, cfg)
}

func rpcPair(t *testing.T, cfg Config) (sdk.Protocol, sdk.Protocol) {
	mk := func() sdk.Protocol {
		p, err := plugintest.ServeInProcess(t, newProtocol(t, Config{})).Protocol()
		if err != nil {
			t.Fatal(err)
		}
		raw := fmt.Appendf(nil, `{"mode":%q,"chunk_size":%d,"strict_chunk_size":%d,"window":%d,"verify_wait":%q}`,
			cfg.withDefaults().Mode, cfg.withDefaults().ChunkSize, cfg.withDefaults().StrictChunkSize, cfg.withDefaults().Window, cfg.withDefaults().VerifyWait.String())
		configure(t, p, raw)
		return p
	}
	return mk(), mk()
}

// TestHashMismatchNamesRange: a byte of the part file rots after it was
// committed; the whole-file check fails, the part is deleted, and both
// sides' errors name the verify block that holds the bad byte.
func TestHashMismatchNamesRange(t *testing.T) {
	const size, bad = 1_000_000, 300_001
	for _, side := range []struct {
		name string
		mk   protocolPair
	}{{"go", goPair}, {"rpc", rpcPair}} {
		for _, mode := range modes {
			t.Run(side.name+"/"+mode, func(t *testing.T) {
				ctx := plugintest.Context(t)
				cfg := Config{Mode: mode, ChunkSize: 16 << 10, StrictChunkSize: 16 << 10, Window: 4}
				s, r := side.mk(t, cfg)
				data := randomBytes(size, 41)
				sink := newDiskSink(t)
				sink.afterCommit = flipAt(bad)
				a, b := tcpPair(t)
				sendErr, recvErr := transfer(ctx, s, r, a, b, offerOf(data, []byte("ok")), &memSource{files: [][]byte{data, []byte("ok")}}, sink, nil)
				block := verifyBlock(16<<10, size)
				want := fmt.Sprintf("[%d, %d)", bad/block*block, bad/block*block+block)
				for who, err := range map[string]error{"Send": sendErr, "Receive": recvErr} {
					if !errors.Is(err, sdk.ErrHashMismatch) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"f0"`) {
						t.Errorf("%s: %v, want sdk.ErrHashMismatch naming f0 and %s", who, err, want)
					}
				}
				if _, err := os.Stat(filepath.Join(sink.dir, "f0")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the corrupt part file is still there: %v", err)
				}
			})
		}
	}
}

// TestHashMismatchAtAuthentication: a part file whole but corrupt when the
// transfer resumes fails its check before any chunk; the answer to
// AUTHENTICATION names the bad bytes.
func TestHashMismatchAtAuthentication(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(200_000, 42)
	sink := newDiskSink(t)
	sum := sha256.Sum256(data)
	path := filepath.Join(sink.dir, "f0")
	sink.files["f0"] = &diskFile{path: path, size: int64(len(data)), sha: sum[:], committed: ranges.Set{{0, int64(len(data))}}}
	corrupt := append([]byte(nil), data...)
	corrupt[150_000] ^= 1
	if err := os.WriteFile(path, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	s, r := goPair(t, Config{ChunkSize: 10_000})
	src := &memSource{files: [][]byte{data}}
	a, b := tcpPair(t)
	sendErr, recvErr := transfer(ctx, s, r, a, b, offerOf(data), src, sink, nil)
	want := "[150000, 160000)"
	for who, err := range map[string]error{"Send": sendErr, "Receive": recvErr} {
		if !errors.Is(err, sdk.ErrHashMismatch) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want sdk.ErrHashMismatch naming %s", who, err, want)
		}
	}
}

// TestSourceChanged: the source changes between two connections, in bytes
// not sent yet; the receiver's copy then matches the source block by block
// but not the hash announced, and the sender says so.
func TestSourceChanged(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(300_000, 43)
	offer := offerOf(data)
	src := &memSource{files: [][]byte{data}}
	sink := newDiskSink(t)
	s, r := goPair(t, Config{ChunkSize: 8192, Window: 2})
	a, front := tcpPair(t)
	back, b := tcpPair(t)
	px := startProxy(front, back, 100_000)
	if sendErr, _ := transfer(ctx, s, r, a, b, offer, src, sink, nil); !errors.Is(sendErr, sdk.ErrOffline) {
		t.Fatalf("cut Send: %v", sendErr)
	}
	px.kill()
	px.wait()
	changed := append([]byte(nil), data...)
	changed[250_000] ^= 0xff
	src.set(0, changed)
	a, b = tcpPair(t)
	sendErr, recvErr := transfer(ctx, s, r, a, b, offer, src, sink, nil)
	if !errors.Is(sendErr, sdk.ErrHashMismatch) || !strings.Contains(sendErr.Error(), "source changed") {
		t.Errorf("Send: %v, want sdk.ErrHashMismatch saying the source changed", sendErr)
	}
	if !errors.Is(recvErr, sdk.ErrHashMismatch) || !strings.Contains(recvErr.Error(), "source changed") {
		t.Errorf("Receive: %v, want sdk.ErrHashMismatch with the sender's finding", recvErr)
	}
}

// hidingSink hands out part files that are not file-backed, so the
// receiver has no read handle to name the bad bytes with.
type hidingSink struct{ *diskSink }

func (s hidingSink) Create(ctx context.Context, i int) (sdk.PartFile, error) {
	p, err := s.diskSink.Create(ctx, i)
	if err != nil {
		return nil, err
	}
	return struct{ sdk.RangedPart }{p.(sdk.RangedPart)}, nil
}

// TestHashMismatchUnnamed: without a read handle the receiver still
// reports the mismatch, and both sides fail with sdk.ErrHashMismatch.
func TestHashMismatchUnnamed(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(50_000, 44)
	sink := newDiskSink(t)
	sink.afterCommit = flipAt(10)
	s, r := goPair(t, Config{ChunkSize: 4096})
	a, b := tcpPair(t)
	sendErr, recvErr := transfer(ctx, s, r, a, b, offerOf(data), &memSource{files: [][]byte{data}}, hidingSink{sink}, nil)
	if !errors.Is(sendErr, sdk.ErrHashMismatch) || !strings.Contains(sendErr.Error(), "could not say which bytes") {
		t.Errorf("Send: %v, want sdk.ErrHashMismatch without a range", sendErr)
	}
	if !errors.Is(recvErr, sdk.ErrHashMismatch) {
		t.Errorf("Receive: %v, want sdk.ErrHashMismatch", recvErr)
	}
}

// TestMismatchSenderSilent: a sender that does not answer the verify
// exchange leaves the receiver failing after verify_wait, without a range.
func TestMismatchSenderSilent(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(5000, 45)
	sink := newDiskSink(t)
	sink.afterCommit = flipAt(0)
	r := newProtocol(t, Config{VerifyWait: 100 * time.Millisecond})
	a, b := tcpPair(t)
	errc := runAsync(func() error { return r.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	p := newRawPeer(t, a)
	auth := authFast(5000, data)
	p.send(auth)
	wantOk(t, p.response(), auth.MessageID)
	c := chunkOf(0, data, 0, 5000, true)
	p.send(c)
	resp := p.response()
	if resp.Response != Error || resp.Reason != "sha-256 mismatch" || resp.Ferry == nil || resp.Ferry.Verify == nil ||
		resp.Ferry.Verify.Block != 5000 || len(resp.Ferry.Verify.SHA256) != 1 {
		t.Errorf("answer %+v (%+v), want Error \"sha-256 mismatch\" with one block hash", resp, resp.Ferry)
	}
	start := time.Now()
	if err := <-errc; !errors.Is(err, sdk.ErrHashMismatch) || !strings.Contains(err.Error(), "did not say") {
		t.Errorf("Receive: %v, want sdk.ErrHashMismatch without a range", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the receiver waited %v", d)
	}
}

func TestVerifyBlock(t *testing.T) {
	for _, c := range []struct {
		chunk int
		size  int64
		want  int64
	}{
		{1 << 20, 0, 1 << 20},
		{1 << 20, 100, 1 << 20},
		{1 << 20, 4096 << 20, 1 << 20},
		{1 << 20, 4096<<20 + 1, 2 << 20},
		{1000, 10_000_000, 3000},
		{1, 1 << 40, 1 << 28},
	} {
		got := verifyBlock(c.chunk, c.size)
		if got != c.want || (c.size+got-1)/got > MaxVerifyBlocks {
			t.Errorf("verifyBlock(%d, %d) = %d, want %d", c.chunk, c.size, got, c.want)
		}
	}
}
