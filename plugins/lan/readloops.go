package lan

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

// acceptsFrom reports whether a datagram to the announcement port that
// arrived on interface ifIndex is for this plugin: it came in on a chosen
// interface (0 means the kernel did not say).
func (p *Plugin) acceptsFrom(ifIndex int) bool {
	if ifIndex == 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.ifaces[ifIndex]
	return ok
}

// startSocketLoops starts the goroutines that read s. p.mu is held.
func (p *Plugin) startSocketLoops(s *sockets) {
	p.wg.Add(2)
	go p.readLoop(s, "broadcast", func(b []byte) (int, netip.AddrPort, int, error) {
		n, cm, src, err := s.bcast.ReadFrom(b)
		return n, addrPortOf(src), ifIndex4(cm), err
	}, true)
	go p.readLoop(s, "unicast", func(b []byte) (int, netip.AddrPort, int, error) {
		n, src, err := s.uni4.ReadFromUDPAddrPort(b)
		return n, src, 0, err
	}, false)
	for _, ln := range s.tcp {
		p.wg.Add(1)
		go p.acceptLoop(ln)
	}
	if s.mcast != nil {
		p.wg.Add(2)
		go p.readLoop(s, "multicast", func(b []byte) (int, netip.AddrPort, int, error) {
			n, cm, src, err := s.mcast.ReadFrom(b)
			idx := 0
			if cm != nil {
				idx = cm.IfIndex
			}
			return n, addrPortOf(src), idx, err
		}, true)
		go p.readLoop(s, "unicast6", func(b []byte) (int, netip.AddrPort, int, error) {
			n, src, err := s.uni6.ReadFromUDPAddrPort(b)
			return n, src, 0, err
		}, false)
	}
}

func ifIndex4(cm *ipv4.ControlMessage) int {
	if cm == nil {
		return 0
	}
	return cm.IfIndex
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}

// readLoop reads one socket until it is closed and hands each datagram to
// handleDatagram. filter drops datagrams that came in on an interface that
// was not chosen.
func (p *Plugin) readLoop(s *sockets, name string, read func([]byte) (int, netip.AddrPort, int, error), filter bool) {
	defer p.wg.Done()
	buf := make([]byte, MaxDatagram+1)
	for {
		n, src, ifIndex, err := read(buf)
		if err != nil {
			if isClosedErr(err) {
				return
			}
			p.logLimited("read "+name, "lan: read "+name+" socket", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-p.done:
				return
			}
			continue
		}
		if filter && !p.acceptsFrom(ifIndex) {
			p.log.Debug("lan: ignored a datagram from an interface not chosen", "from", src, "ifindex", ifIndex)
			continue
		}
		p.handleDatagram(s, buf[:n], src)
	}
}
