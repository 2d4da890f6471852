package ice

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/quic-go/quic-go"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	// alpn is the QUIC connection's ALPN.
	alpn = "ferry-ice/1"
	// packetSize is QUIC's packet size: no path MTU discovery runs over
	// the ICE adapter, and 1400 fits a 1500-byte path with IPv6 and TURN
	// channel framing (shared/notes/ice-reliable-layer.md).
	packetSize = 1400
	// hello opens the stream, so that the responder's AcceptStream
	// returns (QUIC announces a stream with its first data).
	hello = "FRYI\x01"
	// Bounds of the QUIC connection.
	quicHandshakeTimeout = 10 * time.Second
	quicIdleTimeout      = 30 * time.Second
	quicKeepAlive        = 10 * time.Second
)

// errChecksFailed is the cause of a connect whose ICE checks all failed.
var errChecksFailed = errors.New("ICE checks failed: no candidate pair works")

// connect builds the ICE agent of a claimed session from its gathered
// sockets, runs the checks, and opens the QUIC stream over the pair. When
// ctx ends, the error says only what was under way; the caller adds why.
func (t *Transport) connect(ctx context.Context, cfg config, s *session, remote description) (_ *stream, err error) {
	if ctx.Err() != nil {
		releaseAll(s.locals)
		return nil, errors.New("before the checks began")
	}
	initiator := s.role == sdk.Initiator
	var localUfrag, localPwd, remoteUfrag, remotePwd string
	if initiator {
		localUfrag, localPwd = initiatorCredentials(remote.ufrag, remote.pwd)
		remoteUfrag, remotePwd = remote.ufrag, remote.pwd
	} else {
		localUfrag, localPwd = s.ufrag, s.pwd
		remoteUfrag, remotePwd = initiatorCredentials(s.ufrag, s.pwd)
	}
	pol := cfg.policy()
	var networks []ice.NetworkType
	if cfg.ipv4 {
		networks = append(networks, ice.NetworkTypeUDP4)
	}
	if cfg.ipv6 {
		networks = append(networks, ice.NetworkTypeUDP6)
	}
	opts := []ice.AgentOption{
		ice.WithNetworkTypes(networks),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithLocalCredentials(localUfrag, localPwd),
		ice.WithRemoteIPFilter(func(ip net.IP) bool {
			a, ok := netip.AddrFromSlice(ip)
			return ok && pol.allows(a.Unmap())
		}),
		ice.WithLoggerFactory(t.logs),
	}
	if initiator && onlyRelays(s.locals, remote.cands) {
		// pion waits 2 s before nominating a relayed pair, in case a
		// direct one works; when both sides offer relays only, none can.
		opts = append(opts, ice.WithRelayAcceptanceMinWait(0))
	}
	agent, err := ice.NewAgentWithOptions(opts...)
	if err != nil {
		releaseAll(s.locals)
		return nil, fmt.Errorf("new agent: %w", err)
	}
	l := &link{agent: agent, locals: s.locals}
	defer func() {
		if err != nil {
			l.close()
		}
	}()

	actx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	if err := agent.OnConnectionStateChange(func(st ice.ConnectionState) {
		if st == ice.ConnectionStateFailed {
			fail(errChecksFailed)
		}
	}); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	var sockets []*net.UDPConn
	socks := map[string]*detachable{}
	for _, lc := range s.locals {
		c, err := lc.pion()
		if err != nil {
			return nil, fmt.Errorf("local candidate %s: %w", lc, err)
		}
		conn := lc.conn
		if u, ok := lc.conn.(*net.UDPConn); ok {
			sockets = append(sockets, u)
			if cfg.ownSocket {
				d := &detachable{UDPConn: u}
				socks[candKey(c)], conn = d, d
			}
		}
		if err := agent.AddVirtualCandidate(c, conn); err != nil {
			return nil, fmt.Errorf("local candidate %s: %w", lc, err)
		}
	}
	for _, rc := range remote.cands {
		c, err := rc.pionRemote()
		if err != nil {
			return nil, fmt.Errorf("remote candidate %s: %w", rc, err)
		}
		if err := agent.AddRemoteCandidate(c); err != nil {
			return nil, fmt.Errorf("remote candidate %s: %w", rc, err)
		}
	}

	start := time.Now()
	var conn *ice.Conn
	if initiator {
		conn, err = agent.Dial(actx, remoteUfrag, remotePwd)
	} else {
		conn, err = agent.Accept(actx, remoteUfrag, remotePwd)
	}
	if err != nil {
		if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w (%d local, %d remote candidates%s)", cause, len(s.locals), len(remote.cands), pairsTried(agent))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("while waiting for ICE checks (%d local, %d remote candidates%s)", len(s.locals), len(remote.cands), pairsTried(agent))
		}
		return nil, fmt.Errorf("ICE: %w", err)
	}
	pair, _ := agent.GetSelectedCandidatePair()
	trace := pairTrace(agent)
	pc := &packetConn{conn: conn, local: conn.LocalAddr(), remote: conn.RemoteAddr(), sockets: sockets}
	if pc.local == nil || pc.remote == nil {
		return nil, errors.New("ICE connected without a selected pair")
	}
	checked := time.Since(start)

	remoteAddr, owned := pc.remote, ownedSocket(pair, socks)
	if owned != nil {
		// QUIC takes the socket (owned.go); the agent and its other
		// candidates go.
		owned.detach()
		_ = agent.GracefulClose()
		l.agent = nil
		_ = owned.UDPConn.SetDeadline(time.Time{})
		l.tr = &quic.Transport{Conn: owned.UDPConn}
		sctx, stop := context.WithCancel(context.Background())
		l.stopSTUN = stop
		l.stunDone = make(chan struct{})
		go func() {
			defer close(l.stunDone)
			answerSTUN(sctx, l.tr, localPwd)
		}()
	} else {
		l.tr = &quic.Transport{Conn: pc}
	}
	st, ctl, err := t.openQUIC(ctx, l, remoteAddr, initiator, owned != nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("while opening QUIC over the selected pair %s", pairString(pair))
		}
		return nil, fmt.Errorf("QUIC over the selected pair %s: %w", pairString(pair), err)
	}
	route := routeOf(pair, s.locals, remote.cands)
	t.log.Info("ice: connected", "peer", s.peer, "role", s.role.String(), "route", route, "quic_owns_socket", owned != nil, "pair", pairString(pair),
		"checks", checked.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond))
	strm := newStream(t, l, st, ctl, pc.local, pc.remote)
	strm.route, strm.trace = route, trace
	if err := t.track(strm); err != nil {
		return nil, err
	}
	return strm, nil
}

