package dht

import (
	"context"
	"errors"
	"fmt"
	"time"

	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
)

const (
	// maxPeers bounds the peer table; records of further peers are not
	// kept until some expire.
	maxPeers = 4096
	// lookupQuorum is how many answers besides the first a lookup waits
	// for before it settles on the freshest record.
	lookupQuorum = 3
	// maxRefreshes bounds the lookups that check, at expiry, whether a
	// peer renewed its record.
	maxRefreshes = 3
)

// peerEntry is one peer of the table: the freshest record seen of it.
type peerEntry struct {
	rec        *SignedRecord
	info       sdk.PeerInfo
	stale      bool // its addresses failed: look it up again before use
	refreshing bool // an expiry check is running
}

// Announce publishes self as a signed record under /ferry/<self ID>: it
// signs it at once (so a record that breaks a limit is refused here), hands
// it to connected Ferry neighbours and puts it into the DHT in the
// background (or, with no DHT peer yet, as soon as the routing table
// fills), and then signs and publishes it anew every record_ttl/3 until
// Close. self.ID must be this device's ID (the zero ID means it): the
// record is signed with a key that device delegated, so another ID is
// refused with an error wrapping sdk.ErrUnsupported. self.Addrs are kept
// as given, next to the node's own libp2p multiaddrs.
func (p *Plugin) Announce(ctx context.Context, self sdk.PeerInfo) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dht: announce: %w", err)
	}
	s, err := p.session("announce")
	if err != nil {
		return err
	}
	if s.del.Load() == nil {
		return fmt.Errorf("dht: announce: a bootstrap_only node announces nothing: %w", sdk.ErrUnsupported)
	}
	if self.ID.IsZero() {
		self.ID = s.self
	}
	if self.ID != s.self {
		return fmt.Errorf("dht: announce: can only announce this device %s, whose delegated key it signs with, not %s: %w", s.self.Short(), self.ID.Short(), sdk.ErrUnsupported)
	}
	info := feed.CloneInfo(self)
	if _, err := s.signInfo(&info, time.Now()); err != nil {
		return fmt.Errorf("dht: announce: %w", err)
	}
	p.mu.Lock()
	p.announced = &info
	p.mu.Unlock()
	if err := s.sign(); err != nil {
		return fmt.Errorf("dht: announce: %w", err)
	}
	s.kickPublish()
	return nil
}

// learn records sr, received now, when it is fresher than what the table
// holds, and reports the peer as joined or seen. Records of this device
// are ignored.
func (p *Plugin) learn(sr *SignedRecord, raw []byte, now time.Time) {
	id := sr.Record.ID
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || id == p.self {
		return
	}
	pe := p.peers[id]
	kind := sdk.PeerSeen
	switch {
	case pe != nil && !newer(&sr.Record, &pe.rec.Record):
		if sr.Record.Seq == pe.rec.Record.Seq {
			pe.info.Seen = now
		}
		return
	case pe == nil && len(p.peers) >= maxPeers:
		p.logLimitedLocked("table full", "dht: peer table full; a record was not kept", "limit", maxPeers)
		return
	case pe == nil:
		kind = sdk.PeerJoined
		pe = &peerEntry{}
		p.peers[id] = pe
	}
	pe.rec, pe.info, pe.stale = sr, sr.PeerInfo(now), false
	p.watchers.Publish(sdk.PeerEvent{Kind: kind, Peer: feed.CloneInfo(pe.info)})
}

// logLimitedLocked is logLimited for callers holding p.mu.
func (p *Plugin) logLimitedLocked(key, msg string, args ...any) {
	if n, ok := p.drops.Allow("limited\x00"+key, time.Now()); ok {
		if n > 0 {
			args = append(args, "suppressed", n)
		}
		p.log.Warn(msg, args...)
	}
}

// cached returns the table's record of id when it has not expired and its
// addresses did not fail.
func (p *Plugin) cached(id sdk.PeerID, now time.Time) *SignedRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	pe := p.peers[id]
	if pe == nil || pe.stale || !now.Before(pe.rec.Record.Expires()) {
		return nil
	}
	return pe.rec
}

// markStale notes that the addresses of id's record failed.
func (p *Plugin) markStale(id sdk.PeerID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pe := p.peers[id]; pe != nil {
		pe.stale = true
	}
}

