// Package reason names why a transfer, or one file of it, stopped, in the
// few words protocols carry on the wire (jsonchunk's RESPONSE code, ftv2a's
// KILL reason), and turns those words back into errors that wrap the SDK's
// sentinels, so that the sending core can tell a cause it may retry from
// one it must not.
package reason

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// The reasons. The strings are stable: they travel on the wire.
const (
	// Refused: the receiver refused the file or the transfer.
	Refused = "refused"
	// NoSpace: the receiver's disk is full; the transfer can resume once
	// it has room.
	NoSpace = "no_space"
	// Integrity: a record failed to authenticate: the stream was altered
	// on the path (tampering or corruption); a new connection may do.
	Integrity = "integrity"
	// HashMismatch: a file arrived whole but its SHA-256 differs.
	HashMismatch = "hash_mismatch"
	// SourceChanged: the sender's file changed while it was sent.
	SourceChanged = "source_changed"
	// Failed: anything else (the text says what).
	Failed = "failed"
)

// Of returns the reason err stands for: the sentinel it wraps, or ENOSPC
// from the file system for NoSpace; Failed for anything else, "" for nil.
func Of(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sdk.ErrNoSpace), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return NoSpace
	case errors.Is(err, record.ErrIntegrity), errors.Is(err, record.ErrTLSRecord):
		return Integrity
	case errors.Is(err, sdk.ErrHashMismatch):
		return HashMismatch
	case errors.Is(err, sdk.ErrSourceChanged):
		return SourceChanged
	case errors.Is(err, sdk.ErrRefused):
		return Refused
	}
	return Failed
}

// Sentinel returns the error a reason stands for, nil for Failed or an
// unknown reason.
func Sentinel(r string) error {
	switch r {
	case Refused:
		return sdk.ErrRefused
	case NoSpace:
		return sdk.ErrNoSpace
	case Integrity:
		return record.ErrIntegrity
	case HashMismatch:
		return sdk.ErrHashMismatch
	case SourceChanged:
		return sdk.ErrSourceChanged
	}
	return nil
}

// FromPeer is the error for a reason r and text the peer sent: it says
// that the peer reported it, and wraps r's sentinel so that errors.Is
// finds the cause on this side too.
func FromPeer(what, r, text string) error {
	s := Sentinel(r)
	if s == nil {
		return fmt.Errorf("%s: the peer reports: %s", what, text)
	}
	return fmt.Errorf("%s: the peer reports: %s: %w", what, text, s)
}

// Wrap adds the sentinel of err's reason to err when only the operating
// system's error says it (ENOSPC becomes sdk.ErrNoSpace), so that it
// survives the trip through a plugin's RPC; other errors are returned as
// they are.
func Wrap(err error) error {
	if err == nil || errors.Is(err, sdk.ErrNoSpace) {
		return err
	}
	if Of(err) == NoSpace {
		return fmt.Errorf("%w: %w", sdk.ErrNoSpace, err)
	}
	return err
}
