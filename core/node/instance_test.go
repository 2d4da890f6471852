package node

import (
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestTwins: one ID announced by two live instances at two addresses
// (they take turns: the replaced one comes back within twinWindow) is
// warned of once per pair; a restart (a new instance, often a new port,
// the old one never heard again), the same instance moving, an older peer
// without instances, or a long-gone instance is not.
func TestTwins(t *testing.T) {
	now := time.Now()
	rec := func(inst, addr string, sec int) sdk.PeerInfo {
		return sdk.PeerInfo{ID: sdk.PeerID{1}, Instance: inst, Addrs: []string{addr}, Seen: now.Add(time.Duration(sec) * time.Second)}
	}
	a1, a2, a3 := rec("aa", "192.0.2.1:1", 0), rec("aa", "192.0.2.1:1", 2), rec("aa", "192.0.2.1:1", 4)
	b1, b2 := rec("bb", "192.0.2.2:1", 1), rec("bb", "192.0.2.2:1", 3)
	cases := []struct {
		name  string
		seq   []sdk.PeerInfo // the records in the order they replace each other
		warns int
	}{
		{"two instances taking turns", []sdk.PeerInfo{a1, b1, a2, b2, a3}, 1},
		{"a restart on another port", []sdk.PeerInfo{a1, b1, b2}, 0},
		{"same instance moved", []sdk.PeerInfo{a1, rec("aa", "192.0.2.9:1", 1), a2}, 0},
		{"restarts at the same address", []sdk.PeerInfo{a1, rec("bb", "192.0.2.1:1", 1), rec("aa", "192.0.2.1:1", 2)}, 0},
		{"an older peer", []sdk.PeerInfo{rec("", "192.0.2.1:1", 0), b1, rec("", "192.0.2.1:1", 2)}, 0},
		{"the other long gone", []sdk.PeerInfo{a1, b1, rec("aa", "192.0.2.1:1", 1000)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tw twins
			warns := 0
			for i := 1; i < len(tc.seq); i++ {
				if tw.seen(tc.seq[i-1], tc.seq[i]) {
					warns++
				}
			}
			if warns != tc.warns {
				t.Errorf("%d warnings, want %d", warns, tc.warns)
			}
		})
	}
	if a, b := newInstance(), newInstance(); len(a) != 16 || a == b {
		t.Errorf("instances %q and %q: want 16 hex digits, different", a, b)
	}
}
