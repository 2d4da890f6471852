package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/sdk"
)

// The context a Decider gets for an offer ends when the sender's wait for
// an answer is over or when the sender leaves, with a cause saying which;
// not when another peer leaves, and not at all when the ASK gives no wait
// and the peer stays. stop releases the subscription.
func TestOfferContext(t *testing.T) {
	n := &Node{subs: map[int]func(Event){}}
	s := &server{n: n}
	alice, bob := peerWith(1, "alice"), peerWith(2, "bob")
	ask := func(within int) *connect.Message {
		return &connect.Message{Type: connect.TypeAsk, Ferry: connect.Ferry{AnswerWithin: within}}
	}
	left := func(p sdk.PeerInfo) {
		n.emit(Event{Kind: EventPeer, State: sdk.PeerLeft.String(), Peer: p.ID.String()})
	}
	ended := func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}
	ctx := t.Context()

	t.Run("expired", func(t *testing.T) {
		dctx, stop := s.offerContext(ctx, alice.ID, ask(1))
		defer stop()
		select {
		case <-dctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the offer never expired")
		}
		if why := withdrawn(ctx, dctx); !errors.Is(why, ErrOfferExpired) {
			t.Errorf("withdrawn = %v, want ErrOfferExpired", why)
		}
	})
	t.Run("sender left", func(t *testing.T) {
		dctx, stop := s.offerContext(ctx, alice.ID, ask(0))
		defer stop()
		left(bob)
		if ended(dctx) {
			t.Fatal("another peer leaving ended the offer")
		}
		left(alice)
		if !ended(dctx) {
			t.Fatal("the sender left and the offer stayed")
		}
		if why := withdrawn(ctx, dctx); !errors.Is(why, ErrSenderLeft) {
			t.Errorf("withdrawn = %v, want ErrSenderLeft", why)
		}
	})
	t.Run("node closing is no withdrawal", func(t *testing.T) {
		parent, cancel := context.WithCancel(ctx)
		dctx, stop := s.offerContext(parent, alice.ID, ask(0))
		defer stop()
		cancel()
		if !ended(dctx) {
			t.Fatal("the offer outlived the node")
		}
		if why := withdrawn(parent, dctx); why != nil {
			t.Errorf("withdrawn = %v, want nil: the node closed", why)
		}
	})
	if len(n.subs) != 0 {
		t.Errorf("%d subscriptions left after stop", len(n.subs))
	}
}
