package node

import (
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// TestTwins: one ID announced by two instances at two addresses, both
// heard within twinWindow, is warned of once per pair; a restart at the
// same address, an older peer without instances, or a long-gone other
// instance is not.
func TestTwins(t *testing.T) {
	now := time.Now()
	rec := func(inst, addr string, seen time.Time) sdk.PeerInfo {
		return sdk.PeerInfo{ID: sdk.PeerID{1}, Instance: inst, Addrs: []string{addr}, Seen: seen}
	}
	cases := []struct {
		name     string
		old, cur sdk.PeerInfo
		want     bool
	}{
		{"two instances, two addresses", rec("aa", "10.0.0.1:1", now), rec("bb", "10.0.0.2:1", now.Add(time.Second)), true},
		{"same instance moved", rec("aa", "10.0.0.1:1", now), rec("aa", "10.0.0.2:1", now), false},
		{"restarted at the same address", rec("aa", "10.0.0.1:1", now), rec("bb", "10.0.0.1:1", now), false},
		{"an older peer", rec("", "10.0.0.1:1", now), rec("bb", "10.0.0.2:1", now), false},
		{"the other long gone", rec("aa", "10.0.0.1:1", now), rec("bb", "10.0.0.2:1", now.Add(2*twinWindow)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tw twins
			if got := tw.seen(tc.old, tc.cur); got != tc.want {
				t.Errorf("seen = %v, want %v", got, tc.want)
			}
			if tc.want && (tw.seen(tc.old, tc.cur) || tw.seen(tc.cur, tc.old)) {
				t.Error("warned twice of one pair")
			}
		})
	}
	if a, b := newInstance(), newInstance(); len(a) != 16 || a == b {
		t.Errorf("instances %q and %q: want 16 hex digits, different", a, b)
	}
}
