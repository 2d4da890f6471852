package ice

import (
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestConformance runs the transport suite in process, host candidates
// on 127.0.0.1.
func TestConformance(t *testing.T) {
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		return configured(t, loopbackOptions()), configured(t, loopbackOptions())
	})
}

// TestCoreFlow connects the way the core does: the responder never sees
// the initiator's description.
func TestCoreFlow(t *testing.T) {
	checkNoLeaks(t)
	a, b := configured(t, loopbackOptions()), configured(t, loopbackOptions())
	sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	plugintest.RoundTrip(t, sa, sb)
}

// TestIPv6Loopback connects over ::1.
func TestIPv6Loopback(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("skipping: IPv6 loopback is unavailable here: %v", err)
	}
	_ = c.Close()
	opts := with(loopbackOptions(), map[string]any{"network_types": []string{"udp6"}})
	a, la := configuredLog(t, opts)
	b := configured(t, opts)
	sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	plugintest.RoundTrip(t, sa, sb)
	if !strings.Contains(la.String(), `pair="host ::1:`) {
		t.Errorf("not connected over ::1:\n%s", la.String())
	}
}

// TestPortRange: host candidates take ports in [port_min, port_max].
func TestPortRange(t *testing.T) {
	lo := 40000 + rand.IntN(20000)
	tr := configured(t, with(loopbackOptions(), map[string]any{"port_min": lo, "port_max": lo + 9}))
	for range 3 {
		p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
		if err != nil {
			t.Fatal(err)
		}
		d, err := parseDescription(p.Local, addrPolicy{loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range d.cands {
			if port := int(c.addr.Port()); port < lo || port > lo+9 {
				t.Errorf("candidate %s outside %d-%d", c, lo, lo+9)
			}
		}
	}
}

// TestStreamCloseReleases: once both ends of a stream are closed, its
// agents, sockets and goroutines go, without closing the transports.
func TestStreamCloseReleases(t *testing.T) {
	a, b := configured(t, loopbackOptions()), configured(t, loopbackOptions())
	before, _ := ourGoroutines()
	sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, sa, sb, 256<<10)
	_ = sa.Close()
	_ = sb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, dump := ourGoroutines()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after both ends closed (had %d):\n%s", n, before, dump)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tr := range []*Transport{a, b} {
		tr.mu.Lock()
		n := len(tr.streams)
		tr.mu.Unlock()
		if n != 0 {
			t.Errorf("transport still tracks %d streams", n)
		}
	}
}
