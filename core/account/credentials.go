package account

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MaxCredentialsSize bounds an encoded [Credentials]: a certificate and a
// revocation list of up to [MaxRevoked] devices.
const MaxCredentialsSize = 4 + 2 + 200 + 2 + 120 + 32*MaxRevoked

// Credentials are what a device shows about its account: its certificate
// and the newest revocation list it knows of its account. Discovery
// carries them as opaque bytes (sdk.PeerInfo.Account): LAN announcements
// in the "ferry.account" field, DHT records in "account".
//
// Encoding: kind (3), version (1), the certificate's length (2) and
// encoding, the list's length (2, 0 for none) and encoding.
type Credentials struct {
	// Cert is the device's certificate. REQUIRED.
	Cert *Certificate
	// Revocations is the newest revocation list of the account the device
	// knows; nil for none.
	Revocations *Revocations
}

// MarshalBinary returns the encoding described on [Credentials].
func (c *Credentials) MarshalBinary() ([]byte, error) {
	if c.Cert == nil {
		return nil, fmt.Errorf("credentials: no certificate")
	}
	cert, err := c.Cert.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var rev []byte
	if c.Revocations != nil {
		if rev, err = c.Revocations.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	b := []byte{kindCredentials, wireVersion}
	b = binary.BigEndian.AppendUint16(b, uint16(len(cert)))
	b = append(b, cert...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rev)))
	return append(b, rev...), nil
}

// ParseCredentials decodes credentials and checks their form. Errors wrap
// [ErrMalformed].
func ParseCredentials(b []byte) (*Credentials, error) {
	if len(b) > MaxCredentialsSize {
		return nil, fmt.Errorf("%w: credentials: %d bytes, at most %d", ErrMalformed, len(b), MaxCredentialsSize)
	}
	r := &reader{b: b, what: "credentials"}
	r.header(kindCredentials)
	cert := r.bytes(r.u16("certificate length"), "certificate")
	rev := r.bytes(r.u16("revocations length"), "revocations")
	r.end()
	if r.err != nil {
		return nil, r.err
	}
	c := &Credentials{}
	var err error
	if c.Cert, err = ParseCertificate(cert); err != nil {
		return nil, err
	}
	if len(rev) > 0 {
		if c.Revocations, err = ParseRevocations(rev); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Verify checks that the certificate is valid at now for device (the
// device presenting it), signed by the account it names, and that the
// revocation list, if any, is signed by the same account. It does not check
// whether the list names the device: a device shows its own revocation
// only if it is honest (see [Book]).
func (c *Credentials) Verify(device sdk.PeerID, now time.Time) error {
	if c.Cert.Device != device {
		return fmt.Errorf("%w: presented by %s, certifies %s", ErrWrongDevice, device.Short(), c.Cert.Device.Short())
	}
	if err := c.Cert.VerifySelf(now); err != nil {
		return err
	}
	if c.Revocations != nil {
		if err := c.Revocations.Verify(c.Cert.Account); err != nil {
			return err
		}
	}
	return nil
}
