package lan

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestThreeInstances runs three instances on real loopback broadcast. The
// first two announce every minute and time peers out after two, so within
// the test the newcomer can only learn them from their unicast PING
// replies to its JOIN, and the others can only lose a peer by its LEAVE.
func TestThreeInstances(t *testing.T) {
	port := freePort(t)
	slow := loConfig(port, time.Minute, 2*time.Minute)
	n1 := newNode(t, "n1", slow)
	n2 := newNode(t, "n2", slow)
	w1, w2 := watch(t, n1), watch(t, n2)
	announceSelf(t, n1, n1.id, "one")
	awaitEvent(t, w2, sdk.PeerJoined, n1.id) // n1's JOIN
	announceSelf(t, n2, n2.id, "two")
	awaitEvent(t, w1, sdk.PeerJoined, n2.id) // n2's JOIN

	n3 := newNode(t, "n3", slow)
	w3 := watch(t, n3)
	announceSelf(t, n3, n3.id, "three")
	// JOIN: the others report the newcomer.
	for _, w := range []<-chan sdk.PeerEvent{w1, w2} {
		ev, _ := awaitEvent(t, w, sdk.PeerJoined, n3.id)
		if ev.Peer.Name != "three" || ev.Peer.Source != "lan" || !slices.Equal(ev.Peer.Transports, []string{"tcp"}) {
			t.Errorf("joined event for n3: %+v", ev.Peer)
		}
	}
	// PING replies: the newcomer learns who was there.
	learnt := awaitEvents(t, w3, sdk.PeerJoined, n1.id, n2.id)
	for _, n := range []*node{n1, n2} {
		ev := learnt[n.id]
		if len(ev.Peer.Addrs) != 1 || !strings.HasPrefix(ev.Peer.Addrs[0], "udp4:127.0.0.1:") {
			t.Errorf("n3 sees %s at %v, want one udp4:127.0.0.1 address", ev.Peer.Name, ev.Peer.Addrs)
		}
		if !ev.Peer.Expires.After(ev.Peer.Seen) {
			t.Errorf("n3's record of %s: Seen %v, Expires %v", ev.Peer.Name, ev.Peer.Seen, ev.Peer.Expires)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	// Lookup.
	info, err := n3.Lookup(ctx, n1.id)
	if err != nil || info.ID != n1.id || info.Name != "one" || !slices.Equal(info.Roles, []string{"discovery", "signaling"}) {
		t.Fatalf("n3.Lookup(n1) = %+v, %v", info, err)
	}
	if _, err := n3.Lookup(ctx, plugintest.RandomPeerID(t)); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Lookup of an unknown peer: %v, want sdk.ErrNotFound", err)
	}

	// Send and Receive 60 KiB, both ways.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	in1, err := n1.Receive(rctx)
	if err != nil {
		t.Fatal(err)
	}
	in3, err := n3.Receive(rctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to *node
		in       <-chan sdk.Envelope
	}{{n3, n1, in1}, {n1, n3, in3}} {
		payload := make([]byte, 60<<10)
		_, _ = rand.Read(payload)
		if err := c.from.Send(ctx, sdk.Envelope{To: c.to.id, Payload: payload}); err != nil {
			t.Fatalf("Send of 60 KiB: %v", err)
		}
		env := awaitEnvelope(t, c.in, payload)
		if env.From != c.from.id || env.To != c.to.id {
			t.Fatalf("envelope From %s To %s, want %s to %s", env.From.Short(), env.To.Short(), c.from.id.Short(), c.to.id.Short())
		}
	}
	// Send to an unknown peer.
	unknown := plugintest.RandomPeerID(t)
	err = n1.Send(ctx, sdk.Envelope{To: unknown, Payload: []byte("hello?")})
	if !errors.Is(err, sdk.ErrNotFound) || !strings.Contains(err.Error(), unknown.Short()) {
		t.Fatalf("Send to an unknown peer: %v, want sdk.ErrNotFound naming it", err)
	}

	// Close of n2: its LEAVE makes the others report it left.
	closePlugin(t, "n2", n2)
	for _, w := range []<-chan sdk.PeerEvent{w1, w3} {
		awaitEvent(t, w, sdk.PeerLeft, n2.id)
	}
	if _, err := n1.Lookup(ctx, n2.id); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Lookup of a peer that left: %v, want sdk.ErrNotFound", err)
	}
	// The channels of a closed plugin are closed.
	for {
		if _, ok := <-w2; !ok {
			break
		}
	}
	// A Send to the peer that left fails as not found.
	if err := n1.Send(ctx, sdk.Envelope{To: n2.id, Payload: []byte("gone")}); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Send to a peer that left: %v, want sdk.ErrNotFound", err)
	}
}

