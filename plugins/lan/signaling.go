package lan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/feed"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

const (
	// frameHeaderLen is the length prefix of a signaling frame.
	frameHeaderLen = 4
	// ackByte is the receiver's answer once it queued the envelope.
	ackByte byte = 0x06
	// dialTimeout bounds the TCP connect of Send.
	dialTimeout = 3 * time.Second
	// ackTimeout bounds Send's write of the frame and wait for the ack.
	ackTimeout = 5 * time.Second
)

// Send delivers env to env.To over TCP: it dials the address the peer
// announced itself from (its IPv4 one when known), writes one frame (a
// 4-byte big-endian length, then a SIGNAL message signed with this
// device's delegated key) and waits for the peer's one-byte ack, sent once
// the peer verified and queued the envelope. A peer not in the discovery
// table, or whose address refuses or cannot be reached, is an error
// wrapping sdk.ErrNotFound; errors name the peer and the address.
func (p *Plugin) Send(ctx context.Context, env sdk.Envelope) error {
	if env.To.IsZero() {
		return fmt.Errorf("lan: send: no recipient: %w", sdk.ErrInvalidPeerID)
	}
	if len(env.Payload) > sdk.MaxEnvelopePayload {
		return fmt.Errorf("lan: send to %s: payload of %d bytes exceeds %d", env.To.Short(), len(env.Payload), sdk.MaxEnvelopePayload)
	}
	s, self, del, _, err := p.state("send")
	if err != nil {
		return err
	}
	p.mu.Lock()
	pe := p.peers[env.To]
	var addrs []netip.AddrPort
	if pe != nil {
		if in, known := pe.instances[env.Instance]; known && env.Instance != "" && time.Since(in.seen) < p.cfg.peerTimeout {
			// The instance it is meant for first; the latest address
			// if that one is gone (the instance restarted).
			addrs = append(addrs, in.addr)
		}
		if addr, ok := pe.signalAddr(); ok && (len(addrs) == 0 || addr != addrs[0]) {
			addrs = append(addrs, addr)
		}
	}
	rec := p.announced
	p.mu.Unlock()
	if len(addrs) == 0 {
		return fmt.Errorf("lan: send: peer %s not seen on the LAN: %w", env.To.Short(), sdk.ErrNotFound)
	}
	m := &Message{Type: TypeSignal, Ferry: p.header(self, s.port, rec), To: env.To, Payload: slices.Clone(env.Payload)}
	if len(m.Payload) == 0 {
		m.Payload = nil
	}
	if err := Sign(m, del); err != nil {
		return fmt.Errorf("lan: send to %s: %w", env.To.Short(), err)
	}
	body, err := Encode(m)
	if err != nil {
		return fmt.Errorf("lan: send to %s: %w", env.To.Short(), err)
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, frameHeaderLen+len(body)), uint32(len(body)))
	frame = append(frame, body...)
	for i, addr := range addrs {
		err = p.deliver(ctx, env.To, addr, frame)
		if err == nil || i == len(addrs)-1 || !errors.Is(err, sdk.ErrNotFound) {
			return err
		}
	}
	return err
}

// deliver sends one SIGNAL frame to addr and waits for its ack.
func (p *Plugin) deliver(ctx context.Context, to sdk.PeerID, addr netip.AddrPort, frame []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("lan: send to %s at %s: %s", to.Short(), addr, fmt.Errorf(format, args...))
	}
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		if unreachable(err) {
			return fmt.Errorf("lan: send to %s at %s: %w: %w", to.Short(), addr, sdk.ErrNotFound, err)
		}
		return fail("%w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = c.SetDeadline(time.Now().Add(ackTimeout))
	if _, err := c.Write(frame); err != nil {
		return fail("write frame: %w", lifecycle.IOErr(ctx, err))
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return fail("the peer closed the connection without an ack (it refused the frame; its log says why)")
		}
		return fail("waiting for the ack: %w", lifecycle.IOErr(ctx, err))
	}
	if ack[0] != ackByte {
		return fail("ack byte 0x%02x, want 0x%02x", ack[0], ackByte)
	}
	return nil
}

// unreachable reports whether a dial error means nobody is there.
func unreachable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTDOWN)
}

// Receive returns a channel of envelopes addressed to this device, until
// ctx ends or the plugin closes. Every call gets every envelope; the
// first call also gets those that arrived while none was open. A reader
// that falls more than 256 envelopes behind loses the oldest (logged).
func (p *Plugin) Receive(ctx context.Context) (<-chan sdk.Envelope, error) {
	return p.inbox.Subscribe(ctx)
}

