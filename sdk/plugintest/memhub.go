package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
)

// MemHub is an in-memory network of devices for tests: every [MemNode] made
// by the same hub discovers the others and can signal them. It is the
// reference implementation that [TestDiscovery] and [TestSignaling] are
// checked against, and a test double for code that needs a discovery or
// signaling plugin; it is not a plugin to ship.
//
// A hub keeps one record per announced peer ID. A node's Watch first
// replays the records that other nodes announced, as [sdk.PeerJoined]
// events, then streams changes. Signaling envelopes sent to a node that has
// no Receive open are queued (up to a bound, oldest dropped) and delivered
// to its next Receive. All methods are safe to call concurrently.
type MemHub struct {
	mu      sync.Mutex
	nodes   map[sdk.PeerID]*MemNode // open nodes, by self ID
	records map[sdk.PeerID]memRecord
}

// memRecord is one announced peer and the node that announced it.
type memRecord struct {
	owner *MemNode
	info  sdk.PeerInfo
}

// Queue bounds: a subscriber that does not read loses its oldest items.
const (
	memWatchQueue   = 1024
	memPendingQueue = 256
)

// NewMemHub returns an empty hub.
func NewMemHub() *MemHub {
	return &MemHub{nodes: map[sdk.PeerID]*MemNode{}, records: map[sdk.PeerID]memRecord{}}
}

// Node returns the hub's node for the device self: the open node with that
// ID if there is one, else a new one. The node is usable at once; Configure
// only checks its request. Its owner closes it with Close.
func (h *MemHub) Node(self sdk.PeerID) *MemNode {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n, ok := h.nodes[self]; ok {
		return n
	}
	n := &MemNode{
		hub:  h,
		self: self,
		done: make(chan struct{}),
		watchers: feed.New(feed.Config[sdk.PeerEvent]{
			Name:     "memhub: watch",
			NewQueue: func() feed.Queue[sdk.PeerEvent] { return &feed.Bounded[sdk.PeerEvent]{Limit: memWatchQueue} },
			Clone: func(ev sdk.PeerEvent) sdk.PeerEvent {
				ev.Peer = feed.CloneInfo(ev.Peer)
				return ev
			},
		}),
		receivers: feed.NewEnvelopes("memhub: receive", 0, memPendingQueue),
	}
	h.nodes[self] = n
	return n
}

// MemNode is one device on a [MemHub]. It implements [sdk.Discovery] and
// [sdk.Signaling]. Its Info names it "memhub". After Close, its calls return
// errors wrapping [sdk.ErrClosed], its Watch and Receive channels are
// closed, and its announced record is withdrawn ([sdk.PeerLeft]).
type MemNode struct {
	hub  *MemHub
	self sdk.PeerID
	done chan struct{} // closed by Close

	watchers  *feed.Hub[sdk.PeerEvent]
	receivers *feed.Hub[sdk.Envelope] // and what waits for the next Receive

	// Guarded by hub.mu.
	closed    bool
	announced *sdk.PeerID // the ID of this node's record, if any
}

var (
	_ sdk.Discovery = (*MemNode)(nil)
	_ sdk.Signaling = (*MemNode)(nil)
)

// Self returns the node's peer ID, the one Envelope.From carries.
func (n *MemNode) Self() sdk.PeerID { return n.self }

// Info names the plugin "memhub" and lists the discovery and signaling
// roles.
func (n *MemNode) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:         "memhub",
		Version:      "0.0.0",
		Roles:        []sdk.Role{sdk.RoleDiscovery, sdk.RoleSignaling},
		APIVersions:  []int{sdk.APIVersion},
		Capabilities: []string{"discovery.lookup"},
	}, nil
}

// ConfigSchema returns an empty schema: the node has no options.
func (n *MemNode) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	return sdk.ConfigSchema{}, nil
}

// Configure accepts an empty configuration (no bytes, or a JSON object with
// no keys) and a Self that is zero or the node's own ID; anything else is an
// error wrapping [sdk.ErrInvalidConfig].
func (n *MemNode) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	if err := n.check(); err != nil {
		return fmt.Errorf("memhub: configure: %w", err)
	}
	if len(bytes.TrimSpace(req.Config)) > 0 {
		var opts map[string]json.RawMessage
		if err := json.Unmarshal(req.Config, &opts); err != nil {
			return fmt.Errorf("memhub: configure: config is not a JSON object: %v: %w", err, sdk.ErrInvalidConfig)
		}
		for k := range opts {
			return fmt.Errorf("memhub: configure: unknown option %q: %w", k, sdk.ErrInvalidConfig)
		}
	}
	if !req.Self.IsZero() && req.Self != n.self {
		return fmt.Errorf("memhub: configure: self %s, but this node is %s: %w", req.Self.Short(), n.self.Short(), sdk.ErrInvalidConfig)
	}
	return nil
}

// Close withdraws the node's record, closes its Watch and Receive channels
// and waits for its goroutines. A second Close returns an error wrapping
// [sdk.ErrClosed].
func (n *MemNode) Close(context.Context) error {
	h := n.hub
	h.mu.Lock()
	if n.closed {
		h.mu.Unlock()
		return fmt.Errorf("memhub: close: %w", sdk.ErrClosed)
	}
	n.closed = true
	close(n.done)
	if h.nodes[n.self] == n {
		delete(h.nodes, n.self)
	}
	n.withdrawLocked()
	h.mu.Unlock()
	n.watchers.Close()
	n.receivers.Close()
	return nil
}

