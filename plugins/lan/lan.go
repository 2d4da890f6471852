package lan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/feed"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Name is the plugin's name.
const Name = "lan"

// PluginVersion is the plugin's own version.
const PluginVersion = "0.1.0"

// Option sets up a Plugin in [New].
type Option func(*Plugin)

// WithLogger sets the logger for dropped input, send failures and socket
// trouble. A nil logger means slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(p *Plugin) {
		if l != nil {
			p.log = l
		}
	}
}

// Plugin is the lan discovery and signaling plugin. Make it with [New]; it
// binds its sockets in Configure and releases them in Close. All methods
// are safe to call concurrently. Info and ConfigSchema are those of the
// embedded [lifecycle.Meta]; the options are port, interfaces,
// broadcast_addresses, multicast_group, announce_interval, peer_timeout,
// handshake_timeout, max_pending and max_pending_per_source.
type Plugin struct {
	lifecycle.Meta
	log   *slog.Logger
	drops dropLog
	gate  *connlimit.Gate // signaling connections before their frame verifies
	seq   atomic.Uint64   // the last Seq signed

	cfgMu  sync.Mutex // serialises Configure
	sendMu sync.Mutex // serialises announcements, so LEAVE is the last

	mu         sync.Mutex
	configured bool
	closed     bool
	cfg        config
	self       sdk.PeerID
	del        *sdk.Delegation
	socks      *sockets
	ifaces     map[int]string // index → name of the chosen interfaces
	announced  *sdk.PeerInfo  // what Announce asked for, nil before
	noTargets  bool           // the last announcement found nowhere to go
	peers      map[sdk.PeerID]*peer
	replay     map[replayKey]*replayState
	replied    map[replyKey]time.Time // last PING reply to a JOIN
	once       map[string]bool        // conditions already logged
	conns      map[net.Conn]struct{}

	// watchers are the Watch channels. Events are published with mu
	// held, so that a Watch's snapshot of the table and the events after
	// it agree.
	watchers *feed.Hub[sdk.PeerEvent]
	// inbox holds the Receive channels, and the envelopes for the next
	// Receive while none is open.
	inbox *feed.Hub[sdk.Envelope]

	kick chan struct{} // wakes the timer loop after Configure or Announce
	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

var (
	_ sdk.Discovery = (*Plugin)(nil)
	_ sdk.Signaling = (*Plugin)(nil)
)

// New returns an unconfigured plugin.
func New(opts ...Option) *Plugin {
	p := &Plugin{
		log:      slog.Default(),
		peers:    map[sdk.PeerID]*peer{},
		replay:   map[replayKey]*replayState{},
		replied:  map[replyKey]time.Time{},
		once:     map[string]bool{},
		conns:    map[net.Conn]struct{}{},
		watchers: feed.NewPeerEvents("lan: watch", feed.DefaultBuffer),
		inbox:    feed.NewEnvelopes("lan: receive", feed.DefaultBuffer, feed.DefaultEnvelopes),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	gate, err := connlimit.NewGate(defaultConfig().limits)
	if err != nil {
		panic("lan: default limits: " + err.Error()) // a bug, caught by every test
	}
	p.gate = gate
	for _, o := range opts {
		o(p)
	}
	p.Meta = lifecycle.Describe(sdk.Info{
		Name:         Name,
		Version:      PluginVersion,
		Roles:        []sdk.Role{sdk.RoleDiscovery, sdk.RoleSignaling},
		APIVersions:  []int{sdk.APIVersion},
		Capabilities: []string{"discovery.lookup"},
	}, schema, p.isClosed)
	return p
}

// Configure checks the options and the delegation and binds the sockets,
// so that a port in use or an unknown interface is reported here, naming
// the address or the interface. Calling it again keeps the sockets when
// port, interfaces and multicast group are unchanged and only takes the
// new timings, broadcast addresses and delegated key; otherwise it binds
// a new set, switches to it and announces again with a JOIN.
func (p *Plugin) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	cfg, err := lifecycle.ParseConfig(Name, req, parseConfig)
	if err != nil {
		return err
	}
	if err := lifecycle.CheckDelegation(Name, "lan needs a delegated signing key from the host", req, time.Now()); err != nil {
		return err
	}
	p.cfgMu.Lock()
	defer p.cfgMu.Unlock()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("lan: configure: %w", sdk.ErrClosed)
	}
	reuse := p.configured && p.cfg.sameSockets(cfg)
	p.mu.Unlock()

	ifs, notes, err := chooseInterfaces(cfg.interfaces)
	if err != nil {
		return err
	}
	var s *sockets
	if !reuse {
		if s, err = openSockets(cfg, ifs, p.logOnce); err != nil {
			return err
		}
	}
	// Before the accept loops start, so the new limits apply from the
	// first connection.
	if err := p.gate.SetLimits(cfg.limits); err != nil {
		s.close()
		return lifecycle.InvalidConfig(Name, err) // parseConfig checked them
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		s.close()
		return fmt.Errorf("lan: configure: %w", sdk.ErrClosed)
	}
	if p.configured && p.self != req.Self {
		p.announced = nil // that record was another device's
		if pe := p.peers[req.Self]; pe != nil {
			delete(p.peers, req.Self) // now ourselves
			p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
		}
	}
	p.cfg, p.self, p.del = cfg, req.Self, req.Delegation
	p.ifaces = ifaceIndex(ifs) // before the loops start filtering by it
	var old *sockets
	if !reuse {
		old, p.socks = p.socks, s
		p.startSocketLoops(s)
	}
	if !p.configured {
		p.wg.Add(1)
		go p.timerLoop()
	}
	p.configured = true
	rejoin := !reuse && old != nil && p.announced != nil
	p.mu.Unlock()

	old.close()
	for _, n := range notes {
		p.logOnce("interface "+n, "lan: "+n)
	}
	p.refreshInterfaces(ifs)
	if rejoin {
		p.announce(TypeJoin)
	}
	p.wake()
	return nil
}

