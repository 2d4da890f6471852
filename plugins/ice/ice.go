package ice

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// Option sets up a Transport in [New].
type Option func(*Transport)

// WithLogger sets the logger. A nil logger means slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) {
		if l != nil {
			t.log = l
		}
	}
}

// Transport is the ICE transport. Make it with [New]; it does nothing
// until configured. All methods are safe to call concurrently. Info and
// ConfigSchema are those of the embedded [lifecycle.Meta].
type Transport struct {
	lifecycle.Meta
	log   *slog.Logger
	logs  loggerFactory
	state *lifecycle.State[config]
	tls   tlsConfigs

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	streams  map[*stream]struct{}
	done     chan struct{}  // closed by Close
	wg       sync.WaitGroup // lingering streams
}

var _ sdk.Transport = (*Transport)(nil)

// session is one prepared connection attempt: the candidates gathered for
// it, until Connect hands them to an ICE agent.
type session struct {
	id   string
	peer sdk.PeerID
	role sdk.ConnRole
	// ufrag and pwd are this side's description's. The responder's are its
	// ICE credentials; the initiator's are unused (see the package doc).
	ufrag, pwd string
	locals     []*local
	created    time.Time
	timer      *time.Timer
}

// New returns an unconfigured transport.
func New(opts ...Option) *Transport {
	t := &Transport{
		log:      slog.Default(),
		state:    lifecycle.New[config](Name),
		sessions: map[string]*session{},
		streams:  map[*stream]struct{}{},
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(t)
	}
	t.logs = loggerFactory{log: t.log}
	t.Meta = lifecycle.Describe(sdk.Info{
		Name:        Name,
		Version:     Version,
		Roles:       []sdk.Role{sdk.RoleTransport},
		APIVersions: []int{sdk.APIVersion},
		// The responder adds the initiator's candidates to its checks,
		// so that both sides' NATs open (see the package doc).
		Capabilities: []string{sdk.CapRemoteDescription},
	}, schema, t.state.Closed)
	return t
}

// Configure checks and applies options; it binds nothing (sockets belong
// to sessions). Sessions already prepared keep the options they were
// prepared with.
func (t *Transport) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	cfg, err := lifecycle.ParseConfig(Name, req, parseConfig)
	if err != nil {
		return err
	}
	if err := t.tls.init(); err != nil {
		return fmt.Errorf("ice: configure: %w", err)
	}
	return t.state.Configure(cfg)
}

// Prepare gathers this side's candidates for one connection attempt,
// within gather_timeout, and returns the description listing them. The
// session is released, with its sockets, if it is not connected within
// session_timeout.
func (t *Transport) Prepare(ctx context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	cfg, ctx, end, err := t.state.Begin(ctx, "prepare")
	if err != nil {
		return sdk.PrepareResponse{}, err
	}
	defer end()
	if req.Peer.IsZero() {
		return sdk.PrepareResponse{}, fmt.Errorf("ice: prepare: no peer: %w", sdk.ErrInvalidPeerID)
	}
	if req.Role != sdk.Initiator && req.Role != sdk.Responder {
		return sdk.PrepareResponse{}, fmt.Errorf("ice: prepare: role %v: %w", req.Role, sdk.ErrUnsupported)
	}
	if ctx.Err() != nil {
		return sdk.PrepareResponse{}, lifecycle.Err(ctx, Name, "prepare")
	}
	gctx, cancel := context.WithTimeout(ctx, cfg.gatherTimeout)
	res, err := gather(gctx, cfg, t.logs)
	cancel()
	if ctx.Err() != nil {
		releaseAll(res.locals)
		return sdk.PrepareResponse{}, lifecycle.Err(ctx, Name, "prepare")
	}
	if err != nil {
		return sdk.PrepareResponse{}, fmt.Errorf("ice: prepare: %w", err)
	}
	logProblems(t.log, req.Role.String(), res.problems)

	s := &session{
		id:      rand.Text(),
		peer:    req.Peer,
		role:    req.Role,
		locals:  res.locals,
		created: time.Now(),
	}
	s.ufrag, s.pwd = randomCredentials()
	d := description{ufrag: s.ufrag, pwd: s.pwd}
	for _, l := range s.locals {
		d.cands = append(d.cands, l.cand)
	}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		releaseAll(s.locals)
		return sdk.PrepareResponse{}, fmt.Errorf("ice: prepare: %w", sdk.ErrClosed)
	}
	t.sessions[s.id] = s
	s.timer = time.AfterFunc(cfg.sessionTimeout, func() { t.expire(s) })
	t.mu.Unlock()
	t.log.Debug("ice: prepared", "peer", s.peer, "role", s.role.String(), "candidates", len(s.locals))
	return sdk.PrepareResponse{Session: s.id, Local: d.sdk()}, nil
}