// check returns ErrClosed after Close; the caller may hold hub.mu or not.
func (n *MemNode) check() error {
	select {
	case <-n.done:
		return sdk.ErrClosed
	default:
		return nil
	}
}

// Announce publishes self under self.ID, replacing the node's previous
// record (a record under another ID is withdrawn). Other nodes' watchers
// get [sdk.PeerJoined] for a new record and [sdk.PeerSeen] for a renewed
// one.
func (n *MemNode) Announce(ctx context.Context, self sdk.PeerInfo) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memhub: announce: %w", err)
	}
	if self.ID.IsZero() {
		return fmt.Errorf("memhub: announce: no peer id: %w", sdk.ErrInvalidPeerID)
	}
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.closed {
		return fmt.Errorf("memhub: announce: %w", sdk.ErrClosed)
	}
	if n.announced != nil && *n.announced != self.ID {
		n.withdrawLocked()
	}
	info := feed.CloneInfo(self)
	info.Source = "memhub"
	info.Seen = time.Now()
	info.Expires = time.Time{}
	kind := sdk.PeerJoined
	if old, ok := h.records[info.ID]; ok {
		kind = sdk.PeerSeen
		if old.owner != n && old.owner.announced != nil && *old.owner.announced == info.ID {
			old.owner.announced = nil // another node takes the ID over
		}
	}
	h.records[info.ID] = memRecord{owner: n, info: info}
	id := info.ID
	n.announced = &id
	h.broadcastLocked(n, sdk.PeerEvent{Kind: kind, Peer: info})
	return nil
}

// withdrawLocked removes the node's record and tells the other watchers;
// the caller holds hub.mu.
func (n *MemNode) withdrawLocked() {
	if n.announced == nil {
		return
	}
	h := n.hub
	id := *n.announced
	n.announced = nil
	rec, ok := h.records[id]
	if !ok || rec.owner != n {
		return
	}
	delete(h.records, id)
	h.broadcastLocked(n, sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: rec.info})
}

// broadcastLocked queues ev for the watchers of every open node but from;
// the caller holds hub.mu.
func (h *MemHub) broadcastLocked(from *MemNode, ev sdk.PeerEvent) {
	for _, m := range h.nodes {
		if m != from {
			m.watchers.Publish(sdk.PeerEvent{Kind: ev.Kind, Peer: feed.CloneInfo(ev.Peer)})
		}
	}
}

// Watch returns a channel that first carries a [sdk.PeerJoined] event for
// each record other nodes announced, then their changes, until ctx ends or
// the node closes.
func (n *MemNode) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memhub: watch: %w", err)
	}
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("memhub: watch: %w", sdk.ErrClosed)
	}
	var replay []sdk.PeerEvent
	for _, r := range h.records {
		if r.owner != n {
			replay = append(replay, sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: feed.CloneInfo(r.info)})
		}
	}
	return n.watchers.Subscribe(ctx, replay...)
}

// Lookup returns the record announced under id, or an error wrapping
// [sdk.ErrNotFound].
func (n *MemNode) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	if err := ctx.Err(); err != nil {
		return sdk.PeerInfo{}, fmt.Errorf("memhub: lookup: %w", err)
	}
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.closed {
		return sdk.PeerInfo{}, fmt.Errorf("memhub: lookup: %w", sdk.ErrClosed)
	}
	r, ok := h.records[id]
	if !ok {
		return sdk.PeerInfo{}, fmt.Errorf("memhub: lookup %s: %w", id.Short(), sdk.ErrNotFound)
	}
	return feed.CloneInfo(r.info), nil
}

// Send delivers env to the open node whose self ID is env.To, with From set
// to this node's ID, or fails with an error wrapping [sdk.ErrNotFound] when
// there is none. Payloads over [sdk.MaxEnvelopePayload] are refused.
func (n *MemNode) Send(ctx context.Context, env sdk.Envelope) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memhub: send: %w", err)
	}
	if len(env.Payload) > sdk.MaxEnvelopePayload {
		return fmt.Errorf("memhub: send: payload of %d bytes exceeds %d", len(env.Payload), sdk.MaxEnvelopePayload)
	}
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.closed {
		return fmt.Errorf("memhub: send: %w", sdk.ErrClosed)
	}
	to, ok := h.nodes[env.To]
	if !ok || env.To.IsZero() {
		return fmt.Errorf("memhub: send to %s: %w", env.To.Short(), sdk.ErrNotFound)
	}
	to.receivers.Publish(sdk.Envelope{From: n.self, To: env.To, Payload: bytes.Clone(env.Payload)})
	return nil
}

// Receive returns a channel of the envelopes sent to this node, starting
// with those queued while no Receive was open, until ctx ends or the node
// closes. With several Receive channels open, each gets every envelope.
func (n *MemNode) Receive(ctx context.Context) (<-chan sdk.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memhub: receive: %w", err)
	}
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("memhub: receive: %w", sdk.ErrClosed)
	}
	return n.receivers.Subscribe(ctx)
}
