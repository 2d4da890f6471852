// Package tcp is Ferry's direct TCP transport: the responder listens, the
// initiator dials the addresses in the responder's description.
//
// A description lists the responder's addresses and a random 16-byte
// session token. The initiator races its dials to those addresses,
// staggered happy-eyeballs style (IPv6 and IPv4 interleaved, the next
// attempt after dial_stagger or as soon as an earlier one fails). On each
// connection it sends a hello, "FRY1", a version byte and the responder's
// token, and waits for a one-byte ack. The responder acks the first
// connection that presents a token of one of its sessions and closes any
// later one, so exactly one connection wins. Streams are the raw
// *net.TCPConn on both sides, with nothing read past the hello, so the SDK
// can hand the socket itself to the core.
//
// The token only pairs connections with sessions; identity is proven by
// the core's TLS handshake on the stream.
//
// An inbound connection is pending until its hello names a session
// waiting for it: it has handshake_timeout (5 s) to get there, and past
// max_pending (128) pending connections, or max_pending_per_source (16)
// from one IPv4 address or IPv6 /64, the oldest is closed rather than the
// newest refused (package sdk/connlimit). Idle or slow connections, from
// however many sources, thus cannot keep out a peer that sends its hello
// at once, and cost at most max_pending descriptors.
//
// The same value serves the plugin binary (cmd/tcp) and the core's
// in-process twin.
package tcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/lograte"
)

// Version is the plugin's own version.
const Version = "0.1.0"

const (
	// helloMagic opens every hello.
	helloMagic = "FRY1"
	// helloVersion is the hello format's version byte.
	helloVersion = 1
	// helloLen is the hello's length: magic, version byte, token.
	helloLen = len(helloMagic) + 1 + tokenLen
	// ackByte is the responder's answer to a hello it matched.
	ackByte byte = 0x06
	// helloTimeout bounds the initiator's handshake (hello and ack); the
	// responder's is the handshake_timeout option.
	helloTimeout = 10 * time.Second
	// keepAlive is the TCP keep-alive period of every connection.
	keepAlive = 30 * time.Second
)

// Option sets up a Transport in [New].
type Option func(*Transport)

// WithLogger sets the logger for refused connections and listener
// trouble. A nil logger means slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) {
		if l != nil {
			t.log = l
		}
	}
}

// Transport is the direct TCP transport. Make it with [New]; it listens
// once configured and until closed. All methods are safe to call
// concurrently. Info and ConfigSchema are those of the embedded
// [lifecycle.Meta]; the options are listen, advertise, dial_stagger,
// session_timeout, handshake_timeout, max_pending and
// max_pending_per_source.
//
// Inbound connections that have not yet presented the token of one of its
// sessions are pending: each has handshake_timeout to do so, and when
// more than max_pending are pending (or max_pending_per_source from one
// address) the oldest is closed, so that idle or slow connections cannot
// keep out a peer that sends its hello at once.
type Transport struct {
	lifecycle.Meta
	log   *slog.Logger
	drops lograte.Limiter // refused inbound connections
	gate  *connlimit.Gate // inbound connections before their hello matched

	cfgMu sync.Mutex // serialises Configure

	mu         sync.Mutex
	cfg        config
	configured bool
	closed     bool
	listeners  []*listener
	sessions   map[string]*session
	byToken    map[[tokenLen]byte]*session
	handshakes map[*net.TCPConn]struct{} // inbound, not yet handed to a session
	done       chan struct{}             // closed by Close
	wg         sync.WaitGroup            // accept loops and handshakes
}

var _ sdk.Transport = (*Transport)(nil)

// listener is one bound listening socket.
type listener struct {
	ln    *net.TCPListener
	bound boundAddr
}

// session is one prepared connection attempt.
type session struct {
	id      string
	peer    sdk.PeerID
	role    sdk.ConnRole
	token   [tokenLen]byte
	created time.Time
	timer   *time.Timer // drops the session if Connect never comes

	// Guarded by Transport.mu.
	claimed   bool          // Connect was called
	fulfilled bool          // a responder acked an inbound connection
	conn      *net.TCPConn  // the matched connection, until Connect takes it
	arrived   chan struct{} // closed when conn is set
}

// New returns an unconfigured transport.
func New(opts ...Option) *Transport {
	t := &Transport{
		log:        slog.Default(),
		sessions:   map[string]*session{},
		byToken:    map[[tokenLen]byte]*session{},
		handshakes: map[*net.TCPConn]struct{}{},
		done:       make(chan struct{}),
	}
	gate, err := connlimit.NewGate(defaultConfig().limits)
	if err != nil {
		panic("tcp: default limits: " + err.Error()) // a bug, caught by every test
	}
	t.gate = gate
	for _, o := range opts {
		o(t)
	}
	t.Meta = lifecycle.Describe(sdk.Info{
		Name:        Name,
		Version:     Version,
		Roles:       []sdk.Role{sdk.RoleTransport},
		APIVersions: []int{sdk.APIVersion},
	}, schema, t.isClosed)
	return t
}

