package dht

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	// stateTick is how often the node looks at its routing table.
	stateTick = 50 * time.Millisecond
	// bootstrapDialTimeout bounds one attempt to reach a bootstrap peer.
	bootstrapDialTimeout = 5 * time.Second
	// identifyGrace is how long a node that reached a bootstrap peer waits
	// for it to enter the routing table (identify) before it reports no
	// DHT peers.
	identifyGrace = 3 * time.Second
	// retryMin and retryMax bound the back-off between bootstrap rounds
	// while the node has no DHT peer.
	retryMin = time.Second
	retryMax = 30 * time.Second
	// rcmgrMemory and rcmgrFDs scale the resource manager's default limits.
	rcmgrMemory = 256 << 20
	rcmgrFDs    = 1024
)

// nodeState is what a node knows of its place in the DHT.
type nodeState int

const (
	// stateUnknown is the zero value: not started.
	stateUnknown nodeState = iota
	// stateBootstrapping: joining through the bootstrap peers.
	stateBootstrapping
	// stateConnected: at least one DHT peer in the routing table.
	stateConnected
	// stateNoPeers: none, after trying every bootstrap peer.
	stateNoPeers
	// stateClosed: the node is closed.
	stateClosed
)

// String names the state as the log does.
func (s nodeState) String() string {
	switch s {
	case stateBootstrapping:
		return "bootstrapping"
	case stateConnected:
		return "connected"
	case stateNoPeers:
		return "no DHT peers"
	case stateClosed:
		return "closed"
	case stateUnknown:
	}
	return "unknown"
}

// nodeOptions says how to build a node.
type nodeOptions struct {
	key           crypto.PrivKey
	listen        []string
	bootstrap     []peer.AddrInfo
	bootstrapText []string
	prefix        protocol.ID
	maxConns      int
	validator     record.NamespacedValidator
	log           *slog.Logger
	// onFilled, when not nil, runs (on the node's goroutines) each time the
	// routing table goes from empty to filled, and again when the refresh
	// that follows is done: the times to publish. It must not block.
	onFilled func()
	// relayService makes the node a circuit relay for other nodes'
	// signaling (see relay.go).
	relayService bool
	// useRelays makes the node reserve a slot on each bootstrap peer that
	// serves relays and publish the relayed addresses.
	useRelays bool
	// client makes the node a DHT client: it looks up and publishes but
	// serves no queries, so no node tries to reach it for them (a node
	// behind NAT).
	client bool
	// onAddrs, when not nil, runs (on the node's goroutine) when the
	// relayed addresses change. It must not block for long.
	onAddrs func()
}

// kadMode is the DHT mode the options ask for.
func (o nodeOptions) kadMode() kaddht.ModeOpt {
	if o.client {
		return kaddht.ModeClient
	}
	return kaddht.ModeServer
}

// node is one libp2p host serving the Ferry DHT, with a goroutine that
// bootstraps it and tracks its state. The plugin and the bootstrap node
// both run one.
type node struct {
	h    host.Host
	kad  *kaddht.IpfsDHT
	opts nodeOptions
	log  *slog.Logger

	ctx    context.Context // ended by close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	relay *relayv2.Relay // nil unless opts.relayService

	mu       sync.Mutex
	circuits []ma.Multiaddr // relayed addresses held (reserveLoop)
	state    nodeState
	peers    int
	changed  chan struct{} // closed and replaced at every state change
}

