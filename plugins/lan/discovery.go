package lan

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
)

const (
	// maxPeers bounds the peer table; announcements of further peers are
	// dropped until some leave.
	maxPeers = 1024
	// maxReplayKeys bounds the replay state kept per (peer, delegated key).
	maxReplayKeys = 4096
	// replyGap is the least time between two PING replies to JOINs of the
	// same peer over the same address family.
	replyGap = 250 * time.Millisecond
)

// peer is one entry of the table.
type peer struct {
	info   sdk.PeerInfo
	v4, v6 netip.AddrPort // unicast address per family: source IP, Header.Port
	seen4  time.Time
	seen6  time.Time
	newest uint64 // Seq of the message info was taken from
	key    [32]byte
	// instances are the addresses of each instance announcing this ID,
	// when more than one does (one identity running twice), so that a
	// SIGNAL meant for one instance reaches it; at most maxInstances.
	instances map[string]instanceAddr
}

// instanceAddr is where one instance of a peer was last heard.
type instanceAddr struct {
	addr netip.AddrPort
	seen time.Time
}

// maxInstances bounds the instances remembered per peer.
const maxInstances = 4

// noteInstance records that instance inst of the peer announced from
// addr, forgetting the longest unheard one beyond maxInstances.
func (pe *peer) noteInstance(inst string, addr netip.AddrPort, now time.Time) {
	if inst == "" {
		return
	}
	if pe.instances == nil {
		pe.instances = map[string]instanceAddr{}
	}
	pe.instances[inst] = instanceAddr{addr, now}
	for len(pe.instances) > maxInstances {
		var oldest string
		for k, v := range pe.instances {
			if oldest == "" || v.seen.Before(pe.instances[oldest].seen) {
				oldest = k
			}
		}
		delete(pe.instances, oldest)
	}
}

// addrs returns the Addrs of the record: IPv4 first.
func (pe *peer) addrs() []string {
	var out []string
	if pe.v4.IsValid() {
		out = append(out, Addr(pe.v4))
	}
	if pe.v6.IsValid() {
		out = append(out, Addr(pe.v6))
	}
	return out
}

// signalAddr returns the address to dial for SIGNAL frames: IPv4 when
// known, else IPv6.
func (pe *peer) signalAddr() (netip.AddrPort, bool) {
	if pe.v4.IsValid() {
		return pe.v4, true
	}
	return pe.v6, pe.v6.IsValid()
}

// Announce publishes self: at once (a JOIN the first time, which peers
// answer with a unicast PING, else a PING), then as a broadcast PING every
// announce_interval until Close, which broadcasts LEAVE. self.ID must be
// this device's ID (the zero ID means it): the plugin signs with a key
// that device delegated, and peers drop announcements whose ID is not the
// certificate's issuer, so another ID is refused with an error wrapping
// sdk.ErrUnsupported. self.Name, Roles, Transports and Protocols are
// announced (see [MaxNameRunes] and [MaxListEntries] for their limits);
// Addrs are not: peers record the address they hear an announcement from.
func (p *Plugin) Announce(ctx context.Context, self sdk.PeerInfo) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lan: announce: %w", err)
	}
	if err := checkName(self.Name); err != nil {
		return fmt.Errorf("lan: announce: %w", err)
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"roles", self.Roles}, {"transports", self.Transports}, {"protocols", self.Protocols}} {
		if err := checkList(l.name, l.list); err != nil {
			return fmt.Errorf("lan: announce: %w", err)
		}
	}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return fmt.Errorf("lan: announce: %w", sdk.ErrClosed)
	case !p.configured:
		p.mu.Unlock()
		return fmt.Errorf("lan: announce: %w", sdk.ErrNotConfigured)
	}
	if self.ID.IsZero() {
		self.ID = p.self
	}
	if self.ID != p.self {
		own := p.self
		p.mu.Unlock()
		return fmt.Errorf("lan: announce: can only announce this device %s, whose delegated key it signs with, not %s: %w", own.Short(), self.ID.Short(), sdk.ErrUnsupported)
	}
	first := p.announced == nil
	rec := feed.CloneInfo(self)
	p.announced = &rec
	p.mu.Unlock()
	typ := TypePing
	if first {
		typ = TypeJoin
	}
	p.announce(typ)
	p.wake() // the next periodic PING one interval from now
	return nil
}

