package dht

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

const (
	// frameVersion is the first byte of a signaling frame body.
	frameVersion = 1
	// frameHeaderLen is the fixed part of a signaling frame body: version,
	// sender ID, sender certificate, recipient ID.
	frameHeaderLen = 1 + sdk.PeerIDLen + sdk.CertificateSize + sdk.PeerIDLen
	// MaxFrame is the largest signaling frame body accepted: the fixed
	// part and a payload of sdk.MaxEnvelopePayload bytes.
	MaxFrame = frameHeaderLen + sdk.MaxEnvelopePayload
	// ackByte is the receiver's answer once it queued the envelope.
	ackByte byte = 0x06
	// dialTimeout bounds connecting to a recipient's node.
	dialTimeout = 5 * time.Second
	// ackTimeout bounds opening the stream, writing the frame and waiting
	// for the ack.
	ackTimeout = 5 * time.Second
	// frameTimeout bounds the receiver's read of one frame.
	frameTimeout = 5 * time.Second
)

// dialError is a failure to reach a recipient's node at the addresses of
// its record, as opposed to a refusal by a node that was reached.
type dialError struct{ err error }

// Error returns the dial error's text.
func (e *dialError) Error() string { return e.err.Error() }

// Unwrap returns the dial error.
func (e *dialError) Unwrap() error { return e.err }

// encodeSignal returns a whole signaling frame: length prefix and body.
func encodeSignal(from sdk.PeerID, cert []byte, to sdk.PeerID, payload []byte) []byte {
	b := make([]byte, 0, 4+frameHeaderLen+len(payload))
	b = binary.BigEndian.AppendUint32(b, uint32(frameHeaderLen+len(payload)))
	b = append(b, frameVersion)
	b = append(b, from[:]...)
	b = append(b, cert...)
	b = append(b, to[:]...)
	return append(b, payload...)
}

// signalFrame is a decoded signaling frame body.
type signalFrame struct {
	from, to sdk.PeerID
	cert     sdk.Certificate
	payload  []byte
}

// decodeSignal decodes a frame body of frameHeaderLen to MaxFrame bytes.
func decodeSignal(b []byte) (signalFrame, error) {
	var f signalFrame
	if len(b) < frameHeaderLen || len(b) > MaxFrame {
		return f, fmt.Errorf("%w: %d bytes, want %d to %d", errFrameLength, len(b), frameHeaderLen, MaxFrame)
	}
	if b[0] != frameVersion {
		return f, fmt.Errorf("frame version %d, want %d", b[0], frameVersion)
	}
	b = b[1:]
	copy(f.from[:], b[:sdk.PeerIDLen])
	b = b[sdk.PeerIDLen:]
	cert, err := sdk.ParseCertificate(b[:sdk.CertificateSize])
	if err != nil {
		return f, err
	}
	f.cert = cert
	b = b[sdk.CertificateSize:]
	copy(f.to[:], b[:sdk.PeerIDLen])
	f.payload = slices.Clone(b[sdk.PeerIDLen:])
	return f, nil
}

