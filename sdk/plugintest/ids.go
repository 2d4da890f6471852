package plugintest

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// RandomPeerID returns the peer ID of a fresh random ed25519 key. It stops
// the test if the system's random source fails.
func RandomPeerID(t testing.TB) sdk.PeerID {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("random peer id: %v", err)
	}
	id, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		t.Fatalf("random peer id: %v", err)
	}
	return id
}
