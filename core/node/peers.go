package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// ErrAmbiguous is returned by Resolve when a prefix or name matches more
// than one peer; the message lists the candidates.
var ErrAmbiguous = errors.New("ambiguous peer")

// peerTable is what discovery has told us, with a broadcast channel for
// waiters.
type peerTable struct {
	mu      sync.Mutex
	peers   map[sdk.PeerID]sdk.PeerInfo
	changed chan struct{}
}

func newPeerTable() *peerTable {
	return &peerTable{peers: map[sdk.PeerID]sdk.PeerInfo{}, changed: make(chan struct{})}
}

func (t *peerTable) apply(ev sdk.PeerEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Kind {
	case sdk.PeerJoined, sdk.PeerSeen:
		t.peers[ev.Peer.ID] = ev.Peer
	case sdk.PeerLeft:
		delete(t.peers, ev.Peer.ID)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *peerTable) list() []sdk.PeerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]sdk.PeerInfo, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b sdk.PeerInfo) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out
}

// get returns the entry of peer id, and a channel closed at the next
// change of the table.
func (t *peerTable) get(id sdk.PeerID) (sdk.PeerInfo, bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.peers[id]
	return p, ok, t.changed
}

// match matches query against the table: a unique prefix of a peer ID
// (dashes, spaces and case ignored), or a unique device name. It also
// returns a channel closed at the next change of the table.
func (t *peerTable) match(query string) (sdk.PeerInfo, bool, <-chan struct{}, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := t.changed
	norm := func(s string) string { return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s)) }
	q := norm(query)
	var byID, byName []sdk.PeerInfo
	for _, p := range t.peers {
		if q != "" && strings.HasPrefix(norm(p.ID.String()), q) {
			byID = append(byID, p)
		}
		if strings.EqualFold(p.Name, query) {
			byName = append(byName, p)
		}
	}
	for _, m := range [][]sdk.PeerInfo{byID, byName} {
		switch len(m) {
		case 0:
			continue
		case 1:
			return m[0], true, ch, nil
		default:
			var names []string
			for _, p := range m {
				names = append(names, fmt.Sprintf("%s (%s)", p.ID, p.Name))
			}
			slices.Sort(names)
			return sdk.PeerInfo{}, false, ch, fmt.Errorf("%w: %q matches %d peers: %s", ErrAmbiguous, query, len(m), strings.Join(names, ", "))
		}
	}
	return sdk.PeerInfo{}, false, ch, nil
}

// Peers returns the peers discovery currently reports.
func (n *Node) Peers() []sdk.PeerInfo { return n.peers.list() }

// ErrSelf is returned by Resolve and Find when asked for this device.
var ErrSelf = errors.New("that is this device's own peer ID")

// Resolve waits up to timeout for a peer matching query (a peer ID, a
// unique prefix of one, or a device name) to be seen. A full peer ID is
// parsed once and handed to [Node.Find]; a query of a full ID's length whose
// check characters do not match is refused at once, naming the group, as a
// typo rather than an offline peer. A query matching several peers is an
// error wrapping ErrAmbiguous that lists them; none by the deadline is an
// error wrapping sdk.ErrOffline that lists the peers that were seen.
func (n *Node) Resolve(ctx context.Context, query string, timeout time.Duration) (sdk.PeerInfo, error) {
	id, err := sdk.ParsePeerID(query)
	if err == nil {
		return n.Find(ctx, id, timeout)
	}
	if fullLength(query) {
		return sdk.PeerInfo{}, fmt.Errorf("not a peer ID (mistyped?): %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		p, ok, changed, err := n.peers.match(query)
		if err != nil {
			return sdk.PeerInfo{}, err
		}
		if ok {
			return p, nil
		}
		select {
		case <-changed:
		case <-t.C:
			return sdk.PeerInfo{}, n.notFound(query, timeout)
		case <-ctx.Done():
			return sdk.PeerInfo{}, ctx.Err()
		}
	}
}

// fullLength reports whether query has as many characters as a printed
// peer ID, separators aside: then it was meant as a whole ID.
func fullLength(query string) bool {
	k := 0
	for _, r := range query {
		if r != '-' && r != ' ' && r != '\t' {
			k++
		}
	}
	return k == 56
}

// Find waits up to timeout for peer id to be seen. Meanwhile it also looks
// the peer up in every discovery plugin (a DHT finds peers that are not on
// this network), with backoff, as seed 002's "search for the contact while
// not connected". None by the deadline is an error wrapping sdk.ErrOffline.
func (n *Node) Find(ctx context.Context, id sdk.PeerID, timeout time.Duration) (sdk.PeerInfo, error) {
	if id == n.id.ID {
		return sdk.PeerInfo{}, fmt.Errorf("%s: %w; send to another device", id, ErrSelf)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	lookup := time.NewTimer(0)
	defer lookup.Stop()
	backoff := 250 * time.Millisecond
	for {
		p, ok, changed := n.peers.get(id)
		if ok {
			return p, nil
		}
		var lookupC <-chan time.Time
		if len(n.discovery) > 0 {
			lookupC = lookup.C
		}
		select {
		case <-changed:
		case <-lookupC:
			if p, err := n.lookup(ctx, id); err == nil {
				return p, nil
			}
			lookup.Reset(backoff)
			backoff = min(2*backoff, 4*time.Second)
		case <-t.C:
			return sdk.PeerInfo{}, n.notFound(id.String(), timeout)
		case <-ctx.Done():
			return sdk.PeerInfo{}, ctx.Err()
		}
	}
}

// notFound says that query found no peer, and which peers were seen, so a
// mistyped name or prefix is told apart from a peer that is offline.
func (n *Node) notFound(query string, timeout time.Duration) error {
	seen := n.peers.list()
	if len(seen) == 0 {
		return fmt.Errorf("peer %q not found by %s within %s, and no other peer was seen either: %w", query, strings.Join(n.cfg.Discovery, ", "), timeout, sdk.ErrOffline)
	}
	names := make([]string, 0, len(seen))
	for _, p := range seen {
		names = append(names, fmt.Sprintf("%s (%s)", p.Name, p.ID.Short()))
	}
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", len(seen)-10))
	}
	return fmt.Errorf("peer %q not found by %s within %s; peers seen: %s: %w", query, strings.Join(n.cfg.Discovery, ", "), timeout, strings.Join(names, ", "), sdk.ErrOffline)
}

// lookup asks each discovery plugin for peer id and records the first
// answer in the peer table.
func (n *Node) lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	var errs []error
	for i, d := range n.discovery {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		p, err := d.Lookup(lctx, id)
		cancel()
		if err == nil && p.ID == id {
			ev := sdk.PeerEvent{Kind: sdk.PeerSeen, Peer: p}
			n.admit(&ev)
			p = ev.Peer
			n.peers.apply(ev)
			return p, nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.discoveryNames[i], err))
		}
	}
	err := errors.Join(errs...)
	n.log.Debug("peer not found by discovery look-up", "peer", id, "err", err)
	return sdk.PeerInfo{}, err
}

// directory is the node's peer table and discovery plugins, as a
// connection asks them.
type directory struct{ n *Node }

func (d directory) Wait(ctx context.Context, id sdk.PeerID, timeout time.Duration) (sdk.PeerInfo, error) {
	return d.n.Find(ctx, id, timeout)
}

func (d directory) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	return d.n.lookup(ctx, id)
}
