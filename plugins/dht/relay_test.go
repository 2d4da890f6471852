package dht_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestSignalThroughRelay checks the way to a node behind NAT: b reserves
// a slot on the bootstrap node (a signaling relay by default) and, with
// publish_direct off, its record names only the relayed address; a,
// which cannot be dialed and holds no direct connection to b, delivers an
// envelope to b through the relay.
func TestSignalThroughRelay(t *testing.T) {
	seed := seedNode(t)
	a := newNode(t, "a", seed, nil)
	b := newNode(t, "b", seed, map[string]any{"publish_direct": false})
	b.log.awaitMessage(t, "dht: reachable through the signaling relay")
	announceSelf(t, b, b.id, "b")
	deadline := time.Now().Add(eventually)
	for {
		awaitLookup(t, a, b.id, "b")
		addrs := a.P2PAddrs(b.id)
		if len(addrs) > 0 && strings.Contains(addrs[0], "/p2p-circuit/") {
			for _, s := range addrs {
				if !strings.Contains(s, "/p2p-circuit/") {
					t.Fatalf("b's record names a direct address with publish_direct off: %v", addrs)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's record never named a relayed address: %v", addrs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Behind NAT, neither can dial the other: both stop listening (b's
	// reservation on the relay is a connection it made, and stays), so
	// neither reaches the other's direct address, which a may have
	// learned from the DHT's own connections, and their direct
	// connections (a DHT query may have made one) are closed.
	a.StopListening()
	b.StopListening()
	a.Disconnect(b.id)

	in := receive(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	payload := []byte("offer through the relay")
	if err := a.Send(ctx, sdk.Envelope{To: b.id, Payload: payload}); err != nil {
		t.Fatalf("Send through the relay: %v", err)
	}
	env := awaitEnvelope(t, in, payload)
	if env.From != a.id {
		t.Errorf("envelope from %s, want %s", env.From.Short(), a.id.Short())
	}
	rec := a.log.awaitMessage(t, "dht: send: delivered")
	if rec.Attrs["via"] != "relay" || !strings.Contains(rec.Attrs["remote"], "/p2p-circuit") {
		t.Errorf("a delivered to b %s at %s, want through the relay", rec.Attrs["via"], rec.Attrs["remote"])
	}
}
