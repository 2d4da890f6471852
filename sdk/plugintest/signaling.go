package plugintest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MakeSignalers returns two configured signaling plugins of the
// implementation under test, a and b, that can reach each other, with the
// peer IDs they were configured with: an envelope sent to idB reaches b. It
// is called once per subtest, so each subtest starts on a fresh pair.
//
// The factory owns the plugins' lifetime: it registers their Close with
// t.Cleanup. The watchdog may close them first, so the cleanup must accept
// a Close that returns an error wrapping [sdk.ErrClosed]. The factory stops
// the test with t.Fatal when it cannot build the pair.
type MakeSignalers func(t *testing.T) (a, b sdk.Signaling, idA, idB sdk.PeerID)

// TestSignaling tests that a signaling plugin keeps the [sdk.Signaling]
// contract: Info, SendReceive, BothWays, MaxPayload, UnknownRecipient and
// ReceiveEndsWithContext. Each subtest runs on a fresh pair from mk, under
// a watchdog (see the package doc). Run it with the race detector.
//
// Delivery is best effort, so the suite sends again, every second, an
// envelope that has not arrived, and also while Send fails with
// [sdk.ErrNotFound] (the recipient may take time to become reachable); it
// ignores the copies that arrive.
func TestSignaling(t *testing.T, mk MakeSignalers) {
	t.Run("Info", func(t *testing.T) { runSignaling(t, mk, testSignalingInfo) })
	t.Run("SendReceive", func(t *testing.T) { runSignaling(t, mk, testSendReceive) })
	t.Run("BothWays", func(t *testing.T) { runSignaling(t, mk, testBothWays) })
	t.Run("MaxPayload", func(t *testing.T) { runSignaling(t, mk, testMaxPayload) })
	t.Run("UnknownRecipient", func(t *testing.T) { runSignaling(t, mk, testUnknownRecipient) })
	t.Run("ReceiveEndsWithContext", func(t *testing.T) { runSignaling(t, mk, testReceiveEndsWithContext) })
}

// signalingPair is the fixture of one signaling subtest.
type signalingPair struct {
	a, b     sdk.Signaling
	idA, idB sdk.PeerID
}

type signalingTest func(ctx context.Context, t *testing.T, p *signalingPair)

// runSignaling builds a fresh pair and runs f on it under a watchdog.
func runSignaling(t *testing.T, mk MakeSignalers, f signalingTest) {
	t.Helper()
	a, b, idA, idB := mk(t)
	if a == nil || b == nil {
		t.Fatal("MakeSignalers returned a nil plugin")
	}
	if idA.IsZero() || idB.IsZero() || idA == idB {
		t.Fatalf("MakeSignalers returned peer IDs %s and %s, want two distinct non-zero IDs", idA.Short(), idB.Short())
	}
	ctx, stop := watchdog(t, "plugins", nil, a, b)
	defer stop()
	f(ctx, t, &signalingPair{a: a, b: b, idA: idA, idB: idB})
}

// testSignalingInfo tests that Info lists the signaling role.
func testSignalingInfo(ctx context.Context, t *testing.T, p *signalingPair) {
	checkInfo(ctx, t, "a", p.a, sdk.RoleSignaling)
	checkInfo(ctx, t, "b", p.b, sdk.RoleSignaling)
}

// resendEvery is how long the suite waits for an envelope before it sends
// it again.
const resendEvery = time.Second

// randomPayload returns n random bytes.
func randomPayload(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random payload: %v", err)
	}
	return b
}

// receive starts s.Receive for the rest of the subtest.
func receive(ctx context.Context, t *testing.T, side string, s sdk.Signaling) <-chan sdk.Envelope {
	t.Helper()
	ch, err := s.Receive(ctx)
	if err != nil {
		t.Fatalf("%s: Receive: %v", side, err)
	}
	if ch == nil {
		t.Fatalf("%s: Receive returned a nil channel and no error", side)
	}
	return ch
}

