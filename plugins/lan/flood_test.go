package lan

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-p2p/ferry/sdk"
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

// TestSignalingFlood holds 500 idle connections and 500 that send the
// start of a frame and stall against a receiver's signaling port, with the
// default limits (each of floodCases), while a sender delivers 10
// envelopes at once. All 10 must arrive and be acked,
// and the receiver's open signaling connections and goroutines must stay
// within max_pending plus the legitimate ones and a margin.
func TestSignalingFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the flood makes about 1000 connections")
	}
	const idle, slow, legit = 500, 500, 10
	for _, fc := range floodCases {
		t.Run(fc.name, func(t *testing.T) {
			plugintest.RaiseFDLimit(t, 4096)
			port := freePort(t)
			cfg := loConfig(port, time.Minute, 2*time.Minute)
			recv := newNode(t, "receiver", cfg)
			send := newNode(t, "sender", cfg)
			w := watch(t, send)
			announceSelf(t, recv, recv.id, "receiver")
			awaitEvent(t, w, sdk.PeerJoined, recv.id)
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			in, err := recv.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sigPort := recv.unicastPort()
			limits := defaultConfig().limits
			bound := limits.MaxPending + legit + 16 // + the legitimate ones, + a margin

			// A slow connection announces a frame of 1000 bytes and sends 10.
			partial := append(binary.BigEndian.AppendUint32(nil, 1000), `{"type":"S`...)
			goroutines0 := runtime.NumGoroutine()
			f := plugintest.StartFlood(t, plugintest.FloodConfig{
				Addr: fmt.Sprintf("127.0.0.1:%d", sigPort), Idle: idle, Slow: slow,
				Partial: partial, Sources: fc.sources, Redial: fc.redial,
			})
			var maxConns, maxGoroutines int
			sample := func() {
				socks, err := plugintest.TCPSockets(0)
				if err != nil {
					t.Fatal(err)
				}
				maxConns = max(maxConns, plugintest.ServerConns(socks, sigPort))
				maxGoroutines = max(maxGoroutines, runtime.NumGoroutine()-goroutines0-f.Goroutines())
			}
			sample()

			var wg sync.WaitGroup
			errs := make(chan error, legit)
			for i := range legit {
				wg.Go(func() {
					errs <- send.Send(ctx, sdk.Envelope{To: recv.id, Payload: fmt.Appendf(nil, "envelope %d", i)})
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
					t.Errorf("Send under the flood: %v", err)
				}
			}
			var got []string
			for len(got) < legit && !t.Failed() {
				select {
				case env := <-in:
					got = append(got, string(env.Payload))
				case <-ctx.Done():
					t.Fatalf("%d of %d envelopes arrived: %q", len(got), legit, got)
				}
			}
			for i := range legit {
				if want := fmt.Sprintf("envelope %d", i); !slices.Contains(got, want) && !t.Failed() {
					t.Errorf("%q did not arrive (got %q)", want, got)
				}
			}
			gs := recv.gate.Stats()
			fs := f.Stats()
			fds, _ := plugintest.OpenFDs(0)
			t.Logf("flood: %d idle + %d slow from %d addresses, %d connections made, %d closed by the receiver; gate: %+v",
				idle, slow, len(fc.sources), fs.Dialled, fs.Closed, gs)
			t.Logf("receiver: at most %d signaling connections open and %d goroutines of its own (bound %d); process descriptors now %d (the flood's %d included)",
				maxConns, maxGoroutines, bound, fds, fs.Open)
			if gs.Evicted+gs.TimedOut == 0 {
				t.Error("the gate closed no connection: the flood did not reach the limits")
			}
			if maxConns > bound {
				t.Errorf("the receiver held %d signaling connections, want at most %d", maxConns, bound)
			}
			// An evicted connection's goroutine may still be winding down
			// when the next is admitted: allow one per pending slot more.
			if gbound := bound + limits.MaxPending; maxGoroutines > gbound {
				t.Errorf("the receiver ran %d goroutines, want at most %d", maxGoroutines, gbound)
			}
		})
	}
}

// TestLoopbackConfigListensOnLoopbackOnly configures an instance with the
// lan options of configs/loopback.yaml (on a free port) and checks, in
// /proc/net/tcp, that every socket listening on its signaling port is
// bound inside 127.0.0.0/8. It also checks that the config names lo, so a
// change there cannot make the test pass vacuously.
func TestLoopbackConfigListensOnLoopbackOnly(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "loopback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plugins struct {
			Instances []shippedInstance `yaml:"instances"`
		} `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(doc.Plugins.Instances, func(in shippedInstance) bool { return in.Name == "lan" })
	if i < 0 {
		t.Fatal("loopback.yaml has no lan instance")
	}
	opts := doc.Plugins.Instances[i].Config
	if fmt.Sprint(opts["interfaces"]) != "[lo]" {
		t.Fatalf("loopback.yaml's lan interfaces = %v, want [lo]", opts["interfaces"])
	}
	opts["port"] = freePort(t)
	raw, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, "loopback", raw)
	port := n.unicastPort()
	socks, err := plugintest.TCPSockets(0)
	if err != nil {
		t.Fatal(err)
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	var listening []netip.AddrPort
	for _, s := range socks {
		if s.State == plugintest.TCPListen && s.Local.Port() == port {
			listening = append(listening, s.Local)
			if !loopback.Contains(s.Local.Addr()) && s.Local.Addr() != netip.IPv6Loopback() {
				t.Errorf("signaling listens on %v, outside %v", s.Local, loopback)
			}
		}
	}
	if !slices.ContainsFunc(listening, func(a netip.AddrPort) bool { return a.Addr().Is4() }) {
		t.Fatalf("no IPv4 signaling listener on port %d (listening: %v)", port, listening)
	}
	t.Logf("signaling listens on %v", listening)
}
