package ice

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// local is a gathered candidate with the socket behind it: what pion/ice
// reads and writes once the candidate joins an agent.
type local struct {
	cand candidate
	// conn is the UDP socket (host, srflx) or the TURN relay connection.
	conn net.PacketConn
	// server is the STUN or TURN URL it came from, "" for host.
	server string
	// relayProto is the transport to the TURN server ("udp", "tcp").
	relayProto string
	// closers release conn and what stands behind it, in order.
	closers []func() error
	once    sync.Once
}

// release closes the candidate's socket and, for a relay, the allocation,
// the TURN client and its control connection. It is idempotent.
func (l *local) release() {
	l.once.Do(func() {
		for _, c := range l.closers {
			_ = c()
		}
	})
}

func releaseAll(ls []*local) {
	for _, l := range ls {
		l.release()
	}
}

// gatherResult is what Prepare gathered.
type gatherResult struct {
	locals []*local
	// problems are the failures that did not stop the gathering: a STUN
	// or TURN server that failed, an address that could not be bound.
	problems []error
}

// gather collects this side's candidates: host candidates at once, then
// server-reflexive and relayed ones in parallel until ctx ends (the caller
// bounds it by gather_timeout). It fails only when no candidate was
// gathered, with every problem met.
func gather(ctx context.Context, cfg config, logs loggerFactory) (gatherResult, error) {
	var (
		mu  sync.Mutex
		res gatherResult
		wg  sync.WaitGroup
	)
	add := func(l *local, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.problems = append(res.problems, err)
		}
		if l != nil {
			res.locals = append(res.locals, l)
		}
	}
	if cfg.host {
		hosts, problems := gatherHost(cfg)
		res.locals = append(res.locals, hosts...)
		res.problems = append(res.problems, problems...)
	}
	if cfg.srflx {
		for _, u := range cfg.stunServers {
			for _, network := range cfg.networks() {
				wg.Go(func() { add(gatherSrflx(ctx, cfg, u, network)) })
			}
		}
	}
	if cfg.relay {
		for _, u := range cfg.turnServers {
			for _, network := range cfg.networks() {
				wg.Go(func() { add(gatherRelay(ctx, cfg, u, network, logs)) })
			}
		}
	}
	wg.Wait()
	if len(res.locals) == 0 {
		if len(res.problems) == 0 {
			return res, fmt.Errorf("no candidates: %s", noCandidatesReason(cfg))
		}
		return res, fmt.Errorf("no candidates: %w", errors.Join(res.problems...))
	}
	// A stable order: by type, then as gathered, with priorities that
	// are unique within a type (RFC 8445 §5.1.2.1).
	slices.SortStableFunc(res.locals, func(a, b *local) int { return int(a.cand.typ) - int(b.cand.typ) })
	n := map[candType]int{}
	for _, l := range res.locals {
		l.cand.priority = priorityOf(l.cand.typ, uint16(65535-n[l.cand.typ]))
		n[l.cand.typ]++
	}
	return res, nil
}

// noCandidatesReason explains an empty gathering with nothing failing.
func noCandidatesReason(cfg config) string {
	var why []string
	if cfg.host {
		why = append(why, "no usable interface address (see interfaces, include_loopback, network_types)")
	}
	if cfg.srflx && len(cfg.stunServers) > 0 {
		why = append(why, "no STUN server of a configured family")
	}
	if cfg.relay && len(cfg.turnServers) > 0 {
		why = append(why, "no TURN server of a configured family")
	}
	if len(why) == 0 {
		return "no candidate type has a source (srflx needs stun_servers, relay needs turn_servers)"
	}
	return strings.Join(why, "; ")
}

// foundation is the seed's form of a foundation: the type's initial and a
// hash of what RFC 8445 §5.1.1.3 says candidates of one foundation share
// (type, base address, server).
func foundation(t candType, base netip.Addr, server string) string {
	sum := crc32.ChecksumIEEE([]byte(t.String() + "|" + base.String() + "|" + server))
	return fmt.Sprintf("%c%08x", "?HSR"[t], sum)
}

