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
// The same value serves the plugin binary (cmd/tcp) and the core's
// in-process twin.
package tcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
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
	// helloTimeout bounds the handshake (hello and ack) on both sides.
	helloTimeout = 10 * time.Second
	// keepAlive is the TCP keep-alive period of every connection.
	keepAlive = 30 * time.Second
	// maxHandshakes bounds inbound connections that have not yet sent
	// their hello.
	maxHandshakes = 256
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
// concurrently.
type Transport struct {
	log *slog.Logger

	cfgMu sync.Mutex // serialises Configure

	mu         sync.Mutex
	cfg        config
	configured bool
	closed     bool
	listeners  []*listener
	sessions   map[string]*session
	byToken    map[[tokenLen]byte]*session
	handshakes map[*net.TCPConn]struct{} // inbound, hello not yet matched
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
	for _, o := range opts {
		o(t)
	}
	return t
}

// Info describes the plugin. It answers before Configure.
func (t *Transport) Info(ctx context.Context) (sdk.Info, error) {
	if t.isClosed() {
		return sdk.Info{}, fmt.Errorf("tcp: info: %w", sdk.ErrClosed)
	}
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Roles:       []sdk.Role{sdk.RoleTransport},
		APIVersions: []int{sdk.APIVersion},
	}, nil
}

// ConfigSchema lists the options: listen, advertise, dial_stagger and
// session_timeout.
func (t *Transport) ConfigSchema(ctx context.Context) (sdk.ConfigSchema, error) {
	if t.isClosed() {
		return sdk.ConfigSchema{}, fmt.Errorf("tcp: config schema: %w", sdk.ErrClosed)
	}
	return sdk.ConfigSchema{Fields: slices.Clone(schema.Fields)}, nil
}

// Configure applies options and binds the listeners, whose accept loops
// run until Close. Calling it again with the same listen addresses keeps
// the listeners (and their ports) and only updates the other options; new
// listen addresses are bound first and then replace the old listeners.
func (t *Transport) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	if req.APIVersion != 0 && req.APIVersion != sdk.APIVersion {
		return fmt.Errorf("tcp: configure: API version %d, want %d: %w", req.APIVersion, sdk.APIVersion, sdk.ErrUnsupported)
	}
	cfg, err := parseConfig(req.Config)
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
		return nil
	}
	t.mu.Unlock()

	ls, err := t.bind(ctx, cfg.listen)
	if err != nil {
		return err
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

	stopped := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tcp: close: waiting for goroutines: %w", ctx.Err())
	}
}

// acceptLoop accepts connections on l until l is closed (by Close or a
// re-Configure) and runs a handshake for each.
func (t *Transport) acceptLoop(l *listener) {
	defer t.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: retry, slower each time.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.log.Warn("tcp: accept failed", "listen", l.bound.addr.String(), "err", err, "retry_in", backoff)
			timer := time.NewTimer(backoff)
			select {
			case <-t.done:
				timer.Stop()
				return
			case <-timer.C:
			}
			continue
		}
		backoff = 0
		t.mu.Lock()
		switch {
		case t.closed:
			t.mu.Unlock()
			_ = c.Close()
			return
		case len(t.handshakes) >= maxHandshakes:
			t.mu.Unlock()
			t.log.Warn("tcp: refused inbound connection", "remote", c.RemoteAddr().String(), "reason", "too many pending handshakes")
			_ = c.Close()
			continue
		}
		t.handshakes[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.handshake(c)
	}
}

// handshake reads an inbound connection's hello, matches its token to a
// responder session, acks it and hands it to the session. Any failure
// closes the connection with a log line.
func (t *Transport) handshake(c *net.TCPConn) {
	defer t.wg.Done()
	handed := false
	defer func() {
		t.mu.Lock()
		delete(t.handshakes, c)
		t.mu.Unlock()
		if !handed {
			_ = c.Close()
		}
	}()
	remote := c.RemoteAddr().String()
	refuse := func(reason string, err error) {
		args := []any{"remote", remote, "reason", reason}
		if err != nil {
			args = append(args, "err", err)
		}
		t.log.Info("tcp: refused inbound connection", args...)
	}

	_ = c.SetDeadline(time.Now().Add(helloTimeout))
	var hello [helloLen]byte
	// Read exactly the hello from the socket itself: no byte beyond it
	// may sit in a buffer when the connection becomes a stream.
	if _, err := io.ReadFull(c, hello[:]); err != nil {
		refuse("reading hello", err)
		return
	}
	token, err := parseHello(hello[:])
	if err != nil {
		refuse("bad hello", err)
		return
	}

	t.mu.Lock()
	s := t.byToken[token]
	reason := ""
	switch {
	case s == nil:
		reason = "unknown token"
	case s.role != sdk.Responder:
		reason = "token of an initiator session"
	case s.fulfilled:
		reason = "session already has its connection"
	default:
		s.fulfilled = true
	}
	t.mu.Unlock()
	if reason != "" {
		refuse(reason, nil)
		return
	}

	if _, err := c.Write([]byte{ackByte}); err != nil {
		t.mu.Lock()
		if t.byToken[token] == s {
			s.fulfilled = false // let another attempt win
		}
		t.mu.Unlock()
		refuse("sending ack", err)
		return
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		refuse("clearing deadline", err)
		return
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.handshakes, c)
	if t.closed || t.byToken[token] != s {
		t.log.Info("tcp: dropped acked connection: session ended meanwhile", "remote", remote)
		return
	}
	s.conn = c
	close(s.arrived)
	handed = true
}

