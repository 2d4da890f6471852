package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/ferry-p2p/ferry/core/transfer"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/plugins"
	"github.com/ferry-p2p/ferry/sdk"
)

// Options configure a Node.
type Options struct {
	// Config is the loaded configuration. REQUIRED.
	Config *config.Config
	// Identity is this device. REQUIRED.
	Identity *identity.Identity
	// Catalog holds the plugin instances Config names. REQUIRED; the
	// caller closes it after the node.
	Catalog *plugins.Catalog
	// Logger receives the node's log; nil discards it.
	Logger *slog.Logger
	// Events, if set, is called for every Event, from several goroutines;
	// it must not block.
	Events func(Event)
	// Timeouts; zero means the default in parentheses. They set the
	// matching fields of Policy.
	PeerTimeout    time.Duration // wait for a peer to be discovered (10s)
	AnswerTimeout  time.Duration // wait for ACCEPT/REFUSE (5m)
	ConnectTimeout time.Duration // transports + TLS (30s)
	// Policy bounds each connection state and sets how transports race;
	// its zero fields take core/connect's defaults.
	Policy connect.Policy
}

// HashCache returns the cache of whole-file hashes this device keeps in
// its Ferry home (nil without one), for [transfer.ScanWith].
func (n *Node) HashCache() *transfer.HashCache { return n.hashCache }

// Node is one running Ferry device.
type Node struct {
	opts Options
	cfg  *config.Config
	id   *identity.Identity
	log  *slog.Logger

	discovery      []sdk.Discovery
	discoveryNames []string
	signaling      []namedSignaling
	transports     connect.Transports      // by wire name (the plugin's name), with priorities
	protocols      map[string]sdk.Protocol // by protocol ID (the ALPN value)
	protoOrder     []string
	tokened        map[string]bool   // protocol IDs whose wire carries the transfer token
	nameMax        map[string]int    // protocol ID -> longest file name it carries, where bounded
	protoNames     map[string]string // instance and plugin names -> protocol ID

	peers     *peerTable
	instance  string              // this process's instance nonce (newInstance)
	twins     twins               // peers seen as two instances
	hashCache *transfer.HashCache // whole-file hashes of files sent, in the Ferry home
	acct      *accounts           // this device's account and what peers showed of theirs
	dialer    *connect.Dialer
	answerer  *connect.Answerer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	answers map[string]chan *connect.Message // transfer ID -> the sender waiting for it
	serve   *server                          // set by Serve
	early   []earlyAsk                       // ASKs that came before Serve, for it
	subs    map[int]func(Event)              // Subscribe's functions
	link    func(sdk.PeerID, []byte)         // HandleLink's handler
	nextSub int
}

type namedSignaling struct {
	name string
	sdk.Signaling
}

// freshPeer is the default connect.Policy.Fresh: how recently discovery
// must have reported a peer for a first attempt to skip the look-up.
const freshPeer = 10 * time.Second

