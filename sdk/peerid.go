package sdk

import (
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
)

// PeerIDLen is the length in bytes of a [PeerID].
const PeerIDLen = ed25519.PublicKeySize

// A PeerID names a Ferry device: it is the device's ed25519 public key.
//
// Its printable form is the 52-character unpadded base32 (RFC 4648) encoding
// of the key, cut into four groups of 13 characters, each followed by one
// check character computed with the Luhn mod 32 algorithm over the base32
// alphabet; the resulting 56 characters are shown in eight dash-separated
// groups of 7. A single mistyped character or a swap of two adjacent
// characters within a group is caught by the check, except a swap of "A"
// and "7" (codes 0 and 31), which Luhn mod 32 cannot see.
//
// The zero PeerID is invalid and means "not set".
type PeerID [PeerIDLen]byte

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// PeerIDFromKey returns the PeerID of an ed25519 public key.
func PeerIDFromKey(pub ed25519.PublicKey) (PeerID, error) {
	var id PeerID
	if len(pub) != PeerIDLen {
		return id, fmt.Errorf("peer id from key: %d bytes, want %d: %w", len(pub), PeerIDLen, ErrInvalidPeerID)
	}
	copy(id[:], pub)
	return id, nil
}

// PublicKey returns the ed25519 public key the PeerID stands for.
func (id PeerID) PublicKey() ed25519.PublicKey {
	k := make(ed25519.PublicKey, PeerIDLen)
	copy(k, id[:])
	return k
}

// IsZero reports whether id is the zero (unset) PeerID.
func (id PeerID) IsZero() bool { return id == PeerID{} }

// Equal reports whether two IDs are the same, in constant time.
func (id PeerID) Equal(other PeerID) bool {
	return subtle.ConstantTimeCompare(id[:], other[:]) == 1
}

// String returns the grouped, checked form, for example
// "MFRGGZD-FMZTWQ2-LK5UWEZ-...". The zero ID prints as "<none>".
func (id PeerID) String() string {
	if id.IsZero() {
		return "<none>"
	}
	return groupPeerID(checkedPeerID(b32.EncodeToString(id[:])))
}

// Short returns the first group of the printable form, for logs.
func (id PeerID) Short() string {
	s := id.String()
	if i := strings.IndexByte(s, '-'); i > 0 {
		return s[:i]
	}
	return s
}

// LogValue implements [slog.LogValuer]: IDs are logged in short form.
func (id PeerID) LogValue() slog.Value { return slog.StringValue(id.Short()) }

// MarshalText implements [encoding.TextMarshaler] with the printable form.
func (id PeerID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]; see [ParsePeerID].
func (id *PeerID) UnmarshalText(b []byte) error {
	p, err := ParsePeerID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParsePeerID parses a printable PeerID. It is forgiving in form: any case,
// dashes, spaces or none, and the common typos 0, 1 and 8 for O, I and B are
// accepted. It is strict in content: every check character must match, and
// the error quotes the input and says which group is wrong.
func ParsePeerID(s string) (PeerID, error) {
	var id PeerID
	norm := normalizePeerID(s)
	if len(norm) != 56 {
		return id, fmt.Errorf("%q: %d characters without separators, want 56: %w", s, len(norm), ErrInvalidPeerID)
	}
	raw := make([]byte, 0, 52)
	for g := 0; g < 4; g++ {
		group := norm[g*14 : g*14+13]
		check := norm[g*14+13]
		want, err := luhn32(group)
		if err != nil {
			return id, fmt.Errorf("%q: %w", s, err)
		}
		if check != want {
			return id, fmt.Errorf("%q: check character of group %d is %c, want %c (mistyped?): %w", s, g+1, check, want, ErrInvalidPeerID)
		}
		raw = append(raw, group...)
	}
	dec, err := b32.DecodeString(string(raw))
	if err != nil || len(dec) != PeerIDLen {
		return id, fmt.Errorf("%q: not base32: %w", s, ErrInvalidPeerID)
	}
	copy(id[:], dec)
	if id.IsZero() {
		return id, fmt.Errorf("%q: zero id: %w", s, ErrInvalidPeerID)
	}
	return id, nil
}

func normalizePeerID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ', '\t':
			continue
		case '0':
			r = 'O'
		case '1':
			r = 'I'
		case '8':
			r = 'B'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkedPeerID inserts a check character after each 13-character group.
func checkedPeerID(s string) string {
	var b strings.Builder
	for g := 0; g < 4; g++ {
		group := s[g*13 : g*13+13]
		c, _ := luhn32(group) // group comes from the encoder: always valid
		b.WriteString(group)
		b.WriteByte(c)
	}
	return b.String()
}

func groupPeerID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 7 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i : i+7])
	}
	return b.String()
}

// luhn32 computes the Luhn mod N check character (N = 32) of s over the
// base32 alphabet, as the algorithm is specified: from the rightmost
// character leftwards, every second code point starting with the rightmost
// is doubled and reduced to base N digits.
func luhn32(s string) (byte, error) {
	const n = 32
	factor, sum := 2, 0
	for i := len(s) - 1; i >= 0; i-- {
		cp := strings.IndexByte(b32Alphabet, s[i])
		if cp < 0 {
			return 0, fmt.Errorf("character %q is not base32: %w", s[i], ErrInvalidPeerID)
		}
		addend := factor * cp
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += addend/n + addend%n
	}
	return b32Alphabet[(n-sum%n)%n], nil
}