// Send delivers env to env.To over a direct libp2p stream: it takes the
// recipient's record from the table (neighbours' hellos, earlier
// lookups) or looks it up in the DHT, connects to the record's libp2p
// addresses, opens a <prefix>/signal/1.0.0 stream, writes one frame
// (sender ID and certificate, recipient, payload) and waits for the
// recipient's one-byte ack, written once it queued the envelope. When the
// addresses fail, they are dropped and the record is looked up once more
// before Send gives up. A recipient without a record, or unreachable at
// every address, is an error wrapping sdk.ErrNotFound that names it.
func (p *Plugin) Send(ctx context.Context, env sdk.Envelope) error {
	if env.To.IsZero() {
		return fmt.Errorf("dht: send: no recipient: %w", sdk.ErrInvalidPeerID)
	}
	if len(env.Payload) > sdk.MaxEnvelopePayload {
		return fmt.Errorf("dht: send to %s: payload of %d bytes exceeds %d", env.To.Short(), len(env.Payload), sdk.MaxEnvelopePayload)
	}
	s, err := p.session("send")
	if err != nil {
		return err
	}
	del := s.del.Load()
	if del == nil {
		return fmt.Errorf("dht: send: a bootstrap_only node carries no signaling: %w", sdk.ErrUnsupported)
	}
	if env.To == s.self {
		p.deliver(sdk.Envelope{From: s.self, To: s.self, Payload: slices.Clone(env.Payload)})
		return nil
	}
	cert, err := del.Cert.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dht: send: %w", err)
	}
	frame := encodeSignal(s.self, cert, env.To, env.Payload)
	to := env.To.Short()

	sr := p.cached(env.To, time.Now())
	if sr == nil {
		// An answer to a peer that just signaled us goes back over the
		// connection its frame came on (relayed, when it is behind NAT),
		// even before its record has reached the DHT.
		if pid, ok := s.recentSender(env.To); ok {
			err := s.deliverTo(ctx, peer.AddrInfo{ID: pid}, env.To, frame)
			if err == nil {
				return nil
			}
			p.log.Debug("dht: send: the connection a frame came on is gone; looking the recipient up", "to", env.To, "err", err)
		}
		p.log.Debug("dht: send: looking up the recipient", "to", env.To, "key", Key(env.To))
		var raw []byte
		if sr, raw, err = s.fetch(ctx, env.To); err != nil {
			return fmt.Errorf("dht: send to %s: %w", to, err)
		}
		p.learn(sr, raw, time.Now())
	}
	err = s.deliver(ctx, sr, frame)
	var de *dialError
	if !errors.As(err, &de) {
		if err != nil {
			return fmt.Errorf("dht: send to %s: %w", to, err)
		}
		return nil
	}
	// The addresses failed: drop them and look the peer up once more.
	p.markStale(env.To)
	s.forget(sr)
	p.log.Info("dht: send: recipient unreachable at the addresses of its record; looking it up again", "to", env.To, "addrs", sr.Record.P2PAddrs, "err", de.err)
	sr2, raw2, err := s.fetch(ctx, env.To)
	if err != nil {
		return fmt.Errorf("dht: send to %s: unreachable at %v (%v), and looking it up again: %w", to, sr.Record.P2PAddrs, de.err, err)
	}
	p.learn(sr2, raw2, time.Now())
	if sr2.Record.Seq == sr.Record.Seq && sr2.Cert.Key.Equal(sr.Cert.Key) {
		return fmt.Errorf("dht: send to %s: unreachable at %v, and the DHT knows no other address: %w: %w", to, sr.Record.P2PAddrs, sdk.ErrNotFound, de.err)
	}
	err = s.deliver(ctx, sr2, frame)
	if errors.As(err, &de) {
		p.markStale(env.To)
		s.forget(sr2)
		return fmt.Errorf("dht: send to %s: unreachable at %v: %w: %w", to, sr2.Record.P2PAddrs, sdk.ErrNotFound, de.err)
	}
	if err != nil {
		return fmt.Errorf("dht: send to %s: %w", to, err)
	}
	return nil
}

// deliver connects to the node of record sr, writes frame on a signal
// stream and waits for the ack. A failure to reach the node is a
// *dialError.
func (s *session) deliver(ctx context.Context, sr *SignedRecord, frame []byte) error {
	ai, err := sr.AddrInfo()
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if len(ai.Addrs) > 0 {
		s.n.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, max(time.Until(sr.Record.Expires()), time.Minute))
	}
	return s.deliverTo(ctx, ai, sr.Record.ID, frame)
}

// deliverTo connects to ai (unless connected already, directly or through
// a relay), writes frame on a signal stream and waits for the ack. A
// failure to reach the node is a *dialError.
func (s *session) deliverTo(ctx context.Context, ai peer.AddrInfo, to sdk.PeerID, frame []byte) error {
	h := s.n.h
	if c := h.Network().Connectedness(ai.ID); c != network.Connected && c != network.Limited {
		if len(ai.Addrs) == 0 {
			return &dialError{errors.New("no libp2p address known")}
		}
		s.p.log.Debug("dht: send: connecting", "to", to, "addrs", ai.Addrs)
		dctx, cancel := context.WithTimeout(network.WithAllowLimitedConn(ctx, "ferry signaling"), dialTimeout)
		err := h.Connect(dctx, ai)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &dialError{err}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	// A relayed connection (the recipient is behind NAT) is a limited one:
	// signaling is what it is for.
	st, err := h.NewStream(network.WithAllowLimitedConn(sctx, "ferry signaling"), ai.ID, s.signalProto)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &dialError{fmt.Errorf("open a signaling stream: %w", err)}
	}
	defer st.Close()
	stop := context.AfterFunc(sctx, func() { st.Reset() })
	defer stop()
	_ = st.SetDeadline(time.Now().Add(ackTimeout))
	if _, err := st.Write(frame); err != nil {
		return fmt.Errorf("write the frame: %w", lifecycle.IOErr(ctx, err))
	}
	_ = st.CloseWrite()
	var ack [1]byte
	if _, err := io.ReadFull(st, ack[:]); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("no ack: the peer refused the frame or did not answer within %v (its log says why): %w", ackTimeout, err)
	}
	if ack[0] != ackByte {
		return fmt.Errorf("ack byte 0x%02x, want 0x%02x", ack[0], ackByte)
	}
	via := "direct"
	if st.Conn().Stat().Limited {
		via = "relay"
	}
	s.p.log.Debug("dht: send: delivered", "to", to, "bytes", len(frame), "via", via, "remote", st.Conn().RemoteMultiaddr().String())
	return nil
}

