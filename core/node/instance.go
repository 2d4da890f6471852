package node

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// newInstance returns a fresh instance nonce: 16 hex digits, new each time
// a node starts, announced (sdk.PeerInfo.Instance) and sent in signaling
// (connect.Ferry.Instance), so that two processes running one identity
// (a copied FERRY_HOME) can be told apart.
func newInstance() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// twinWindow is how recently the other instance of a peer must have been
// heard for the two to count as running at once.
const twinWindow = time.Minute

// twins notices one peer ID announced by two instances at different
// addresses, and warns once per pair.
type twins struct {
	mu     sync.Mutex
	warned map[string]bool // "id/instance/instance", sorted instances
}

// seen compares a peer's new record with the one it replaces: it returns
// true (once per pair of instances) when they are two instances at
// different addresses, both heard within twinWindow.
func (tw *twins) seen(old, cur sdk.PeerInfo) bool {
	if old.Instance == "" || cur.Instance == "" || old.Instance == cur.Instance ||
		slices.Equal(old.Addrs, cur.Addrs) || cur.Seen.Sub(old.Seen) > twinWindow {
		return false
	}
	pair := []string{old.Instance, cur.Instance}
	slices.Sort(pair)
	key := cur.ID.String() + "/" + strings.Join(pair, "/")
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.warned == nil {
		tw.warned = map[string]bool{}
	}
	if tw.warned[key] {
		return false
	}
	tw.warned[key] = true
	return true
}
