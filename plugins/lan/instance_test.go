package lan

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestNoteInstance: a peer remembers where each of its instances was last
// heard, at most maxInstances of them (the longest unheard goes), and
// nothing for an announcement without an instance (an older peer).
func TestNoteInstance(t *testing.T) {
	pe := &peer{}
	now := time.Now()
	pe.noteInstance("", netip.MustParseAddrPort("192.0.2.9:1"), now)
	if len(pe.instances) != 0 {
		t.Fatalf("an announcement without instance was noted: %v", pe.instances)
	}
	for i := range maxInstances + 2 {
		pe.noteInstance(fmt.Sprintf("%02x", i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 7), now.Add(time.Duration(i)*time.Second))
	}
	if len(pe.instances) != maxInstances {
		t.Fatalf("%d instances kept, want %d", len(pe.instances), maxInstances)
	}
	for _, gone := range []string{"00", "01"} {
		if _, ok := pe.instances[gone]; ok {
			t.Errorf("instance %s, the longest unheard, was kept", gone)
		}
	}
	pe.noteInstance("05", netip.MustParseAddrPort("192.0.2.50:7"), now.Add(time.Minute))
	if got := pe.instances["05"].addr.String(); got != "192.0.2.50:7" {
		t.Errorf("instance 05 at %s after it moved, want 192.0.2.50:7", got)
	}
}
