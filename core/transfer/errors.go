package transfer

import "errors"

// ErrBadName is returned when a file name from the wire cannot be used as a
// path inside the receive folder. The error wrapping it says why.
var ErrBadName = errors.New("bad file name")

// ErrBadOffer is returned when an offer, or a file offered on its own, is
// malformed or does not match the transfer it names. The error wrapping it
// says which file and why.
var ErrBadOffer = errors.New("bad offer")

// ErrHashMismatch is returned when a received file's SHA-256 is not the one
// the sender announced. The part file is deleted; no final file is made.
var ErrHashMismatch = errors.New("sha-256 mismatch")

// ErrFileChanged is returned by the sender's source when a file's size,
// modification time or identity changed since it was scanned.
var ErrFileChanged = errors.New("file changed since it was scanned")
