package lan

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// sigContext separates these signatures from any other use of the key.
const sigContext = "ferry/lan/v1 message\x00"

// SigningBytes returns the canonical encoding that [Sign] signs and
// [Verify] checks. It is binary, in this fixed order, with every string
// and byte string preceded by its length as a 4-byte big-endian integer,
// every list by its entry count (4 bytes), integers big-endian:
//
//	"ferry/lan/v1 message\x00" (no length)
//	type
//	announcements: user.name, user.ip
//	v (8 bytes), id (32 raw key bytes), port (2 bytes),
//	roles, transports, protocols, seq (8 bytes), cert
//	SIGNAL: to (32 raw key bytes), payload
//
// The encoding does not depend on the JSON text, so re-encoding or
// reordering fields keeps the signature valid; it covers exactly the
// fields of version 1. It returns nil when m.Ferry is nil.
func SigningBytes(m *Message) []byte {
	h := m.Ferry
	if h == nil {
		return nil // plain Sent messages are not signed
	}
	b := make([]byte, 0, 400+len(m.Payload))
	b = append(b, sigContext...)
	b = appendString(b, string(m.Type))
	if m.Type != TypeSignal {
		b = appendString(b, m.User.Name)
		b = appendString(b, m.User.IP)
	}
	b = binary.BigEndian.AppendUint64(b, h.V)
	b = append(b, h.ID[:]...)
	b = binary.BigEndian.AppendUint16(b, h.Port)
	for _, l := range [][]string{h.Roles, h.Transports, h.Protocols} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
		for _, e := range l {
			b = appendString(b, e)
		}
	}
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = appendString(b, string(h.Cert))
	if m.Type == TypeSignal {
		b = append(b, m.To[:]...)
		b = appendString(b, string(m.Payload))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Sign sets m.Ferry.Cert to d's certificate and m.Ferry.Sig to d's
// signature of [SigningBytes](m). d is the delegated key the host gave the
// plugin at Configure: the device key never reaches the plugin, and peers
// check the certificate against m.Ferry.ID. Sign any change to m before
// encoding it.
//
// Sign fails, wrapping [ErrMalformed], for a plain Sent message (m.Ferry
// is nil), and, wrapping [ErrBadSignature], when d is incomplete or was not
// issued by m.Ferry.ID: peers would reject the message as spoofed.
func Sign(m *Message, d *sdk.Delegation) error {
	if m == nil || m.Ferry == nil {
		return fmt.Errorf("sign: message has no ferry header: %w", ErrMalformed)
	}
	if d == nil || len(d.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: sign: no delegated key", ErrBadSignature)
	}
	if d.Cert.Issuer != m.Ferry.ID {
		return fmt.Errorf("%w: sign: the delegation was issued by %s and cannot sign for %s", ErrBadSignature, d.Cert.Issuer.Short(), m.Ferry.ID.Short())
	}
	if pub, ok := d.Key.Public().(ed25519.PublicKey); !ok || !pub.Equal(d.Cert.Key) {
		return fmt.Errorf("%w: sign: the delegated key does not match its certificate", ErrBadSignature)
	}
	cert, err := d.Cert.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: sign: %w", ErrBadSignature, err)
	}
	m.Ferry.Cert = cert
	m.Ferry.Sig = d.Sign(SigningBytes(m))
	return nil
}

// Verify checks m's certificate and signature at time now: the certificate
// must be issued by m.Ferry.ID, signed by that ID's key and not expired,
// and m.Ferry.Sig must be the certified key's signature of
// [SigningBytes](m). Every error wraps [ErrBadSignature], and the SDK's
// error (wrapping [sdk.ErrBadCertificate]) when there is one; its text says
// which check failed: a spoofed id (the certificate names another issuer),
// a bad or expired certificate, or a signature that does not verify (an
// altered message). A plain Sent message, which is unsigned, fails too.
// Verify does not look at Seq: dropping replays is the caller's job.
func Verify(m *Message, now time.Time) error {
	h := m.Ferry
	if h == nil {
		return fmt.Errorf("%w: %s from a plain Sent peer is unsigned", ErrBadSignature, m.Type)
	}
	if h.ID.IsZero() {
		return fmt.Errorf("%w: %s has no peer id", ErrBadSignature, m.Type)
	}
	cert, err := sdk.ParseCertificate(h.Cert)
	if err != nil {
		return fmt.Errorf("%w: %s claiming id %s: %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errBadCert, err)
	}
	err = sdk.VerifyDelegated(h.ID, cert, SigningBytes(m), h.Sig, now)
	switch {
	case err == nil:
		return nil
	case cert.Issuer != h.ID:
		return fmt.Errorf("%w: %s claiming id %s carries a certificate of %s (%w): %w", ErrBadSignature, m.Type, h.ID.Short(), cert.Issuer.Short(), errSpoofed, err)
	case cert.Verify(now) != nil:
		return fmt.Errorf("%w: %s claiming id %s: %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errBadCert, err)
	}
	return fmt.Errorf("%w: %s claiming id %s is %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errAltered, err)
}
