package feed

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// waitLimit bounds every wait for something that should happen at once.
const waitLimit = 5 * time.Second

// subscribers returns how many subscriptions h holds.
func (h *Hub[T]) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// noGoroutinesLeft fails t if, once the test's cleanups ran, more
// goroutines run than when it was called.
func noGoroutinesLeft(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitLimit)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	})
}

// ints returns a hub of ints with bounded queues of limit.
func ints(buffer, limit int, backlog bool) *Hub[int] {
	return New(Config[int]{
		Buffer:   buffer,
		NewQueue: func() Queue[int] { return &Bounded[int]{Limit: limit} },
		Backlog:  backlog,
	})
}

// receive reads one item from ch, failing t if none comes or ch closed.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want an item")
		}
		return v
	case <-time.After(waitLimit):
		t.Fatal("nothing forwarded")
	}
	var zero T
	return zero
}

// closed waits for ch to be closed, failing t if an item comes or it
// stays open.
func closed[T any](t *testing.T, ch <-chan T, why string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("%s: got %v, want the channel closed", why, v)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s: channel not closed", why)
	}
}

// TestHubForwardsInOrder: items reach the channel in order, and the
// channel closes (after the subscriber was removed) when ctx ends, even
// with nothing to send.
func TestHubForwardsInOrder(t *testing.T) {
	noGoroutinesLeft(t)
	h := ints(0, 10, false)
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.Publish(i)
	}
	for want := range 3 {
		if got := receive(t, ch); got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	}
	cancel()
	closed(t, ch, "after ctx ended")
	if n := h.subscribers(); n != 0 {
		t.Errorf("%d subscribers left after ctx ended, want 0", n)
	}
}

// TestHubFanOut: every subscriber gets every item; with Clone, each but
// the first gets its own copy.
func TestHubFanOut(t *testing.T) {
	noGoroutinesLeft(t)
	h := NewEnvelopes("", 4, 16)
	defer h.Close()
	ctx := context.Background()
	var chs []<-chan sdk.Envelope
	for range 3 {
		ch, err := h.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		chs = append(chs, ch)
	}
	payload := []byte("sealed")
	if h.Publish(sdk.Envelope{From: peer(1), Payload: payload}) {
		t.Error("Publish reported a drop with room to spare")
	}
	shared := 0
	for i, ch := range chs {
		env := receive(t, ch)
		if env.From != peer(1) || string(env.Payload) != "sealed" {
			t.Errorf("subscriber %d got %v %q", i, env.From.Short(), env.Payload)
		}
		if &env.Payload[0] == &payload[0] {
			shared++
		}
	}
	if shared > 1 {
		t.Errorf("%d subscribers share the published payload, want at most 1", shared)
	}
}

// TestHubSnapshot: Subscribe's initial items come first, to that
// subscriber alone.
func TestHubSnapshot(t *testing.T) {
	h := NewPeerEvents("", 0)
	defer h.Close()
	ctx := context.Background()
	other, _ := h.Subscribe(ctx)
	ch, err := h.Subscribe(ctx, sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: sdk.PeerInfo{ID: peer(1)}})
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(sdk.PeerEvent{Kind: sdk.PeerSeen, Peer: sdk.PeerInfo{ID: peer(2)}})
	if ev := receive(t, ch); ev.Kind != sdk.PeerJoined || ev.Peer.ID != peer(1) {
		t.Errorf("first event %v %v, want the snapshot's joined", ev.Kind, ev.Peer.ID.Short())
	}
	if ev := receive(t, ch); ev.Peer.ID != peer(2) {
		t.Errorf("second event about %v, want the published one", ev.Peer.ID.Short())
	}
	if ev := receive(t, other); ev.Peer.ID != peer(2) {
		t.Errorf("the other subscriber got %v first, want only the published event", ev.Peer.ID.Short())
	}
}

// TestHubBacklog: what is published while nobody subscribes waits for the
// first subscriber, bounded; a second subscriber starts empty.
func TestHubBacklog(t *testing.T) {
	h := ints(0, 3, true)
	defer h.Close()
	drops := 0
	for i := range 5 {
		if h.Publish(i) {
			drops++
		}
	}
	if drops != 2 {
		t.Errorf("Publish reported %d drops into a backlog of 3 for 5 items, want 2", drops)
	}
	ctx := context.Background()
	first, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := h.Subscribe(ctx)
	for _, want := range []int{2, 3, 4} {
		if got := receive(t, first); got != want {
			t.Errorf("first subscriber got %d, want %d from the backlog", got, want)
		}
	}
	h.Publish(5)
	if got := receive(t, first); got != 5 {
		t.Errorf("first subscriber got %d, want 5", got)
	}
	if got := receive(t, second); got != 5 {
		t.Errorf("second subscriber got %d, want 5 (no backlog)", got)
	}
}

