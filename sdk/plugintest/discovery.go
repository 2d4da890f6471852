package plugintest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MakeDiscoveries returns two configured discovery plugins of the
// implementation under test, a and b, that can see each other: what b
// announces, a finds. idB is the peer ID b was configured with (its
// ConfigureRequest.Self): the suite announces b under it, since a plugin
// that signs its announcements with the device's delegated key can
// announce only that device. It is called once per subtest, so each subtest starts
// on a fresh pair.
//
// The factory owns the plugins' lifetime: it registers their Close with
// t.Cleanup. The watchdog may close them first, so the cleanup must accept
// a Close that returns an error wrapping [sdk.ErrClosed]. The factory stops
// the test with t.Fatal when it cannot build the pair.
type MakeDiscoveries func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID)

// TestDiscovery tests that a discovery plugin keeps the [sdk.Discovery]
// contract: Info, AnnounceThenWatch, Lookup, WatchEndsWithContext and
// Reannounce. Each subtest runs on a fresh pair from mk, under a watchdog
// (see the package doc). Run it with the race detector.
//
// The suite has b announce a record under b's own peer ID with a fresh
// name each time, and expects a to report it: a plugin must publish the
// record it is given.
func TestDiscovery(t *testing.T, mk MakeDiscoveries) {
	t.Run("Info", func(t *testing.T) { runDiscovery(t, mk, testDiscoveryInfo) })
	t.Run("AnnounceThenWatch", func(t *testing.T) { runDiscovery(t, mk, testAnnounceThenWatch) })
	t.Run("Lookup", func(t *testing.T) { runDiscovery(t, mk, testLookup) })
	t.Run("WatchEndsWithContext", func(t *testing.T) { runDiscovery(t, mk, testWatchEndsWithContext) })
	t.Run("Reannounce", func(t *testing.T) { runDiscovery(t, mk, testReannounce) })
}

// discoveryPair is the fixture of one discovery subtest.
type discoveryPair struct {
	a, b sdk.Discovery
	idB  sdk.PeerID
}

type discoveryTest func(ctx context.Context, t *testing.T, p *discoveryPair)

// runDiscovery builds a fresh pair and runs f on it under a watchdog.
func runDiscovery(t *testing.T, mk MakeDiscoveries, f discoveryTest) {
	t.Helper()
	a, b, idB := mk(t)
	if a == nil || b == nil {
		t.Fatal("MakeDiscoveries returned a nil plugin")
	}
	if idB.IsZero() {
		t.Fatal("MakeDiscoveries returned a zero peer ID for b")
	}
	ctx, stop := watchdog(t, "plugins", nil, a, b)
	defer stop()
	f(ctx, t, &discoveryPair{a: a, b: b, idB: idB})
}

// testDiscoveryInfo tests that Info lists the discovery role.
func testDiscoveryInfo(ctx context.Context, t *testing.T, p *discoveryPair) {
	checkInfo(ctx, t, "a", p.a, sdk.RoleDiscovery)
	checkInfo(ctx, t, "b", p.b, sdk.RoleDiscovery)
}

// testPeer returns a record for id with a unique name.
func testPeer(t *testing.T, label string, id sdk.PeerID) sdk.PeerInfo {
	return sdk.PeerInfo{
		ID:    id,
		Name:  fmt.Sprintf("plugintest %s %s %s", label, id.Short(), RandomPeerID(t).Short()),
		Addrs: []string{"192.0.2.7:4242", "[2001:db8::7]:4242"},
	}
}

// announce has d announce info and stops the test on error.
func announce(ctx context.Context, t *testing.T, side string, d sdk.Discovery, info sdk.PeerInfo) {
	t.Helper()
	if err := d.Announce(ctx, info); err != nil {
		t.Fatalf("%s: Announce(%s, %q): %v", side, info.ID.Short(), info.Name, err)
	}
}

// awaitPeer reads ch until a joined or seen event for id with the given
// name arrives. It stops the test when ch closes or ctx ends first.
func awaitPeer(ctx context.Context, t *testing.T, ch <-chan sdk.PeerEvent, id sdk.PeerID, name string) sdk.PeerEvent {
	t.Helper()
	var last *sdk.PeerEvent
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("Watch channel closed before an event for %s named %q (last event for it: %v)", id.Short(), name, describeEvent(last))
			}
			if ev.Peer.ID != id {
				continue
			}
			last = &ev
			if (ev.Kind == sdk.PeerJoined || ev.Kind == sdk.PeerSeen) && ev.Peer.Name == name {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no joined or seen event for %s named %q before the watchdog (last event for it: %v)", id.Short(), name, describeEvent(last))
		}
	}
}