// newNode starts the host and the DHT; [node.start] starts bootstrapping.
// It does no network I/O beyond binding the listen addresses, so it
// returns at once however unreachable the bootstrap peers are.
func newNode(o nodeOptions) (*node, error) {
	h, err := newHost(o.key, o.listen, o.maxConns, o.relayService || o.useRelays)
	if err != nil {
		return nil, err
	}
	var relay *relayv2.Relay
	if o.relayService {
		if relay, err = startRelayService(h); err != nil {
			_ = h.Close()
			return nil, err
		}
	}
	kad, err := kaddht.New(h,
		kaddht.Mode(o.kadMode()),
		kaddht.ProtocolPrefix(o.prefix),
		kaddht.Validator(o.validator),
		kaddht.BootstrapPeers(o.bootstrap...), // an empty list: no public bootstrap peers
		kaddht.DisableProviders(),
		kaddht.MaxRecordAge(MaxRecordTTL),
		// Loopback and private addresses are welcome: this is a private
		// network, often on one LAN or one machine.
		kaddht.QueryFilter(func(any, peer.AddrInfo) bool { return true }),
		kaddht.RoutingTableFilter(func(any, peer.ID) bool { return true }),
	)
	if err != nil {
		if relay != nil {
			_ = relay.Close()
		}
		_ = h.Close()
		return nil, fmt.Errorf("dht: start the DHT: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &node{h: h, kad: kad, relay: relay, opts: o, log: o.log, ctx: ctx, cancel: cancel, changed: make(chan struct{})}, nil
}

// start starts the goroutine that bootstraps the node. Stream handlers
// and event subscriptions are set up between newNode and start, so that
// no peer meets the node without them.
func (n *node) start() {
	n.wg.Add(1)
	go n.run()
	if n.opts.useRelays && len(n.opts.bootstrap) > 0 {
		n.wg.Add(1)
		go n.reserveLoop()
	}
}

// newHost starts a libp2p host: TCP only, the circuit relay transport
// only when relays is set, no NAT port mapping, no AutoNAT service, no
// mDNS, a resource manager and a connection manager bounded by maxConns,
// listening only where told.
func newHost(key crypto.PrivKey, listen []string, maxConns int, relays bool) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	partial := rcmgr.PartialLimitConfig{System: rcmgr.ResourceLimits{
		Conns:         rcmgr.LimitVal(2 * maxConns),
		ConnsInbound:  rcmgr.LimitVal(maxConns),
		ConnsOutbound: rcmgr.LimitVal(maxConns),
	}}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(partial.Build(limits.Scale(rcmgrMemory, rcmgrFDs))))
	if err != nil {
		return nil, fmt.Errorf("dht: resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(maxConns*3/4, maxConns, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		_ = rm.Close()
		return nil, fmt.Errorf("dht: connection manager: %w", err)
	}
	relay := libp2p.DisableRelay()
	if relays {
		relay = libp2p.EnableRelay()
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		relay,
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		_ = rm.Close()
		_ = cm.Close()
		return nil, fmt.Errorf("dht: listen on %s: %w", strings.Join(listen, ", "), err)
	}
	return h, nil
}

// addrs returns the node's full multiaddrs, each ending in /p2p/<id>:
// the direct ones, then the relayed ones.
func (n *node) addrs() []string { return n.p2pAddrs(true) }

// p2pAddrs returns the node's relayed multiaddrs, after its direct ones
// when direct is set, each ending in /p2p/<id>.
func (n *node) p2pAddrs(direct bool) []string {
	p2p, err := ma.NewComponent("p2p", n.h.ID().String())
	if err != nil {
		return nil
	}
	var own []ma.Multiaddr
	if direct {
		own = n.h.Addrs()
	}
	var out []string
	for _, a := range slices.Concat(own, n.relayedAddrs()) {
		out = append(out, a.Encapsulate(p2p.Multiaddr()).String())
	}
	return out
}

// close stops the node: its goroutine, the DHT and the host.
func (n *node) close() error {
	n.cancel()
	n.wg.Wait()
	n.setState(stateClosed, 0)
	var relayErr error
	if n.relay != nil {
		relayErr = n.relay.Close()
	}
	return errors.Join(n.kad.Close(), relayErr, n.h.Close())
}

// current returns the state, the number of DHT peers and a channel closed
// at the next change.
func (n *node) current() (nodeState, int, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state, n.peers, n.changed
}

// setState records a state and wakes whoever waits for a change. It
// reports whether the state (not just the count) changed.
func (n *node) setState(s nodeState, peers int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == s && n.peers == peers {
		return false
	}
	was := n.state
	n.state, n.peers = s, peers
	close(n.changed)
	n.changed = make(chan struct{})
	return was != s
}

// bootstrapList names the bootstrap peers for messages.
func (n *node) bootstrapList() string {
	if len(n.opts.bootstrapText) == 0 {
		return "none configured"
	}
	return strings.Join(n.opts.bootstrapText, ", ")
}

// noPeersError is the error of a lookup while the node has no DHT peer.
func (n *node) noPeersError(still bool) error {
	if len(n.opts.bootstrap) == 0 {
		return fmt.Errorf("%w (no bootstrap peers configured, and none has connected): %w", ErrNoDHTPeers, sdk.ErrNotFound)
	}
	if still {
		return fmt.Errorf("%w (still bootstrapping from %s): %w", ErrNoDHTPeers, n.bootstrapList(), sdk.ErrNotFound)
	}
	return fmt.Errorf("%w (bootstrap %s unreachable): %w", ErrNoDHTPeers, n.bootstrapList(), sdk.ErrNotFound)
}

// hasPeers reports whether the routing table holds a DHT peer now.
func (n *node) hasPeers() bool {
	return n.ctx.Err() == nil && n.kad.RoutingTable().Size() > 0
}

// ready waits, until ctx ends, for the node to finish bootstrapping, and
// returns nil when it has DHT peers, else the error that says why not.
func (n *node) ready(ctx context.Context) error {
	for {
		if n.hasPeers() {
			return nil // ahead of the state loop's next look
		}
		st, _, changed := n.current()
		switch st {
		case stateConnected:
			return nil
		case stateNoPeers:
			return n.noPeersError(false)
		case stateClosed:
			return fmt.Errorf("dht: %w", sdk.ErrClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return n.noPeersError(true)
		}
	}
}

// run bootstraps the node and then follows its routing table: it logs each
// state change, bootstraps again (with back-off) while there is no DHT
// peer, and calls onFilled when the table fills.
func (n *node) run() {
	defer n.wg.Done()
	n.setState(stateBootstrapping, 0)
	n.log.Info("dht: bootstrapping", "bootstrap", n.bootstrapList(), "listen", n.addrs())
	reached := n.bootstrapRound()
	graceEnd := time.Now()
	if reached > 0 {
		graceEnd = graceEnd.Add(identifyGrace)
	}
	retry := retryMin
	nextRetry := time.Now().Add(retry)
	wasFilled := false
	ticker := time.NewTicker(stateTick)
	defer ticker.Stop()
	for {
		size := n.kad.RoutingTable().Size()
		now := time.Now()
		st, _, _ := n.current()
		switch {
		case size > 0:
			if n.setState(stateConnected, size) {
				n.log.Info(fmt.Sprintf("dht: connected to %d DHT peers", size), "peers", size)
			}
			retry = retryMin
			if !wasFilled {
				wasFilled = true
				if n.opts.onFilled != nil {
					n.opts.onFilled() // publish now, and again once refreshed
				}
				n.wg.Add(1)
				go n.refresh()
			}
		case st == stateBootstrapping && now.Before(graceEnd):
			// Reached a bootstrap peer; identify has not finished yet.
		default:
			wasFilled = false
			if n.setState(stateNoPeers, 0) {
				if len(n.opts.bootstrap) == 0 {
					n.log.Info("dht: no DHT peers (no bootstrap peers configured; waiting for peers to connect)")
				} else {
					n.log.Warn("dht: no DHT peers (bootstrap "+n.bootstrapList()+" unreachable); trying again", "bootstrap", n.bootstrapList())
				}
				nextRetry = now.Add(retry)
			}
			if len(n.opts.bootstrap) > 0 && !now.Before(nextRetry) {
				if n.bootstrapRound() > 0 {
					graceEnd = time.Now().Add(identifyGrace)
					n.setState(stateBootstrapping, 0)
					n.log.Info("dht: bootstrapping", "bootstrap", n.bootstrapList())
				}
				retry = min(2*retry, retryMax)
				nextRetry = time.Now().Add(retry)
			}
		}
		select {
		case <-ticker.C:
		case <-n.ctx.Done():
			return
		}
	}
}

// bootstrapRound dials every bootstrap peer at once and returns how many
// answered.
func (n *node) bootstrapRound() int {
	if len(n.opts.bootstrap) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(n.ctx, bootstrapDialTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, ai := range n.opts.bootstrap {
		wg.Go(func() {
			if err := n.h.Connect(ctx, ai); err != nil {
				n.log.Debug("dht: bootstrap peer unreachable", "peer", ai.ID.String(), "err", err)
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok
}

// refresh fills the routing table by looking up random keys, then runs
// onFilled. The caller did n.wg.Add(1); it ends with the node.
func (n *node) refresh() {
	defer n.wg.Done()
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	select {
	case err := <-n.kad.RefreshRoutingTable():
		if err != nil && n.ctx.Err() == nil {
			n.log.Debug("dht: routing table refresh", "err", err)
		}
	case <-ctx.Done():
	}
	if n.ctx.Err() != nil {
		return
	}
	size := n.kad.RoutingTable().Size()
	if size > 0 {
		n.log.Info(fmt.Sprintf("dht: connected to %d DHT peers (routing table refreshed)", size), "peers", size)
	}
	if n.opts.onFilled != nil {
		n.opts.onFilled()
	}
}