// TestHubSlowReader: a reader that does not read never blocks Publish;
// peer events coalesce to the current state, envelopes keep the newest.
func TestHubSlowReader(t *testing.T) {
	noGoroutinesLeft(t)
	ctx := context.Background()
	t.Run("PeerEvents", func(t *testing.T) {
		h := NewPeerEvents("", 1)
		defer h.Close()
		ch, _ := h.Subscribe(ctx)
		published := make(chan struct{})
		go func() {
			defer close(published)
			for i := range 10_000 {
				h.Publish(sdk.PeerEvent{Kind: sdk.PeerSeen, Peer: sdk.PeerInfo{ID: peer(byte(i % 4)), Name: "n"}})
			}
			for b := range 4 {
				h.Publish(sdk.PeerEvent{Kind: sdk.PeerSeen, Peer: sdk.PeerInfo{ID: peer(byte(b)), Name: "last"}})
			}
		}()
		select {
		case <-published:
		case <-time.After(waitLimit):
			t.Fatal("Publish blocked on a reader that does not read")
		}
		if q := h.Queued(); q > 4 {
			t.Errorf("Queued = %d for 4 peers, want at most one event each", q)
		}
		// At most one event in the channel, one held by the forwarder and
		// one per peer in the queue are left to read.
		last := map[sdk.PeerID]string{}
		n := 0
		for current := 0; current < 4; {
			ev := receive(t, ch)
			n++
			if ev.Peer.Name == "last" && last[ev.Peer.ID] != "last" {
				current++
			}
			last[ev.Peer.ID] = ev.Peer.Name
		}
		if n > 1+1+4 {
			t.Errorf("read %d events for 4 peers, want them coalesced (at most 6)", n)
		}
		select {
		case ev := <-ch:
			t.Errorf("an event after every peer's current state: %v %q", ev.Kind, ev.Peer.Name)
		case <-time.After(10 * time.Millisecond):
		}
	})
	t.Run("Envelopes", func(t *testing.T) {
		h := NewEnvelopes("", 0, 8)
		defer h.Close()
		ch, _ := h.Subscribe(ctx)
		drops := 0
		for i := range 100 {
			if h.Publish(sdk.Envelope{Payload: []byte{byte(i)}}) {
				drops++
			}
		}
		if drops == 0 {
			t.Error("Publish never reported a drop to a reader 100 envelopes behind with room for 8")
		}
		var got []byte
		for len(got) == 0 || got[len(got)-1] != 99 {
			got = append(got, receive(t, ch).Payload[0])
		}
		if len(got) > 8+1 {
			t.Errorf("read %d envelopes, want at most the 8 queued and one in flight", len(got))
		}
	})
}

// TestHubCloseWhileReading: Close ends a reader ranging over its channel
// and returns once the forwarding goroutines are gone; then Subscribe
// fails with sdk.ErrClosed and Publish does nothing.
func TestHubCloseWhileReading(t *testing.T) {
	noGoroutinesLeft(t)
	h := ints(0, 100, false)
	ch, err := h.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	read := 0
	go func() {
		defer wg.Done()
		for range ch {
			read++
		}
	}()
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				h.Publish(i)
			}
		}
	}()
	time.Sleep(10 * time.Millisecond)
	h.Close()
	close(stop)
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("the reader's range loop did not end after Close")
	}
	if n := h.subscribers(); n != 0 {
		t.Errorf("%d subscribers left after Close", n)
	}
	if _, err := h.Subscribe(context.Background()); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want sdk.ErrClosed", err)
	}
	named := NewPeerEvents("demo: watch", 0)
	named.Close()
	if _, err := named.Subscribe(context.Background()); !errors.Is(err, sdk.ErrClosed) || err.Error() != "demo: watch: closed" {
		t.Errorf("Subscribe after Close of a named hub: %v, want \"demo: watch: closed\"", err)
	}
	if h.Publish(1) {
		t.Error("Publish after Close reported a drop")
	}
	h.Close() // again: nothing happens
}

// TestHubRace runs subscribers, publishers, cancels and Close at once;
// run it with -race.
func TestHubRace(t *testing.T) {
	noGoroutinesLeft(t)
	h := NewEnvelopes("", 2, 4)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 200 {
				h.Publish(sdk.Envelope{Payload: []byte{byte(i), byte(j)}})
			}
		}()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			ch, err := h.Subscribe(ctx)
			if err != nil {
				cancel()
				return
			}
			for k := 0; ; k++ {
				if k == 50 {
					cancel()
				}
				if _, ok := <-ch; !ok {
					cancel()
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	h.Close()
	wg.Wait()
}