// gatherHost binds one UDP socket on each usable interface address.
func gatherHost(cfg config) ([]*local, []error) {
	addrs, err := hostAddrs(cfg)
	if err != nil {
		return nil, []error{err}
	}
	var out []*local
	var problems []error
	for _, ip := range addrs {
		conn, err := listenUDP(networkOf(ip), ip, cfg)
		if err != nil {
			problems = append(problems, fmt.Errorf("host candidate on %s: %w", ip, err))
			continue
		}
		ap := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		out = append(out, &local{
			cand: candidate{
				foundation: foundation(typeHost, ip, ""),
				typ:        typeHost,
				addr:       netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()),
			},
			conn:    conn,
			closers: []func() error{conn.Close},
		})
	}
	return out, problems
}

// hostAddrs lists the interface addresses that may be host candidates.
func hostAddrs(cfg config) ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	var out []netip.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		if len(cfg.interfaces) > 0 && !slices.Contains(cfg.interfaces, ifc.Name) {
			continue
		}
		if ifc.Flags&net.FlagLoopback != 0 && !cfg.includeLoopback {
			continue
		}
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.Is4() && !cfg.ipv4 || ip.Is6() && !cfg.ipv6 {
				continue
			}
			if cfg.policy().check(ip) != nil {
				continue
			}
			out = append(out, ip)
		}
	}
	return out, nil
}

func networkOf(ip netip.Addr) string {
	if ip.Is4() {
		return "udp4"
	}
	return "udp6"
}

// listenUDP binds a UDP socket on ip, on a port in [port_min, port_max]
// when set.
func listenUDP(network string, ip netip.Addr, cfg config) (*net.UDPConn, error) {
	if cfg.portMin == 0 {
		return net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	}
	span := int(cfg.portMax) - int(cfg.portMin) + 1
	start := rand.IntN(span)
	var last error
	for i := range span {
		port := uint16(int(cfg.portMin) + (start+i)%span)
		c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("no free port from %d to %d: %w", cfg.portMin, cfg.portMax, last)
}

// resolve returns the server's address in network's family, or an
// invalid one when it has none.
func resolve(ctx context.Context, u *stun.URI, network string) (netip.AddrPort, error) {
	fam := "ip4"
	if network == "udp6" {
		fam = "ip6"
	}
	if ip, err := netip.ParseAddr(u.Host); err == nil {
		ip = ip.Unmap()
		if ip.Is4() != (fam == "ip4") {
			return netip.AddrPort{}, nil
		}
		return netip.AddrPortFrom(ip, uint16(u.Port)), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, fam, u.Host)
	if err != nil || len(ips) == 0 {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return netip.AddrPort{}, nil // no address of this family
		}
		return netip.AddrPort{}, fmt.Errorf("resolve %s: %w", u.Host, err)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(u.Port)), nil
}

// gatherSrflx asks one STUN server, over network, for this side's mapped
// address, from a fresh socket that becomes the candidate's.
func gatherSrflx(ctx context.Context, cfg config, u *stun.URI, network string) (*local, error) {
	server, err := resolve(ctx, u, network)
	if err != nil {
		return nil, fmt.Errorf("STUN server %s: %w", u, err)
	}
	if !server.IsValid() {
		return nil, nil // the server has no address of this family
	}
	unspec := netip.IPv4Unspecified()
	if network == "udp6" {
		unspec = netip.IPv6Unspecified()
	}
	conn, err := listenUDP(network, unspec, cfg)
	if err != nil {
		return nil, fmt.Errorf("STUN server %s: %w", u, err)
	}
	mapped, err := stunBinding(ctx, conn, server)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("STUN server %s: %w", u, err)
	}
	mapped = netip.AddrPortFrom(mapped.Addr().Unmap(), mapped.Port())
	if err := cfg.policy().check(mapped.Addr()); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("STUN server %s: mapped address unusable: %w", u, err)
	}
	base := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &local{
		cand: candidate{
			foundation: foundation(typeSrflx, base.Addr().Unmap(), u.String()),
			typ:        typeSrflx,
			addr:       mapped,
			related:    netip.AddrPortFrom(base.Addr().Unmap(), base.Port()),
		},
		conn:    conn,
		server:  u.String(),
		closers: []func() error{conn.Close},
	}, nil
}

