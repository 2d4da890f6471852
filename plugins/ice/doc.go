// Package ice is Ferry's ICE transport (seed 001's Jami flow): two peers
// behind NATs reach each other over UDP through host, server-reflexive
// (STUN) and relayed (TURN) candidates, and a reliable stream runs over the
// pair that ICE selects.
//
// # Description
//
// A description is the seed's SDP-like text, one item a line, readable in a
// log:
//
//	jHX4wR9xkP1TqL0a
//	Yz3V1dVxq0p2rC5y9o8fQbT7aM6uN4eK
//	Hd1e2f3a4 1 UDP 2130706431 192.0.2.126 42751 typ host
//	S0b1c2d3e 1 UDP 1694498815 203.0.113.7 42751 typ srflx raddr 0.0.0.0 rport 42751
//	R5f6a7b8c 1 UDP 16777215 198.51.100.2 49170 typ relay raddr 0.0.0.0 rport 53211
//
// The first line is the ICE username fragment, the second the password,
// then one candidate a line: foundation, component (always 1), transport
// (UDP), priority, address, port, "typ" and the type, and for srflx and
// relay candidates the related address and port. [parseDescription] is
// strict: size and candidate count are bounded, and a candidate whose
// address could not belong to a peer (unspecified, multicast, broadcast,
// link-local, loopback unless include_loopback is set) is refused with the
// line number. Peer-reflexive candidates learnt from checks obey the same
// rule.
//
// # Descriptions both ways
//
// The responder's description travels in the sealed ACCEPT. The plugin
// announces [sdk.CapRemoteDescription], so the core also sends the
// initiator's description, sealed, in a CANDIDATES message after the
// ACCEPT (seed 001's connection request carries the sender's candidates
// the same way), and hands it to the responder's Connect:
//
//   - Both sides gather fully, not by trickle, before Prepare returns,
//     within gather_timeout: a description travels in one signaling
//     message, so what it lists is all the peer learns.
//   - The responder's ufrag and password are its own; the initiator's are
//     derived from them (HKDF-SHA256 keyed by the responder's password, see
//     [initiatorCredentials]), so both agents know both pairs even when the
//     initiator's description does not arrive (an older core). Only the two
//     peers can compute them: the password travels sealed. The ufrag and
//     password lines of an initiator's own description are therefore
//     random values that nothing uses; they keep every description in one
//     form.
//   - The responder adds the initiator's candidates to its checks, which
//     opens its NAT's mapping and its TURN permissions towards them: both
//     sides send checks, so two address-restricted NATs open to each other.
//     Without them (no description arrived) the responder learns the
//     initiator's candidates only as peer-reflexive ones from incoming
//     checks (RFC 8445 §7.3.1.3), and a responder whose only candidates are
//     relayed is reachable only from relays on its own TURN server, whose
//     relay address it permits in advance.
//
// The sockets gathered in Prepare are handed to a pion/ice agent in Connect
// ([ice.Agent.AddVirtualCandidate]), once the credentials are known. Roles
// follow RFC 8445: the initiator is the controlling agent (Dial) and
// nominates the pair; the responder is controlled (Accept). mDNS is off.
//
// # STUN and TURN
//
// STUN servers give server-reflexive candidates (one binding request per
// server and address family). TURN servers give relayed candidates with
// long-term credentials (turn_username, turn_password: from Configure only,
// never logged), over UDP or TCP to the server. Per RFC 6156 an allocation
// has one address family, so for each server one allocation is requested
// per configured family (udp4 for IPv4, udp6 for IPv6), each on its own
// client socket, as the seed's Jami does with its two control connections;
// a server that refuses a family (440) costs only that candidate. A server
// that fails (wrong password, no answer within gather_timeout) is logged
// with its URL and Prepare goes on with the other candidates; it fails,
// naming every server and why, only when nothing was gathered.
//
// # The reliable stream
//
// ICE gives datagrams. quic-go runs over the selected pair through an
// adapter that makes the *ice.Conn a net.PacketConn with one fixed peer
// address (a pair switch is not a QUIC migration), with 1400-byte packets
// (no path MTU discovery over the adapter; see
// shared/notes/ice-reliable-layer.md). The initiator is the QUIC client.
// Each Connect gives one bidirectional QUIC stream as the sdk.Stream:
// CloseWrite half-closes the write side (QUIC FIN); Close stops reading,
// sends FIN, and releases the QUIC connection and the ICE agent once the
// peer has read everything written (it says so on a one-byte control
// stream), has closed too, or lingerTimeout passed.
//
// QUIC needs TLS. Each transport uses a throwaway self-signed certificate
// and the ALPN "ferry-ice/1", and does not check the peer's: identity is
// the core's job, which runs TLS 1.3 pinned to both peer IDs over every
// stream. The bytes are thus encrypted twice, a known cost (see the
// benchmark in this package).
//
// Close releases every session, agent, socket, TURN allocation, stream and
// goroutine of the transport. The same value serves the plugin binary
// (cmd/ice) and the core's in-process twin.
package ice
