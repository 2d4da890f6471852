package dht

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	// maxInbound bounds the hello and signal streams served at once.
	maxInbound = 64
	// maxHellos bounds the hello exchanges this node starts at once.
	maxHellos = 16
	// pushConcurrency is how many neighbours a record push reaches at once.
	pushConcurrency = 8
)

// session is the plugin's node for one configuration: the libp2p host and
// DHT, the hello and signal stream handlers, and the goroutines that
// publish the record and greet new neighbours. Configure starts one and
// stops the one before.
type session struct {
	p    *Plugin
	cfg  config
	self sdk.PeerID
	del  atomic.Pointer[sdk.Delegation] // nil when bootstrap_only; a renewed certificate replaces it
	n    *node

	sendersMu sync.Mutex
	senders   map[sdk.PeerID]sender // who signaled us lately, and over which libp2p peer (senders.go)

	helloProto  protocol.ID
	signalProto protocol.ID

	ctx    context.Context // ended by close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    event.Subscription
	kick   chan struct{} // wakes the publisher
	inSem  chan struct{} // inbound streams being served
	outSem chan struct{} // hellos being started
	once   sync.Once

	signMu  sync.Mutex // serialises sign, so the current record is the newest
	recMu   sync.Mutex
	rec     []byte // this device's current signed record, nil before Announce
	account []byte // the account record PublishAccount set, nil for none
}