// deliverLocked queues env for every Receive channel, or for the next
// Receive when none is open. p.mu is held.
func (p *Plugin) deliverLocked(env sdk.Envelope) {
	if p.inbox.Publish(env) {
		p.logLimited("receive queue full", "lan: a Receive reader is too slow: dropped its oldest envelope", "limit", feed.DefaultEnvelopes)
	}
}

// acceptLoop takes signaling connections on ln, one of sockets.tcp, until it
// is closed. Each is admitted to p.gate, which may close older ones that
// have not delivered a frame yet; a new connection is never refused.
func (p *Plugin) acceptLoop(ln *net.TCPListener) {
	defer p.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if isClosedErr(err) {
				return
			}
			p.logLimited("accept", "lan: accept signaling connection", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-p.done:
				return
			}
			continue
		}
		src := tcpAddrPort(c.RemoteAddr())
		pc, err := p.gate.Admit(c)
		if err != nil {
			return // the plugin is closing; the gate closed c
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.Release()
			_ = c.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serveFrame(c, pc, src)
	}
}

func tcpAddrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// serveFrame reads one frame from c, checks it, delivers its envelope and
// acks; a bad frame is logged and the connection closed without an ack.
// The connection is pending in p.gate until its frame verifies.
func (p *Plugin) serveFrame(c *net.TCPConn, pc *connlimit.Pending, src netip.AddrPort) {
	defer p.wg.Done()
	defer func() {
		pc.Release()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		_ = c.Close()
	}()
	const what = "signaling frame"
	// The gate closes c at the handshake deadline; the deadline makes
	// reads fail then too, and bounds the ack's write.
	_ = c.SetDeadline(time.Now().Add(p.handshakeTimeout()))
	// closedByGate logs, instead of the read error it caused, that the
	// gate closed c, and why.
	closedByGate := func() bool {
		if err := pc.Err(); err != nil {
			p.drop("signaling connection", src, reasonEvicted, err)
			return true
		}
		return false
	}
	var hdr [frameHeaderLen]byte
	if n, err := io.ReadFull(c, hdr[:]); err != nil {
		if closedByGate() {
			return
		}
		if n == 0 && errors.Is(err, io.EOF) {
			p.log.Debug("lan: signaling connection closed before a frame", "from", src)
			return
		}
		p.drop(what, src, reasonShortFrame, fmt.Sprintf("length prefix: %v", err))
		return
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > MaxFrame {
		p.drop(what, src, reasonFrameLength, fmt.Sprintf("length prefix %d, want 1..%d", n, MaxFrame))
		return
	}
	// Grown as bytes arrive: a peer that announces a large frame and
	// stalls costs only what it sent.
	body, err := io.ReadAll(io.LimitReader(c, int64(n)))
	if err == nil && len(body) < int(n) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if closedByGate() {
			return
		}
		p.drop(what, src, reasonShortFrame, fmt.Sprintf("%d-byte body: %v", n, err))
		return
	}
	m, err := Decode(body)
	if err != nil {
		p.drop(what, src, reasonMalformed, err)
		return
	}
	if m.Type != TypeSignal {
		p.drop(what, src, reasonNotSignal, fmt.Sprintf("%s (announcements travel over UDP)", m.Type))
		return
	}
	now := time.Now()
	if err := Verify(m, now); err != nil {
		p.drop(what, src, verifyReason(err), err)
		return
	}
	// Signed by a key its sender's device delegated: no longer pending.
	if !pc.Authenticate() {
		closedByGate()
		return
	}
	cert, _ := sdk.ParseCertificate(m.Ferry.Cert) // checked by Decode and Verify
	p.mu.Lock()
	if m.To != p.self {
		self := p.self
		p.mu.Unlock()
		p.drop(what, src, reasonRecipient, fmt.Sprintf("SIGNAL from %s for %s, but this device is %s", m.Ferry.ID.Short(), m.To.Short(), self.Short()))
		return
	}
	st := p.replayStateLocked(m.Ferry.ID, cert, now)
	if fresh, _ := st.win.accept(m.Ferry.Seq); !fresh {
		p.mu.Unlock()
		p.drop(what, src, reasonReplay, fmt.Sprintf("SIGNAL from %s with seq %d already seen or too old", m.Ferry.ID.Short(), m.Ferry.Seq))
		return
	}
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.deliverLocked(sdk.Envelope{From: m.Ferry.ID, To: m.To, Payload: m.Payload})
	p.mu.Unlock()
	if _, err := c.Write([]byte{ackByte}); err != nil {
		p.log.Debug("lan: could not ack a signaling frame", "from", src, "err", err)
	}
}

// handshakeTimeout returns the handshake_timeout option.
func (p *Plugin) handshakeTimeout() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.limits.HandshakeTimeout
}