// Start starts every configured plugin, announces this device and begins
// watching for peers and signaling messages. Close stops it.
//
// Unless Options.Policy says otherwise, a peer that discovery reported
// within freshPeer is connected to without a look-up first (an RPC to each
// discovery plugin, ~1-2 ms of a small send, that for lan returns what its
// announcements already said); a retry always looks up.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Config == nil || opts.Identity == nil || opts.Catalog == nil {
		return nil, errors.New("node: Config, Identity and Catalog are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pol := opts.Policy
	if pol.Fresh == 0 {
		pol.Fresh = freshPeer
	}
	for _, d := range []struct {
		to   *time.Duration
		from time.Duration
	}{{&pol.Discover, opts.PeerTimeout}, {&pol.Answer, opts.AnswerTimeout}, {&pol.Connect, opts.ConnectTimeout},
		{&pol.Stagger, opts.Config.ConnectStagger()}, {&pol.Fallback, opts.Config.ConnectFallback()}} {
		if d.from > 0 {
			*d.to = d.from
		}
	}
	n := &Node{
		opts: opts, cfg: opts.Config, id: opts.Identity, log: opts.Logger,
		protocols: map[string]sdk.Protocol{}, tokened: map[string]bool{}, nameMax: map[string]int{}, protoNames: map[string]string{},
		peers: newPeerTable(), instance: newInstance(), answers: map[string]chan *connect.Message{}, subs: map[int]func(Event){},
	}
	n.acct = newAccounts(n.cfg.Home())
	// transfer.auto_accept may name accounts: their devices are accepted
	// without asking (the peer IDs there go to Serve).
	for _, raw := range n.cfg.Transfer.AutoAccept {
		if account.IsAccountID(raw) {
			id, err := account.ParseID(raw)
			if err != nil {
				return nil, fmt.Errorf("transfer.auto_accept: %q: %w", raw, err)
			}
			n.acct.auto[id] = true
		}
	}
	if n.cfg != nil && n.cfg.Home() != "" {
		n.hashCache = transfer.OpenHashCache(filepath.Join(n.cfg.Home(), "hashcache.json"))
	}
	n.dialer = &connect.Dialer{Identity: n.id, Directory: directory{n}, Messenger: messenger{n}, Policy: pol}
	n.answerer = &connect.Answerer{Identity: n.id, Policy: pol}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.start(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	cat := n.opts.Catalog
	// Start every instance at once: each is a process to launch, check
	// against its pin and configure, and one after another they were most
	// of a command's start-up. Errors are reported by the loops below.
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, name := range slices.Concat(n.cfg.Transports, n.cfg.Protocols, n.cfg.Signaling, n.cfg.Discovery) {
		if seen[name] {
			continue
		}
		seen[name] = true
		if i, err := cat.Instance(name); err == nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = i.Start(ctx)
			}()
		}
	}
	wg.Wait()
	inst := func(name string) (*plugins.Instance, error) {
		i, err := cat.Instance(name)
		if err != nil {
			return nil, err
		}
		return i, i.Start(ctx)
	}
	for _, name := range n.cfg.Transports {
		i, err := inst(name)
		if err != nil {
			return fmt.Errorf("transport %q: %w", name, err)
		}
		tr, err := i.Transport(ctx)
		if err != nil {
			return fmt.Errorf("transport %q: %w", name, err)
		}
		wire := i.Status().Info.Name
		if _, dup := n.transports.Find(wire); !dup {
			n.transports = append(n.transports, connect.Transport{
				Name: wire, Priority: n.cfg.TransportPriority(name), Transport: tr,
				NeedsRemote: slices.Contains(i.Status().Info.Capabilities, sdk.CapRemoteDescription),
			})
		}
	}
	n.transports = n.transports.Sorted()
	n.dialer.Transports, n.answerer.Transports = n.transports, n.transports
	for _, name := range n.cfg.Protocols {
		i, err := inst(name)
		if err != nil {
			return fmt.Errorf("protocol %q: %w", name, err)
		}
		p, err := i.Protocol(ctx)
		if err != nil {
			return fmt.Errorf("protocol %q: %w", name, err)
		}
		pid := i.Status().Info.ProtocolID
		if pid == "" {
			return fmt.Errorf("protocol %q: plugin reports no protocol ID", name)
		}
		if _, dup := n.protocols[pid]; !dup {
			n.protocols[pid] = p
			n.protoOrder = append(n.protoOrder, pid)
			n.tokened[pid] = slices.Contains(i.Status().Info.Capabilities, sdk.CapOfferToken)
			if limit, ok := i.Status().Info.NameMax(); ok {
				n.nameMax[pid] = limit
			}
		}
		n.protoNames[name] = pid
		n.protoNames[i.Status().Info.Name] = pid
	}
	for _, name := range n.cfg.Signaling {
		i, err := inst(name)
		if err != nil {
			return fmt.Errorf("signaling %q: %w", name, err)
		}
		s, err := i.Signaling(ctx)
		if err != nil {
			return fmt.Errorf("signaling %q: %w", name, err)
		}
		ch, err := s.Receive(n.ctx)
		if err != nil {
			return fmt.Errorf("signaling %q: receive: %w", name, err)
		}
		n.signaling = append(n.signaling, namedSignaling{name, s})
		n.wg.Add(1)
		go n.receiveLoop(name, ch)
	}
	self := n.Self()
	for _, name := range n.cfg.Discovery {
		i, err := inst(name)
		if err != nil {
			return fmt.Errorf("discovery %q: %w", name, err)
		}
		d, err := i.Discovery(ctx)
		if err != nil {
			return fmt.Errorf("discovery %q: %w", name, err)
		}
		ch, err := d.Watch(n.ctx)
		if err != nil {
			return fmt.Errorf("discovery %q: watch: %w", name, err)
		}
		n.discovery = append(n.discovery, d)
		n.discoveryNames = append(n.discoveryNames, name)
		n.wg.Add(1)
		go n.watchLoop(ch)
		if err := d.Announce(ctx, self); err != nil {
			return fmt.Errorf("discovery %q: announce: %w", name, err)
		}
	}
	n.acct.started.Store(true)
	n.wg.Add(1)
	go n.publishAccount()
	return nil
}

// Self is what this device announces.
func (n *Node) Self() sdk.PeerInfo {
	return sdk.PeerInfo{
		ID: n.id.ID, Name: n.cfg.DeviceName(),
		Transports: n.transports.Names(), Protocols: n.protoOrder,
		Roles:    []string{"send", "receive"},
		Instance: n.instance,
		Account:  n.credentials(),
	}
}

func (n *Node) watchLoop(ch <-chan sdk.PeerEvent) {
	defer n.wg.Done()
	for ev := range ch {
		if ev.Peer.ID == n.id.ID {
			continue
		}
		if old, ok, _ := n.peers.get(ev.Peer.ID); ok && ev.Kind == sdk.PeerSeen && n.twins.seen(old, ev.Peer) {
			n.log.Warn("one peer ID is announced by two instances at different addresses: one identity running twice (a copied FERRY_HOME?); they take turns answering, and a transfer stays with the instance that holds its journal",
				"peer", ev.Peer.ID, "name", ev.Peer.Name,
				"address", strings.Join(old.Addrs, ","), "instance", old.Instance,
				"other_address", strings.Join(ev.Peer.Addrs, ","), "other_instance", ev.Peer.Instance)
		}
		n.admit(&ev)
		n.peers.apply(ev)
		if ev.Kind != sdk.PeerSeen {
			n.log.Debug("peer "+ev.Kind.String(), "peer", ev.Peer.ID, "name", ev.Peer.Name, "via", ev.Peer.Source)
			n.emit(Event{Kind: EventPeer, State: ev.Kind.String(), Peer: ev.Peer.ID.String(), PeerName: ev.Peer.Name, Message: ev.Peer.Source})
		}
	}
}

// Close stops the node's loops. Plugins stay with the catalog.
func (n *Node) Close() error {
	n.cancel()
	n.wg.Wait()
	if err := n.hashCache.Flush(); err != nil {
		n.log.Debug("could not save the hash cache", "err", err)
	}
	return nil
}