// TestKilledPeerExpires runs the external binary, kills it with SIGKILL
// (no LEAVE) and waits for an in-process instance to report it left once
// it was not heard from for peer_timeout.
func TestKilledPeerExpires(t *testing.T) {
	bin := plugintest.PluginBinary(t, "lan", "github.com/ferry-p2p/ferry/plugins/lan/cmd/lan")
	port := freePort(t)
	cfg := loConfig(port, 200*time.Millisecond, time.Second)
	watcher := newNode(t, "watcher", cfg)
	w := watch(t, watcher)

	pp := plugintest.Launch(t, bin)
	d, err := pp.Discovery()
	if err != nil {
		t.Fatal(err)
	}
	id, _, del := newIdentity(t)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := d.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("Configure external: %v", err)
	}
	announceSelf(t, d, id, "doomed")
	ev, _ := awaitEvent(t, w, sdk.PeerJoined, id)
	if ev.Peer.Name != "doomed" {
		t.Fatalf("joined event: %+v", ev.Peer)
	}
	awaitEvent(t, w, sdk.PeerSeen, id) // its periodic PING

	if err := syscall.Kill(pp.PID(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pp.PID(), err)
	}
	left, _ := awaitEvent(t, w, sdk.PeerLeft, id)
	if !time.Now().After(left.Peer.Expires) {
		t.Errorf("left before its record expired: Expires %v", left.Peer.Expires)
	}
	if _, err := watcher.Lookup(ctx, id); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Lookup of the expired peer: %v, want sdk.ErrNotFound", err)
	}
	if got := watcher.log.Records(func(r plugintest.LogRecord) bool { return r.Level >= 4 /* warn */ }); len(got) != 0 {
		t.Errorf("warnings in the watcher's log: %v", got)
	}
}

// TestRestartedPeer checks that a peer that comes back with a new
// delegated key (what a restart gives) is accepted although its Seq
// starts again, and reported as joined after it left.
func TestRestartedPeer(t *testing.T) {
	port := freePort(t)
	cfg := loConfig(port, time.Minute, 2*time.Minute)
	n1 := newNode(t, "n1", cfg)
	w := watch(t, n1)
	n2 := newNode(t, "n2", cfg)
	announceSelf(t, n2, n2.id, "first life")
	awaitEvent(t, w, sdk.PeerJoined, n2.id)
	closePlugin(t, "n2", n2)
	awaitEvent(t, w, sdk.PeerLeft, n2.id)

	// Same device, new process: new delegation, Seq from 1 again.
	again := New(WithLogger(n2.Plugin.log))
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	del2, err := sdk.NewDelegation(n2.priv, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: n2.id, Delegation: del2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closePlugin(t, "n2 again", again) })
	announceSelf(t, again, n2.id, "second life")
	ev, _ := awaitEvent(t, w, sdk.PeerJoined, n2.id)
	if ev.Peer.Name != "second life" {
		t.Fatalf("rejoined as %q", ev.Peer.Name)
	}
	if got := n1.log.dropped(reasonReplay); len(got) != 0 {
		t.Fatalf("the restarted peer's messages were taken for replays: %v", got)
	}
}