// openQUIC runs QUIC over l's transport to remote: the initiator is the
// client and opens the stream with the hello; the responder accepts both.
// Path MTU discovery runs when QUIC owns the socket.
func (t *Transport) openQUIC(ctx context.Context, l *link, remote net.Addr, initiator, owned bool) (*quic.Stream, *quic.SendStream, error) {
	qconf := &quic.Config{
		InitialPacketSize:       packetSize,
		DisablePathMTUDiscovery: !owned,
		HandshakeIdleTimeout:    quicHandshakeTimeout,
		MaxIdleTimeout:          quicIdleTimeout,
		KeepAlivePeriod:         quicKeepAlive,
		MaxIncomingUniStreams:   1,
	}
	var st *quic.Stream
	if initiator {
		qconf.MaxIncomingStreams = -1
		qc, err := l.tr.Dial(ctx, remote, t.tls.client, qconf)
		if err != nil {
			return nil, nil, fmt.Errorf("handshake: %w", err)
		}
		l.qc = qc
		if st, err = qc.OpenStreamSync(ctx); err != nil {
			return nil, nil, fmt.Errorf("open stream: %w", err)
		}
		stop := ctxDeadline(ctx, st.SetWriteDeadline)
		_, err = st.Write([]byte(hello))
		stop()
		if err != nil {
			return nil, nil, fmt.Errorf("write hello: %w", err)
		}
	} else {
		qconf.MaxIncomingStreams = 1
		ln, err := l.tr.Listen(t.tls.server, qconf)
		if err != nil {
			return nil, nil, fmt.Errorf("listen: %w", err)
		}
		qc, err := ln.Accept(ctx)
		_ = ln.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("handshake: %w", err)
		}
		l.qc = qc
		if st, err = qc.AcceptStream(ctx); err != nil {
			return nil, nil, fmt.Errorf("accept stream: %w", err)
		}
		got := make([]byte, len(hello))
		stop := ctxDeadline(ctx, st.SetReadDeadline)
		_, err = io.ReadFull(st, got)
		stop()
		if err != nil {
			return nil, nil, fmt.Errorf("read hello: %w", err)
		}
		if !bytes.Equal(got, []byte(hello)) {
			return nil, nil, fmt.Errorf("bad hello %q", got)
		}
	}
	ctl, err := l.qc.OpenUniStream()
	if err != nil {
		return nil, nil, fmt.Errorf("open control stream: %w", err)
	}
	return st, ctl, nil
}

// onlyRelays reports whether every candidate on both sides is relayed.
func onlyRelays(locals []*local, remotes []candidate) bool {
	for _, l := range locals {
		if l.cand.typ != typeRelay {
			return false
		}
	}
	for _, r := range remotes {
		if r.typ != typeRelay {
			return false
		}
	}
	return len(locals) > 0 && len(remotes) > 0
}

