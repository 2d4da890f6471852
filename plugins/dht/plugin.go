package dht

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Name is the plugin's name.
const Name = "dht"

// PluginVersion is the plugin's own version.
const PluginVersion = "0.1.0"

// needsDelegation says why Configure refuses a request without a
// delegated key.
const needsDelegation = "dht needs a delegated signing key from the host (its records are signed with it and it is the libp2p identity); only bootstrap_only runs without"

// stateKeyFile is the libp2p key of a bootstrap_only instance, in its
// state folder.
const stateKeyFile = "libp2p.key"

// Option sets up a Plugin in [New].
type Option func(*Plugin)

// WithLogger sets the logger for state changes, refused input and
// failures. A nil logger means slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(p *Plugin) {
		if l != nil {
			p.log = l
		}
	}
}

// Plugin is the dht discovery and signaling plugin. Make it with [New];
// Configure starts its DHT node and Close stops it. All methods are safe
// to call concurrently. Info and ConfigSchema are those of the embedded
// [lifecycle.Meta]; the options are listen, bootstrap, protocol_prefix,
// record_ttl, lookup_timeout, max_connections and bootstrap_only.
type Plugin struct {
	lifecycle.Meta
	log   *slog.Logger
	drops dropLog
	seq   atomic.Uint64 // the last record Seq signed

	cfgMu sync.Mutex // serialises Configure

	mu         sync.Mutex
	configured bool
	closed     bool
	cfg        config
	self       sdk.PeerID
	del        *sdk.Delegation
	sess       *session
	announced  *sdk.PeerInfo // what Announce asked for, nil before
	peers      map[sdk.PeerID]*peerEntry

	// watchers are the Watch channels. Events are published with mu
	// held, so that a Watch's snapshot of the table and the events after
	// it agree.
	watchers *feed.Hub[sdk.PeerEvent]
	// inbox holds the Receive channels, and the envelopes for the next
	// Receive while none is open.
	inbox *feed.Hub[sdk.Envelope]

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
		peers:    map[sdk.PeerID]*peerEntry{},
		watchers: feed.NewPeerEvents("dht: watch", feed.DefaultBuffer),
		inbox:    feed.NewEnvelopes("dht: receive", feed.DefaultBuffer, feed.DefaultEnvelopes),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	p.Meta = lifecycle.Describe(sdk.Info{
		Name:         Name,
		Version:      PluginVersion,
		Roles:        []sdk.Role{sdk.RoleDiscovery, sdk.RoleSignaling},
		APIVersions:  []int{sdk.APIVersion},
		Capabilities: []string{"discovery.lookup", sdk.CapAccountRecords},
	}, schema, p.isClosed)
	return p
}

// Configure checks the options and the delegation, starts the libp2p host
// (binding the listen addresses, so an address in use is reported here)
// and the DHT, and returns: bootstrapping and filling the routing table
// happen in the background, so Configure takes milliseconds even when no
// bootstrap peer answers. The delegated key is the libp2p identity.
// Calling it again with the same options and key changes nothing; with
// others, it starts a new node, switches to it, stops the old one and
// publishes the announced record again.
func (p *Plugin) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	cfg, err := lifecycle.ParseConfig(Name, req, parseConfig)
	if err != nil {
		return err
	}
	if !cfg.bootstrapOnly {
		// Its records are signed with the key, which is also the libp2p
		// identity.
		if err := lifecycle.CheckDelegation(Name, needsDelegation, req, time.Now()); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dht: configure: %w", err)
	}
	p.cfgMu.Lock()
	defer p.cfgMu.Unlock()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("dht: configure: %w", sdk.ErrClosed)
	}
	if p.configured && p.sess != nil && p.cfg.equal(cfg) && p.self == req.Self && sameKey(p.del, req.Delegation) {
		// The same key, perhaps with a renewed certificate: keep the node.
		p.del = req.Delegation
		if req.Delegation != nil {
			p.sess.del.Store(req.Delegation)
		}
		p.mu.Unlock()
		return nil
	}
	old := p.sess
	p.mu.Unlock()

	// A fixed listen port is held by the old node: free it first. With
	// port 0 the new node starts before the old one stops, with no gap.
	if old != nil && fixedPort(old.cfg.listen) {
		p.mu.Lock()
		p.sess = nil
		p.mu.Unlock()
		old.close()
		old = nil
	}
	sess, err := p.newSession(cfg, req)
	if err != nil {
		return err
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		sess.close()
		return fmt.Errorf("dht: configure: %w", sdk.ErrClosed)
	}
	if p.configured && p.self != req.Self {
		p.announced = nil // that record was another device's
	}
	if pe := p.peers[req.Self]; pe != nil {
		delete(p.peers, req.Self) // now ourselves
		p.watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: feed.CloneInfo(pe.info)})
	}
	p.cfg, p.self, p.del, p.sess = cfg, req.Self, req.Delegation, sess
	if !p.configured {
		p.wg.Add(1)
		go p.expiryLoop()
	}
	p.configured = true
	announced := p.announced != nil
	p.mu.Unlock()

	if old != nil {
		old.close()
	}
	if announced && !cfg.bootstrapOnly {
		if err := sess.sign(); err != nil {
			p.log.Warn("dht: cannot sign the record again after Configure", "err", err)
		}
		sess.kickPublish()
	}
	return nil
}

