package dht_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestBadAccountRecords extends TestBadRecords to account records: a plain
// kad-dht node PUTs forged, expired, misfiled and garbage account records
// to a Ferry node; each is refused with one log line naming the reason and
// is not stored, and the node keeps serving: a real account record
// published by another Ferry node is found.
func TestBadAccountRecords(t *testing.T) {
	f := newNode(t, "f", nil, nil)
	p := newPlainNode(t, nil, f.Addrs()...)
	awaitRT(t, p.kad, 1)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	put := func(key string, val []byte) {
		t.Helper()
		if err := p.kad.PutValue(ctx, key, val); err != nil {
			t.Fatalf("plain PutValue(%s): %v", key, err)
		}
	}
	newAccount := func() ([32]byte, ed25519.PrivateKey) {
		pub, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return [32]byte(pub), key
	}
	acct, key := newAccount()
	other, otherKey := newAccount()
	sign := func(k ed25519.PrivateKey, seq uint64, exp time.Time) []byte {
		t.Helper()
		b, err := sdk.SignAccountRecord(k, seq, exp, []byte("devices"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	forged := sign(otherKey, 1, time.Now().Add(time.Hour))
	copy(forged[4:36], acct[:]) // claims acct, signed by another key
	put(dht.AccountKey(acct), forged)
	onlyOne(t, f, "account record", "forged", sdk.PeerID(acct).Short())

	put(dht.AccountKey(acct), sign(key, 2, time.Now().Add(-time.Minute)))
	onlyOne(t, f, "account record", "expired", sdk.PeerID(acct).Short())

	put(dht.AccountKey(other), sign(key, 3, time.Now().Add(time.Hour)))
	onlyOne(t, f, "account record", "wrong key", sdk.PeerID(acct).Short())

	put(dht.AccountKey(acct), []byte("FAR\x01 not a record"))
	onlyOne(t, f, "account record", "malformed", "account record")

	if _, err := f.LookupAccount(ctx, acct); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("LookupAccount after bad PUTs: %v, want sdk.ErrNotFound", err)
	}

	// f keeps serving: g publishes a real record of the account, f finds it.
	g := newNode(t, "g", f.Addrs(), nil)
	announceSelf(t, g, g.id, "g")
	real := sign(key, 9, time.Now().Add(time.Hour))
	if err := g.PublishAccount(ctx, real); err != nil {
		t.Fatalf("PublishAccount: %v", err)
	}
	if err := g.PublishAccount(ctx, forged); err == nil {
		t.Error("PublishAccount took a forged record")
	}
	for {
		got, err := f.LookupAccount(ctx, acct)
		if err == nil {
			if string(got) != string(real) {
				t.Fatalf("LookupAccount returned another record")
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the published account record was not found: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
