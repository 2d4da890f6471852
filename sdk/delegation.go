package sdk

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrBadCertificate is wrapped by every error of [Certificate.Verify] and
// [ParseCertificate].
var ErrBadCertificate = errors.New("bad delegation certificate")

// CertificateSize is the length of an encoded [Certificate]: issuer (32),
// key (32), expiry in Unix seconds (8, big-endian), signature (64).
const CertificateSize = 32 + 32 + 8 + ed25519.SignatureSize

// certificateDomain separates certificate signatures from every other use
// of the device key.
const certificateDomain = "ferry delegation v1\x00"

// Certificate is a device key's statement that another ed25519 key may sign
// on the device's behalf until Expires. Plugins that must sign what they
// publish (LAN announcements, DHT records) get a [Delegation] in
// [ConfigureRequest] instead of the device key, which never leaves the
// core; peers verify the certificate against the peer ID they expect and
// then the message against [Certificate.Key].
type Certificate struct {
	// Issuer is the device whose key signed the certificate.
	Issuer PeerID
	// Key is the delegated public key.
	Key ed25519.PublicKey
	// Expires is when the delegation ends; whole seconds.
	Expires time.Time
	// Sig is Issuer's ed25519 signature of [Certificate.SigningBytes].
	Sig []byte
}

// SigningBytes returns the bytes the issuer signs: a domain string, the
// issuer, the key and the expiry.
func (c Certificate) SigningBytes() []byte {
	b := make([]byte, 0, len(certificateDomain)+32+32+8)
	b = append(b, certificateDomain...)
	b = append(b, c.Issuer[:]...)
	b = append(b, c.Key...)
	return binary.BigEndian.AppendUint64(b, uint64(c.Expires.Unix()))
}

// Verify checks the signature and that the certificate has not expired at
// now. It does not say whom to trust: compare Issuer with the expected peer.
func (c Certificate) Verify(now time.Time) error {
	if len(c.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: key is %d bytes, want %d", ErrBadCertificate, len(c.Key), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(ed25519.PublicKey(c.Issuer[:]), c.SigningBytes(), c.Sig) {
		return fmt.Errorf("%w: signature does not verify for issuer %s", ErrBadCertificate, c.Issuer.Short())
	}
	if !now.Before(c.Expires) {
		return fmt.Errorf("%w: expired at %s", ErrBadCertificate, c.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// MarshalBinary encodes c in [CertificateSize] bytes.
func (c Certificate) MarshalBinary() ([]byte, error) {
	if len(c.Key) != ed25519.PublicKeySize || len(c.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: incomplete certificate", ErrBadCertificate)
	}
	b := make([]byte, 0, CertificateSize)
	b = append(b, c.Issuer[:]...)
	b = append(b, c.Key...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Expires.Unix()))
	return append(b, c.Sig...), nil
}

// ParseCertificate decodes what [Certificate.MarshalBinary] wrote. It checks
// the length only; call [Certificate.Verify] before trusting the result.
func ParseCertificate(b []byte) (Certificate, error) {
	if len(b) != CertificateSize {
		return Certificate{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadCertificate, len(b), CertificateSize)
	}
	var c Certificate
	copy(c.Issuer[:], b[:32])
	c.Key = ed25519.PublicKey(append([]byte(nil), b[32:64]...))
	secs := binary.BigEndian.Uint64(b[64:72])
	if secs > 1<<40 {
		return Certificate{}, fmt.Errorf("%w: expiry %d out of range", ErrBadCertificate, secs)
	}
	c.Expires = time.Unix(int64(secs), 0)
	c.Sig = append([]byte(nil), b[72:]...)
	return c, nil
}

// NewDelegation makes a fresh delegated key certified by the device key
// issuer for ttl. The core calls it; a plugin receives the result in
// [ConfigureRequest.Delegation].
func NewDelegation(issuer ed25519.PrivateKey, ttl time.Duration, now time.Time) (*Delegation, error) {
	if len(issuer) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new delegation: issuer key is %d bytes, want %d", len(issuer), ed25519.PrivateKeySize)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("new delegation: %w", err)
	}
	var id PeerID
	copy(id[:], issuer.Public().(ed25519.PublicKey))
	c := Certificate{Issuer: id, Key: pub, Expires: now.Add(ttl).Truncate(time.Second)}
	c.Sig = ed25519.Sign(issuer, c.SigningBytes())
	return &Delegation{Key: priv, Cert: c}, nil
}

// Delegation is a key a plugin may sign with on behalf of the device, with
// the certificate that proves it.
type Delegation struct {
	// Key is the delegated private key. It is a secret of this plugin
	// instance; it is made anew each time the plugin is configured.
	Key ed25519.PrivateKey
	// Cert certifies Key's public half for the device.
	Cert Certificate
}

// Sign signs msg with the delegated key.
func (d *Delegation) Sign(msg []byte) []byte { return ed25519.Sign(d.Key, msg) }

// VerifyDelegated checks that msg was signed by a key that peer delegated
// to, with a certificate valid at now.
func VerifyDelegated(peer PeerID, cert Certificate, msg, sig []byte, now time.Time) error {
	if cert.Issuer != peer {
		return fmt.Errorf("%w: issued by %s, not %s", ErrBadCertificate, cert.Issuer.Short(), peer.Short())
	}
	if err := cert.Verify(now); err != nil {
		return err
	}
	if !ed25519.Verify(cert.Key, msg, sig) {
		return fmt.Errorf("%w: message signature does not verify with the delegated key", ErrBadCertificate)
	}
	return nil
}
