package secure

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

// notAfter is the "no well-defined expiration date" of RFC 5280 4.1.2.5.
// Certificates never expire: the key is the identity, and peers' clocks may
// disagree.
var notAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// backdate is how far before its creation a certificate becomes valid, for
// peers that check validity with a clock running behind ours. Ferry peers
// do not check it.
const backdate = time.Hour

// newCertificate returns a self-signed certificate for the identity's key.
func newCertificate(id *identity.Identity) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate serial: %w", err)
	}
	key := id.PrivateKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: id.ID.String()},
		NotBefore:             time.Now().Add(-backdate).UTC().Truncate(time.Second),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse own certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// peerFromCertificates checks the certificates a peer presented and returns
// the peer ID they carry: exactly one certificate, for an ed25519 key, with
// a valid self-signature, and not for our own ID. Names, validity dates and
// extensions are ignored. That the peer holds the key is checked by the TLS
// handshake itself (CertificateVerify).
func peerFromCertificates(certs []*x509.Certificate, self sdk.PeerID) (sdk.PeerID, error) {
	if len(certs) != 1 {
		return sdk.PeerID{}, fmt.Errorf("%w: %d certificates, want 1", ErrBadCertificate, len(certs))
	}
	cert := certs[0]
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return sdk.PeerID{}, fmt.Errorf("%w: %v key, want Ed25519", ErrBadCertificate, cert.PublicKeyAlgorithm)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return sdk.PeerID{}, fmt.Errorf("%w: self-signature: %w", ErrBadCertificate, err)
	}
	peer, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		return sdk.PeerID{}, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	if peer.IsZero() {
		return sdk.PeerID{}, fmt.Errorf("%w: zero key", ErrBadCertificate)
	}
	if peer.Equal(self) {
		return sdk.PeerID{}, fmt.Errorf("%w: peer presents our own id %s", ErrSelfConnect, self)
	}
	return peer, nil
}