// header returns a new Ferry header for this device, with a fresh Seq.
func (p *Plugin) header(self sdk.PeerID, port uint16, rec *sdk.PeerInfo) *Header {
	h := &Header{V: Version, ID: self, Port: port, Seq: p.seq.Add(1)}
	if rec != nil {
		h.Instance = rec.Instance
		h.Account = slices.Clone(rec.Account)
		h.Roles = slices.Clone(rec.Roles)
		h.Transports = slices.Clone(rec.Transports)
		h.Protocols = slices.Clone(rec.Protocols)
	}
	return h
}

// announcement builds, signs and encodes one announcement.
func (p *Plugin) announcement(typ Type, self sdk.PeerID, del *sdk.Delegation, port uint16, rec *sdk.PeerInfo, src netip.Addr) ([]byte, error) {
	m := &Message{Type: typ, User: User{Name: rec.Name, IP: src.WithZone("").String()}, Ferry: p.header(self, port, rec)}
	if err := Sign(m, del); err != nil {
		return nil, err
	}
	return Encode(m)
}

// announce sends an announcement of type typ to every target, if this
// device was announced. JOIN and PING are not sent once Close began.
func (p *Plugin) announce(typ Type) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.mu.Lock()
	s, self, del, cfg, rec := p.socks, p.self, p.del, p.cfg, p.announced
	stop := p.closed && typ != TypeLeave
	p.mu.Unlock()
	if s == nil || rec == nil || stop {
		return
	}
	ifs, _, err := chooseInterfaces(cfg.interfaces)
	if err != nil {
		p.logLimited("interfaces", "lan: interfaces", "err", err)
		return
	}
	ts, notes := targets(cfg, ifs, s.uni6 != nil)
	for _, n := range notes {
		p.logOnce("target "+n, "lan: "+n)
	}
	p.mu.Lock()
	was := p.noTargets
	p.noTargets = len(ts) == 0
	p.mu.Unlock()
	switch {
	case len(ts) == 0 && !was:
		p.log.Warn("lan: nowhere to announce: no chosen interface has an IPv4 broadcast address or can multicast over IPv6; trying again every announce_interval", "interfaces", cfg.interfaces)
		return
	case len(ts) == 0:
		return
	case was:
		p.log.Info("lan: announcing again", "targets", len(ts))
	}
	for _, t := range ts {
		b, err := p.announcement(typ, self, del, s.port, rec, t.src)
		if err != nil {
			p.logLimited("encode "+string(typ), "lan: cannot build announcement", "type", typ, "err", err)
			return
		}
		if err := s.send(b, t); err != nil && !isClosedErr(err) {
			p.logLimited("send "+t.dst.String(), "lan: send announcement", "type", typ, "to", t.dst, "err", err)
		}
	}
}

// replyKey rate-limits PING replies per peer and address family.
type replyKey struct {
	id sdk.PeerID
	v6 bool
}

