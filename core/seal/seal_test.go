package seal

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

func key(t *testing.T) (ed25519.PrivateKey, sdk.PeerID) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var id sdk.PeerID
	copy(id[:], pub)
	return priv, id
}

func TestRoundTrip(t *testing.T) {
	alice, aliceID := key(t)
	bob, bobID := key(t)
	for _, msg := range [][]byte{nil, []byte("ASK"), bytes.Repeat([]byte{7}, 60<<10)} {
		sealed, err := Seal(alice, bobID, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(msg)+Overhead {
			t.Errorf("sealed %d bytes into %d, want overhead %d", len(msg), len(sealed), Overhead)
		}
		if len(msg) > 8 && bytes.Contains(sealed, msg[:8]) {
			t.Error("plaintext visible in the sealed message")
		}
		from, got, err := Open(bob, sealed)
		if err != nil {
			t.Fatal(err)
		}
		if from != aliceID || !bytes.Equal(got, msg) {
			t.Fatalf("Open = %s, %d bytes; want %s, %d bytes", from.Short(), len(got), aliceID.Short(), len(msg))
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	alice, _ := key(t)
	bob, bobID := key(t)
	eve, _ := key(t)
	sealed, err := Seal(alice, bobID, []byte("offer"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	cases := []struct {
		name string
		key  ed25519.PrivateKey
		msg  []byte
	}{
		{"wrong recipient", eve, sealed},
		{"version", bob, flip(0)},
		{"ephemeral key", bob, flip(5)},
		{"ciphertext", bob, flip(40)},
		{"tag", bob, flip(len(sealed) - 1)},
		{"truncated", bob, sealed[:Overhead-1]},
		{"empty", bob, nil},
	}
	for _, c := range cases {
		if _, _, err := Open(c.key, c.msg); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", c.name, err)
		}
	}
}

// A sender cannot claim another's ID: the inner signature is checked
// against the claimed sender, and it covers the recipient.
func TestForgedSender(t *testing.T) {
	alice, _ := key(t)
	bob, bobID := key(t)
	_, carolID := key(t)
	forged, err := sealAs(alice, carolID, bobID, bobID, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(bob, forged); !errors.Is(err, ErrOpen) {
		t.Fatalf("message signed by alice but claiming carol accepted: %v", err)
	}
	// Signed for eve, re-encrypted for bob: the signature names eve.
	_, eveID := key(t)
	redirected, err := sealAs(alice, idOf(alice), eveID, bobID, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(bob, redirected); !errors.Is(err, ErrOpen) {
		t.Fatalf("message signed for another recipient accepted: %v", err)
	}
	honest, err := sealAs(alice, idOf(alice), bobID, bobID, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(bob, honest); err != nil {
		t.Fatalf("control case: %v", err)
	}
}

func idOf(k ed25519.PrivateKey) sdk.PeerID {
	var id sdk.PeerID
	copy(id[:], k.Public().(ed25519.PublicKey))
	return id
}

func FuzzOpen(f *testing.F) {
	_, bob, _ := ed25519.GenerateKey(nil)
	var bobID sdk.PeerID
	copy(bobID[:], bob.Public().(ed25519.PublicKey))
	_, a, _ := ed25519.GenerateKey(nil)
	s, _ := Seal(a, bobID, []byte("seed"))
	f.Add(s)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		from, msg, err := Open(bob, b)
		if err == nil && len(msg) > len(b) {
			t.Fatalf("opened %d bytes from %d (from %s)", len(msg), len(b), from.Short())
		}
	})
}
