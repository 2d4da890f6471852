package sdk

import (
	"strings"
	"testing"
)

// FuzzParsePeerID checks that parsing never panics and that whatever parses
// prints back to a form that parses to the same ID.
func FuzzParsePeerID(f *testing.F) {
	id := PeerID{1, 2, 3, 4}
	f.Add(id.String())
	f.Add(strings.ToLower(strings.ReplaceAll(id.String(), "-", "")))
	f.Add("")
	f.Add("AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParsePeerID(s)
		if err != nil {
			return
		}
		back, err := ParsePeerID(id.String())
		if err != nil || back != id {
			t.Fatalf("%q parsed to %s, which reparses to %s (%v)", s, id, back, err)
		}
	})
}

func TestInfoNameMax(t *testing.T) {
	for _, tc := range []struct {
		caps []string
		n    int
		ok   bool
	}{
		{nil, 0, false},
		{[]string{CapOfferToken, NameMaxCapability(255)}, 255, true},
		{[]string{"name.max:zero"}, 0, false},
		{[]string{"name.max:-3"}, 0, false},
	} {
		n, ok := Info{Capabilities: tc.caps}.NameMax()
		if n != tc.n || ok != tc.ok {
			t.Errorf("NameMax of %v = %d, %v; want %d, %v", tc.caps, n, ok, tc.n, tc.ok)
		}
	}
}
