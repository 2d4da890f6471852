package lan

import (
	"net/netip"
	"slices"

	"github.com/ferry-p2p/ferry/sdk"
)

// Addr returns the text form of a lan address in [sdk.PeerInfo.Addrs]:
// "udp4:IP:PORT" or "udp6:[IP%zone]:PORT", an IPv4-mapped IPv6 address
// unmapped. The port is the peer's unicast port (see [Header.Port]).
func Addr(ap netip.AddrPort) string {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().Is4() {
		return "udp4:" + ap.String()
	}
	return "udp6:" + ap.String()
}

// PeerInfo returns the discovery record m announces, as heard from the
// datagram source address src: the address is [Addr] of src's IP (an
// IPv6 zone kept) with the announced port, not the self-reported user.ip.
// Source is "lan". Seen and Expires are left zero for the caller, which
// owns the clock and the peer timeout. For a plain Sent peer ID is zero
// and Addrs is empty: it cannot be reached by Ferry.
func (m *Message) PeerInfo(src netip.AddrPort) sdk.PeerInfo {
	p := sdk.PeerInfo{Name: m.User.Name, Source: "lan"}
	h := m.Ferry
	if h == nil {
		return p
	}
	p.ID = h.ID
	p.Addrs = []string{Addr(netip.AddrPortFrom(src.Addr(), h.Port))}
	p.Roles = slices.Clone(h.Roles)
	p.Transports = slices.Clone(h.Transports)
	p.Protocols = slices.Clone(h.Protocols)
	p.Instance = h.Instance
	p.Account = slices.Clone(h.Account)
	return p
}