// Close broadcasts LEAVE if this device was announced, closes the sockets
// and every Watch and Receive channel, and waits, until ctx ends, for its
// goroutines to stop.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("lan: close: %w", sdk.ErrClosed)
	}
	p.closed = true // from here on, no new JOIN or PING is sent
	// Closing the hubs under mu: a Watch or Receive either came before
	// or fails.
	p.watchers.Close()
	p.inbox.Close()
	p.mu.Unlock()
	// LEAVE while the sockets are still open. announce serialises sends,
	// so a PING being sent finishes first and none follows the LEAVE.
	p.announce(TypeLeave)

	p.mu.Lock()
	close(p.done)
	s := p.socks
	p.socks = nil
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	s.close()
	p.gate.Close()
	if err := lifecycle.Wait(ctx, &p.wg); err != nil {
		return fmt.Errorf("lan: close: waiting for goroutines: %w", err)
	}
	return nil
}

func (p *Plugin) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// state returns the fields a sender needs, or an error when the plugin is
// closed or not configured.
func (p *Plugin) state(op string) (s *sockets, self sdk.PeerID, del *sdk.Delegation, cfg config, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, self, nil, cfg, fmt.Errorf("lan: %s: %w", op, sdk.ErrClosed)
	case !p.configured:
		return nil, self, nil, cfg, fmt.Errorf("lan: %s: %w", op, sdk.ErrNotConfigured)
	}
	return p.socks, p.self, p.del, p.cfg, nil
}

// wake makes the timer loop start a new announce interval and pick up new
// timings.
func (p *Plugin) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// timerLoop repeats the announcement every announce_interval (with 10%
// jitter, so that peers started together do not stay in step) and expires
// peers not heard from within peer_timeout.
func (p *Plugin) timerLoop() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		cfg := p.cfg
		p.mu.Unlock()
		announce := time.NewTimer(jitter(cfg.announceInterval))
		expire := time.NewTicker(min(max(cfg.peerTimeout/4, 10*time.Millisecond), time.Second))
		restart := false
		for !restart {
			select {
			case <-p.done:
				announce.Stop()
				expire.Stop()
				return
			case <-p.kick:
				restart = true
			case <-announce.C:
				ifs, _, err := chooseInterfaces(cfg.interfaces)
				if err != nil {
					p.logLimited("interfaces", "lan: interfaces", "err", err)
				} else {
					p.refreshInterfaces(ifs)
				}
				p.announce(TypePing)
				announce.Reset(jitter(cfg.announceInterval))
			case now := <-expire.C:
				p.expire(now)
			}
		}
		announce.Stop()
		expire.Stop()
	}
}

// jitter returns d minus up to 10%.
func jitter(d time.Duration) time.Duration {
	n := time.Now().UnixNano()
	return d - time.Duration(uint64(n)%uint64(d/10+1))
}

// logOnce logs msg at info level the first time key is seen.
func (p *Plugin) logOnce(key, msg string, args ...any) {
	p.mu.Lock()
	seen := p.once[key]
	if !seen && len(p.once) < 1024 {
		p.once[key] = true
	}
	p.mu.Unlock()
	if !seen {
		p.log.Info(msg, args...)
	}
}

// logLimited logs msg at warn level, at most once per lograte.DefaultEvery for key.
func (p *Plugin) logLimited(key, msg string, args ...any) {
	if n, ok := p.drops.Allow(key, time.Now()); ok {
		if n > 0 {
			args = append(args, "suppressed", n)
		}
		p.log.Warn(msg, args...)
	}
}

// isClosedErr reports whether err comes from a socket closed under it.
func isClosedErr(err error) bool { return errors.Is(err, net.ErrClosed) }
