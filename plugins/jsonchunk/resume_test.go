package jsonchunk

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// cutProxy forwards between the sender's stream and the receiver's, as a
// relay on the path would. It cuts the connection (both streams, with a
// reset where the transport allows) once cutAfter bytes have gone from
// sender to receiver; with cutAfter < 0 it never cuts, and passes each
// side's end of writing on.
type cutProxy struct {
	fromSender, toReceiver sdk.Stream
	cutAfter               int64
	forwarded              atomic.Int64
	cut                    atomic.Bool
	once                   sync.Once
	wg                     sync.WaitGroup
}

// startProxy relays between front (the sender's peer) and back (the
// receiver's peer) until both directions end.
func startProxy(front, back sdk.Stream, cutAfter int64) *cutProxy {
	p := &cutProxy{fromSender: front, toReceiver: back, cutAfter: cutAfter}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		p.pump(back, front, true)
	}()
	go func() {
		defer p.wg.Done()
		p.pump(front, back, false)
	}()
	return p
}

// pump copies src to dst; the sender's direction counts and cuts.
func (p *cutProxy) pump(dst, src sdk.Stream, counted bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && counted && p.cutAfter >= 0 {
			left := p.cutAfter - p.forwarded.Load()
			if int64(n) >= left {
				_, _ = dst.Write(buf[:left])
				p.forwarded.Add(left)
				p.kill()
				return
			}
			p.forwarded.Add(int64(n))
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				p.kill()
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				_ = dst.CloseWrite()
			} else {
				p.kill()
			}
			return
		}
	}
}

// kill cuts the connection: both streams are reset and closed.
func (p *cutProxy) kill() {
	p.once.Do(func() {
		p.cut.Store(true)
		for _, s := range []sdk.Stream{p.fromSender, p.toReceiver} {
			if tc, ok := s.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = s.Close()
		}
	})
}

func (p *cutProxy) wait() { p.wg.Wait() }

// heldBytes returns what the sink holds committed of all the files.
func heldBytes(sink *diskSink, n int) int64 {
	var total int64
	for i := range n {
		rs, _ := sink.state(fmt.Sprintf("f%d", i))
		total += rs.Total()
	}
	return total
}

// TestCuttingProxy sends two files through a relay that cuts the
// connection at random points (six times, from a seeded RNG), running Send
// again over a fresh proxied connection after each cut, as the core's
// retry does, until the transfer is done. The files must arrive intact,
// and each cut may cost at most one window of resent bytes.
func TestCuttingProxy(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{Mode: mode, ChunkSize: 32 << 10, StrictChunkSize: 16 << 10, Window: 4, RetryInterval: 200 * time.Millisecond, AckTimeout: 10 * time.Second}
			window := int64(cfg.chunkSize(mode) * cfg.Window)
			files := [][]byte{randomBytes(1_500_000, 11), randomBytes(700_001, 12)}
			var size int64
			for _, f := range files {
				size += int64(len(f))
			}
			runCuts(t, cfg, files, window, size, 6, rand.New(rand.NewPCG(2026, uint64(len(mode)))), []streamPair{tcpPair})
		})
	}
}

// runCuts runs the transfer of files through cutting proxies over the
// transports given (in turn) until it is done, cutting `cuts` times at
// random points in the first size/4 bytes of each connection.
func runCuts(t *testing.T, cfg Config, files [][]byte, window, size int64, cuts int, rng *rand.Rand, transports []streamPair) {
	t.Helper()
	ctx := plugintest.Context(t)
	s, r := newProtocol(t, cfg), newProtocol(t, cfg)
	sink := newDiskSink(t)
	src := &memSource{files: files}
	offer := offerOf(files...)
	made := 0
	var resentTotal int64
	for attempt := 0; ; attempt++ {
		if attempt > 4*cuts+10 {
			t.Fatalf("not done after %d connections", attempt)
		}
		cutAfter := int64(-1)
		if made < cuts {
			cutAfter = rng.Int64N(size / 4)
		}
		pair := transports[attempt%len(transports)]
		a, front := pair(t)
		back, b := pair(t)
		px := startProxy(front, back, cutAfter)
		heldBefore, readBefore := heldBytes(sink, len(files)), src.read.Load()
		sendErr, recvErr := transfer(ctx, s, r, a, b, offer, src, sink, nil)
		_ = a.Close()
		_ = b.Close()
		px.kill()
		px.wait()
		sent := src.read.Load() - readBefore
		gained := heldBytes(sink, len(files)) - heldBefore
		resent := sent - gained
		resentTotal += resent
		t.Logf("connection %d: cut after %d bytes: sent %d chunk bytes, %d newly committed, %d resent; Send: %v; Receive: %v",
			attempt, cutAfter, sent, gained, resent, sendErr, recvErr)
		if resent > window {
			t.Errorf("connection %d: %d bytes sent and not committed, more than one window (%d)", attempt, resent, window)
		}
		if sendErr == nil {
			if recvErr != nil {
				t.Errorf("Receive after a successful Send: %v", recvErr)
			}
			break
		}
		if errors.Is(sendErr, sdk.ErrRefused) {
			t.Fatalf("a cut connection refused the transfer: %v", sendErr)
		}
		if !px.cut.Load() {
			t.Fatalf("Send failed without a cut: %v", sendErr)
		}
		made++
	}
	if made < cuts {
		t.Errorf("only %d cuts", made)
	}
	for i, want := range files {
		name := fmt.Sprintf("f%d", i)
		got := sink.content(t, name)
		if sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("%s: sha-256 differs after the cuts", name)
		}
		if _, done := sink.state(name); !done {
			t.Errorf("%s: not complete", name)
		}
	}
	if _, _, rw := sink.counts(); rw != 0 {
		t.Errorf("%d writes over committed bytes", rw)
	}
	t.Logf("%d cuts: %d chunk bytes resent for %d bytes of files: overhead %.2f%% (%.0f bytes per cut; window %d bytes = chunk_size %d × window %d)",
		made, resentTotal, size, 100*float64(resentTotal)/float64(size), float64(resentTotal)/float64(max(made, 1)), window, window/int64(cfg.Window), cfg.Window)

	// Sending a finished transfer again costs nothing.
	readBefore := src.read.Load()
	a, b := transports[0](t)
	if sendErr, recvErr := transfer(ctx, s, r, a, b, offer, src, sink, nil); sendErr != nil || recvErr != nil {
		t.Errorf("a finished transfer sent again: Send %v, Receive %v", sendErr, recvErr)
	}
	if n := src.read.Load() - readBefore; n != 0 {
		t.Errorf("a finished transfer sent again read %d bytes", n)
	}
}

