package transfer

import (
	"errors"

	"github.com/ferry-p2p/ferry/sdk"
)

// ErrBadName is returned when a file name from the wire cannot be used as a
// path inside the receive folder. The error wrapping it says why.
var ErrBadName = errors.New("bad file name")

// ErrNameUnholdable is wrapped, beside [ErrBadName], by the error for a
// name that is well formed but that the receiving file system cannot hold:
// too long (a component over its limit, the whole name over 4096 bytes or
// 64 components) or reserved (a Windows device name, a trailing dot or
// space). Such a file is refused on its own; the rest of the transfer goes
// on.
var ErrNameUnholdable = errors.New("the receiving file system cannot hold this name")

// ErrBadOffer is returned when an offer, or a file offered on its own, is
// malformed or does not match the transfer it names. The error wrapping it
// says which file and why.
var ErrBadOffer = errors.New("bad offer")

// ErrHashMismatch is returned when a received file's SHA-256 is not the one
// the sender announced. The part file is deleted; no final file is made.
// It is the SDK's sentinel, so the error crosses to a protocol plugin.
var ErrHashMismatch = sdk.ErrHashMismatch

// ErrFileChanged is returned by the sender's source when a file's size,
// modification time or identity changed since it was scanned.
var ErrFileChanged = errors.New("file changed since it was scanned")

// ErrNoHash is returned when a file is complete but its sender has not
// given its SHA-256 (neither in the offer nor after sending it), so it
// cannot be checked; the part file is kept for a resume that brings it.
var ErrNoHash = errors.New("no sha-256 from the sender")