// pairString names the selected pair for the log.
func pairString(p *ice.CandidatePair) string {
	if p == nil || p.Local == nil || p.Remote == nil {
		return "?"
	}
	return fmt.Sprintf("%s %s:%d <-> %s %s:%d", p.Local.Type(), p.Local.Address(), p.Local.Port(),
		p.Remote.Type(), p.Remote.Address(), p.Remote.Port())
}

// pion makes the pion/ice candidate of a gathered one; a relayed one
// releases its allocation when pion closes it.
func (l *local) pion() (ice.Candidate, error) {
	return l.cand.pionCandidate(l.relayProto, func() error {
		l.release()
		return nil
	})
}

// pionRemote makes the pion/ice candidate of a peer's.
func (c candidate) pionRemote() (ice.Candidate, error) {
	return c.pionCandidate("", nil)
}

// pionCandidate makes the pion/ice candidate of c. relayProto and onClose
// matter only for a relayed candidate of this side's.
func (c candidate) pionCandidate(relayProto string, onClose func() error) (ice.Candidate, error) {
	addr, port := c.addr.Addr().String(), int(c.addr.Port())
	var raddr string
	var rport int
	if c.related.IsValid() {
		raddr, rport = c.related.Addr().String(), int(c.related.Port())
	}
	switch c.typ {
	case typeHost:
		return ice.NewCandidateHost(&ice.CandidateHostConfig{
			Network: "udp", Address: addr, Port: port, Component: 1,
			Priority: c.priority, Foundation: c.foundation,
		})
	case typeSrflx:
		return ice.NewCandidateServerReflexive(&ice.CandidateServerReflexiveConfig{
			Network: "udp", Address: addr, Port: port, Component: 1,
			Priority: c.priority, Foundation: c.foundation, RelAddr: raddr, RelPort: rport,
		})
	case typeRelay:
		return ice.NewCandidateRelay(&ice.CandidateRelayConfig{
			Network: "udp", Address: addr, Port: port, Component: 1,
			Priority: c.priority, Foundation: c.foundation, RelAddr: raddr, RelPort: rport,
			RelayProtocol: relayProto, OnClose: onClose,
		})
	}
	return nil, fmt.Errorf("candidate type %v", c.typ)
}

// tlsConfigs are QUIC's TLS settings: a throwaway self-signed certificate
// and the ALPN. The peer's certificate is not checked: the core's TLS over
// the stream proves both peer IDs (see the package doc).
type tlsConfigs struct {
	once           sync.Once
	err            error
	server, client *tls.Config
}

func (c *tlsConfigs) init() error {
	c.once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			c.err = fmt.Errorf("QUIC key: %w", err)
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "ferry-ice"},
			DNSNames:     []string{"ferry-ice"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			c.err = fmt.Errorf("QUIC certificate: %w", err)
			return
		}
		c.server = &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
			NextProtos:   []string{alpn},
			MinVersion:   tls.VersionTLS13,
		}
		c.client = &tls.Config{
			// Not checked on purpose: the core's TLS 1.3 over the
			// stream is pinned to both peer IDs.
			InsecureSkipVerify: true, //nolint:gosec
			ServerName:         "ferry-ice",
			NextProtos:         []string{alpn},
			MinVersion:         tls.VersionTLS13,
		}
	})
	return c.err
}

// routeOf names the way a selected pair goes, for the user: "relay via
// turn:HOST:PORT" through this side's TURN server, "relay via the peer's
// TURN server at ADDR:PORT", "direct srflx" through a NAT's mapping
// (server-reflexive, or peer-reflexive at an address that is not one of
// the peer's interfaces: a mapping learned from its checks rather than
// from STUN), or "direct host".
func routeOf(p *ice.CandidatePair, locals []*local, remotes []candidate) string {
	if p == nil || p.Local == nil || p.Remote == nil {
		return ""
	}
	lt, rt := p.Local.Type(), p.Remote.Type()
	switch {
	case lt == ice.CandidateTypeRelay:
		for _, l := range locals {
			if l.cand.typ == typeRelay && l.cand.addr.Addr().String() == p.Local.Address() && int(l.cand.addr.Port()) == p.Local.Port() {
				server, _, _ := strings.Cut(l.server, "?")
				return "relay via " + server
			}
		}
		return "relay via this side's TURN server"
	case rt == ice.CandidateTypeRelay:
		return fmt.Sprintf("relay via the peer's TURN server at %s:%d", p.Remote.Address(), p.Remote.Port())
	case lt == ice.CandidateTypeServerReflexive || rt == ice.CandidateTypeServerReflexive:
		return "direct srflx"
	case rt == ice.CandidateTypePeerReflexive:
		for _, c := range remotes {
			if c.typ == typeHost && c.addr.Addr().String() == p.Remote.Address() {
				return "direct host" // the peer's interface, another port
			}
		}
		return "direct srflx"
	case lt == ice.CandidateTypePeerReflexive:
		return "direct srflx"
	}
	return "direct host"
}
