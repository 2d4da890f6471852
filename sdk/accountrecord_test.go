package sdk

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func TestAccountRecord(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	b, err := SignAccountRecord(key, 7, now.Add(time.Hour), []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseAccountRecord(b)
	if err != nil || r.Seq != 7 || string(r.Body) != "body" || string(r.Account[:]) != string(pub) {
		t.Fatalf("round trip: %+v, %v", r, err)
	}
	if err := r.Verify(now); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(now.Add(2 * time.Hour)); !errors.Is(err, ErrBadAccountRecord) {
		t.Fatalf("expired: %v", err)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 1
		if r, err := ParseAccountRecord(bad); err == nil && r.Verify(now) == nil {
			t.Fatalf("a flipped bit at byte %d verifies", i)
		}
	}
	long, _ := SignAccountRecord(key, 1, now.Add(48*time.Hour), nil)
	if r, _ := ParseAccountRecord(long); r.Verify(now) == nil {
		t.Fatal("a record claiming two days verified")
	}
}

// FuzzParseAccountRecord: no panic on any input; what parses and verifies
// re-encodes identically.
func FuzzParseAccountRecord(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	b, _ := SignAccountRecord(key, 1, time.Unix(1_800_000_000, 0), []byte{1, 2, 3})
	f.Add(b)
	f.Add([]byte("FAR\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseAccountRecord(b)
		if err != nil {
			return
		}
		_ = r.Verify(time.Unix(1_800_000_000, 0))
		if string(append(r.signed(), r.Sig...)) != string(b) {
			t.Fatal("a parsed record does not re-encode")
		}
	})
}
