package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ferry-p2p/ferry/sdk"
)

// ErrBadToken is wrapped by every refusal of [Check].
var ErrBadToken = errors.New("bad transfer token")

// DefaultTTL is how long a token is accepted when [Issue] is given no TTL:
// long enough to resume a transfer after a weekend offline.
const DefaultTTL = 7 * 24 * time.Hour

// maxListedFiles is how many files a token names one by one; a token for
// more names them by [FilesDigest] instead, so that it stays small enough
// to ride in the ACCEPT signaling message beside the offer it answers.
const maxListedFiles = 64

// maxTokenLen bounds the text Check parses (a token for the largest ASK
// that fits one signaling message is well under it).
const maxTokenLen = 256 << 10

// File is one accepted file as the token names it.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// Claims are a transfer token's claims.
type Claims struct {
	jwt.RegisteredClaims
	// TransferID is the transfer the token authorises ("fid").
	TransferID string `json:"fid"`
	// Files are the files accepted, for a transfer of at most 64 files.
	Files []File `json:"files,omitempty"`
	// FilesDigest names the files of a larger transfer: [FilesDigest] of
	// the whole list, which must then be offered whole.
	FilesDigest string `json:"files_sha256,omitempty"`
}

// FilesDigest is the hex SHA-256 of a canonical encoding of files (name,
// size and SHA-256 of each, in order).
func FilesDigest(files []sdk.FileInfo) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%q %d %x\n", f.Name, f.Size, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Issue makes the token by which receiver (the key signing it) lets sender
// send offer's files under offer.TransferID until now+ttl (DefaultTTL if
// ttl is zero).
func Issue(receiver ed25519.PrivateKey, sender sdk.PeerID, offer sdk.Offer, now time.Time, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	var self sdk.PeerID
	copy(self[:], receiver.Public().(ed25519.PublicKey))
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    self.String(),
			Subject:   sender.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		TransferID: offer.TransferID,
	}
	if len(offer.Files) > maxListedFiles {
		c.FilesDigest = FilesDigest(offer.Files)
	} else {
		for _, f := range offer.Files {
			c.Files = append(c.Files, File{Name: f.Name, Size: f.Size, SHA256: hex.EncodeToString(f.SHA256)})
		}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(receiver)
	if err != nil {
		return "", fmt.Errorf("issue token for transfer %s: %w", offer.TransferID, err)
	}
	return s, nil
}

// Check verifies that tok was issued by self's key (receiver) to sender
// for offer.TransferID, has not expired at now, and lists every file of
// offer (same name and size, and same SHA-256 where both give one; for a
// token naming its files by digest, offer must hold exactly that list). It
// returns the token's claims.
func Check(receiver ed25519.PrivateKey, sender sdk.PeerID, offer sdk.Offer, tok string, now time.Time) (*Claims, error) {
	if tok == "" {
		return nil, fmt.Errorf("%w: no token presented (the receiver issues one when it accepts)", ErrBadToken)
	}
	if len(tok) > maxTokenLen {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrBadToken, len(tok), maxTokenLen)
	}
	pub := receiver.Public().(ed25519.PublicKey)
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		exp := "unknown"
		if c.ExpiresAt != nil {
			exp = c.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return nil, fmt.Errorf("%w: expired at %s", ErrBadToken, exp)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, fmt.Errorf("%w: signature does not verify with this device's key (forged, or issued by another device): %w", ErrBadToken, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	var self sdk.PeerID
	copy(self[:], pub)
	if iss, err := sdk.ParsePeerID(c.Issuer); err != nil || iss != self {
		return nil, fmt.Errorf("%w: issued by %q, not this device", ErrBadToken, c.Issuer)
	}
	if sub, err := sdk.ParsePeerID(c.Subject); err != nil || sub != sender {
		return nil, fmt.Errorf("%w: issued to %q, presented by %s", ErrBadToken, c.Subject, sender)
	}
	if c.TransferID != offer.TransferID {
		return nil, fmt.Errorf("%w: for transfer %q, presented for transfer %q", ErrBadToken, c.TransferID, offer.TransferID)
	}
	if c.FilesDigest != "" {
		if got := FilesDigest(offer.Files); got != c.FilesDigest {
			return nil, fmt.Errorf("%w: the %d files offered are not the list the token accepts (digest %s, want %s)", ErrBadToken, len(offer.Files), got[:16], c.FilesDigest[:min(16, len(c.FilesDigest))])
		}
		return &c, nil
	}
	for _, f := range offer.Files {
		if !c.lists(f) {
			return nil, fmt.Errorf("%w: file %q (%d bytes) is not one the token accepts", ErrBadToken, f.Name, f.Size)
		}
	}
	return &c, nil
}

// lists reports whether the token accepts f.
func (c *Claims) lists(f sdk.FileInfo) bool {
	for _, g := range c.Files {
		if g.Name != f.Name || g.Size != f.Size {
			continue
		}
		if len(f.SHA256) == 0 || g.SHA256 == "" || g.SHA256 == hex.EncodeToString(f.SHA256) {
			return true
		}
	}
	return false
}
