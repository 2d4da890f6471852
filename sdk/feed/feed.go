// Package feed hands a plugin's events to its Watch and Receive channels
// without ever blocking the plugin on a slow reader.
//
// A [Hub] is the fan-out: every Subscribe gets its own channel, its own
// queue and a goroutine that moves the queue to the channel until the
// reader's context ends or the hub closes; Publish only queues. What a
// queue does when its reader falls behind is the queue's choice:
// [PeerEvents] keeps at most one event per peer (its current state),
// [Bounded] keeps the newest items and drops the oldest. [NewPeerEvents]
// and [NewEnvelopes] make the hubs a discovery plugin's Watch and a
// signaling plugin's Receive need.
package feed

import (
	"slices"

	"github.com/ferry-p2p/ferry/sdk"
)

// Queue holds what one subscriber of a [Hub] has yet to read. The hub
// guards it with its lock, so an implementation need not be safe for
// concurrent use.
type Queue[T any] interface {
	// Push queues item. It reports whether an older item was dropped to
	// make room.
	Push(item T) (dropped bool)
	// Pop removes and returns the oldest item; false when there is none.
	Pop() (T, bool)
	// Len returns the number of items queued.
	Len() int
}

// PeerEvents holds at most one pending event per peer, in the order peers
// first got one, so a reader that falls behind reads each peer's current
// state rather than its history. The zero value is ready to use.
type PeerEvents struct {
	order   []sdk.PeerID
	pending map[sdk.PeerID]sdk.PeerEvent
}

var _ Queue[sdk.PeerEvent] = (*PeerEvents)(nil)

// Len returns the number of peers with a pending event.
func (q *PeerEvents) Len() int { return len(q.order) }

// Push queues ev, merging it with the peer's pending event: joined then
// seen stays joined (with the newer info), joined then left (never read)
// leaves nothing, anything else is replaced by ev. It never drops an
// event a reader would miss, so it always returns false.
func (q *PeerEvents) Push(ev sdk.PeerEvent) bool {
	if q.pending == nil {
		q.pending = map[sdk.PeerID]sdk.PeerEvent{}
	}
	id := ev.Peer.ID
	old, ok := q.pending[id]
	if !ok {
		q.pending[id] = ev
		q.order = append(q.order, id)
		return false
	}
	switch {
	case old.Kind == sdk.PeerJoined && ev.Kind == sdk.PeerSeen:
		ev.Kind = sdk.PeerJoined
	case old.Kind == sdk.PeerJoined && ev.Kind == sdk.PeerLeft:
		// The reader never learnt of it: nothing to report.
		delete(q.pending, id)
		q.order = slices.DeleteFunc(q.order, func(x sdk.PeerID) bool { return x == id })
		return false
	}
	q.pending[id] = ev
	return false
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

// CloneInfo returns p with copies of its slices, so that what a plugin
// hands out (an event, a Lookup answer) shares no memory with its own
// table.
func CloneInfo(p sdk.PeerInfo) sdk.PeerInfo {
	p.Addrs = slices.Clone(p.Addrs)
	p.Roles = slices.Clone(p.Roles)
	p.Transports = slices.Clone(p.Transports)
	p.Protocols = slices.Clone(p.Protocols)
	p.Account = slices.Clone(p.Account)
	return p
}

// Known returns a [sdk.PeerJoined] event for each peer of a plugin's
// table, whose entries info turns into records (copied with [CloneInfo]),
// the peer seen longest ago first: what a new Watch starts with, passed
// to [Hub.Subscribe].
func Known[K comparable, V any](table map[K]V, info func(V) sdk.PeerInfo) []sdk.PeerEvent {
	evs := make([]sdk.PeerEvent, 0, len(table))
	for _, v := range table {
		evs = append(evs, sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: CloneInfo(info(v))})
	}
	slices.SortStableFunc(evs, func(a, b sdk.PeerEvent) int { return a.Peer.Seen.Compare(b.Peer.Seen) })
	return evs
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

// Push appends item, dropping the oldest if the queue is full; it reports
// whether it dropped one.
func (q *Bounded[T]) Push(item T) bool {
	dropped := len(q.items) >= q.Limit
	if dropped {
		q.items = slices.Delete(q.items, 0, 1)
		q.Dropped++
	}
	q.items = append(q.items, item)
	return dropped
}

// Len returns the number of items queued.
func (q *Bounded[T]) Len() int { return len(q.items) }

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
