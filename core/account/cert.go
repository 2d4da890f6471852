package account

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-p2p/ferry/sdk"
)

// Certificate limits.
const (
	// MaxNameLen is the longest device name a certificate holds, in bytes.
	MaxNameLen = 64
	// MaxClockSkew is how far in the future a certificate's issue time may
	// lie, because the account holder's clock runs ahead.
	MaxClockSkew = 5 * time.Minute
	// DefaultValidity is how long a certificate issued by ferry account
	// create or link is valid.
	DefaultValidity = 365 * 24 * time.Hour
)

// certDomain separates certificate signatures from every other use of the
// account key.
const certDomain = "ferry account certificate v1\x00"

// A Certificate is the account's word that a device belongs to it: the
// account key's signature over the device's peer ID, its name, the issue
// time and the expiry.
//
// Its encoding is binary: kind (1), version (1), account key (32), device
// peer ID (32), issue time and expiry (Unix seconds, 8 bytes each, big
// endian), the name's length (1 byte) and the name (UTF-8, at most
// [MaxNameLen] bytes), then the ed25519 signature (64) of
// "ferry account certificate v1\x00" followed by everything before it.
type Certificate struct {
	// Account is the account that signed the certificate.
	Account ID
	// Device is the certified device.
	Device sdk.PeerID
	// Name is the device's name as the account holder gave it.
	Name string
	// Issued and Expires bound the certificate's validity, to the second.
	Issued, Expires time.Time
	// Sig is the account key's signature; set by [Issue], checked by
	// [Certificate.Verify].
	Sig []byte
}

// Issue returns a certificate of device, named name, valid from now for
// validity, signed with the account key.
func Issue(key ed25519.PrivateKey, device sdk.PeerID, name string, now time.Time, validity time.Duration) (*Certificate, error) {
	acct, err := idOfPrivate(key)
	if err != nil {
		return nil, err
	}
	if device.IsZero() {
		return nil, fmt.Errorf("issue certificate: no device id")
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	c := &Certificate{Account: acct, Device: device, Name: name, Issued: now.Truncate(time.Second), Expires: now.Add(validity).Truncate(time.Second)}
	c.Sig = ed25519.Sign(key, append([]byte(certDomain), c.body()...))
	return c, nil
}

func idOfPrivate(key ed25519.PrivateKey) (ID, error) {
	if len(key) != ed25519.PrivateKeySize {
		return ID{}, fmt.Errorf("account key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub, _ := key.Public().(ed25519.PublicKey)
	return IDFromKey(pub)
}

func checkName(name string) error {
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("device name: at most %d bytes of UTF-8", MaxNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("device name: control character %U", r)
		}
	}
	return nil
}

// body is the signed part.
func (c *Certificate) body() []byte {
	b := make([]byte, 0, 2+32+32+16+1+len(c.Name))
	b = append(b, kindCertificate, wireVersion)
	b = append(b, c.Account[:]...)
	b = append(b, c.Device[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Issued.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Expires.Unix()))
	b = append(b, byte(len(c.Name)))
	return append(b, c.Name...)
}

// MarshalBinary returns the encoding described on [Certificate].
func (c *Certificate) MarshalBinary() ([]byte, error) {
	if len(c.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("certificate: unsigned")
	}
	if err := checkName(c.Name); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return append(c.body(), c.Sig...), nil
}

// ParseCertificate decodes a certificate and checks its form; it does not
// check the signature (see [Certificate.Verify]). Errors wrap
// [ErrMalformed].
func ParseCertificate(b []byte) (*Certificate, error) {
	r := &reader{b: b, what: "certificate"}
	return r.certificate(), r.err
}

func (r *reader) certificate() *Certificate {
	r.header(kindCertificate)
	c := &Certificate{}
	copy(c.Account[:], r.bytes(32, "account"))
	copy(c.Device[:], r.bytes(32, "device"))
	c.Issued = time.Unix(r.i64("issued"), 0)
	c.Expires = time.Unix(r.i64("expires"), 0)
	c.Name = string(r.bytes(int(r.byte("name length")), "name"))
	c.Sig = append([]byte(nil), r.bytes(ed25519.SignatureSize, "signature")...)
	r.end()
	switch {
	case r.err != nil:
		return nil
	case c.Account.IsZero():
		r.fail("no account")
	case c.Device.IsZero():
		r.fail("no device")
	case !c.Expires.After(c.Issued):
		r.fail("expires %s, not after its issue %s", c.Expires.UTC().Format(time.RFC3339), c.Issued.UTC().Format(time.RFC3339))
	}
	if err := checkName(c.Name); err != nil && r.err == nil {
		r.fail("%v", err)
	}
	if r.err != nil {
		return nil
	}
	return c
}

// Verify checks that c is signed by account's key and valid at now. A
// certificate of another account wraps [ErrOtherAccount], a bad signature
// [ErrForged], an expired one [ErrExpired] with the expiry date, one issued
// in the future [ErrNotYetValid]. It does not consult revocation lists (see
// [Revocations.Check]).
func (c *Certificate) Verify(account ID, now time.Time) error {
	if c.Account != account {
		return fmt.Errorf("certificate of device %s: %w: %s, not %s", c.Device.Short(), ErrOtherAccount, c.Account, account)
	}
	return c.VerifySelf(now)
}

// VerifySelf is [Certificate.Verify] against the account the certificate
// names: whoever holds it then knows which account vouches for the device.
func (c *Certificate) VerifySelf(now time.Time) error {
	if !ed25519.Verify(c.Account.PublicKey(), append([]byte(certDomain), c.body()...), c.Sig) {
		return fmt.Errorf("certificate of device %s: %w by %s", c.Device.Short(), ErrForged, c.Account.Short())
	}
	if !now.Before(c.Expires) {
		return fmt.Errorf("certificate of device %s (%s) in %s: %w on %s", c.Device.Short(), c.Name, c.Account.Short(), ErrExpired, c.Expires.UTC().Format(time.RFC3339))
	}
	if c.Issued.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("certificate of device %s: %w: issued %s", c.Device.Short(), ErrNotYetValid, c.Issued.UTC().Format(time.RFC3339))
	}
	return nil
}