// makeHello builds the hello an initiator sends: magic, version, token.
func makeHello(token [tokenLen]byte) [helloLen]byte {
	var h [helloLen]byte
	copy(h[:], helloMagic)
	h[len(helloMagic)] = helloVersion
	copy(h[len(helloMagic)+1:], token[:])
	return h
}

// parseHello checks a hello and returns its token.
func parseHello(b []byte) ([tokenLen]byte, error) {
	var token [tokenLen]byte
	switch {
	case len(b) != helloLen:
		return token, fmt.Errorf("hello of %d bytes, want %d", len(b), helloLen)
	case string(b[:len(helloMagic)]) != helloMagic:
		return token, fmt.Errorf("bad magic %q, want %q", b[:len(helloMagic)], helloMagic)
	case b[len(helloMagic)] != helloVersion:
		return token, fmt.Errorf("hello version %d, want %d", b[len(helloMagic)], helloVersion)
	}
	copy(token[:], b[len(helloMagic)+1:])
	return token, nil
}

// dialOrder orders a peer's addresses for the staggered race: IPv6 and
// IPv4 interleaved, IPv6 first, each family in its given order, then DNS
// names; duplicates are dropped.
func dialOrder(addrs []string) []string {
	var v6, v4, names []string
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		switch addrFamily(a) {
		case family6:
			v6 = append(v6, a)
		case family4:
			v4 = append(v4, a)
		default:
			names = append(names, a)
		}
	}
	out := make([]string, 0, len(seen))
	for i := 0; i < max(len(v6), len(v4)); i++ {
		if i < len(v6) {
			out = append(out, v6[i])
		}
		if i < len(v4) {
			out = append(out, v4[i])
		}
	}
	return append(out, names...)
}

// dial races connection attempts to the peer's addresses in dialOrder: the
// first starts at once, each next one after stagger or as soon as an
// earlier attempt fails. The first acked connection wins and the others are
// cancelled; Connect returns only once every attempt has ended.
func (t *Transport) dial(ctx context.Context, d description, stagger time.Duration) (*net.TCPConn, error) {
	addrs := dialOrder(d.addrs)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends when dctx does, at the latest when dial returns
		select {
		case <-t.done:
			cancel()
		case <-dctx.Done():
		}
	}()

	type result struct {
		i   int
		c   *net.TCPConn
		err error
	}
	results := make(chan result, len(addrs))
	errs := make([]error, len(addrs))
	next, running := 0, 0
	start := func() {
		i := next
		next++
		running++
		go func() {
			c, err := t.attempt(dctx, addrs[i], d.token)
			results <- result{i, c, err}
		}()
	}
	start()
	timer := time.NewTimer(stagger)
	defer timer.Stop()
	var won *net.TCPConn
	for running > 0 {
		more := won == nil && next < len(addrs) && dctx.Err() == nil
		var tick <-chan time.Time
		if more {
			tick = timer.C
		}
		select {
		case r := <-results:
			running--
			switch {
			case r.err != nil:
				errs[r.i] = r.err
				if more {
					start()
					timer.Reset(stagger)
				}
			case won == nil:
				won = r.c
				cancel()
			default:
				_ = r.c.Close() // the responder acks once; never expected
			}
		case <-tick:
			start()
			timer.Reset(stagger)
		}
	}
	if won != nil {
		return won, nil
	}
	select {
	case <-t.done:
		return nil, fmt.Errorf("tcp: connect: %w", sdk.ErrClosed)
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tcp: connect: %w", err)
	}
	de := &dialError{}
	for i, err := range errs {
		if err != nil {
			de.addrs = append(de.addrs, addrs[i])
			de.errs = append(de.errs, err)
		}
	}
	return nil, fmt.Errorf("tcp: connect: %w", de)
}

// attempt dials one address and runs the initiator's side of the
// handshake: send the hello with the responder's token, wait for the ack.
func (t *Transport) attempt(ctx context.Context, addr string, token [tokenLen]byte) (*net.TCPConn, error) {
	dialer := net.Dialer{KeepAlive: keepAlive}
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" && oe.Err != nil {
			err = oe.Err // the address is in dialError already
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	c, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, fmt.Errorf("dial: got %T, want *net.TCPConn", nc)
	}
	deadline := time.Now().Add(helloTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*net.TCPConn, error) {
		stop()
		_ = c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}

	hello := makeHello(token)
	if _, err := c.Write(hello[:]); err != nil {
		return fail(fmt.Errorf("send hello: %w", err))
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(errors.New("refused: closed without ack (token unknown to the listener, or its session already connected)"))
		}
		return fail(fmt.Errorf("wait for ack: %w", err))
	}
	if ack[0] != ackByte {
		return fail(fmt.Errorf("bad ack byte %#02x", ack[0]))
	}
	if !stop() {
		return fail(ctx.Err()) // cancelled as the ack came: deadline is spoilt
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fail(fmt.Errorf("clear deadline: %w", err))
	}
	return c, nil
}

// dialError lists every address an initiator tried and why each failed.
type dialError struct {
	addrs []string
	errs  []error
}

func (e *dialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d addresses failed: ", len(e.addrs))
	for i, a := range e.addrs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a)
		b.WriteString(": ")
		b.WriteString(e.errs[i].Error())
	}
	return b.String()
}

func (e *dialError) Unwrap() []error { return e.errs }