// newSession starts the node for one configuration.
func (p *Plugin) newSession(cfg config, req sdk.ConfigureRequest) (*session, error) {
	keyFile := ""
	if cfg.bootstrapOnly && req.StateDir != "" {
		keyFile = filepath.Join(req.StateDir, stateKeyFile)
	}
	return startSession(p, cfg, req.Self, req.Delegation, keyFile)
}

// fixedPort reports whether a listen address names a port other than 0.
func fixedPort(listen []string) bool {
	for _, s := range listen {
		if !strings.HasSuffix(s, "/tcp/0") {
			return true
		}
	}
	return false
}

// sameKey reports whether two delegations carry the same key.
func sameKey(a, b *sdk.Delegation) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Key.Equal(b.Key)
}

// Close stops the node and closes every Watch and Receive channel, and
// waits, until ctx ends, for its goroutines to stop. Records it published
// expire on their own (after record_ttl).
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("dht: close: %w", sdk.ErrClosed)
	}
	p.closed = true
	close(p.done)
	// Closing the hubs under mu: a Watch or Receive either came before
	// or fails.
	p.watchers.Close()
	p.inbox.Close()
	sess := p.sess
	p.sess = nil
	p.mu.Unlock()

	// Stopping the node counts among the goroutines Close waits for.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if sess != nil {
			sess.close()
		}
	}()
	if err := lifecycle.Wait(ctx, &p.wg); err != nil {
		return fmt.Errorf("dht: close: waiting for goroutines: %w", err)
	}
	return nil
}

// Addrs returns the libp2p multiaddrs of the plugin's DHT node, each
// ending in /p2p/<peer id> (what other nodes list as bootstrap peers), or
// nil before Configure and after Close.
func (p *Plugin) Addrs() []string {
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.n.addrs()
}

// DHTPeers returns how many DHT peers the node's routing table holds.
func (p *Plugin) DHTPeers() int {
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.n.kad.RoutingTable().Size()
}

func (p *Plugin) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// session returns the running session, or an error when the plugin is
// closed or not configured.
func (p *Plugin) session(op string) (*session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, fmt.Errorf("dht: %s: %w", op, sdk.ErrClosed)
	case !p.configured || p.sess == nil:
		return nil, fmt.Errorf("dht: %s: %w", op, sdk.ErrNotConfigured)
	}
	return p.sess, nil
}

// refuser returns the plugin's rate-limited logger of refused input.
func (p *Plugin) refuser() refuser { return refuser{log: p.log, drops: &p.drops} }

// logLimited logs msg at warn level, at most once per lograte.DefaultEvery for key.
func (p *Plugin) logLimited(key, msg string, args ...any) {
	if n, ok := p.drops.Allow("limited\x00"+key, time.Now()); ok {
		if n > 0 {
			args = append(args, "suppressed", n)
		}
		p.log.Warn(msg, args...)
	}
}

// nextSeq returns a fresh record Seq: the time in Unix milliseconds, or
// one more than the last when the clock did not move on.
func (p *Plugin) nextSeq(now time.Time) uint64 {
	for {
		last := p.seq.Load()
		next := max(last+1, uint64(now.UnixMilli()))
		if p.seq.CompareAndSwap(last, next) {
			return next
		}
	}
}