// Configure applies options and binds the listeners, whose accept loops
// run until Close. Calling it again with the same listen addresses keeps
// the listeners (and their ports) and only updates the other options; new
// listen addresses are bound first and then replace the old listeners.
func (t *Transport) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	cfg, err := lifecycle.ParseConfig(Name, req, parseConfig)
	if err != nil {
		return err
	}
	t.cfgMu.Lock()
	defer t.cfgMu.Unlock()

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fmt.Errorf("tcp: configure: %w", sdk.ErrClosed)
	}
	if t.configured && slices.Equal(t.cfg.listen, cfg.listen) {
		t.cfg = cfg
		t.mu.Unlock()
		if err := t.gate.SetLimits(cfg.limits); err != nil {
			return lifecycle.InvalidConfig(Name, err) // parseConfig checked them
		}
		return nil
	}
	t.mu.Unlock()

	ls, err := t.bind(ctx, cfg.listen)
	if err != nil {
		return err
	}
	// Before the accept loops start, so the new limits apply from the
	// first connection.
	if err := t.gate.SetLimits(cfg.limits); err != nil {
		closeListeners(ls)
		return lifecycle.InvalidConfig(Name, err) // parseConfig checked them
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		closeListeners(ls)
		return fmt.Errorf("tcp: configure: %w", sdk.ErrClosed)
	}
	old := t.listeners
	t.listeners, t.cfg, t.configured = ls, cfg, true
	for _, l := range ls {
		t.wg.Add(1)
		go t.acceptLoop(l)
	}
	t.mu.Unlock()
	closeListeners(old)
	return nil
}

// bind listens on every address. An unspecified address (0.0.0.0, ::) that
// cannot be bound, as on a host without IPv6, is skipped with a log line
// as long as another address is bound; any other failure is an error.
func (t *Transport) bind(ctx context.Context, addrs []string) ([]*listener, error) {
	lc := net.ListenConfig{KeepAlive: keepAlive}
	var ls []*listener
	var skipped []error
	for _, s := range addrs {
		network, ap, err := splitListen(s)
		if err != nil {
			closeListeners(ls)
			return nil, fmt.Errorf("tcp: listen: %w: %w", sdk.ErrInvalidConfig, err)
		}
		ln, err := lc.Listen(ctx, network, s)
		if err != nil {
			if ap.Addr().IsUnspecified() {
				skipped = append(skipped, fmt.Errorf("listen %s: %w", s, err))
				continue
			}
			closeListeners(ls)
			return nil, fmt.Errorf("tcp: listen %s: %w", s, err)
		}
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			_ = ln.Close()
			closeListeners(ls)
			return nil, fmt.Errorf("tcp: listen %s: got %T, want *net.TCPListener", s, ln)
		}
		ta, ok := tl.Addr().(*net.TCPAddr)
		if !ok {
			_ = tl.Close()
			closeListeners(ls)
			return nil, fmt.Errorf("tcp: listen %s: bound address is a %T", s, tl.Addr())
		}
		got := ta.AddrPort()
		ls = append(ls, &listener{ln: tl, bound: boundAddr{
			network: network,
			addr:    netip.AddrPortFrom(got.Addr().Unmap(), got.Port()),
		}})
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("tcp: no listen address could be bound: %w", errors.Join(skipped...))
	}
	for _, err := range skipped {
		t.log.Warn("tcp: listen address skipped", "err", err)
	}
	return ls, nil
}

func closeListeners(ls []*listener) {
	for _, l := range ls {
		_ = l.ln.Close()
	}
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Prepare makes a session for one connection attempt and returns its
// description: the addresses to reach this transport and the session's
// token. The session is dropped if Connect does not come within
// session_timeout.
func (t *Transport) Prepare(ctx context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	if err := ctx.Err(); err != nil {
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", err)
	}
	if req.Peer.IsZero() {
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: no peer: %w", sdk.ErrInvalidPeerID)
	}
	if req.Role != sdk.Initiator && req.Role != sdk.Responder {
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: role %v: %w", req.Role, sdk.ErrUnsupported)
	}
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", sdk.ErrClosed)
	case !t.configured:
		t.mu.Unlock()
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", sdk.ErrNotConfigured)
	}
	addrs := slices.Clone(t.cfg.advertise)
	timeout := t.cfg.sessionTimeout
	bound := make([]boundAddr, len(t.listeners))
	for i, l := range t.listeners {
		bound[i] = l.bound
	}
	t.mu.Unlock()

	if len(addrs) == 0 {
		var ifaddrs []netip.Addr
		if slices.ContainsFunc(bound, func(b boundAddr) bool { return b.addr.Addr().IsUnspecified() }) {
			var err error
			if ifaddrs, err = interfaceAddrs(); err != nil {
				return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", err)
			}
		}
		addrs = localAddrs(bound, ifaddrs)
	}
	if len(addrs) == 0 {
		return sdk.PrepareResponse{}, errors.New("tcp: prepare: no address to advertise (no usable interface address; set advertise)")
	}

	s := &session{
		id:      rand.Text(),
		peer:    req.Peer,
		role:    req.Role,
		created: time.Now(),
		arrived: make(chan struct{}),
	}
	_, _ = rand.Read(s.token[:]) // crypto/rand.Read never returns an error
	local, err := encodeDescription(description{addrs: addrs, token: s.token})
	if err != nil {
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", err)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return sdk.PrepareResponse{}, fmt.Errorf("tcp: prepare: %w", sdk.ErrClosed)
	}
	t.sessions[s.id] = s
	t.byToken[s.token] = s
	s.timer = time.AfterFunc(timeout, func() { t.expire(s) })
	return sdk.PrepareResponse{Session: s.id, Local: local}, nil
}