// handleDatagram checks and applies one datagram from src. Whatever is
// wrong with it is logged once (per source and reason, rate-limited) and
// dropped.
func (p *Plugin) handleDatagram(s *sockets, b []byte, src netip.AddrPort) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if len(b) > MaxDatagram {
		p.drop("datagram", src, reasonOversize, fmt.Sprintf("more than %d bytes", MaxDatagram))
		return
	}
	m, err := Decode(b)
	if err != nil {
		p.drop("datagram", src, reasonMalformed, err)
		return
	}
	if !m.IsFerry() {
		p.log.Debug("lan: ignored a plain Sent peer (no ferry header, so no ID to reach it by)", "from", src, "type", m.Type, "name", m.User.Name)
		return
	}
	if m.Type == TypeSignal {
		p.drop("datagram", src, reasonSignalUDP, "SIGNAL messages travel over TCP")
		return
	}
	p.mu.Lock()
	self, closed := p.self, p.closed
	var mine string
	if p.announced != nil {
		mine = p.announced.Instance
	}
	p.mu.Unlock()
	now := time.Now()
	if m.Ferry.ID == self {
		// Our own announcement heard back, or another process that
		// holds this device's key (a copied FERRY_HOME): the two take
		// turns receiving, and a resume may miss the journal.
		if other := m.Ferry.Instance; !closed && other != "" && mine != "" && other != mine && Verify(m, now) == nil {
			p.logLimited("twin "+other, "lan: another process announces this device's ID: two devices share one identity (a copied FERRY_HOME?); they take turns receiving, and each transfer stays with the instance that holds its journal",
				"other_address", netip.AddrPortFrom(src.Addr(), m.Ferry.Port).String(), "other_instance", other,
				"this_address", netip.AddrPortFrom(p.localAddr(src.Addr()), s.port).String(), "this_instance", mine)
		}
		return
	}
	if closed {
		return
	}
	if err := Verify(m, now); err != nil {
		p.drop("datagram", src, verifyReason(err), err)
		return
	}
	cert, _ := sdk.ParseCertificate(m.Ferry.Cert) // checked by Decode and Verify
	h := m.Ferry
	addr := netip.AddrPortFrom(src.Addr(), h.Port)

	p.mu.Lock()
	st := p.replayStateLocked(h.ID, cert, now)
	fresh, newest := st.win.accept(h.Seq)
	if !fresh {
		p.mu.Unlock()
		p.drop("datagram", src, reasonReplay, fmt.Sprintf("%s from %s with seq %d already seen or too old", m.Type, h.ID.Short(), h.Seq))
		return
	}
	pe := p.peers[h.ID]
	if m.Type == TypeLeave {
		st.left = max(st.left, h.Seq)
		if pe != nil {
			delete(p.peers, h.ID)
			p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
		}
		p.mu.Unlock()
		return
	}
	kind := sdk.PeerSeen
	switch {
	case pe == nil && h.Seq < st.left:
		// Sent before a LEAVE we already applied: late, not a return.
		p.mu.Unlock()
		p.log.Debug("lan: ignored an announcement older than the peer's LEAVE", "from", src, "peer", h.ID, "seq", h.Seq)
		return
	case pe == nil && len(p.peers) >= maxPeers:
		p.mu.Unlock()
		p.drop("datagram", src, reasonTableFull, fmt.Sprintf("%d peers known", maxPeers))
		return
	case pe == nil:
		kind = sdk.PeerJoined
		pe = &peer{}
		p.peers[h.ID] = pe
	}
	// Take the record from the newest message of this delegated key, or
	// from the first message of a new key (the peer restarted).
	if kind == sdk.PeerJoined || newest || pe.key != st.key.key || h.Seq > pe.newest {
		pe.info = m.PeerInfo(src)
		pe.newest, pe.key = h.Seq, st.key.key
	}
	if addr.Addr().Is4() {
		pe.v4, pe.seen4 = addr, now
	} else {
		pe.v6, pe.seen6 = addr, now
	}
	pe.info.Addrs = pe.addrs()
	pe.noteInstance(h.Instance, addr, now)
	pe.info.Seen = now
	pe.info.Expires = now.Add(p.cfg.peerTimeout)
	p.watchers.Publish(sdk.PeerEvent{Kind: kind, Peer: feed.CloneInfo(pe.info)})

	// A JOIN asks who is there: answer with a unicast PING, if announced.
	var reply []byte
	if m.Type == TypeJoin && p.announced != nil && !p.closed {
		rk := replyKey{h.ID, addr.Addr().Is6()}
		if now.Sub(p.replied[rk]) >= replyGap {
			p.replied[rk] = now
			rec, del, self := p.announced, p.del, p.self
			p.mu.Unlock()
			local := p.localAddr(src.Addr())
			if reply, err = p.announcement(TypePing, self, del, s.port, rec, local); err != nil {
				p.logLimited("encode PING", "lan: cannot build PING reply", "err", err)
				return
			}
			// Like every announcement, never after Close's LEAVE.
			p.sendMu.Lock()
			defer p.sendMu.Unlock()
			if p.isClosed() {
				return
			}
			if err := s.reply(reply, addr); err != nil && !isClosedErr(err) {
				p.logLimited("reply "+addr.String(), "lan: send PING reply", "to", addr, "err", err)
			}
			return
		}
	}
	p.mu.Unlock()
}

