package account

import (
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestRecord(t *testing.T) {
	key, acct := newKey(t)
	otherKey, other := newKey(t)
	a, b, c := newDevice(t), newDevice(t), newDevice(t)
	var certs []*Certificate
	for _, d := range []sdk.PeerID{a, b, c} {
		cert, err := Issue(key, d, "d", t0, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, cert)
	}
	rev, _ := Revoke(key, nil, c, t0)
	raw, err := SignRecord(key, certs, rev, 5, t0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenRecord(raw, acct, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 5 || len(r.Devices) != 2 || r.Revocations == nil || r.Revocations.Version != 1 {
		t.Fatalf("record %+v", r)
	}
	book := NewBook(nil)
	book.SetClock(func() time.Time { return t0.Add(time.Hour) })
	book.LearnRecord(r)
	if got := book.Devices(acct); len(got) != 2 {
		t.Fatalf("Devices after the record = %v", got)
	}
	if err := book.Check(c); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Check(revoked in the record) = %v", err)
	}
	cases := []struct {
		name string
		raw  []byte
		acct ID
		now  time.Time
		want error
	}{
		{"another account's record", raw, other, t0, ErrOtherAccount},
		{"expired", raw, acct, t0.Add(RecordTTL + time.Hour), ErrForged},
		{"garbage", []byte("FAR\x01xx"), acct, t0, ErrMalformed},
	}
	// A record signed by another key claiming this account.
	forged, _ := SignRecord(otherKey, nil, nil, 9, t0)
	copy(forged[4:36], acct[:])
	cases = append(cases, struct {
		name string
		raw  []byte
		acct ID
		now  time.Time
		want error
	}{"forged", forged, acct, t0, ErrForged})
	for _, tc := range cases {
		if _, err := OpenRecord(tc.raw, tc.acct, tc.now); !errors.Is(err, tc.want) {
			t.Errorf("%s: OpenRecord = %v, want %v", tc.name, err, tc.want)
		}
	}
}