// stunBinding sends binding requests to server (at 0, 0.25, 0.75, 1.75 s
// and so on, RFC 8489's doubling) until a matching success response
// arrives or ctx ends, and returns the XOR-MAPPED-ADDRESS.
func stunBinding(ctx context.Context, conn *net.UDPConn, server netip.AddrPort) (netip.AddrPort, error) {
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.AddrPort{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer func() {
		stop()
		_ = conn.SetReadDeadline(time.Time{})
	}()
	buf := make([]byte, 1500)
	rto := 250 * time.Millisecond
	for sent := 0; ; sent++ {
		if _, err := conn.WriteToUDPAddrPort(req.Raw, server); err != nil {
			return netip.AddrPort{}, fmt.Errorf("send binding request: %w", err)
		}
		next := time.Now().Add(rto << min(sent, 6))
		for {
			if ctx.Err() != nil {
				return netip.AddrPort{}, fmt.Errorf("no answer (%d requests): %w", sent+1, ctx.Err())
			}
			_ = conn.SetReadDeadline(next)
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit, or notice ctx's end
				}
				return netip.AddrPort{}, fmt.Errorf("read: %w", err)
			}
			if from.Addr().Unmap() != server.Addr() || from.Port() != server.Port() {
				continue
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() != nil || m.TransactionID != req.TransactionID {
				continue
			}
			if m.Type != stun.BindingSuccess {
				var code stun.ErrorCodeAttribute
				if code.GetFrom(m) == nil {
					return netip.AddrPort{}, fmt.Errorf("binding refused: %d %s", code.Code, code.Reason)
				}
				return netip.AddrPort{}, fmt.Errorf("binding answered with %s", m.Type)
			}
			var xor stun.XORMappedAddress
			if err := xor.GetFrom(m); err != nil {
				return netip.AddrPort{}, fmt.Errorf("binding response without XOR-MAPPED-ADDRESS: %w", err)
			}
			ip, ok := netip.AddrFromSlice(xor.IP)
			if !ok {
				return netip.AddrPort{}, fmt.Errorf("bad mapped address %v", xor.IP)
			}
			return netip.AddrPortFrom(ip, uint16(xor.Port)), nil
		}
	}
}

