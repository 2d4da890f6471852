package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

func peerWith(first byte, name string) sdk.PeerInfo {
	var id sdk.PeerID
	id[0] = first
	for i := 1; i < len(id); i++ {
		id[i] = byte(i)
	}
	return sdk.PeerInfo{ID: id, Name: name}
}

func TestResolve(t *testing.T) {
	tab := newPeerTable()
	a, b, c := peerWith(0x00, "laptop"), peerWith(0x01, "phone"), peerWith(0x80, "phone")
	for _, p := range []sdk.PeerInfo{a, b, c} {
		tab.apply(sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: p})
	}
	// a and b share their first characters (first byte 0x00 vs 0x01: the
	// first base32 character is the same); c differs.
	shared := a.ID.String()[:1]
	cases := []struct {
		query     string
		want      sdk.PeerID
		ambiguous bool
		found     bool
	}{
		{a.ID.String(), a.ID, false, true},
		{strings.ToLower(strings.ReplaceAll(a.ID.String(), "-", "")), a.ID, false, true},
		{c.ID.String()[:9], c.ID, false, true}, // with the dash
		{"laptop", a.ID, false, true},
		{"LAPTOP", a.ID, false, true},
		{"phone", sdk.PeerID{}, true, false},
		{shared, sdk.PeerID{}, true, false},
		{"nobody", sdk.PeerID{}, false, false},
	}
	for _, tc := range cases {
		p, ok, _, err := tab.match(tc.query)
		if tc.ambiguous {
			if !errors.Is(err, ErrAmbiguous) {
				t.Errorf("match(%q): %v, want ErrAmbiguous", tc.query, err)
			}
			continue
		}
		if err != nil || ok != tc.found || (ok && p.ID != tc.want) {
			t.Errorf("match(%q) = %s, %v, %v; want %s, %v", tc.query, p.ID.Short(), ok, err, tc.want.Short(), tc.found)
		}
	}
	// The ambiguity error lists the candidates.
	_, _, _, err := tab.match("phone")
	if err == nil || !strings.Contains(err.Error(), b.ID.String()) || !strings.Contains(err.Error(), c.ID.String()) {
		t.Errorf("ambiguity error does not list both phones: %v", err)
	}
	tab.apply(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: c})
	if p, ok, _, err := tab.match("phone"); err != nil || !ok || p.ID != b.ID {
		t.Errorf("after one phone left: %s, %v, %v", p.ID.Short(), ok, err)
	}
}