// forget drops the libp2p addresses of sr's node and the dial back-off,
// so that the next attempt uses only what a fresh lookup gives.
func (s *session) forget(sr *SignedRecord) {
	id, err := sr.LibP2PID()
	if err != nil {
		return
	}
	s.n.h.Peerstore().ClearAddrs(id)
	if sw, ok := s.n.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(id)
	}
}

// handleSignal serves one signal stream: it reads one frame, checks that
// the certificate was issued by the claimed sender, is valid, certifies
// the very key the connection was authenticated with, and that the
// envelope is for this device; then it queues the envelope and acks. A
// bad frame is logged once and the stream reset, without an ack.
func (s *session) handleSignal(st network.Stream) {
	select {
	case s.inSem <- struct{}{}:
		defer func() { <-s.inSem }()
	default:
		st.Reset()
		s.p.refuser().refuse("signaling frame", streamSource(st), reasonBusy, fmt.Errorf("%d streams being served", maxInbound))
		return
	}
	const what = "signaling frame"
	src := streamSource(st)
	refuse := func(reason string, err error) {
		st.Reset()
		s.p.refuser().refuse(what, src, reason, err)
	}
	_ = st.SetDeadline(time.Now().Add(frameTimeout))
	body, err := readFrame(st, frameHeaderLen, MaxFrame)
	if err != nil {
		if errors.Is(err, errFrameLength) {
			refuse(reasonFrameLength, err)
		} else {
			refuse(reasonShortFrame, err)
		}
		return
	}
	f, err := decodeSignal(body)
	if err != nil {
		refuse(reasonMalformed, err)
		return
	}
	switch {
	case f.cert.Issuer != f.from:
		refuse(reasonBadCert, fmt.Errorf("the sender claims to be %s, but its certificate was issued by %s", f.from.Short(), f.cert.Issuer.Short()))
		return
	case !keyEqual(st.Conn().RemotePublicKey(), f.cert.Key):
		refuse(reasonKeyMismatch, fmt.Errorf("the certificate of %s certifies another key than the one this connection was made with", f.from.Short()))
		return
	}
	if err := f.cert.Verify(time.Now()); err != nil {
		refuse(reasonBadCert, err)
		return
	}
	if f.to != s.self {
		refuse(reasonRecipient, fmt.Errorf("an envelope from %s for %s, but this device is %s", f.from.Short(), f.to.Short(), s.self.Short()))
		return
	}
	if !s.p.deliver(sdk.Envelope{From: f.from, To: f.to, Payload: f.payload}) {
		st.Reset()
		return
	}
	s.rememberSender(f.from, st.Conn().RemotePeer())
	if _, err := st.Write([]byte{ackByte}); err != nil {
		s.p.log.Debug("dht: could not ack a signaling frame", "from", src, "err", err)
	}
	_ = st.Close()
}

// Receive returns a channel of envelopes addressed to this device, until
// ctx ends or the plugin closes. Every call gets every envelope; the
// first call also gets those that arrived while none was open. A reader
// that falls more than 256 envelopes behind loses the oldest (logged).
func (p *Plugin) Receive(ctx context.Context) (<-chan sdk.Envelope, error) {
	return p.inbox.Subscribe(ctx)
}

// deliver queues env for every Receive channel, or for the next Receive
// when none is open. It reports false when the plugin is closed.
func (p *Plugin) deliver(env sdk.Envelope) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if p.inbox.Publish(env) {
		p.logLimitedLocked("receive queue full", "dht: a Receive reader is too slow: dropped its oldest envelope", "limit", feed.DefaultEnvelopes)
	}
	return true
}
