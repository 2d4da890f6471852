package seal

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ferry-p2p/ferry/sdk"
)

// Version is the format version this package writes and reads.
const Version = 1

// Overhead is how many bytes sealing adds to a message.
const Overhead = 1 + 32 + chacha20poly1305.Overhead + sdk.PeerIDLen + ed25519.SignatureSize

// ErrOpen is wrapped by every error of [Open]: the message is not for this
// device, was altered, or its signature does not verify.
var ErrOpen = errors.New("cannot open sealed message")

const (
	domain = "ferry seal v1\x00"
	info   = "ferry seal v1"
)

// Seal encrypts msg for the device to, signed by the sender's device key.
func Seal(from ed25519.PrivateKey, to sdk.PeerID, msg []byte) ([]byte, error) {
	if len(from) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("seal: sender key is %d bytes, want %d", len(from), ed25519.PrivateKeySize)
	}
	recipient, err := montgomery(to)
	if err != nil {
		return nil, fmt.Errorf("seal for %s: %w", to.Short(), err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	shared, err := eph.ECDH(recipient)
	if err != nil {
		return nil, fmt.Errorf("seal for %s: %w", to.Short(), err)
	}
	ephPub := eph.PublicKey().Bytes()
	aead, err := newAEAD(shared, ephPub, recipient.Bytes())
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	inner := make([]byte, 0, sdk.PeerIDLen+ed25519.SignatureSize+len(msg))
	inner = append(inner, from.Public().(ed25519.PublicKey)...)
	inner = append(inner, ed25519.Sign(from, signed(to, ephPub, msg))...)
	inner = append(inner, msg...)

	out := make([]byte, 0, Overhead+len(msg))
	out = append(out, Version)
	out = append(out, ephPub...)
	return aead.Seal(out, make([]byte, aead.NonceSize()), inner, ad(to)), nil
}

// Open decrypts a message sealed for self and returns the sender's peer ID,
// proven by its signature, and the message.
func Open(self ed25519.PrivateKey, sealed []byte) (sdk.PeerID, []byte, error) {
	var from sdk.PeerID
	if len(self) != ed25519.PrivateKeySize {
		return from, nil, fmt.Errorf("open: own key is %d bytes, want %d", len(self), ed25519.PrivateKeySize)
	}
	if len(sealed) < Overhead {
		return from, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte overhead", ErrOpen, len(sealed), Overhead)
	}
	if sealed[0] != Version {
		return from, nil, fmt.Errorf("%w: version %d, want %d", ErrOpen, sealed[0], Version)
	}
	var me sdk.PeerID
	copy(me[:], self.Public().(ed25519.PublicKey))
	priv, err := ecdh.X25519().NewPrivateKey(scalar(self))
	if err != nil {
		return from, nil, fmt.Errorf("open: %w", err)
	}
	ephPub := sealed[1:33]
	eph, err := ecdh.X25519().NewPublicKey(ephPub)
	if err != nil {
		return from, nil, fmt.Errorf("%w: ephemeral key: %v", ErrOpen, err)
	}
	shared, err := priv.ECDH(eph)
	if err != nil {
		return from, nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	aead, err := newAEAD(shared, ephPub, priv.PublicKey().Bytes())
	if err != nil {
		return from, nil, fmt.Errorf("open: %w", err)
	}
	inner, err := aead.Open(nil, make([]byte, aead.NonceSize()), sealed[33:], ad(me))
	if err != nil {
		return from, nil, fmt.Errorf("%w: not for this device, or altered", ErrOpen)
	}
	copy(from[:], inner[:sdk.PeerIDLen])
	sig := inner[sdk.PeerIDLen : sdk.PeerIDLen+ed25519.SignatureSize]
	msg := inner[sdk.PeerIDLen+ed25519.SignatureSize:]
	if !ed25519.Verify(ed25519.PublicKey(from[:]), signed(me, ephPub, msg), sig) {
		return sdk.PeerID{}, nil, fmt.Errorf("%w: signature does not verify for claimed sender %s", ErrOpen, from.Short())
	}
	return from, msg, nil
}

func signed(to sdk.PeerID, ephPub, msg []byte) []byte {
	b := make([]byte, 0, len(domain)+sdk.PeerIDLen+len(ephPub)+len(msg))
	b = append(b, domain...)
	b = append(b, to[:]...)
	b = append(b, ephPub...)
	return append(b, msg...)
}

func ad(to sdk.PeerID) []byte { return append([]byte{Version}, to[:]...) }

func newAEAD(shared, ephPub, recipient []byte) (interface {
	NonceSize() int
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	salt := append(append([]byte{}, ephPub...), recipient...)
	key, err := hkdf.Key(sha256.New, shared, salt, info, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.New(key)
}

// montgomery maps an ed25519 public key to its X25519 public key.
func montgomery(id sdk.PeerID) (*ecdh.PublicKey, error) {
	p, err := new(edwards25519.Point).SetBytes(id[:])
	if err != nil {
		return nil, fmt.Errorf("peer id is not a valid ed25519 point: %w", err)
	}
	return ecdh.X25519().NewPublicKey(p.BytesMontgomery())
}

// scalar derives the X25519 private scalar of an ed25519 key (RFC 8032's
// hashed seed; X25519 clamps it).
func scalar(k ed25519.PrivateKey) []byte {
	h := sha512.Sum512(k.Seed())
	return h[:32]
}