// localAddr returns this device's address on the subnet of remote, for
// user.ip; the unspecified address when none matches.
func (p *Plugin) localAddr(remote netip.Addr) netip.Addr {
	p.mu.Lock()
	names := make([]string, 0, len(p.ifaces))
	for _, n := range p.ifaces {
		names = append(names, n)
	}
	p.mu.Unlock()
	slices.Sort(names)
	ifs, _, _ := chooseInterfaces(names)
	for _, ifi := range ifs {
		for _, pf := range ifaceAddrs(ifi) {
			if pf.Masked().Contains(remote.WithZone("")) {
				return pf.Addr()
			}
		}
		if remote.Zone() == ifi.Name {
			for _, pf := range ifaceAddrs(ifi) {
				if pf.Addr().Is6() && pf.Addr().IsLinkLocalUnicast() {
					return pf.Addr()
				}
			}
		}
	}
	if remote.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// expire reports peers not heard from within peer_timeout as left, forgets
// addresses not refreshed within it, and drops replay state whose
// certificate expired.
func (p *Plugin) expire(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	timeout := p.cfg.peerTimeout
	ids := make([]sdk.PeerID, 0, len(p.peers))
	for id := range p.peers {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b sdk.PeerID) int { return p.peers[a].info.Seen.Compare(p.peers[b].info.Seen) })
	for _, id := range ids {
		pe := p.peers[id]
		if now.After(pe.info.Expires) {
			delete(p.peers, id)
			p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
			continue
		}
		if pe.v4.IsValid() && pe.v6.IsValid() {
			if now.Sub(pe.seen4) > timeout {
				pe.v4 = netip.AddrPort{}
				pe.info.Addrs = pe.addrs()
			} else if now.Sub(pe.seen6) > timeout {
				pe.v6 = netip.AddrPort{}
				pe.info.Addrs = pe.addrs()
			}
		}
	}
	for k, st := range p.replay {
		if now.After(st.expires) {
			delete(p.replay, k)
		}
	}
	for k, at := range p.replied {
		if now.Sub(at) > replyGap {
			delete(p.replied, k)
		}
	}
}

// Lookup returns what is known of peer id, or an error wrapping
// sdk.ErrNotFound when it has not been heard from within peer_timeout.
func (p *Plugin) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	if err := ctx.Err(); err != nil {
		return sdk.PeerInfo{}, fmt.Errorf("lan: lookup: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return sdk.PeerInfo{}, fmt.Errorf("lan: lookup: %w", sdk.ErrClosed)
	}
	pe := p.peers[id]
	if pe == nil {
		return sdk.PeerInfo{}, fmt.Errorf("lan: lookup: peer %s not seen on the LAN: %w", id.Short(), sdk.ErrNotFound)
	}
	return feed.CloneInfo(pe.info), nil
}

// Watch returns a channel of peer events until ctx ends or the plugin
// closes. It starts with a PeerJoined event for each peer known at the
// time, then reports changes. Each call has its own channel. A watcher
// that reads slowly never holds up the plugin: its pending events are
// coalesced per peer (a newer event for a peer replaces an unread one:
// joined then seen reads as joined with the newer record, seen then left
// as left, joined then left as nothing, left then joined as joined), so
// at most one event per peer waits and the last one read for each peer is
// always its current state.
func (p *Plugin) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watchers.Subscribe(ctx, feed.Known(p.peers, func(pe *peer) sdk.PeerInfo { return pe.info })...)
}
