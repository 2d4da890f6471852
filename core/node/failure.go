package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

// failure is what a sender does after an attempt failed.
type failure int

const (
	// transient: the connection was lost, the peer is restarting, a
	// stream was altered on the path: resume at once (after a short
	// backoff), from the receiver's journal.
	transient failure = iota
	// permanent: resuming cannot help (a refusal, a hash mismatch, a
	// source that changed, a name no protocol carries, another identity):
	// stop now and say why.
	permanent
	// waitSpace: the receiver's disk is full: say so, wait longer between
	// tries (no retry storm), and resume once it has room.
	waitSpace
)

// Waits between tries while the receiver's disk is full: the first, and
// the most (each wait doubles).
const (
	spaceWaitFirst = 2 * time.Second
	spaceWaitMost  = 30 * time.Second
)

// permanentError marks a failure that resuming cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// classify says what a failed attempt's err calls for.
func classify(ctx context.Context, err error) failure {
	var pe permanentError
	var mismatch *secure.PeerMismatchError
	switch {
	case ctx.Err() != nil,
		errors.As(err, &pe),
		errors.As(err, &mismatch),
		errors.Is(err, sdk.ErrRefused),
		errors.Is(err, sdk.ErrNotProcessed),
		errors.Is(err, ErrMessageTooLarge),
		errors.Is(err, connect.ErrBadMessage),
		errors.Is(err, connect.ErrNoAnswer),
		errors.Is(err, connect.ErrBadAnswer),
		errors.Is(err, transfer.ErrHashMismatch),
		errors.Is(err, transfer.ErrFileChanged),
		errors.Is(err, sdk.ErrSourceChanged):
		return permanent
	case errors.Is(err, sdk.ErrNoSpace):
		return waitSpace
	}
	// connect.ErrElsewhere (another instance of the receiver's identity
	// answered) is transient: the next try may reach the holder.
	return transient
}

// altered reports whether err says that a record failed to authenticate:
// the stream was altered on the path, by tampering or corruption.
func altered(err error) bool { return reason.Of(err) == reason.Integrity }

// alteredHeadline says, for people, that the stream was altered on the
// path on n of conns connections of a transfer.
func alteredHeadline(n, conns int) string {
	return fmt.Sprintf("the stream was altered on the path (tampering or corruption): a record failed its authentication check on %d of %d connections of this transfer, and nothing altered was written", n, conns)
}

// noSpaceHeadline says, for people, that the receiver's disk is full and
// how long the sender waits before it tries again.
func noSpaceHeadline(wait time.Duration) string {
	return fmt.Sprintf("the receiver's disk is full: waiting %v for it to have room, then resuming from what it holds", wait)
}