// gatherRelay allocates a relayed address of network's family on one TURN
// server (RFC 6156: one allocation per family, each on its own client
// socket), over UDP or TCP to the server as its URL says.
func gatherRelay(ctx context.Context, cfg config, u *stun.URI, network string, logs loggerFactory) (*local, error) {
	family, fam := turn.RequestedAddressFamilyIPv4, "IPv4"
	if network == "udp6" {
		family, fam = turn.RequestedAddressFamilyIPv6, "IPv6"
	}
	fail := func(err error) (*local, error) {
		return nil, fmt.Errorf("TURN server %s: %s relay: %w", u, fam, err)
	}
	// The control connection may use either family; the relayed address
	// has the requested one.
	server, err := resolve(ctx, u, network)
	if err == nil && !server.IsValid() {
		other := "udp4"
		if network == "udp4" {
			other = "udp6"
		}
		server, err = resolve(ctx, u, other)
	}
	if err != nil {
		return fail(err)
	}
	if !server.IsValid() {
		return fail(errors.New("no address for the server"))
	}
	var (
		ctrl    net.PacketConn
		proto   string
		related netip.AddrPort
	)
	switch u.Proto {
	case stun.ProtoTypeUDP:
		c, err := net.ListenUDP(networkOf(server.Addr()), nil)
		if err != nil {
			return fail(err)
		}
		ctrl, proto = c, "udp"
		related = c.LocalAddr().(*net.UDPAddr).AddrPort()
	case stun.ProtoTypeTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", server.String())
		if err != nil {
			return fail(fmt.Errorf("connect: %w", err))
		}
		ctrl, proto = turn.NewSTUNConn(c), "tcp"
		related = c.LocalAddr().(*net.TCPAddr).AddrPort()
	default:
		return fail(fmt.Errorf("transport %s is not supported", u.Proto))
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr:         server.String(),
		Username:               cfg.turnUsername,
		Password:               cfg.turnPassword,
		Software:               "ferry-ice",
		Conn:                   ctrl,
		LoggerFactory:          logs,
		RequestedAddressFamily: family,
	})
	if err != nil {
		_ = ctrl.Close()
		return fail(err)
	}
	if err := client.Listen(); err != nil {
		client.Close()
		_ = ctrl.Close()
		return fail(err)
	}
	relay, err := client.AllocateWithContext(ctx)
	if err != nil {
		client.Close()
		_ = ctrl.Close()
		if ctx.Err() != nil {
			return fail(fmt.Errorf("no allocation before the gather timeout: %w", err))
		}
		return fail(fmt.Errorf("allocate: %w", explainTURN(err, cfg.turnUsername)))
	}
	ra, ok := relay.LocalAddr().(*net.UDPAddr)
	if !ok {
		_ = relay.Close()
		client.Close()
		_ = ctrl.Close()
		return fail(fmt.Errorf("relayed address is a %T", relay.LocalAddr()))
	}
	addr := ra.AddrPort()
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	l := &local{
		cand: candidate{
			foundation: foundation(typeRelay, related.Addr().Unmap(), u.String()),
			typ:        typeRelay,
			addr:       addr,
			related:    netip.AddrPortFrom(related.Addr().Unmap(), related.Port()),
		},
		conn:       relay,
		server:     u.String(),
		relayProto: proto,
		closers: []func() error{relay.Close, func() error {
			client.Close()
			return nil
		}, ctrl.Close},
	}
	if err := cfg.policy().check(addr.Addr()); err != nil {
		l.release()
		return fail(fmt.Errorf("relayed address unusable: %w", err))
	}
	// A peer relayed by this server reaches us from the server's relay
	// address; permit it now, since a responder may never learn the
	// initiator's candidates (see the package doc). pion's call takes no
	// context: closing the client ends it if ctx ends first. A failure
	// only costs peers on this server that we do not know of.
	perm := make(chan error, 1)
	go func() { perm <- client.CreatePermission(net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), 1))) }()
	select {
	case err := <-perm:
		if err != nil {
			_, err = fail(fmt.Errorf("permit the server's own relay address: %w", err))
			return l, err
		}
	case <-ctx.Done():
		l.release()
		<-perm
		return fail(fmt.Errorf("no permission before the gather timeout: %w", ctx.Err()))
	}
	return l, nil
}

// explainTURN says in words what a TURN error code means.
func explainTURN(err error, user string) error {
	var te *stun.TurnError
	if !errors.As(err, &te) {
		return err
	}
	var why string
	switch te.ErrorCodeAttr.Code {
	case stun.CodeUnauthorized:
		why = fmt.Sprintf("the server refused the credentials of user %q (check turn_username and turn_password)", user)
	case stun.CodeForbidden:
		why = fmt.Sprintf("user %q may not allocate here", user)
	case stun.CodeAddrFamilyNotSupported:
		why = "the server does not relay this address family"
	case stun.CodeAllocQuotaReached:
		why = "the user's allocation quota is reached"
	case stun.CodeInsufficientCapacity:
		why = "the server has no capacity left"
	default:
		return err
	}
	return fmt.Errorf("%s: %w", why, err)
}

// String names a candidate's origin for logs.
func (l *local) String() string {
	s := l.cand.typ.String() + " " + l.cand.addr.String()
	if l.server != "" {
		s += " via " + l.server
	}
	if l.relayProto != "" {
		s += " over " + l.relayProto
	}
	return s
}

// logProblems reports non-fatal gathering failures.
func logProblems(log *slog.Logger, role string, problems []error) {
	for _, p := range problems {
		log.Warn("ice: gathering: candidate left out", "role", role, "err", p)
	}
}