// TestResumeOtherTransport cuts a transfer on a TCP connection and
// finishes it on another kind of stream: only the missing chunks cross the
// second one.
func TestResumeOtherTransport(t *testing.T) {
	for _, second := range []struct {
		name string
		pair streamPair
	}{{"tcp", tcpPair}, {"unix", unixPair}} {
		t.Run("tcp-then-"+second.name, func(t *testing.T) {
			ctx := plugintest.Context(t)
			cfg := Config{ChunkSize: 16 << 10, Window: 2}
			s, r := newProtocol(t, cfg), newProtocol(t, cfg)
			data := randomBytes(400_000, 21)
			files := [][]byte{data}
			src := &memSource{files: files}
			sink := newDiskSink(t)
			offer := offerOf(files...)

			a, front := tcpPair(t)
			back, b := tcpPair(t)
			px := startProxy(front, back, 200_000)
			sendErr, _ := transfer(ctx, s, r, a, b, offer, src, sink, nil)
			px.kill()
			px.wait()
			if !errors.Is(sendErr, sdk.ErrOffline) {
				t.Fatalf("Send over the cut connection: %v, want sdk.ErrOffline", sendErr)
			}
			held := heldBytes(sink, 1)
			if held < 200_000-2*16<<10-1024 || held > 200_000 {
				t.Errorf("after the cut at 200000 bytes the receiver holds %d", held)
			}

			readBefore := src.read.Load()
			a2, b2 := second.pair(t)
			prog := &lastProgress{}
			sendErr, recvErr := transfer(ctx, s, r, a2, b2, offer, src, sink, prog)
			if sendErr != nil || recvErr != nil {
				t.Fatalf("resume over %s: Send %v, Receive %v", second.name, sendErr, recvErr)
			}
			if n := src.read.Load() - readBefore; n != int64(len(data))-held {
				t.Errorf("the resume sent %d bytes, want the %d missing", n, int64(len(data))-held)
			}
			if got := sink.content(t, "f0"); !bytes.Equal(got, data) {
				t.Error("the resumed file differs")
			}
			if n := prog.get(0); n != int64(len(data)) {
				t.Errorf("last progress %d, want %d", n, len(data))
			}
		})
	}
}

// TestResumeAcrossHoles resumes a file whose part holds scattered ranges
// (as chunk-level commits leave it): only the holes are sent.
func TestResumeAcrossHoles(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(100_000, 31)
	sink := newDiskSink(t)
	// An earlier connection left [10000, 30000) and [50000, 60000).
	df := &diskFile{path: filepath.Join(sink.dir, "f0"), size: int64(len(data)), committed: ranges.Set{{10000, 30000}, {50000, 60000}}}
	sum := sha256.Sum256(data)
	df.sha = sum[:]
	sink.files["f0"] = df
	part := make([]byte, len(data))
	copy(part[10000:30000], data[10000:30000])
	copy(part[50000:60000], data[50000:60000])
	if err := os.WriteFile(df.path, part, 0o600); err != nil {
		t.Fatal(err)
	}
	s, r := newProtocol(t, Config{ChunkSize: 7000}), newProtocol(t, Config{})
	src := &memSource{files: [][]byte{data}}
	a, b := tcpPair(t)
	if sendErr, recvErr := transfer(ctx, s, r, a, b, offerOf(data), src, sink, nil); sendErr != nil || recvErr != nil {
		t.Fatalf("Send %v, Receive %v", sendErr, recvErr)
	}
	if n := src.read.Load(); n != 70_000 {
		t.Errorf("sent %d bytes, want the 70000 missing", n)
	}
	if got := sink.content(t, "f0"); !bytes.Equal(got, data) {
		t.Error("file differs")
	}
	if _, _, rw := sink.counts(); rw != 0 {
		t.Errorf("%d writes over committed bytes", rw)
	}
}
