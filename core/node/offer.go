package node

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/sdk"
)

// Why an offer is withdrawn while its Decider is still asking: the cause
// of the Decider's context ([context.Cause]), and the message of the
// [EventWithdrawn] event.
var (
	// ErrOfferExpired: the sender's wait for an answer is over (the ASK's
	// ferry.answer_within), so an answer would reach no one.
	ErrOfferExpired = errors.New("the offer expired: the sender stopped waiting for an answer")
	// ErrSenderLeft: the sender left the network (it gave up, or was
	// stopped) before an answer.
	ErrSenderLeft = errors.New("the sender gave up")
)

// offerContext returns the context a Decider gets for the ASK m from
// peer: it ends with cause ErrOfferExpired once the sender's wait for an
// answer is over, ErrSenderLeft when the peer leaves, or when ctx ends
// (the node closes, or a newer ASK for the transfer replaces this one).
// stop releases it.
func (s *server) offerContext(ctx context.Context, from sdk.PeerID, m *connect.Message) (dctx context.Context, stop func()) {
	dctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if m.Ferry.AnswerWithin > 0 {
		timer = time.AfterFunc(time.Duration(m.Ferry.AnswerWithin)*time.Second, func() { cancel(ErrOfferExpired) })
	}
	remove := s.n.Subscribe(func(e Event) {
		if e.Kind == EventPeer && e.State == sdk.PeerLeft.String() && e.Peer == from.String() {
			cancel(ErrSenderLeft)
		}
	})
	return dctx, func() {
		if timer != nil {
			timer.Stop()
		}
		remove()
		cancel(context.Canceled)
	}
}

// withdrawn returns why the offer was withdrawn while the Decider asked,
// or nil if it was not: dctx ended with one of the causes above and the
// node itself goes on.
func withdrawn(ctx, dctx context.Context) error {
	if ctx.Err() != nil || dctx.Err() == nil {
		return nil
	}
	cause := context.Cause(dctx)
	if errors.Is(cause, ErrOfferExpired) || errors.Is(cause, ErrSenderLeft) {
		return cause
	}
	return nil
}
