package seal

import (
	"crypto/ecdh"
	"crypto/ed25519"

	"github.com/ferry-p2p/ferry/sdk"
)

// sealAs builds a sealed message the way an attacker could: signed by
// signer for signedFor, claiming sender claimed, encrypted for to.
func sealAs(signer ed25519.PrivateKey, claimed, signedFor, to sdk.PeerID, msg []byte) ([]byte, error) {
	recipient, err := montgomery(to)
	if err != nil {
		return nil, err
	}
	eph, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	shared, err := eph.ECDH(recipient)
	if err != nil {
		return nil, err
	}
	ephPub := eph.PublicKey().Bytes()
	aead, err := newAEAD(shared, ephPub, recipient.Bytes())
	if err != nil {
		return nil, err
	}
	inner := append(append([]byte{}, claimed[:]...), ed25519.Sign(signer, signed(signedFor, ephPub, msg))...)
	inner = append(inner, msg...)
	out := append([]byte{Version}, ephPub...)
	return aead.Seal(out, make([]byte, aead.NonceSize()), inner, ad(to)), nil
}
