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
// addresses, both alive, and warns once per pair. A peer that restarts
// also changes instance (and often port), but its old instance is never
// heard again; two instances running at once take turns: the replaced
// one comes back.
type twins struct {
	mu       sync.Mutex
	replaced map[string]time.Time // "id/instance" -> when another instance's record replaced it
	warned   map[string]bool      // "id/instance/instance", sorted instances
}

// seen compares a peer's new record with the one it replaces: it returns
// true (once per pair of instances) when cur's instance comes back at
// another address than old's within twinWindow of being replaced by it.
func (tw *twins) seen(old, cur sdk.PeerInfo) bool {
	if old.Instance == "" || cur.Instance == "" || old.Instance == cur.Instance ||
		slices.Equal(old.Addrs, cur.Addrs) || cur.Seen.Sub(old.Seen) > twinWindow {
		return false
	}
	id := cur.ID.String()
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.replaced == nil {
		tw.replaced, tw.warned = map[string]time.Time{}, map[string]bool{}
	}
	for k, at := range tw.replaced {
		if cur.Seen.Sub(at) > twinWindow {
			delete(tw.replaced, k) // keeps the map to recent replacements
		}
	}
	at, back := tw.replaced[id+"/"+cur.Instance]
	tw.replaced[id+"/"+old.Instance] = cur.Seen
	if !back || cur.Seen.Sub(at) > twinWindow {
		return false // a first change of instance: a restart, until the old one comes back
	}
	pair := []string{old.Instance, cur.Instance}
	slices.Sort(pair)
	key := id + "/" + strings.Join(pair, "/")
	if tw.warned[key] {
		return false
	}
	tw.warned[key] = true
	return true
}
