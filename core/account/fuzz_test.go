package account

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// seedCredentials returns encoded credentials with and without a list.
func seedCredentials(f *testing.F) [][]byte {
	f.Helper()
	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	var dev sdk.PeerID
	dev[0] = 1
	c, err := Issue(key, dev, "seed", time.Unix(1700000000, 0), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	r, err := Revoke(key, nil, dev, time.Unix(1700000000, 0))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, cr := range []*Credentials{{Cert: c}, {Cert: c, Revocations: r}} {
		b, err := cr.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	cb, _ := c.MarshalBinary()
	rb, _ := r.MarshalBinary()
	return append(out, cb, rb)
}

// FuzzParseCredentials feeds the decoders of network input (credentials,
// and the certificate and list inside) arbitrary bytes: they must not
// panic, and what they accept must encode back to the same bytes.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range seedCredentials(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{3, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCredentials(b); err == nil {
			again, err := c.MarshalBinary()
			if err != nil || string(again) != string(b) {
				t.Fatalf("accepted credentials do not re-encode: %v", err)
			}
			_ = c.Verify(c.Cert.Device, time.Unix(1700000000, 0))
		}
		if c, err := ParseCertificate(b); err == nil {
			if again, err := c.MarshalBinary(); err != nil || string(again) != string(b) {
				t.Fatalf("accepted certificate does not re-encode: %v", err)
			}
		}
		if r, err := ParseRevocations(b); err == nil {
			if again, err := r.MarshalBinary(); err != nil || string(again) != string(b) {
				t.Fatalf("accepted list does not re-encode: %v", err)
			}
		}
	})
}

func ed25519NewKeyFromSeed(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }
