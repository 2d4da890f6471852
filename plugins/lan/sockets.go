package lan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/ferry-p2p/ferry/sdk"
)

// bindAttempts bounds the search for an ephemeral UDP port whose number
// is also free for TCP.
const bindAttempts = 32

// sockets is one bound set, replaced as a whole when the port, the
// interfaces or the multicast group change.
//
//   - bcast: UDP 0.0.0.0:port with SO_REUSEADDR, so that every peer on
//     this host hears every broadcast; takes JOIN, PING and LEAVE.
//   - uni4: UDP 0.0.0.0:P, P ephemeral and this process's own: sends the
//     announcements and takes the PING replies to our JOIN.
//   - tcp: TCP on port P too: takes SIGNAL frames. On each address of the
//     chosen interfaces when the config names interfaces (IPv6 link-local
//     ones with their zone), else [::]:P dual-stack (or 0.0.0.0:P).
//   - uni6 and mcast, when a multicast group is set and the host has
//     IPv6: UDP [::]:P sends to the group and takes replies; UDP [::]:port
//     with SO_REUSEADDR, joined to the group on each chosen interface,
//     takes what peers send to it.
type sockets struct {
	port   uint16 // P, the unicast port (Header.Port)
	bcast  *ipv4.PacketConn
	uni4   *net.UDPConn
	uni4P  *ipv4.PacketConn
	tcp    []*net.TCPListener
	uni6   *net.UDPConn     // nil without IPv6 multicast
	uni6P  *ipv6.PacketConn // nil without IPv6 multicast
	mcast  *ipv6.PacketConn // nil without IPv6 multicast
	group  netip.Addr       // the multicast group, invalid when none
	gport  uint16           // the announcement port
	joined map[int]bool     // interfaces the group was joined on; guarded by Plugin.mu
	closed []func() error
}

// close closes every socket; the loops reading them then return. A nil
// set is a no-op.
func (s *sockets) close() {
	if s == nil {
		return
	}
	for _, c := range s.closed {
		_ = c()
	}
}

// listenUDP binds a UDP socket; reuse sets SO_REUSEADDR (never
// SO_REUSEPORT, which would share unicast datagrams between sockets).
func listenUDP(network, address string, reuse bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			if reuse {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}
			if serr == nil && network == "udp4" {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
			}
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, address)
	if err != nil {
		return nil, err
	}
	c, ok := pc.(*net.UDPConn)
	if !ok {
		_ = pc.Close()
		return nil, fmt.Errorf("listen %s: got %T", address, pc)
	}
	return c, nil
}

// signalAddrs returns the addresses the signaling listener binds for cfg
// and the chosen interfaces ifs: every address of ifs when the config
// names interfaces (IPv6 link-local ones zoned to their interface), nil
// for "every address" when it names none.
func signalAddrs(cfg config, ifs []net.Interface) []netip.Addr {
	if len(cfg.interfaces) == 0 {
		return nil
	}
	var out []netip.Addr
	for _, ifi := range ifs {
		for _, p := range ifaceAddrs(ifi) {
			a := p.Addr()
			if a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
				a = a.WithZone(ifi.Name)
			}
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// listenSignal binds the signaling listeners on port: one on each of
// addrs, or one on every address when addrs is nil. An IPv6 address that
// cannot be bound for another reason than the port being taken (still
// tentative, say) is left out with a note; the port taken anywhere, or no
// listener bound, is an error.
func listenSignal(addrs []netip.Addr, port uint16, logOnce func(key, msg string, args ...any)) ([]*net.TCPListener, error) {
	if addrs == nil {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{Port: int(port)})
		if err != nil {
			return nil, fmt.Errorf("lan: listen TCP :%d for signaling: %w", port, err)
		}
		return []*net.TCPListener{ln}, nil
	}
	var lns []*net.TCPListener
	fail := func(err error) ([]*net.TCPListener, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, err
	}
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, port)
		network := "tcp4"
		if a.Is6() {
			network = "tcp6"
		}
		ln, err := net.ListenTCP(network, net.TCPAddrFromAddrPort(ap))
		switch {
		case err == nil:
			lns = append(lns, ln)
		case a.Is6() && !errors.Is(err, syscall.EADDRINUSE):
			logOnce("signal "+a.String(), "lan: not listening for signaling on an IPv6 address", "addr", ap, "err", err)
		default:
			return fail(fmt.Errorf("lan: listen TCP %s for signaling: %w", ap, err))
		}
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("lan: listen TCP for signaling: no address of the chosen interfaces could be bound (%d tried)", len(addrs))
	}
	return lns, nil
}

// openSockets binds a set for cfg and the chosen interfaces ifs. Errors
// name the address that could not be bound. logOnce reports, once, that
// IPv6 multicast is off.
func openSockets(cfg config, ifs []net.Interface, logOnce func(key, msg string, args ...any)) (*sockets, error) {
	s := &sockets{group: cfg.group, gport: cfg.port, joined: map[int]bool{}}
	sigAddrs := signalAddrs(cfg, ifs)
	if sigAddrs != nil && len(sigAddrs) == 0 {
		return nil, fmt.Errorf("lan: the chosen interfaces (%s) have no address to listen for signaling on", strings.Join(cfg.interfaces, ", "))
	}
	fail := func(err error) (*sockets, error) {
		s.close()
		return nil, err
	}
	bcastAddr := fmt.Sprintf("0.0.0.0:%d", cfg.port)
	bc, err := listenUDP("udp4", bcastAddr, true)
	if err != nil {
		return fail(fmt.Errorf("lan: bind UDP %s for announcements: %w", bcastAddr, err))
	}
	s.closed = append(s.closed, bc.Close)
	s.bcast = ipv4.NewPacketConn(bc)
	_ = s.bcast.SetControlMessage(ipv4.FlagInterface, true) // without it, no interface filter

	wantV6 := cfg.group.IsValid()
	for attempt := 1; ; attempt++ {
		u4, err := listenUDP("udp4", "0.0.0.0:0", false)
		if err != nil {
			return fail(fmt.Errorf("lan: bind UDP 0.0.0.0:0: %w", err))
		}
		port := uint16(u4.LocalAddr().(*net.UDPAddr).Port)
		lns, err := listenSignal(sigAddrs, port, logOnce)
		if err != nil {
			_ = u4.Close()
			if errors.Is(err, syscall.EADDRINUSE) && attempt < bindAttempts {
				continue // that number is taken for TCP: try another
			}
			return fail(err)
		}
		closeLns := func() {
			for _, ln := range lns {
				_ = ln.Close()
			}
		}
		var u6 *net.UDPConn
		if wantV6 {
			u6, err = listenUDP("udp6", fmt.Sprintf("[::]:%d", port), false)
			if err != nil && errors.Is(err, syscall.EADDRINUSE) && attempt < bindAttempts {
				_ = u4.Close()
				closeLns()
				continue
			}
			if err != nil {
				logOnce("no ipv6", "lan: IPv6 unavailable, announcing over IPv4 broadcast only", "err", err)
				u6 = nil
			}
		}
		s.port = port
		s.uni4, s.tcp, s.uni6 = u4, lns, u6
		s.closed = append(s.closed, u4.Close)
		for _, ln := range lns {
			s.closed = append(s.closed, ln.Close)
		}
		if u6 != nil {
			s.closed = append(s.closed, u6.Close)
		}
		break
	}
	s.uni4P = ipv4.NewPacketConn(s.uni4)
	if s.uni6 != nil {
		mcAddr := fmt.Sprintf("[::]:%d", cfg.port)
		mc, err := listenUDP("udp6", mcAddr, true)
		if err != nil {
			return fail(fmt.Errorf("lan: bind UDP %s for multicast announcements: %w", mcAddr, err))
		}
		s.closed = append(s.closed, mc.Close)
		s.mcast = ipv6.NewPacketConn(mc)
		_ = s.mcast.SetControlMessage(ipv6.FlagInterface, true)
		s.uni6P = ipv6.NewPacketConn(s.uni6)
		_ = s.uni6P.SetMulticastHopLimit(1)
		_ = s.uni6P.SetMulticastLoopback(true) // peers on this host hear us
	}
	return s, nil
}

// chooseInterfaces returns the interfaces to announce on: the named ones
// (an unknown name is an error wrapping sdk.ErrInvalidConfig; one that is
// down is left out, with a note), or every interface that is up, not
// loopback, and can broadcast or multicast.
func chooseInterfaces(names []string) (ifs []net.Interface, notes []string, err error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("lan: list interfaces: %w", err)
	}
	if len(names) == 0 {
		for _, ifi := range all {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 && ifi.Flags&(net.FlagBroadcast|net.FlagMulticast) != 0 {
				ifs = append(ifs, ifi)
			}
		}
		return ifs, nil, nil
	}
	for _, name := range names {
		i := slices.IndexFunc(all, func(ifi net.Interface) bool { return ifi.Name == name })
		if i < 0 {
			have := make([]string, len(all))
			for j, ifi := range all {
				have[j] = ifi.Name
			}
			return nil, nil, fmt.Errorf("lan config: interfaces: no interface %q on this host (it has %s): %w", name, strings.Join(have, ", "), sdk.ErrInvalidConfig)
		}
		if all[i].Flags&net.FlagUp == 0 {
			notes = append(notes, fmt.Sprintf("interface %s is down: not announcing on it until it is up", name))
			continue
		}
		ifs = append(ifs, all[i])
	}
	return ifs, notes, nil
}

// target is one destination of an announcement.
type target struct {
	dst     netip.AddrPort
	ifIndex int        // set for a limited broadcast and for multicast
	src     netip.Addr // this device's address there, for user.ip
}

// ifaceAddrs lists the addresses of an interface.
func ifaceAddrs(ifi net.Interface) []netip.Prefix {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ones, _ := ipn.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out
}

// directedBroadcast returns the broadcast address of an IPv4 subnet, and
// false for /31 and /32, which have none.
func directedBroadcast(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() > 30 || p.Bits() < 0 {
		return netip.Addr{}, false
	}
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (uint32(1)<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a), true
}

// targets lists where to send an announcement: IPv4 broadcast addresses
// on the chosen interfaces, and the multicast group on each chosen
// interface that can multicast and has an IPv6 link-local address. notes
// say what was left out and why.
func targets(cfg config, ifs []net.Interface, v6 bool) (ts []target, notes []string) {
	type v4addr struct {
		ifi net.Interface
		p   netip.Prefix
	}
	var v4 []v4addr
	for _, ifi := range ifs {
		for _, p := range ifaceAddrs(ifi) {
			if p.Addr().Is4() {
				v4 = append(v4, v4addr{ifi, p})
			}
		}
	}
	add := func(t target) {
		if !slices.ContainsFunc(ts, func(o target) bool { return o.dst == t.dst && o.ifIndex == t.ifIndex }) {
			ts = append(ts, t)
		}
	}
	limited := netip.AddrFrom4([4]byte{255, 255, 255, 255})
	if len(cfg.broadcast) == 0 {
		for _, a := range v4 {
			if b, ok := directedBroadcast(a.p.Masked()); ok {
				add(target{dst: netip.AddrPortFrom(b, cfg.port), src: a.p.Addr()})
			}
		}
	}
	for _, b := range cfg.broadcast {
		if b == limited {
			for _, ifi := range ifs {
				if i := slices.IndexFunc(v4, func(a v4addr) bool { return a.ifi.Index == ifi.Index }); i >= 0 {
					add(target{dst: netip.AddrPortFrom(b, cfg.port), ifIndex: ifi.Index, src: v4[i].p.Addr()})
				}
			}
			continue
		}
		i := slices.IndexFunc(v4, func(a v4addr) bool { return a.p.Masked().Contains(b) })
		if i < 0 {
			notes = append(notes, fmt.Sprintf("broadcast address %s is on none of the chosen interfaces' subnets: not sent to", b))
			continue
		}
		add(target{dst: netip.AddrPortFrom(b, cfg.port), src: v4[i].p.Addr()})
	}
	if !cfg.group.IsValid() || !v6 {
		return ts, notes
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagMulticast == 0 {
			notes = append(notes, fmt.Sprintf("interface %s cannot multicast: IPv6 multicast off there", ifi.Name))
			continue
		}
		i := slices.IndexFunc(ifaceAddrs(ifi), func(p netip.Prefix) bool { return p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() })
		if i < 0 {
			notes = append(notes, fmt.Sprintf("interface %s has no IPv6 link-local address: IPv6 multicast off there", ifi.Name))
			continue
		}
		src := ifaceAddrs(ifi)[i].Addr()
		add(target{dst: netip.AddrPortFrom(cfg.group.WithZone(ifi.Name), cfg.port), ifIndex: ifi.Index, src: src})
	}
	return ts, notes
}

// send writes one announcement to t.
func (s *sockets) send(b []byte, t target) error {
	dst := t.dst
	switch {
	case dst.Addr().Is6():
		if s.uni6P == nil {
			return errors.New("no IPv6 socket")
		}
		_, err := s.uni6P.WriteTo(b, &ipv6.ControlMessage{IfIndex: t.ifIndex}, net.UDPAddrFromAddrPort(dst))
		return err
	case t.ifIndex != 0:
		_, err := s.uni4P.WriteTo(b, &ipv4.ControlMessage{IfIndex: t.ifIndex}, net.UDPAddrFromAddrPort(dst))
		return err
	}
	_, err := s.uni4.WriteToUDPAddrPort(b, dst)
	return err
}

// reply writes a unicast datagram to a peer's unicast port, from the
// socket of the same family.
func (s *sockets) reply(b []byte, dst netip.AddrPort) error {
	if dst.Addr().Is4() {
		_, err := s.uni4.WriteToUDPAddrPort(b, dst)
		return err
	}
	if s.uni6 == nil {
		return errors.New("no IPv6 socket")
	}
	_, err := s.uni6.WriteToUDPAddrPort(b, dst)
	return err
}

// refreshInterfaces records the chosen interfaces (datagrams to the
// announcement port from other interfaces are ignored) and joins the
// multicast group on those that gained an IPv6 link-local address.
func (p *Plugin) refreshInterfaces(ifs []net.Interface) {
	idx := ifaceIndex(ifs)
	p.mu.Lock()
	p.ifaces = idx
	s := p.socks
	var join []net.Interface
	if s != nil && s.mcast != nil {
		for _, ifi := range ifs {
			if !s.joined[ifi.Index] && ifi.Flags&net.FlagMulticast != 0 {
				join = append(join, ifi)
			}
		}
	}
	p.mu.Unlock()
	for _, ifi := range join {
		has6 := slices.ContainsFunc(ifaceAddrs(ifi), func(p netip.Prefix) bool { return p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() })
		if !has6 {
			continue // joined once it has one
		}
		err := s.mcast.JoinGroup(&ifi, &net.UDPAddr{IP: s.group.AsSlice()})
		if err != nil {
			p.logLimited("join "+ifi.Name, "lan: join multicast group", "group", s.group, "interface", ifi.Name, "err", err)
			continue
		}
		p.mu.Lock()
		s.joined[ifi.Index] = true
		p.mu.Unlock()
	}
}

// ifaceIndex maps the indexes of ifs to their names.
func ifaceIndex(ifs []net.Interface) map[int]string {
	idx := make(map[int]string, len(ifs))
	for _, ifi := range ifs {
		idx[ifi.Index] = ifi.Name
	}
	return idx
}