// fetch looks id's record up in the DHT, for at most lookup_timeout, and
// returns the freshest valid one. Errors wrap sdk.ErrNotFound unless ctx
// ended.
func (s *session) fetch(ctx context.Context, id sdk.PeerID) (*SignedRecord, []byte, error) {
	lctx, cancel := context.WithTimeout(ctx, s.cfg.lookupTimeout)
	defer cancel()
	if err := s.n.ready(lctx); err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	key := Key(id)
	s.p.log.Debug("dht: looking up", "key", key)
	val, err := s.n.kad.GetValue(lctx, key, kaddht.Quorum(lookupQuorum))
	if val != nil {
		sr, derr := DecodeRecord(val)
		if derr == nil {
			derr = verifyRecord(key, sr, time.Now())
		}
		if derr == nil {
			return sr, val, nil
		}
		err = derr
	}
	switch {
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case err == nil, errors.Is(err, routing.ErrNotFound):
		return nil, nil, fmt.Errorf("peer %s not found on the DHT (%d DHT peers known): %w", id.Short(), s.n.kad.RoutingTable().Size(), sdk.ErrNotFound)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, nil, fmt.Errorf("peer %s not found on the DHT within lookup_timeout %v: %w", id.Short(), s.cfg.lookupTimeout, sdk.ErrNotFound)
	case errors.Is(err, kb.ErrLookupFailure):
		return nil, nil, fmt.Errorf("peer %s: no DHT peer answered: %w: %w", id.Short(), sdk.ErrNotFound, err)
	}
	return nil, nil, fmt.Errorf("peer %s: lookup failed: %w: %w", id.Short(), sdk.ErrNotFound, err)
}

// Lookup returns the freshest record of peer id: it asks the DHT (for at
// most lookup_timeout, stopping once several holders answered) and
// compares the answer with what neighbours and earlier lookups gave. It
// fails with an error wrapping sdk.ErrNotFound when the peer has no valid
// record, and at once, saying "no DHT peers" and naming the bootstrap
// peers, while this node has no DHT peer to ask.
func (p *Plugin) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	if err := ctx.Err(); err != nil {
		return sdk.PeerInfo{}, fmt.Errorf("dht: lookup: %w", err)
	}
	s, err := p.session("lookup")
	if err != nil {
		return sdk.PeerInfo{}, err
	}
	if id.IsZero() {
		return sdk.PeerInfo{}, fmt.Errorf("dht: lookup: no peer ID: %w", sdk.ErrInvalidPeerID)
	}
	sr, raw, err := s.fetch(ctx, id)
	if err == nil {
		p.learn(sr, raw, time.Now())
	}
	p.mu.Lock()
	pe := p.peers[id]
	var info sdk.PeerInfo
	found := pe != nil && time.Now().Before(pe.rec.Record.Expires())
	if found {
		info = feed.CloneInfo(pe.info)
	}
	p.mu.Unlock()
	switch {
	case found:
		return info, nil
	case err == nil: // our own record
		return sr.PeerInfo(time.Now()), nil
	}
	return sdk.PeerInfo{}, fmt.Errorf("dht: lookup %s: %w", id.Short(), err)
}

// expiryLoop reports peers whose record expired unrenewed as left; before
// that it looks each up once more, in case the peer renewed its record
// where this node did not hear of it.
func (p *Plugin) expiryLoop() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		tick := min(max(p.cfg.recordTTL/10, 100*time.Millisecond), 5*time.Second)
		p.mu.Unlock()
		select {
		case <-p.done:
			return
		case <-time.After(tick):
		}
		p.expire(time.Now())
	}
}

// expire handles the records expired at now.
func (p *Plugin) expire(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	running := 0
	for _, pe := range p.peers {
		if pe.refreshing {
			running++
		}
	}
	for id, pe := range p.peers {
		if pe.refreshing || now.Before(pe.rec.Record.Expires()) {
			continue
		}
		s := p.sess
		if s == nil {
			return // between two nodes of a Configure
		}
		if s.n.hasPeers() && running < maxRefreshes {
			running++
			pe.refreshing = true
			p.wg.Add(1)
			go p.refreshExpired(s, id)
			continue
		}
		delete(p.peers, id)
		p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
	}
}

// refreshExpired looks up a peer whose record expired: a fresher record
// keeps it, none makes it leave. The caller did p.wg.Add(1).
func (p *Plugin) refreshExpired(s *session, id sdk.PeerID) {
	defer p.wg.Done()
	sr, raw, err := s.fetch(s.ctx, id)
	now := time.Now()
	if err == nil && now.Before(sr.Record.Expires()) {
		p.learn(sr, raw, now)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pe := p.peers[id]
	if pe == nil {
		return
	}
	pe.refreshing = false
	if !now.Before(pe.rec.Record.Expires()) && !p.closed {
		delete(p.peers, id)
		p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
	}
}

// Watch returns a channel of peer events until ctx ends or the plugin
// closes. It starts with a PeerJoined event for each peer known at the
// time, then reports changes: PeerJoined for a peer first heard of (from a
// neighbour's hello, a lookup, or a peer that signals), PeerSeen when a
// fresher record of it arrives, PeerLeft when its record expired and a
// last lookup found no renewal. A watcher that reads slowly never holds
// up the plugin: its pending events are coalesced per peer, so the last
// one read for each peer is always its current state.
func (p *Plugin) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watchers.Subscribe(ctx, feed.Known(p.peers, func(pe *peerEntry) sdk.PeerInfo { return pe.info })...)
}
