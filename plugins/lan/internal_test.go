package lan

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

func TestWindow(t *testing.T) {
	var w window
	step := func(seq uint64, fresh, newest bool) {
		t.Helper()
		f, n := w.accept(seq)
		if f != fresh || n != newest {
			t.Fatalf("accept(%d) = %v, %v; want %v, %v", seq, f, n, fresh, newest)
		}
	}
	step(10, true, true)
	step(10, false, false) // repeat
	step(12, true, true)
	step(11, true, false) // late but new
	step(11, false, false)
	step(9, true, false) // below the first, within the window
	step(12+windowBits, true, true)
	step(12, false, false) // fell out of the window
	step(13, true, false)  // the oldest in the window, not seen
	step(13, false, false)
	step(13+windowBits, true, true)
	step(12+windowBits, false, false)
	step(13, false, false)
	step(100*windowBits, true, true) // a jump clears the window
	step(100*windowBits-1, true, false)
	step(100*windowBits-1, false, false)
}

func TestDirectedBroadcast(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.0/8":    "127.255.255.255",
		"192.168.1.0/24": "192.168.1.255",
		"198.18.0.0/15":  "198.19.255.255",
		"10.1.2.0/30":    "10.1.2.3",
		"10.1.2.0/31":    "",
		"10.1.2.3/32":    "",
		"fe80::/64":      "",
	} {
		b, ok := directedBroadcast(netip.MustParsePrefix(in))
		if got := map[bool]string{true: b.String(), false: ""}[ok]; got != want {
			t.Errorf("directedBroadcast(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestTargetsLoopback(t *testing.T) {
	ifs, _, err := chooseInterfaces([]string{"lo"})
	if err != nil || len(ifs) != 1 {
		t.Fatalf("chooseInterfaces(lo) = %v, %v", ifs, err)
	}
	cfg := config{port: 4000, group: netip.MustParseAddr(DefaultMulticastGroup)}
	ts, notes := targets(cfg, ifs, true)
	if len(ts) != 1 || ts[0].dst.String() != "127.255.255.255:4000" || ts[0].src.String() != "127.0.0.1" {
		t.Fatalf("default targets on lo = %+v", ts)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "lo cannot multicast") {
		t.Fatalf("notes = %q, want one saying lo cannot multicast", notes)
	}
	cfg.broadcast = []netip.Addr{netip.MustParseAddr("127.255.255.255"), netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("255.255.255.255")}
	cfg.group = netip.Addr{}
	ts, notes = targets(cfg, ifs, false)
	if len(ts) != 2 || ts[0].dst.Addr().String() != "127.255.255.255" || ts[1].dst.Addr().String() != "255.255.255.255" || ts[1].ifIndex != ifs[0].Index {
		t.Fatalf("targets = %+v", ts)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "192.0.2.255") {
		t.Fatalf("notes = %q, want one about 192.0.2.255 being off every chosen subnet", notes)
	}
	// The default choice never includes loopback. (Nothing is sent.)
	all, _, err := chooseInterfaces(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range all {
		if ifi.Flags&net.FlagLoopback != 0 || ifi.Flags&net.FlagUp == 0 {
			t.Errorf("default interfaces include %s (%v)", ifi.Name, ifi.Flags)
		}
	}
}

// TestSlowWatcher checks that a watcher that never reads holds at most one
// event per peer and does not hold up the others.
func TestSlowWatcher(t *testing.T) {
	n := newNode(t, "n", loConfig(freePort(t), time.Second, 5*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, err := n.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = slow // never read
	fast := watch(t, n)
	ids := make([]sdk.PeerID, 50)
	for i := range ids {
		ids[i] = plugintest.RandomPeerID(t)
	}
	for round := range 200 {
		n.mu.Lock()
		for _, id := range ids {
			n.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerSeen, Peer: sdk.PeerInfo{ID: id, Name: string(rune('a' + round%26))}})
		}
		n.mu.Unlock()
	}
	last := plugintest.RandomPeerID(t)
	n.mu.Lock()
	n.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: sdk.PeerInfo{ID: last}})
	n.mu.Unlock()
	awaitEvent(t, fast, sdk.PeerJoined, last)
	if q := n.watchers.Queued(); q > len(ids)+1 {
		t.Errorf("a watcher holds %d queued events for %d peers", q, len(ids)+1)
	}
}

// TestCloseStopsGoroutines checks that Close leaves no goroutine of the
// plugin behind, with watchers, receivers and connections in use.
func TestCloseStopsGoroutines(t *testing.T) {
	port := freePort(t)
	cfg := loConfig(port, 100*time.Millisecond, time.Second)
	var ns []*node
	for _, name := range []string{"a", "b"} {
		n := newNode(t, name, cfg)
		announceSelf(t, n, n.id, name)
		_ = watch(t, n)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if _, err := n.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	awaitLookup(ctx, t, ns[0], ns[1].id, "b")
	if err := ns[0].Send(ctx, sdk.Envelope{To: ns[1].id, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// An idle connection in the middle of a frame.
	c, err := net.Dial("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ns[1].unicastPort()).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{0, 0})
	time.Sleep(50 * time.Millisecond)
	for _, n := range ns {
		if err := n.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	waitFor(t, func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "ferry/plugins/lan.(*Plugin)") && !strings.Contains(stacks, "ferry/plugins/lan.forward")
	}, "the plugin's goroutines to end after Close")
}