// deliver sends payload from one side to the peer to until it arrives on
// in, the receiving side's Receive channel, and checks the envelope that
// carries it. It returns an error rather than stopping the test, so that it
// can run on other goroutines.
func deliver(ctx context.Context, from sdk.Signaling, to sdk.PeerID, in <-chan sdk.Envelope, payload []byte) error {
	var lastErr error
	send := func() error {
		err := from.Send(ctx, sdk.Envelope{To: to, Payload: payload})
		switch {
		case err == nil:
		case ctx.Err() != nil:
		case errors.Is(err, sdk.ErrNotFound):
			lastErr = err // maybe not reachable yet; send again
		default:
			return fmt.Errorf("send: %w", err)
		}
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	ticker := time.NewTicker(resendEvery)
	defer ticker.Stop()
	for {
		select {
		case env, ok := <-in:
			if !ok {
				return errors.New("receive channel closed before the envelope arrived")
			}
			if !bytes.Equal(env.Payload, payload) {
				continue // a copy of an earlier envelope, or someone else's
			}
			if env.To != to {
				return fmt.Errorf("envelope arrived with To %s, want %s", env.To.Short(), to.Short())
			}
			return nil
		case <-ticker.C:
			if err := send(); err != nil {
				return err
			}
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("envelope did not arrive before the watchdog; last Send error: %w", lastErr)
			}
			return errors.New("envelope did not arrive before the watchdog")
		}
	}
}

// testSendReceive tests that an envelope a sends to b arrives on b's
// Receive channel with its payload and recipient unchanged.
func testSendReceive(ctx context.Context, t *testing.T, p *signalingPair) {
	in := receive(ctx, t, "b", p.b)
	if err := deliver(ctx, p.a, p.idB, in, randomPayload(t, 256)); err != nil {
		t.Fatalf("a to b: %v", err)
	}
}

// testBothWays tests that a and b, each receiving, can send to each other
// at the same time.
func testBothWays(ctx context.Context, t *testing.T, p *signalingPair) {
	inA := receive(ctx, t, "a", p.a)
	inB := receive(ctx, t, "b", p.b)
	toB, toA := randomPayload(t, 512), randomPayload(t, 512)
	errc := make(chan error, 1)
	go func() { errc <- deliver(ctx, p.b, p.idA, inA, toA) }()
	if err := deliver(ctx, p.a, p.idB, inB, toB); err != nil {
		t.Errorf("a to b: %v", err)
	}
	if err := <-errc; err != nil {
		t.Errorf("b to a: %v", err)
	}
}

// testMaxPayload tests that a payload of sdk.MaxEnvelopePayload bytes
// arrives intact.
func testMaxPayload(ctx context.Context, t *testing.T, p *signalingPair) {
	in := receive(ctx, t, "b", p.b)
	if err := deliver(ctx, p.a, p.idB, in, randomPayload(t, sdk.MaxEnvelopePayload)); err != nil {
		t.Fatalf("a to b, %d bytes: %v", sdk.MaxEnvelopePayload, err)
	}
}

// testUnknownRecipient tests that Send to a peer no plugin serves fails with
// an error wrapping sdk.ErrNotFound.
func testUnknownRecipient(ctx context.Context, t *testing.T, p *signalingPair) {
	unknown := RandomPeerID(t)
	err := p.a.Send(ctx, sdk.Envelope{To: unknown, Payload: []byte("plugintest: to nobody")})
	if !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("a: Send to an unknown peer %s: %v, want an error wrapping sdk.ErrNotFound", unknown.Short(), err)
	}
}

// testReceiveEndsWithContext tests that cancelling Receive's context closes
// its channel promptly, also while envelopes wait unread.
func testReceiveEndsWithContext(ctx context.Context, t *testing.T, p *signalingPair) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := receive(rctx, t, "b", p.b)
	for i := range 3 {
		if err := p.a.Send(ctx, sdk.Envelope{To: p.idB, Payload: []byte{'p', 't', byte(i)}}); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("a: Send: %v", err)
		}
	}
	cancel()
	awaitClosed(t, in, "Receive")
}
