package node

import (
	"context"
	"errors"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// The stable codes of error events ([Event.Code]), for programs that read
// --json output; the message is for people and may change.
const (
	CodeOffline      = "offline"        // the peer was not found, or went away
	CodeRefused      = "refused"        // the receiver refused
	CodeNotProcessed = "not_processed"  // the receiver never processed the request
	CodeNoAnswer     = "no_answer"      // no ACCEPT or REFUSE in time
	CodeAmbiguous    = "ambiguous"      // the peer named matches several
	CodeBadPeerID    = "bad_peer_id"    // a mistyped peer ID
	CodeSelf         = "self"           // this device's own ID
	CodeIdentity     = "identity"       // the peer proved another identity
	CodeHashMismatch = "hash_mismatch"  // a file arrived corrupt
	CodeNoSpace      = "no_space"       // the receiver's disk is full (the transfer waits, then resumes)
	CodeIntegrity    = "integrity"      // the stream was altered on the path (tampering or corruption)
	CodeChanged      = "source_changed" // a file changed while it was sent
	CodeTooLarge     = "too_large"      // the offer does not fit a signaling message
	CodeCancelled    = "cancelled"      // interrupted here (Ctrl-C)
	CodeFailed       = "failed"         // anything else
)

// ErrorCode returns the stable code of err, for error events.
func ErrorCode(err error) string {
	var mismatch *secure.PeerMismatchError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return CodeCancelled
	case errors.Is(err, account.ErrRevoked), errors.Is(err, account.ErrExpired):
		return CodeRevoked
	case errors.Is(err, sdk.ErrRefused):
		return CodeRefused
	case errors.Is(err, sdk.ErrNotProcessed):
		return CodeNotProcessed
	case errors.Is(err, connect.ErrNoAnswer):
		return CodeNoAnswer
	case errors.Is(err, ErrAmbiguous):
		return CodeAmbiguous
	case errors.Is(err, ErrSelf):
		return CodeSelf
	case errors.Is(err, sdk.ErrInvalidPeerID):
		return CodeBadPeerID
	case errors.As(err, &mismatch):
		return CodeIdentity
	case errors.Is(err, transfer.ErrHashMismatch), errors.Is(err, sdk.ErrHashMismatch):
		return CodeHashMismatch
	case errors.Is(err, sdk.ErrNoSpace):
		return CodeNoSpace
	case errors.Is(err, sdk.ErrSourceChanged), errors.Is(err, transfer.ErrFileChanged):
		return CodeChanged
	case altered(err):
		return CodeIntegrity
	case errors.Is(err, ErrMessageTooLarge):
		return CodeTooLarge
	case errors.Is(err, sdk.ErrOffline):
		return CodeOffline
	}
	return CodeFailed
}
