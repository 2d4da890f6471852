package secure

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

func TestCertificate(t *testing.T) {
	id, other := newID(t), newID(t)
	before := time.Now()
	c1, err := newCertificate(id)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := newCertificate(id)
	if err != nil {
		t.Fatal(err)
	}
	leaf := c1.Leaf
	if got, want := leaf.NotBefore, before.Add(-59*time.Minute); got.After(want) {
		t.Errorf("NotBefore = %v, want an hour before creation", got)
	}
	if leaf.NotAfter.Year() != 9999 {
		t.Errorf("NotAfter = %v, want year 9999", leaf.NotAfter)
	}
	if leaf.SerialNumber.Cmp(c2.Leaf.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
	peer, err := peerFromCertificates([]*x509.Certificate{leaf}, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if peer != id.ID {
		t.Errorf("peer = %v, want %v", peer, id.ID)
	}
}

// rawCert returns a TLS certificate for key, signed by signer.
func rawCert(t *testing.T, key, signer crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// badPeers are certificates that a peer with the key of the identity
// returned may present, and the error they must give.
func badPeers(t *testing.T, self *identity.Identity) []struct {
	name string
	cert tls.Certificate
	id   sdk.PeerID // the ID the certificate's key stands for, if any
	want error
} {
	t.Helper()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peer, signer := newID(t), newID(t)
	own, err := newCertificate(self)
	if err != nil {
		t.Fatal(err)
	}
	good, err := newCertificate(peer)
	if err != nil {
		t.Fatal(err)
	}
	var edKey ed25519.PrivateKey = peer.PrivateKey()
	return []struct {
		name string
		cert tls.Certificate
		id   sdk.PeerID
		want error
	}{
		{"ecdsa key", tls.Certificate{Certificate: [][]byte{rawCert(t, ecKey, ecKey)}, PrivateKey: ecKey}, sdk.PeerID{}, ErrBadCertificate},
		{"two certificates", tls.Certificate{
			Certificate: [][]byte{good.Certificate[0], rawCert(t, signer.PrivateKey(), signer.PrivateKey())},
			PrivateKey:  edKey,
		}, peer.ID, ErrBadCertificate},
		{"signed by another key", tls.Certificate{
			Certificate: [][]byte{rawCert(t, edKey, signer.PrivateKey())},
			PrivateKey:  edKey,
		}, peer.ID, ErrBadCertificate},
		{"our own certificate", own, self.ID, ErrSelfConnect},
	}
}

// rawConfig is a TLS 1.3 config that presents cert and checks nothing.
func rawConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates:         []tls.Certificate{cert},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		InsecureSkipVerify:   true,
		ClientAuth:           tls.RequireAnyClientCert,
		MinVersion:           tls.VersionTLS13,
		NextProtos:           []string{"p"},
	}
}

// TestServerChecksClient runs Server against plain TLS clients presenting
// bad certificates.
func TestServerChecksClient(t *testing.T) {
	self := newID(t)
	for _, tt := range badPeers(t, self) {
		t.Run(tt.name, func(t *testing.T) {
			cs, ss := tcpPair(t)
			ctx := testCtx(t)
			done := make(chan error, 1)
			go func() {
				tc := tls.Client(cs, rawConfig(tt.cert))
				err := tc.HandshakeContext(ctx)
				if err == nil {
					_, err = tc.Read(make([]byte, 1)) // the server's verdict
				}
				done <- err
			}()
			c, err := Server(ctx, ss, self, nil, []string{"p"})
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("server err = %v, want %v", err, tt.want)
			}
			if err := <-done; err == nil {
				t.Error("raw client saw no error")
			}
		})
	}
}

// TestClientChecksServer runs Client against plain TLS servers presenting
// bad certificates, expecting the ID of the certificate's key.
func TestClientChecksServer(t *testing.T) {
	self := newID(t)
	for _, tt := range badPeers(t, self) {
		if tt.id == self.ID {
			continue // a client refuses to expect itself before any handshake
		}
		t.Run(tt.name, func(t *testing.T) {
			cs, ss := tcpPair(t)
			ctx := testCtx(t)
			go func() {
				tc := tls.Server(ss, rawConfig(tt.cert))
				_ = tc.HandshakeContext(ctx)
				ss.Close()
			}()
			expect := tt.id
			if expect.IsZero() {
				expect = newID(t).ID
			}
			c, err := Client(ctx, cs, self, expect, []string{"p"})
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("client err = %v, want %v", err, tt.want)
			}
		})
	}
}
