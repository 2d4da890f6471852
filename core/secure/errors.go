package secure

import (
	"errors"
	"fmt"

	"github.com/ferry-p2p/ferry/sdk"
)

// ErrSelfConnect is returned when the peer presents this device's own peer
// ID, or when a client is asked to expect it: the stream leads back to us.
var ErrSelfConnect = errors.New("connected to self")

// ErrNoProtocol is returned when the two sides have no protocol ID in common,
// or when no protocol ID was given.
var ErrNoProtocol = errors.New("no common protocol")

// ErrBadCertificate is returned when the peer does not present exactly one
// certificate, self-signed with a valid signature, for an ed25519 key.
var ErrBadCertificate = errors.New("bad peer certificate")

// ErrPeerRefused is returned by [Server] when its accept function refuses
// the peer; the error also wraps the accept function's error.
var ErrPeerRefused = errors.New("peer refused")

// ErrPeerRefusedUs is returned by a client's first Read when the server
// refused it at the end of the handshake; the error also wraps the server's
// TLS alert.
var ErrPeerRefusedUs = errors.New("the peer refused this device")

// PeerMismatchError is returned by [Client] when the peer proves an identity
// other than the expected one: the stream reached the wrong device, or a
// man in the middle.
type PeerMismatchError struct {
	Expected sdk.PeerID // the ID the caller asked for
	Actual   sdk.PeerID // the ID the peer's certificate carries
}

// Error names both IDs in full, so that the user can compare them.
func (e *PeerMismatchError) Error() string {
	return fmt.Sprintf("peer id mismatch: expected %s, saw %s", e.Expected, e.Actual)
}
