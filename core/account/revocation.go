package account

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MaxRevoked is the most devices one revocation list names.
const MaxRevoked = 64

const revDomain = "ferry account revocations v1\x00"

// Revocations is an account's signed list of revoked devices. Each new
// list has a higher Version and names every device revoked so far, so a
// newer list replaces an older one whole ([Revocations.Newer]).
//
// Its encoding is binary: kind (2), version (1), account key (32), list
// version (8), issue time (Unix seconds, 8), device count (2), the devices'
// peer IDs (32 each), then the ed25519 signature (64) of
// "ferry account revocations v1\x00" followed by everything before it.
type Revocations struct {
	// Account is the account that signed the list.
	Account ID
	// Version orders the lists of one account: higher is newer.
	Version uint64
	// Issued is when the list was signed, to the second.
	Issued time.Time
	// Devices are the revoked devices, sorted.
	Devices []sdk.PeerID
	// Sig is the account key's signature.
	Sig []byte
}

// Revoke returns the list after prev (nil for the first) with device
// added, signed with the account key at now. Revoking a device twice keeps
// one entry and still makes a new version.
func Revoke(key ed25519.PrivateKey, prev *Revocations, device sdk.PeerID, now time.Time) (*Revocations, error) {
	acct, err := idOfPrivate(key)
	if err != nil {
		return nil, err
	}
	r := &Revocations{Account: acct, Version: 1, Issued: now.Truncate(time.Second)}
	if prev != nil {
		if prev.Account != acct {
			return nil, fmt.Errorf("revoke: the previous list is of %s: %w", prev.Account, ErrOtherAccount)
		}
		r.Version = prev.Version + 1
		r.Devices = slices.Clone(prev.Devices)
	}
	if !slices.Contains(r.Devices, device) {
		if len(r.Devices) >= MaxRevoked {
			return nil, fmt.Errorf("revoke: the list already names %d devices, at most %d", len(r.Devices), MaxRevoked)
		}
		r.Devices = append(r.Devices, device)
	}
	slices.SortFunc(r.Devices, func(a, b sdk.PeerID) int { return slices.Compare(a[:], b[:]) })
	r.Sig = ed25519.Sign(key, append([]byte(revDomain), r.body()...))
	return r, nil
}

func (r *Revocations) body() []byte {
	b := make([]byte, 0, 2+32+16+2+32*len(r.Devices))
	b = append(b, kindRevocations, wireVersion)
	b = append(b, r.Account[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Issued.Unix()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Devices)))
	for _, d := range r.Devices {
		b = append(b, d[:]...)
	}
	return b
}

// MarshalBinary returns the encoding described on [Revocations].
func (r *Revocations) MarshalBinary() ([]byte, error) {
	if len(r.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("revocations: unsigned")
	}
	if len(r.Devices) > MaxRevoked {
		return nil, fmt.Errorf("revocations: %d devices, at most %d", len(r.Devices), MaxRevoked)
	}
	return append(r.body(), r.Sig...), nil
}

// ParseRevocations decodes a revocation list and checks its form; it does
// not check the signature (see [Revocations.Verify]). Errors wrap
// [ErrMalformed].
func ParseRevocations(b []byte) (*Revocations, error) {
	rd := &reader{b: b, what: "revocation list"}
	return rd.revocations(), rd.err
}

func (rd *reader) revocations() *Revocations {
	rd.header(kindRevocations)
	r := &Revocations{}
	copy(r.Account[:], rd.bytes(32, "account"))
	r.Version = rd.u64("version")
	r.Issued = time.Unix(rd.i64("issued"), 0)
	n := rd.u16("count")
	if n > MaxRevoked {
		rd.fail("%d devices, at most %d", n, MaxRevoked)
	}
	for i := 0; i < n && rd.err == nil; i++ {
		var d sdk.PeerID
		copy(d[:], rd.bytes(32, "device"))
		if d.IsZero() && rd.err == nil {
			rd.fail("device %d: zero id", i)
		}
		r.Devices = append(r.Devices, d)
	}
	r.Sig = append([]byte(nil), rd.bytes(ed25519.SignatureSize, "signature")...)
	rd.end()
	if rd.err == nil && r.Account.IsZero() {
		rd.fail("no account")
	}
	if rd.err != nil {
		return nil
	}
	return r
}

// Verify checks that r is signed by account's key; another account's list
// wraps [ErrOtherAccount], a bad signature [ErrForged].
func (r *Revocations) Verify(account ID) error {
	if r.Account != account {
		return fmt.Errorf("revocation list: %w: %s, not %s", ErrOtherAccount, r.Account, account)
	}
	if !ed25519.Verify(r.Account.PublicKey(), append([]byte(revDomain), r.body()...), r.Sig) {
		return fmt.Errorf("revocation list v%d: %w by %s", r.Version, ErrForged, r.Account.Short())
	}
	return nil
}

// Newer reports whether r replaces old: a higher version (a nil old is
// replaced by any list).
func (r *Revocations) Newer(old *Revocations) bool {
	return old == nil || r.Version > old.Version
}

// Revoked reports whether the list names device. A nil list names none.
func (r *Revocations) Revoked(device sdk.PeerID) bool {
	return r != nil && slices.Contains(r.Devices, device)
}

// Check returns an error wrapping [ErrRevoked] when the list names device.
func (r *Revocations) Check(device sdk.PeerID) error {
	if r.Revoked(device) {
		return fmt.Errorf("device %s: %w %s (revocation list v%d of %s)", device.Short(), ErrRevoked, r.Account.Short(), r.Version, r.Issued.UTC().Format(time.RFC3339))
	}
	return nil
}