// startSession starts the node of one configuration and its goroutines.
func startSession(p *Plugin, cfg config, self sdk.PeerID, del *sdk.Delegation, keyFile string) (*session, error) {
	var key crypto.PrivKey
	var err error
	if cfg.bootstrapOnly {
		key, err = LoadOrCreateKey(keyFile)
	} else {
		key, err = crypto.UnmarshalEd25519PrivateKey(del.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("dht: configure: libp2p key: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		p: p, cfg: cfg, self: self,
		helloProto:  cfg.prefix + "/hello/1.0.0",
		signalProto: cfg.prefix + "/signal/1.0.0",
		ctx:         ctx, cancel: cancel,
		kick:   make(chan struct{}, 1),
		inSem:  make(chan struct{}, maxInbound),
		outSem: make(chan struct{}, maxHellos),
	}
	n, err := newNode(nodeOptions{
		key: key, listen: cfg.listen, bootstrap: cfg.bootstrap, bootstrapText: cfg.bootstrapText,
		prefix: cfg.prefix, maxConns: cfg.maxConnections,
		validator: validators(p.refuser()), log: p.log,
		onFilled:     s.kickPublish,
		onAddrs:      s.addrsChanged,
		relayService: cfg.relayService,
		useRelays:    cfg.useRelays && !cfg.bootstrapOnly,
		client:       cfg.clientMode && !cfg.bootstrapOnly,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	s.n = n
	s.del.Store(del)
	sub, err := n.h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		cancel()
		_ = n.close()
		return nil, fmt.Errorf("dht: configure: subscribe to identify events: %w", err)
	}
	s.sub = sub
	n.h.SetStreamHandler(s.helloProto, s.handleHello)
	if !cfg.bootstrapOnly {
		n.h.SetStreamHandler(s.signalProto, s.handleSignal)
	}
	s.wg.Add(2)
	go s.identifyLoop()
	go s.publishLoop()
	n.start()
	return s, nil
}

// close stops the goroutines, the node and the host. Safe to call twice.
func (s *session) close() {
	s.once.Do(func() {
		s.cancel()
		_ = s.sub.Close()
		s.wg.Wait()
		if err := s.n.close(); err != nil {
			s.p.log.Debug("dht: close node", "err", err)
		}
	})
}

// kickPublish asks the publisher to publish the current record now.
func (s *session) kickPublish() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// addrsChanged signs the record anew (its libp2p addresses changed: a
// relay slot was won or lost) and publishes it.
func (s *session) addrsChanged() {
	if err := s.sign(); err != nil {
		s.p.logLimited("sign", "dht: cannot sign the record", "err", err)
	}
	s.kickPublish()
}

// current returns this device's current signed record, nil before
// Announce.
func (s *session) current() []byte {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.rec
}

// sign signs a new record of what was announced, with a fresh Seq and
// expiry, and makes it the current one. It does nothing before Announce.
func (s *session) sign() error {
	if s.del.Load() == nil {
		return nil
	}
	s.signMu.Lock()
	defer s.signMu.Unlock()
	s.p.mu.Lock()
	info := s.p.announced
	s.p.mu.Unlock()
	if info == nil {
		return nil
	}
	raw, err := s.signInfo(info, time.Now())
	if err != nil {
		return err
	}
	s.recMu.Lock()
	s.rec = raw
	s.recMu.Unlock()
	return nil
}

// signInfo builds and signs the record of info.
func (s *session) signInfo(info *sdk.PeerInfo, now time.Time) ([]byte, error) {
	del := s.del.Load()
	if del == nil {
		return nil, fmt.Errorf("no delegated key: %w", sdk.ErrUnsupported)
	}
	exp := now.Add(s.cfg.recordTTL)
	if del.Cert.Expires.Before(exp) {
		exp = del.Cert.Expires // a record never outlives its certificate
	}
	p2p := s.n.p2pAddrs(s.cfg.publishDirect)
	if len(p2p) > maxListEntries {
		p2p = p2p[:maxListEntries]
	}
	r := Record{
		V: RecordVersion, ID: s.self, Seq: s.p.nextSeq(now), ExpiresMs: exp.UnixMilli(),
		Name: info.Name, P2PAddrs: p2p, Addrs: slices.Clone(info.Addrs),
		Roles: slices.Clone(info.Roles), Transports: slices.Clone(info.Transports), Protocols: slices.Clone(info.Protocols),
		Account: slices.Clone(info.Account),
	}
	raw, err := SignRecord(r, del)
	if err != nil {
		return nil, err
	}
	if err := (Validator{}).Validate(Key(s.self), raw); err != nil {
		return nil, fmt.Errorf("own record does not validate: %w", err)
	}
	return raw, nil
}

// publishLoop publishes the record when kicked (Announce, the routing
// table filling) and signs and publishes it anew every record_ttl/3.
func (s *session) publishLoop() {
	defer s.wg.Done()
	every := s.cfg.republishEvery()
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
			if err := s.sign(); err != nil {
				s.p.logLimited("sign", "dht: cannot sign the record", "err", err)
			}
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(every)
		s.publish()
	}
}

// publish hands the current record to the connected Ferry neighbours
// (hello) and puts it into the DHT, when there is one.
func (s *session) publish() {
	raw := s.current()
	if raw == nil {
		return
	}
	s.pushHello()
	if !s.n.hasPeers() {
		st, _, _ := s.n.current()
		s.p.log.Debug("dht: record kept; it is published when the DHT has peers", "state", st.String())
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*s.cfg.lookupTimeout)
	defer cancel()
	start := time.Now()
	if err := s.n.kad.PutValue(ctx, Key(s.self), raw); err != nil {
		if s.ctx.Err() == nil {
			s.p.logLimited("publish", "dht: publishing the record failed; trying again at the next republish", "err", err)
		}
		return
	}
	s.p.log.Debug("dht: published the record", "key", Key(s.self), "took", time.Since(start).Round(time.Millisecond))
	s.publishAccount(ctx)
}

// identifyLoop greets every neighbour this node dialled, once identify
// says it speaks the hello protocol; the neighbour greets the ones that
// dialled it.
func (s *session) identifyLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case e, ok := <-s.sub.Out():
			if !ok {
				return
			}
			ev, ok := e.(event.EvtPeerIdentificationCompleted)
			if !ok || ev.Conn == nil || ev.Conn.Stat().Direction != network.DirOutbound || !slices.Contains(ev.Protocols, s.helloProto) {
				continue
			}
			select {
			case s.outSem <- struct{}{}:
			default:
				s.p.log.Debug("dht: too many hellos at once; skipped one", "peer", ev.Peer.String())
				continue
			}
			s.wg.Add(1)
			go func(id peer.ID) {
				defer s.wg.Done()
				defer func() { <-s.outSem }()
				s.hello(id)
			}(ev.Peer)
		}
	}
}

// pushHello exchanges records with every connected neighbour that speaks
// the hello protocol, a few at a time.
func (s *session) pushHello() {
	var ids []peer.ID
	for _, id := range s.n.h.Network().Peers() {
		if s.n.h.Network().Connectedness(id) == network.Limited {
			continue // relayed: for signaling only
		}
		if ok, err := s.n.h.Peerstore().SupportsProtocols(id, s.helloProto); err == nil && len(ok) > 0 {
			ids = append(ids, id)
		}
	}
	sem := make(chan struct{}, pushConcurrency)
	var wg sync.WaitGroup
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-s.ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.hello(id)
		})
	}
	wg.Wait()
}
