package sdk

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

func TestDelegation(t *testing.T) {
	_, dev, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var id PeerID
	copy(id[:], dev.Public().(ed25519.PublicKey))
	now := time.Unix(1_800_000_000, 0)
	d, err := NewDelegation(dev, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("JOIN")
	sig := d.Sign(msg)
	if err := VerifyDelegated(id, d.Cert, msg, sig, now); err != nil {
		t.Fatalf("valid delegation: %v", err)
	}
	enc, err := d.Cert.MarshalBinary()
	if err != nil || len(enc) != CertificateSize {
		t.Fatalf("MarshalBinary: %d bytes, %v", len(enc), err)
	}
	back, err := ParseCertificate(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyDelegated(id, back, msg, sig, now); err != nil {
		t.Fatalf("round-tripped certificate: %v", err)
	}

	_, other, _ := ed25519.GenerateKey(nil)
	var otherID PeerID
	copy(otherID[:], other.Public().(ed25519.PublicKey))
	forged := d.Cert
	forged.Issuer = otherID // claims another device issued it
	tampered := d.Cert
	tampered.Expires = tampered.Expires.Add(24 * time.Hour)
	selfSigned, _ := NewDelegation(other, time.Hour, now)
	cases := []struct {
		name string
		peer PeerID
		cert Certificate
		msg  []byte
		sig  []byte
		at   time.Time
	}{
		{"wrong peer", otherID, d.Cert, msg, sig, now},
		{"forged issuer", otherID, forged, msg, sig, now},
		{"extended expiry", id, tampered, msg, sig, now},
		{"expired", id, d.Cert, msg, sig, now.Add(time.Hour)},
		{"other message", id, d.Cert, []byte("LEAVE"), sig, now},
		{"key of another device", id, selfSigned.Cert, msg, selfSigned.Sign(msg), now},
		{"truncated key", id, Certificate{Issuer: id, Key: d.Cert.Key[:10], Expires: d.Cert.Expires, Sig: d.Cert.Sig}, msg, sig, now},
	}
	for _, c := range cases {
		if err := VerifyDelegated(c.peer, c.cert, c.msg, c.sig, c.at); !errors.Is(err, ErrBadCertificate) {
			t.Errorf("%s: %v, want ErrBadCertificate", c.name, err)
		}
	}
	for _, n := range []int{0, CertificateSize - 1, CertificateSize + 1} {
		if _, err := ParseCertificate(make([]byte, n)); !errors.Is(err, ErrBadCertificate) {
			t.Errorf("ParseCertificate(%d bytes): %v", n, err)
		}
	}
}
