// Package feed holds what a discovery or signaling plugin needs to hand
// events to its Watch and Receive channels without ever blocking on a slow
// reader: a queue of peer events that keeps at most one per peer, a
// bounded queue that drops the oldest, and the loop that moves a queue's
// items to a channel until the reader or the plugin goes away.
//
// The queues are not safe for concurrent use on their own: they are meant
// to live beside the plugin's other state, under the plugin's lock, which
// [Forward] takes around each Pop.
package feed

import (
	"context"
	"slices"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// Forward copies what pop yields to out until ctx ends or done is closed,
// then runs remove (with mu held) and closes out. pop is called with mu
// held; a value on wake says there may be more to pop. Run it in its own
// goroutine, one per Watch or Receive call.
func Forward[T any](ctx context.Context, done <-chan struct{}, mu sync.Locker, out chan<- T, wake <-chan struct{}, pop func() (T, bool), remove func()) {
	defer close(out)
	defer func() {
		mu.Lock()
		remove()
		mu.Unlock()
	}()
	for {
		mu.Lock()
		item, ok := pop()
		mu.Unlock()
		if !ok {
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		select {
		case out <- item:
		case <-ctx.Done():
			return
		case <-done:
			return
		}
	}
}

// Wake signals wake without blocking: a value already waiting says the
// same.
func Wake(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// PeerEvents holds at most one pending event per peer, in the order peers
// first got one, so a reader that falls behind reads each peer's current
// state rather than its history. The zero value is ready to use.
type PeerEvents struct {
	order   []sdk.PeerID
	pending map[sdk.PeerID]sdk.PeerEvent
}

// Len returns the number of peers with a pending event.
func (q *PeerEvents) Len() int { return len(q.order) }

// Push queues ev, merging it with the peer's pending event: joined then
// seen stays joined (with the newer info), joined then left (never read)
// leaves nothing, anything else is replaced by ev.
func (q *PeerEvents) Push(ev sdk.PeerEvent) {
	if q.pending == nil {
		q.pending = map[sdk.PeerID]sdk.PeerEvent{}
	}
	id := ev.Peer.ID
	old, ok := q.pending[id]
	if !ok {
		q.pending[id] = ev
		q.order = append(q.order, id)
		return
	}
	switch {
	case old.Kind == sdk.PeerJoined && ev.Kind == sdk.PeerSeen:
		ev.Kind = sdk.PeerJoined
	case old.Kind == sdk.PeerJoined && ev.Kind == sdk.PeerLeft:
		// The reader never learnt of it: nothing to report.
		delete(q.pending, id)
		q.order = slices.DeleteFunc(q.order, func(x sdk.PeerID) bool { return x == id })
		return
	}
	q.pending[id] = ev
}

// Pop removes and returns the oldest pending event.
func (q *PeerEvents) Pop() (sdk.PeerEvent, bool) {
	if len(q.order) == 0 {
		return sdk.PeerEvent{}, false
	}
	id := q.order[0]
	q.order = q.order[1:]
	ev := q.pending[id]
	delete(q.pending, id)
	return ev, true
}

// Bounded is a FIFO of at most Limit items that drops the oldest when
// full, counting what it dropped.
type Bounded[T any] struct {
	// Limit is the most items held; it must be positive.
	Limit int
	// Dropped counts the items dropped so far.
	Dropped int
	items   []T
}

// Push appends item, dropping the oldest if the queue is full.
func (q *Bounded[T]) Push(item T) {
	if len(q.items) >= q.Limit {
		q.items = slices.Delete(q.items, 0, 1)
		q.Dropped++
	}
	q.items = append(q.items, item)
}

// Pop removes and returns the oldest item.
func (q *Bounded[T]) Pop() (T, bool) {
	var zero T
	if len(q.items) == 0 {
		return zero, false
	}
	item := q.items[0]
	q.items = q.items[1:]
	return item, true
}
