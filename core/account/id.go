package account

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// Prefix starts the printable form of every account ID. Device IDs are
// upper-case base32 and never contain a lower-case letter, so an account ID
// is told apart from a device ID at a glance, and neither parser accepts
// the other.
const Prefix = "acct-"

// An ID names an account: it is the account's ed25519 public key. Its
// printable form is [Prefix] followed by the grouped, checked form of a
// peer ID (sdk.PeerID): base32 with one Luhn mod 32 check character per 13
// characters, in dash-separated groups of 7.
type ID [ed25519.PublicKeySize]byte

// IDFromKey returns the account ID of an ed25519 public key.
func IDFromKey(pub ed25519.PublicKey) (ID, error) {
	var id ID
	if len(pub) != len(id) {
		return id, fmt.Errorf("account id from key: %d bytes, want %d: %w", len(pub), len(id), ErrInvalidID)
	}
	copy(id[:], pub)
	return id, nil
}

// PublicKey returns the account's ed25519 public key.
func (id ID) PublicKey() ed25519.PublicKey { return append(ed25519.PublicKey(nil), id[:]...) }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// String returns "acct-" and the grouped, checked form; "<none>" for the
// zero ID.
func (id ID) String() string {
	if id.IsZero() {
		return "<none>"
	}
	return Prefix + sdk.PeerID(id).String()
}

// Short returns "acct-" and the first group, for logs and tables.
func (id ID) Short() string {
	if id.IsZero() {
		return "<none>"
	}
	return Prefix + sdk.PeerID(id).Short()
}

// LogValue implements [slog.LogValuer]: IDs are logged in short form.
func (id ID) LogValue() slog.Value { return slog.StringValue(id.Short()) }

// MarshalText implements [encoding.TextMarshaler] with the printable form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]; see [ParseID].
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// IsAccountID reports whether s is meant as an account ID: it starts with
// "acct" and a dash, colon or space, in any case. Such a string is never a
// device ID or a prefix of one.
func IsAccountID(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= len(Prefix) && strings.EqualFold(s[:len(Prefix)-1], Prefix[:len(Prefix)-1]) && strings.ContainsRune("-: ", rune(s[len(Prefix)-1]))
}

// ParseID parses a printable account ID: [Prefix] in any case, then a
// checked peer-ID form, parsed as forgivingly as [sdk.ParsePeerID] (case,
// dashes, the typos 0, 1, 8) and as strictly (every check character).
func ParseID(s string) (ID, error) {
	if !IsAccountID(s) {
		return ID{}, fmt.Errorf("%.80q does not start with %q: %w", s, Prefix, ErrInvalidID)
	}
	rest := strings.TrimSpace(s)[len(Prefix):]
	p, err := sdk.ParsePeerID(rest)
	if err != nil {
		return ID{}, fmt.Errorf("account id: %w: %w", ErrInvalidID, err)
	}
	return ID(p), nil
}
