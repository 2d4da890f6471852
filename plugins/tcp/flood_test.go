package tcp

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// floodCases are the floods the flood tests run, each from addresses
// other than the legitimate peers' (127.0.0.1):
//
//   - from 4 addresses, redialling every connection the listener closes:
//     with the default per-source limit (16) the flood can never fill the
//     pending set (128), so it never evicts a legitimate handshake, however
//     long it is held;
//   - from 100 addresses, each connection made once: the flood fills the
//     pending set and is evicted by the global limit, oldest first, and
//     the legitimate connections, made after it, are the newest.
var floodCases = []struct {
	name    string
	sources []netip.Addr
	redial  time.Duration
}{
	{"4 sources, redialled", loopbackRange(2, 4), 500 * time.Millisecond},
	{"100 sources, held", loopbackRange(2, 100), 0},
}

// loopbackRange returns n addresses from 127.0.0.<first> on.
func loopbackRange(first, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, byte((first + i) / 256), byte((first + i) % 256)})
	}
	return out
}

// TestFlood holds 500 idle connections and 500 that send part of a hello
// and stall against a responder with the default limits (each of
// floodCases), while 10 connections of real sessions are made at once and
// carry data both ways. All 10 must succeed,
// and the responder's open inbound connections and goroutines must stay
// within max_pending plus the legitimate ones and a margin.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the flood makes about 1000 connections")
	}
	const idle, slow, legit = 500, 500, 10
	for _, fc := range floodCases {
		t.Run(fc.name, func(t *testing.T) {
			plugintest.RaiseFDLimit(t, 4096) // the flood's own ends and the responder's
			a := configured(t, "127.0.0.1:0")
			b := configured(t, "127.0.0.1:0")
			b.mu.Lock()
			port := b.listeners[0].bound.addr.Port()
			b.mu.Unlock()
			limits := defaultConfig().limits
			bound := limits.MaxPending + 2*legit + 16 // + each legit pair's two ends, + a margin

			goroutines0 := runtime.NumGoroutine()
			f := plugintest.StartFlood(t, plugintest.FloodConfig{
				Addr: fmt.Sprintf("127.0.0.1:%d", port), Idle: idle, Slow: slow,
				Partial: []byte(helloMagic), Sources: fc.sources, Redial: fc.redial,
			})

			var maxConns, maxGoroutines int
			sample := func() {
				socks, err := plugintest.TCPSockets(0)
				if err != nil {
					t.Fatal(err)
				}
				maxConns = max(maxConns, plugintest.ServerConns(socks, port))
				maxGoroutines = max(maxGoroutines, runtime.NumGoroutine()-goroutines0-f.Goroutines())
			}
			sample()

			var wg sync.WaitGroup
			errs := make(chan error, legit)
			for i := range legit {
				wg.Go(func() {
					ctx := plugintest.Context(t)
					sa, sb, err := plugintest.ConnectPair(ctx, a, b, plugintest.RandomPeerID(t), plugintest.RandomPeerID(t))
					if err != nil {
						errs <- fmt.Errorf("transfer %d: connect: %w", i, err)
						return
					}
					defer sa.Close()
					defer sb.Close()
					errs <- exchange(sa, sb, i)
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for waiting := true; waiting; {
				select {
				case <-done:
					waiting = false
				case <-time.After(20 * time.Millisecond):
				}
				sample()
			}
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			gs := b.gate.Stats()
			fs := f.Stats()
			fds, _ := plugintest.OpenFDs(0)
			t.Logf("flood: %d idle + %d slow from %d addresses, %d connections made, %d closed by the responder; gate: %+v",
				idle, slow, len(fc.sources), fs.Dialled, fs.Closed, gs)
			t.Logf("responder: at most %d inbound connections open and %d goroutines of its own (bound %d); process descriptors now %d (the flood's %d included)",
				maxConns, maxGoroutines, bound, fds, fs.Open)
			if gs.Evicted+gs.TimedOut == 0 {
				t.Error("the gate closed no connection: the flood did not reach the limits")
			}
			if maxConns > bound {
				t.Errorf("the responder held %d inbound connections, want at most %d", maxConns, bound)
			}
			// An evicted connection's goroutine may still be winding down
			// when the next is admitted: allow one per pending slot more.
			if gbound := bound + limits.MaxPending; maxGoroutines > gbound {
				t.Errorf("the responder ran %d goroutines, want at most %d", maxGoroutines, gbound)
			}
		})
	}
}

// exchange writes a message each way on a connected pair and checks it.
func exchange(sa, sb sdk.Stream, i int) error {
	for _, dir := range []struct{ w, r sdk.Stream }{{sa, sb}, {sb, sa}} {
		msg := fmt.Appendf(nil, "transfer %d", i)
		_ = dir.r.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := dir.w.Write(msg); err != nil {
			return fmt.Errorf("transfer %d: write: %w", i, err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dir.r, got); err != nil {
			return fmt.Errorf("transfer %d: read: %w", i, err)
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("transfer %d: read %q, want %q", i, got, msg)
		}
	}
	return nil
}

// TestPendingLimitEvictsOldest checks the transport's use of the gate: with
// max_pending 2, a third idle connection closes the first, and a real
// hello still gets its ack.
func TestPendingLimitEvictsOldest(t *testing.T) {
	b, logs := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}, "max_pending": 2, "max_pending_per_source": 2})
	_, d := prepare(t, b, sdk.Responder)
	f := plugintest.StartFlood(t, plugintest.FloodConfig{Addr: d.addrs[0], Idle: 3})
	for deadline := time.Now().Add(testTimeout); b.gate.Stats().Evicted == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no connection evicted: %+v", b.gate.Stats())
		}
	}
	if _, ack, err := rawHello(t, d.addrs[0], d.token, nil); err != nil || ack[0] != ackByte {
		t.Fatalf("hello under the limit: ack %x, %v", ack, err)
	}
	want := "reason=\"closed while pending\" err=\"" + connlimit.ErrEvictedSource.Error()
	for deadline := time.Now().Add(testTimeout); !strings.Contains(logs.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %s; log:\n%s", want, logs)
		}
	}
	f.Stop()
}

// TestReconfigureLimits checks that new limits take effect on a
// re-Configure that keeps the listeners.
func TestReconfigureLimits(t *testing.T) {
	b := configured(t, "127.0.0.1:0")
	raw := []byte(`{"listen": ["127.0.0.1:0"], "max_pending": 1, "max_pending_per_source": 1}`)
	if err := b.Configure(plugintest.Context(t), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	_, d := prepare(t, b, sdk.Responder)
	plugintest.StartFlood(t, plugintest.FloodConfig{Addr: d.addrs[0], Idle: 2})
	for deadline := time.Now().Add(testTimeout); b.gate.Stats().Evicted == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("two idle connections under max_pending 1: none evicted: %+v", b.gate.Stats())
		}
	}
}
