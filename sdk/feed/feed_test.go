package feed

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestPeerEventsCoalesce(t *testing.T) {
	var a, b sdk.PeerID
	a[0], b[0] = 1, 2
	ev := func(k sdk.PeerEventKind, id sdk.PeerID, name string) sdk.PeerEvent {
		return sdk.PeerEvent{Kind: k, Peer: sdk.PeerInfo{ID: id, Name: name}}
	}
	var q PeerEvents
	q.Push(ev(sdk.PeerJoined, a, "a1"))
	q.Push(ev(sdk.PeerSeen, b, "b1"))
	for range 100 {
		q.Push(ev(sdk.PeerSeen, a, "a-mid"))
	}
	q.Push(ev(sdk.PeerSeen, a, "a-last"))
	q.Push(ev(sdk.PeerLeft, b, "b1"))
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want one event per peer (2)", q.Len())
	}
	if e, _ := q.Pop(); e.Kind != sdk.PeerJoined || e.Peer.Name != "a-last" {
		t.Errorf("first = %v %q, want joined with the newest info", e.Kind, e.Peer.Name)
	}
	if e, _ := q.Pop(); e.Kind != sdk.PeerLeft || e.Peer.ID != b {
		t.Errorf("second = %v, want b left", e.Kind)
	}
	q.Push(ev(sdk.PeerJoined, a, "a"))
	q.Push(ev(sdk.PeerLeft, a, "a"))
	if e, ok := q.Pop(); ok {
		t.Errorf("joined then left, unread, left %v queued", e.Kind)
	}
}

func TestBoundedDropsOldest(t *testing.T) {
	q := Bounded[int]{Limit: 3}
	for i := range 5 {
		q.Push(i)
	}
	if q.Dropped != 2 {
		t.Errorf("Dropped = %d, want 2", q.Dropped)
	}
	for want := 2; want < 5; want++ {
		if got, ok := q.Pop(); !ok || got != want {
			t.Fatalf("Pop = %d, %v; want %d", got, ok, want)
		}
	}
	if _, ok := q.Pop(); ok {
		t.Error("Pop on an empty queue succeeded")
	}
}

// TestForward: items reach the channel in order, and the channel closes
// (after remove ran) when ctx ends, even with nothing to send.
func TestForward(t *testing.T) {
	var mu sync.Mutex
	q := Bounded[int]{Limit: 10}
	out, wake, done := make(chan int), make(chan struct{}, 1), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	removed := make(chan struct{})
	go Forward(ctx, done, &mu, out, wake, q.Pop, func() { close(removed) })
	for i := range 3 {
		mu.Lock()
		q.Push(i)
		mu.Unlock()
		Wake(wake)
	}
	for want := range 3 {
		select {
		case got := <-out:
			if got != want {
				t.Fatalf("got %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing forwarded")
		}
	}
	cancel()
	select {
	case <-removed:
	case <-time.After(5 * time.Second):
		t.Fatal("remove not called after ctx ended")
	}
	if _, open := <-out; open {
		t.Error("out not closed")
	}
}