// expire drops a session whose Connect never came.
func (t *Transport) expire(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions[s.id] != s || s.claimed {
		return
	}
	t.removeLocked(s)
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	t.log.Debug("tcp: session expired", "peer", s.peer, "role", s.role.String(), "age", time.Since(s.created))
}

// removeLocked forgets a session. t.mu must be held.
func (t *Transport) removeLocked(s *session) {
	if t.sessions[s.id] == s {
		delete(t.sessions, s.id)
	}
	if t.byToken[s.token] == s {
		delete(t.byToken, s.token)
	}
	if s.timer != nil {
		s.timer.Stop()
	}
}

// Connect completes a prepared session; a session serves one Connect,
// whatever its outcome. The initiator needs the responder's description
// and dials it; the responder waits until the initiator's connection
// arrives (or has already arrived), and may pass the initiator's
// description, which is then checked but not used. The stream is a
// *net.TCPConn.
func (t *Transport) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	var remote description
	hasRemote := req.Remote.Transport != "" || len(req.Remote.Data) > 0
	if hasRemote {
		var err error
		if remote, err = decodeDescription(req.Remote); err != nil {
			return nil, fmt.Errorf("tcp: connect: %w", err)
		}
	}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("tcp: connect: %w", sdk.ErrClosed)
	}
	s := t.sessions[req.Session]
	switch {
	case s == nil:
		t.mu.Unlock()
		return nil, fmt.Errorf("tcp: connect: session %q: %w", req.Session, sdk.ErrNotFound)
	case s.claimed:
		t.mu.Unlock()
		return nil, fmt.Errorf("tcp: connect: session %q is already connecting: %w", req.Session, sdk.ErrNotFound)
	case s.role == sdk.Initiator && !hasRemote:
		t.mu.Unlock()
		return nil, fmt.Errorf("tcp: connect: the initiator needs the peer's description: %w", sdk.ErrInvalidDescription)
	}
	s.claimed = true
	s.timer.Stop()
	stagger := t.cfg.dialStagger
	if s.role == sdk.Initiator {
		t.removeLocked(s)
	}
	t.mu.Unlock()

	if s.role == sdk.Initiator {
		c, err := t.dial(ctx, remote, stagger)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return t.await(ctx, s)
}

// await waits for the inbound connection of a responder session.
func (t *Transport) await(ctx context.Context, s *session) (sdk.Stream, error) {
	select {
	case <-s.arrived:
	case <-ctx.Done():
	case <-t.done:
	}
	t.mu.Lock()
	c := s.conn
	s.conn = nil
	t.removeLocked(s)
	closed := t.closed
	t.mu.Unlock()
	switch {
	case c != nil:
		return c, nil
	case closed:
		return nil, fmt.Errorf("tcp: connect: %w", sdk.ErrClosed)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("tcp: connect: waiting for the initiator: %w", ctx.Err())
	}
	return nil, errors.New("tcp: connect: session ended without a connection")
}

// Close stops the listeners, closes connections not yet handed out, ends
// waiting Connect calls with sdk.ErrClosed and waits, until ctx ends, for
// its goroutines to stop. Streams already returned stay open.
func (t *Transport) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fmt.Errorf("tcp: close: %w", sdk.ErrClosed)
	}
	t.closed = true
	close(t.done)
	ls := t.listeners
	t.listeners = nil
	for c := range t.handshakes {
		_ = c.Close()
	}
	for _, s := range t.sessions {
		s.timer.Stop()
		if s.conn != nil {
			_ = s.conn.Close()
			s.conn = nil
		}
	}
	clear(t.sessions)
	clear(t.byToken)
	t.mu.Unlock()
	closeListeners(ls)
	t.gate.Close()
	if err := lifecycle.Wait(ctx, &t.wg); err != nil {
		return fmt.Errorf("tcp: close: waiting for goroutines: %w", err)
	}
	return nil
}