// expire releases a session that no Connect took in time.
func (t *Transport) expire(s *session) {
	t.mu.Lock()
	if t.sessions[s.id] != s { // connecting, or released by Close
		t.mu.Unlock()
		return
	}
	delete(t.sessions, s.id)
	t.mu.Unlock()
	releaseAll(s.locals)
	t.log.Debug("ice: session expired", "peer", s.peer, "role", s.role.String(), "age", time.Since(s.created).Round(time.Millisecond))
}

// Connect completes a prepared session; a session serves one Connect,
// whatever its outcome. The initiator needs the responder's description;
// the responder needs nothing, and adds the initiator's candidates when
// given its description. Connect returns once ICE has selected a pair
// and the QUIC stream over it is open, or with an error when ctx ends,
// the checks fail, or session_timeout passes since Prepare.
func (t *Transport) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	cfg, ctx, end, err := t.state.Begin(ctx, "connect")
	if err != nil {
		return nil, err
	}
	defer end()
	var remote description
	hasRemote := req.Remote.Transport != "" || len(req.Remote.Data) > 0
	if hasRemote {
		if remote, err = parseDescription(req.Remote, cfg.policy()); err != nil {
			return nil, fmt.Errorf("ice: connect: %w", err)
		}
	}

	t.mu.Lock()
	s := t.sessions[req.Session]
	if s != nil {
		s.timer.Stop()
		delete(t.sessions, s.id)
	}
	t.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("ice: connect: session %q (never prepared, expired, or already connecting): %w", req.Session, sdk.ErrNotFound)
	}

	switch {
	case s.role == sdk.Initiator && !hasRemote:
		releaseAll(s.locals)
		return nil, fmt.Errorf("ice: connect: the initiator needs the responder's description: %w", sdk.ErrInvalidDescription)
	case s.role == sdk.Initiator && len(remote.cands) == 0:
		releaseAll(s.locals)
		return nil, fmt.Errorf("ice: connect: the responder's description lists no candidates: %w", sdk.ErrInvalidDescription)
	}

	expiry := fmt.Errorf("ice: connect: session not connected within session_timeout (%v): %w", cfg.sessionTimeout, context.DeadlineExceeded)
	cctx, cancel := context.WithDeadlineCause(ctx, s.created.Add(cfg.sessionTimeout), expiry)
	defer cancel()
	st, err := t.connect(cctx, cfg, s, remote)
	if err != nil {
		if cctx.Err() != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", lifecycle.Err(ctx, Name, "connect"), err)
			}
			return nil, fmt.Errorf("%w: %w", context.Cause(cctx), err)
		}
		return nil, fmt.Errorf("ice: connect: %w", err)
	}
	return st, nil
}

// track registers a connected stream; after Close it is torn down.
func (t *Transport) track(s *stream) error {
	t.mu.Lock()
	closed := t.closed
	if !closed {
		t.streams[s] = struct{}{}
	}
	t.mu.Unlock()
	if closed {
		s.teardown()
		return fmt.Errorf("ice: connect: %w", sdk.ErrClosed)
	}
	return nil
}

// linger releases a closed stream's connection in the background, once the
// peer has what it needs (see stream.waitPeer) or the transport closes.
func (t *Transport) linger(s *stream) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		s.teardown()
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		s.waitPeer(t.done)
		s.teardown()
		t.mu.Lock()
		delete(t.streams, s)
		t.mu.Unlock()
	}()
}

// Close ends running calls with sdk.ErrClosed, releases every session,
// tears down every stream (open or lingering) with its agent, sockets and
// TURN allocations, and waits, until ctx ends, for its goroutines.
func (t *Transport) Close(ctx context.Context) error {
	err := t.state.Close(ctx)
	if errors.Is(err, sdk.ErrClosed) {
		return err
	}
	t.mu.Lock()
	t.closed = true
	close(t.done)
	sessions := t.sessions
	streams := t.streams
	t.sessions, t.streams = map[string]*session{}, map[*stream]struct{}{}
	t.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range sessions {
		s.timer.Stop()
		wg.Go(func() { releaseAll(s.locals) })
	}
	for s := range streams {
		wg.Go(s.teardown)
	}
	wg.Go(t.wg.Wait)
	if werr := lifecycle.Wait(ctx, &wg); werr != nil {
		return fmt.Errorf("ice: close: waiting for streams to close: %w", werr)
	}
	return err
}
