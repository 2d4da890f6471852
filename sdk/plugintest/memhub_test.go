package plugintest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
)

// memNode returns an open node of hub for self, closed at cleanup.
func memNode(t *testing.T, hub *MemHub, self sdk.PeerID) *MemNode {
	t.Helper()
	n := hub.Node(self)
	configure(t, n, self)
	t.Cleanup(func() { closePlugin(t, n) })
	return n
}

// configure configures p with an empty JSON object for self.
func configure(t *testing.T, p sdk.Plugin, self sdk.PeerID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte("{}"), Self: self, StateDir: t.TempDir()}
	if err := p.Configure(ctx, req); err != nil {
		t.Fatalf("configure: %v", err)
	}
}

// closePlugin closes p, accepting that it was closed already.
func closePlugin(t *testing.T, p sdk.Plugin) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil && !errors.Is(err, sdk.ErrClosed) && !errors.Is(err, sdk.ErrPluginExited) {
		t.Errorf("close: %v", err)
	}
}

// rpcNode serves a hub node behind the real RPC shims and returns the
// host's client for it, configured for self. The node is closed through
// the client at cleanup, before the in-process plugin is killed.
func rpcNode(t *testing.T, hub *MemHub, self sdk.PeerID) *host.Process {
	t.Helper()
	pp := ServeInProcess(t, hub.Node(self))
	configure(t, pp.Plugin(), self)
	t.Cleanup(func() { closePlugin(t, pp.Plugin()) })
	return pp
}

func TestMemHubDiscovery(t *testing.T) {
	TestDiscovery(t, func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID) {
		hub := NewMemHub()
		idB = RandomPeerID(t)
		return memNode(t, hub, RandomPeerID(t)), memNode(t, hub, idB), idB
	})
}

func TestMemHubSignaling(t *testing.T) {
	TestSignaling(t, func(t *testing.T) (a, b sdk.Signaling, idA, idB sdk.PeerID) {
		hub := NewMemHub()
		idA, idB = RandomPeerID(t), RandomPeerID(t)
		return memNode(t, hub, idA), memNode(t, hub, idB), idA, idB
	})
}

func TestMemHubDiscoveryRPC(t *testing.T) {
	TestDiscovery(t, func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID) {
		hub := NewMemHub()
		idB = RandomPeerID(t)
		for _, self := range []sdk.PeerID{RandomPeerID(t), idB} {
			d, err := rpcNode(t, hub, self).Discovery()
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			if a == nil {
				a = d
			} else {
				b = d
			}
		}
		return a, b, idB
	})
}

func TestMemHubSignalingRPC(t *testing.T) {
	TestSignaling(t, func(t *testing.T) (a, b sdk.Signaling, idA, idB sdk.PeerID) {
		hub := NewMemHub()
		idA, idB = RandomPeerID(t), RandomPeerID(t)
		var err error
		if a, err = rpcNode(t, hub, idA).Signaling(); err != nil {
			t.Fatalf("signaling: %v", err)
		}
		if b, err = rpcNode(t, hub, idB).Signaling(); err != nil {
			t.Fatalf("signaling: %v", err)
		}
		return a, b, idA, idB
	})
}

// TestMemHubInfoRPC checks that the hub node's Info survives the shims.
func TestMemHubInfoRPC(t *testing.T) {
	pp := rpcNode(t, NewMemHub(), RandomPeerID(t))
	info := pp.Info()
	if info.Name != "memhub" || !info.HasRole(sdk.RoleDiscovery) || !info.HasRole(sdk.RoleSignaling) {
		t.Errorf("Info = %+v, want memhub with the discovery and signaling roles", info)
	}
}

// TestMemHubFromAndLeft checks what the suites leave to implementations:
// Envelope.From is the sender, and a closed node's record leaves.
func TestMemHubFromAndLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hub := NewMemHub()
	idA, idB := RandomPeerID(t), RandomPeerID(t)
	a, b := memNode(t, hub, idA), memNode(t, hub, idB)

	// Sent before b receives: queued, then delivered.
	if err := a.Send(ctx, sdk.Envelope{To: idB, Payload: []byte("hi")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	in, err := b.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if env := <-in; env.From != idA || env.To != idB || string(env.Payload) != "hi" {
		t.Errorf("got %+v, want from a to b with payload hi", env)
	}

	peer := sdk.PeerInfo{ID: RandomPeerID(t), Name: "b"}
	if err := b.Announce(ctx, peer); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	ev, err := a.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if e := <-ev; e.Kind != sdk.PeerJoined || e.Peer.ID != peer.ID || e.Peer.Source != "memhub" {
		t.Errorf("got %v %+v, want joined %s from memhub", e.Kind, e.Peer, peer.ID.Short())
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if e := <-ev; e.Kind != sdk.PeerLeft || e.Peer.ID != peer.ID {
		t.Errorf("got %v %+v, want left %s", e.Kind, e.Peer, peer.ID.Short())
	}
	if _, err := a.Lookup(ctx, peer.ID); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Lookup after its owner closed: %v, want sdk.ErrNotFound", err)
	}
	if err := a.Send(ctx, sdk.Envelope{To: idB, Payload: []byte("x")}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Send to a closed node: %v, want sdk.ErrNotFound", err)
	}
	if _, ok := <-in; ok {
		t.Error("b's Receive channel still open after Close")
	}
}

// TestMemHubCloseThenCall checks that calls after Close fail with
// sdk.ErrClosed, directly and through the shims' unary calls.
func TestMemHubCloseThenCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hub := NewMemHub()
	direct := memNode(t, hub, RandomPeerID(t))
	viaRPC := rpcNode(t, hub, RandomPeerID(t)).Plugin()
	for name, p := range map[string]sdk.Plugin{"direct": direct, "rpc": viaRPC} {
		d, s := p.(sdk.Discovery), p.(sdk.Signaling)
		if err := p.Close(ctx); err != nil {
			t.Fatalf("%s: Close: %v", name, err)
		}
		checks := map[string]error{
			"Announce": d.Announce(ctx, sdk.PeerInfo{ID: RandomPeerID(t)}),
			"Send":     s.Send(ctx, sdk.Envelope{To: RandomPeerID(t)}),
			"Close":    p.Close(ctx),
		}
		_, checks["Lookup"] = d.Lookup(ctx, RandomPeerID(t))
		// Over RPC the streaming calls wait for the server's ready
		// header, so a refused Watch or Receive returns its error.
		_, checks["Watch"] = d.Watch(ctx)
		_, checks["Receive"] = s.Receive(ctx)
		for call, err := range checks {
			if !errors.Is(err, sdk.ErrClosed) {
				t.Errorf("%s: %s after Close: %v, want an error wrapping sdk.ErrClosed", name, call, err)
			}
		}
	}
}
