package rpc

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestDelegationOverRPC(t *testing.T) {
	_, dev, _ := ed25519.GenerateKey(nil)
	d, err := sdk.NewDelegation(dev, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := delegationToProto(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := delegationFromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Key.Equal(d.Key) || back.Cert.Expires != d.Cert.Expires {
		t.Fatal("delegation changed crossing the wire")
	}
	p.Certificate[40] ^= 1 // the key in the certificate no longer matches
	if _, err := delegationFromProto(p); err == nil {
		t.Fatal("mismatched key and certificate accepted")
	}
}
