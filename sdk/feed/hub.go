package feed

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// Defaults of the hubs of a plugin's Watch and Receive.
const (
	// DefaultBuffer is the capacity of a Watch or Receive channel; the
	// subscriber's queue holds the rest.
	DefaultBuffer = 16
	// DefaultEnvelopes bounds the envelopes waiting for one Receive
	// reader, or for the first Receive; beyond it the oldest are dropped.
	DefaultEnvelopes = 256
)

// Config sets up a [Hub].
type Config[T any] struct {
	// Name, when set, prefixes the error of a Subscribe after Close, as
	// in "lan: watch: closed".
	Name string
	// Buffer is the capacity of each subscriber's channel; its queue
	// holds the rest.
	Buffer int
	// NewQueue returns an empty queue for a new subscriber (and for the
	// backlog). REQUIRED.
	NewQueue func() Queue[T]
	// Backlog, when set, keeps what is published while nobody subscribes
	// (in a queue from NewQueue) for the next subscriber, which starts
	// with it.
	Backlog bool
	// Clone, when not nil, copies an item for every subscriber but the
	// first, so that no two readers share its memory.
	Clone func(T) T
}

// Hub hands each published item to every subscriber's channel without
// blocking the publisher: each subscriber has its own queue, and its own
// goroutine that moves the queue to its channel until the subscriber's
// context ends or the hub closes, then closes the channel. Make it with
// [New], [NewPeerEvents] or [NewEnvelopes]; it is safe for concurrent use.
//
// A plugin that must keep a snapshot and the events after it in step (a
// Watch that starts with the peers known) calls Subscribe and Publish
// under its own lock; the hub's lock is taken inside and never held while
// calling out, so that order is safe.
type Hub[T any] struct {
	cfg Config[T]

	mu      sync.Mutex
	subs    map[*subscriber[T]]struct{}
	backlog Queue[T] // nil unless cfg.Backlog
	closed  bool
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// subscriber is one Subscribe call.
type subscriber[T any] struct {
	out   chan T
	wake  chan struct{} // capacity 1: there may be more to pop
	queue Queue[T]      // guarded by Hub.mu
}

// New returns a hub with no subscribers.
func New[T any](cfg Config[T]) *Hub[T] {
	h := &Hub[T]{cfg: cfg, subs: map[*subscriber[T]]struct{}{}, done: make(chan struct{})}
	if cfg.Backlog {
		h.backlog = cfg.NewQueue()
	}
	return h
}

// NewPeerEvents returns the hub of a discovery plugin's Watch: each
// subscriber's queue is a [PeerEvents], which coalesces a slow reader's
// pending events per peer, and its channel holds buffer events. name
// prefixes errors (see [Config]).
func NewPeerEvents(name string, buffer int) *Hub[sdk.PeerEvent] {
	return New(Config[sdk.PeerEvent]{
		Name:     name,
		Buffer:   buffer,
		NewQueue: func() Queue[sdk.PeerEvent] { return &PeerEvents{} },
	})
}

// NewEnvelopes returns the hub of a signaling plugin's Receive: each
// subscriber's queue is a [Bounded] of limit envelopes, so a reader that
// falls more than limit behind loses the oldest; what arrives while no
// Receive is open waits (up to limit) for the next one; every subscriber
// but the first gets its own copy of the payload. Its channels hold
// buffer envelopes. name prefixes errors (see [Config]).
func NewEnvelopes(name string, buffer, limit int) *Hub[sdk.Envelope] {
	return New(Config[sdk.Envelope]{
		Name:     name,
		Buffer:   buffer,
		NewQueue: func() Queue[sdk.Envelope] { return &Bounded[sdk.Envelope]{Limit: limit} },
		Backlog:  true,
		Clone: func(env sdk.Envelope) sdk.Envelope {
			env.Payload = slices.Clone(env.Payload)
			return env
		},
	})
}

// Subscribe returns a new channel that carries first the backlog (if the
// hub keeps one and nobody else subscribes), then initial, then what is
// published from now on, until ctx ends or the hub closes; then the
// channel is closed. After Close it fails with an error wrapping
// [sdk.ErrClosed].
func (h *Hub[T]) Subscribe(ctx context.Context, initial ...T) (<-chan T, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		if h.cfg.Name != "" {
			return nil, fmt.Errorf("%s: %w", h.cfg.Name, sdk.ErrClosed)
		}
		return nil, sdk.ErrClosed
	}
	s := &subscriber[T]{out: make(chan T, h.cfg.Buffer), wake: make(chan struct{}, 1)}
	if h.backlog != nil && len(h.subs) == 0 {
		s.queue, h.backlog = h.backlog, h.cfg.NewQueue()
	} else {
		s.queue = h.cfg.NewQueue()
	}
	for _, item := range initial {
		s.queue.Push(item)
	}
	h.subs[s] = struct{}{}
	h.wg.Add(1)
	go h.forward(ctx, s)
	return s.out, nil
}

// Publish queues item for every subscriber, or in the backlog when there
// is none and the hub keeps one. It never blocks on a reader. It reports
// whether a queue dropped an older item to make room (the caller may log
// that a reader is too slow). After Close it does nothing.
func (h *Hub[T]) Publish(item T) (dropped bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if len(h.subs) == 0 && h.backlog != nil {
		return h.backlog.Push(item)
	}
	first := true
	for s := range h.subs {
		it := item
		if !first && h.cfg.Clone != nil {
			it = h.cfg.Clone(item)
		}
		first = false
		if s.queue.Push(it) {
			dropped = true
		}
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return dropped
}

// Queued returns the most items one subscriber has waiting in its queue,
// beyond those in its channel's buffer: how far the slowest reader is
// behind.
func (h *Hub[T]) Queued() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	most := 0
	for s := range h.subs {
		most = max(most, s.queue.Len())
	}
	return most
}

// Close closes every subscriber's channel, drops what was queued, and
// returns once the hub's goroutines have ended. Later Subscribe calls
// fail and Publish calls do nothing. Calling it again does nothing.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// forward moves s's queue to s.out until ctx ends or the hub closes, then
// removes s and closes s.out.
func (h *Hub[T]) forward(ctx context.Context, s *subscriber[T]) {
	defer h.wg.Done()
	defer close(s.out)
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()
	for {
		h.mu.Lock()
		item, ok := s.queue.Pop()
		h.mu.Unlock()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-h.done:
				return
			}
		}
		select {
		case s.out <- item:
		case <-ctx.Done():
			return
		case <-h.done:
			return
		}
	}
}