func describeEvent(ev *sdk.PeerEvent) string {
	if ev == nil {
		return "none"
	}
	return fmt.Sprintf("%s, name %q", ev.Kind, ev.Peer.Name)
}

// watch starts a.Watch for the rest of the subtest.
func watch(ctx context.Context, t *testing.T, d sdk.Discovery) <-chan sdk.PeerEvent {
	t.Helper()
	ch, err := d.Watch(ctx)
	if err != nil {
		t.Fatalf("a: Watch: %v", err)
	}
	if ch == nil {
		t.Fatal("a: Watch returned a nil channel and no error")
	}
	return ch
}

// testAnnounceThenWatch tests that a Watch started after b announced
// reports b's record, by ID and name.
func testAnnounceThenWatch(ctx context.Context, t *testing.T, p *discoveryPair) {
	peer := testPeer(t, "b", p.idB)
	announce(ctx, t, "b", p.b, peer)
	awaitPeer(ctx, t, watch(ctx, t, p.a), peer.ID, peer.Name)
}

// lookupRetry is how long Lookup waits between attempts while the record
// has not arrived yet.
const lookupRetry = 100 * time.Millisecond

// awaitLookup calls a.Lookup(id) until it returns a record named name,
// retrying while it fails with sdk.ErrNotFound or returns an older record.
// It stops the test on any other error or when ctx ends.
func awaitLookup(ctx context.Context, t *testing.T, d sdk.Discovery, id sdk.PeerID, name string) sdk.PeerInfo {
	t.Helper()
	var last string
	for {
		info, err := d.Lookup(ctx, id)
		switch {
		case err == nil && info.ID == id && info.Name == name:
			return info
		case err == nil && info.ID != id:
			t.Fatalf("a: Lookup(%s) returned the record of %s", id.Short(), info.ID.Short())
		case err == nil:
			last = fmt.Sprintf("record named %q", info.Name)
		case ctx.Err() != nil:
			// The watchdog fired; report below.
		case !errors.Is(err, sdk.ErrNotFound):
			t.Fatalf("a: Lookup(%s): %v", id.Short(), err)
		default:
			last = err.Error()
		}
		select {
		case <-time.After(lookupRetry):
		case <-ctx.Done():
			t.Fatalf("a: Lookup(%s) found no record named %q before the watchdog; last answer: %s", id.Short(), name, last)
		}
	}
}

// testLookup tests that a finds b's record by ID, allowing time for it to
// spread, and that a random unknown ID is not found.
func testLookup(ctx context.Context, t *testing.T, p *discoveryPair) {
	peer := testPeer(t, "b", p.idB)
	announce(ctx, t, "b", p.b, peer)
	awaitLookup(ctx, t, p.a, peer.ID, peer.Name)

	unknown := RandomPeerID(t)
	info, err := p.a.Lookup(ctx, unknown)
	switch {
	case err == nil:
		t.Errorf("a: Lookup of an unknown ID %s returned %+v, want an error wrapping sdk.ErrNotFound", unknown.Short(), info)
	case !errors.Is(err, sdk.ErrNotFound):
		t.Errorf("a: Lookup of an unknown ID %s: %v, want an error wrapping sdk.ErrNotFound", unknown.Short(), err)
	}
}

// awaitClosed drains ch until it closes, for at most promptly.
func awaitClosed[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	timer := time.NewTimer(promptly)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Errorf("%s channel still open %v after its context was cancelled", what, promptly)
			return
		}
	}
}

// testWatchEndsWithContext tests that cancelling Watch's context closes its
// channel promptly, also while events wait unread.
func testWatchEndsWithContext(ctx context.Context, t *testing.T, p *discoveryPair) {
	peer := testPeer(t, "b", p.idB)
	announce(ctx, t, "b", p.b, peer)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := watch(wctx, t, p.a)
	cancel()
	awaitClosed(t, ch, "Watch")
}

// testReannounce tests that when b announces again under the same ID with a
// new name, a's Watch and Lookup report the new name.
func testReannounce(ctx context.Context, t *testing.T, p *discoveryPair) {
	peer := testPeer(t, "b", p.idB)
	announce(ctx, t, "b", p.b, peer)
	ch := watch(ctx, t, p.a)
	awaitPeer(ctx, t, ch, peer.ID, peer.Name)

	peer.Name += " renamed"
	announce(ctx, t, "b", p.b, peer)
	awaitPeer(ctx, t, ch, peer.ID, peer.Name)
	awaitLookup(ctx, t, p.a, peer.ID, peer.Name)
}
