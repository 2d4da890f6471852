// Package lan is Ferry's local-network discovery and signaling plugin,
// built on the Sent protocol (shared/seeds/003): a JOIN broadcast at
// start, a unicast PING in reply to a JOIN so that the newcomer learns who
// is there, a LEAVE broadcast on a clean exit, all as JSON UDP datagrams.
// Ferry adds a signed header to each, and carries signaling messages
// (sealed by the core) over TCP. [New] returns the plugin, which serves
// both roles ([sdk.Discovery] and [sdk.Signaling]); cmd/lan is its binary.
//
// # Announcements
//
// An announcement keeps the seed's shape and adds a "ferry" object:
//
//	{"type": "JOIN",
//	 "user": {"name": "Bob Dole", "ip": "192.0.2.13"},
//	 "ferry": {"v": 1, "id": "<printable peer ID>", "port": 50123,
//	           "roles": ["discovery", "signaling"], "transports": ["tcp"],
//	           "protocols": ["ftv2a"], "seq": 7,
//	           "cert": "<base64 delegation certificate>", "sig": "<base64>"}}
//
// "port" is the sender's own unicast port (see Sockets), "seq" a counter
// that is new for every message the sender signs, "cert" the 136-byte
// [sdk.Certificate] by which the device "id" delegated the key that made
// "sig". Unknown fields are ignored at every level, so older and newer
// peers coexist; a newer "v" is accepted. A message without "ferry" is
// from a plain Sent peer: it decodes (its user.ip is kept as text, since
// the seed's own examples are not valid addresses), is logged at debug
// level and ignored, since it has no ID to reach it by. An announcement is
// at most [MaxDatagram] bytes.
//
// # Signaling
//
// The seed's ASK, ACCEPT and REFUSE (its prose also says DENY) are
// produced and sealed by the core, inside an [sdk.Envelope] payload; an
// ASK naming several receivers is one envelope per receiver, each sealed
// for it, and each answers for itself. This plugin only delivers envelopes,
// over TCP, because UDP is lossy and an ASK of hundreds of files does not
// fit in a datagram. [Plugin.Send] looks the recipient up in the discovery
// table, dials the address it announced itself from (IPv4 when known, else
// its IPv6 link-local address; 3 s to connect) and writes one frame: a
// 4-byte big-endian length, then
//
//	{"type": "SIGNAL", "ferry": {...sender header...},
//	 "to": "<recipient peer ID>", "payload": "<base64 sealed bytes>"}
//
// of at most [MaxFrame] bytes (a payload of [sdk.MaxEnvelopePayload]
// bytes takes about 86 KiB). The receiver reads it within
// handshake_timeout (5 s), refuses a length over MaxFrame before reading the
// body, checks the signature, that "to" is itself and that the message is
// not a replay, queues Envelope{From: the header's id, To, Payload} for
// every Receive channel and only then writes one ack byte (0x06); Send
// waits 5 s for it and fails, naming the peer and the address, when it
// does not come. A recipient not in the table, or whose address refuses
// the connection or cannot be reached, fails with an error wrapping
// [sdk.ErrNotFound]. Plain ASK, ACCEPT and REFUSE datagrams of unmodified
// Sent clients are not accepted: their "type" is unknown here.
//
// # Sockets
//
// Configure binds, and Close closes:
//
//   - UDP 0.0.0.0:port (the "port" option) with SO_REUSEADDR, never
//     SO_REUSEPORT, which would share unicast datagrams among sockets: with
//     it, every instance on one host (tests, a demo, two users) hears every
//     broadcast. It takes JOIN, PING and LEAVE, and only from the chosen
//     interfaces.
//   - UDP 0.0.0.0:P, an ephemeral port of this instance: it sends the
//     announcements and takes the unicast PING replies. P is "ferry.port".
//   - TCP on the same number P, for SIGNAL frames: on every address of
//     the named interfaces (IPv6 link-local ones zoned to theirs; an IPv6
//     address that cannot be bound, still tentative say, is left out and
//     logged), or on every address (IPv6 and IPv4) when "interfaces" is
//     []. Addresses are read when the sockets are bound, at Configure.
//     When P is taken for TCP, another UDP port is tried.
//   - With a multicast group and IPv6: UDP [::]:P, which sends to the
//     group and takes replies, and UDP [::]:port with SO_REUSEADDR, joined
//     to the group on each chosen interface that can multicast and has an
//     IPv6 link-local address. An interface without either is logged once
//     and served over IPv4 broadcast only; a host without IPv6 likewise.
//
// Announcements go to the directed broadcast address of every IPv4 subnet
// of the chosen interfaces (or to the "broadcast_addresses", each of which
// must lie on one of those subnets; 255.255.255.255 is sent out of each
// chosen interface), and to the multicast group (hop limit 1) on each
// chosen interface. Interfaces and their addresses are read again before
// every announcement, so an address that changes or an interface that
// comes up is picked up.
//
// # Timings
//
// The first [Plugin.Announce] sends a JOIN; every peer that has announced
// itself answers with a unicast PING to the JOIN's source address and
// "ferry.port" (at most one reply per peer and address family every
// 250 ms). A later Announce sends a PING at once. Then a PING is broadcast
// every announce_interval, less up to 10% jitter; PINGs are never
// answered, so there is no storm of N² replies. A peer not heard from for
// peer_timeout is reported as left (checked every peer_timeout/4, at most
// every second); [Plugin.Close] broadcasts a LEAVE first, and peers report
// the device as left at once.
//
// # Events
//
// A peer is [sdk.PeerJoined] when first heard of (or heard of again after
// it left), [sdk.PeerSeen] at every announcement that refreshes it, and
// [sdk.PeerLeft] on its LEAVE or when it expires. Its record has the
// announced name, roles, transports and protocols, Source "lan", Seen and
// Expires (Seen + peer_timeout), and Addrs: "udp4:IP:P" and
// "udp6:[fe80::…%iface]:P" from the source addresses its announcements
// came from, each kept while heard from within peer_timeout. A Watch
// starts with a PeerJoined event for every known peer. A slow watcher
// never holds up the sockets: its unread events are coalesced, at most one
// per peer (see [Plugin.Watch]).
//
// # Trust
//
// Every Ferry message is signed, over the binary encoding of
// [SigningBytes], by a key that the device delegated to this plugin
// instance ([sdk.Delegation], given at Configure; the device key never
// reaches the plugin, and a restarted plugin gets a new key). A receiver
// drops, with one warning, a message whose certificate was not issued by
// the claimed "id" (a spoofed ID), is forged or expired, or whose
// signature does not verify (an altered message); [Verify] does these
// checks. It also drops replays: it remembers, per peer ID and delegated
// key, which of the last 4096 Seq values it saw, so a repeated message, or
// one too old to tell, is dropped, while a peer that restarts starts
// afresh under its new key. Announcements of the device itself are
// ignored.
//
// What a LAN neighbour learns: that a device with this peer ID and name is
// at this address and runs these plugins (announcements are public, by
// design), and, if it watches the traffic, that some sealed message of
// some size was sent from one device to another. It cannot read or alter
// the message, which the core sealed for the recipient, nor announce or
// signal under another device's ID. It can drop or delay datagrams,
// replay them to devices that never saw them (they expire), and open
// many signaling connections: those that have not delivered a frame that
// verifies are pending, at most max_pending of them and
// max_pending_per_source per IPv4 address or IPv6 /64, and one more
// closes the oldest pending one (package sdk/connlimit), so idle or slow
// connections cannot keep out a peer that sends its frame at once.
//
// Bad input never stops the plugin: malformed, oversized or forged
// datagrams and frames, replays, a SIGNAL over UDP or an announcement over
// TCP, a SIGNAL for another device, a bad frame length: each is dropped
// with a warning naming the source, the reason and the details, at most
// one per kind of input, source IP and reason every 10 s (later ones are
// counted and the count logged with the next).
//
// # Options
//
//	port                   41771           the UDP port announcements go to
//	interfaces             []              [] = every interface that is up, not
//	                                       loopback, and can broadcast or multicast
//	broadcast_addresses    []              [] = each subnet's directed broadcast
//	multicast_group        ff02::c0f7:1771 "" = IPv4 broadcast only
//	announce_interval      5s
//	peer_timeout           20s             must be longer than announce_interval
//	handshake_timeout      5s              a signaling connection's time to send its frame
//	max_pending            128             pending signaling connections; one more
//	                                       closes the oldest
//	max_pending_per_source 16              the same per IPv4 address or IPv6 /64;
//	                                       at most max_pending
//
// The default group is an IPv6 link-local group (routers never forward
// it) whose group ID, 0xc0f71771, comes from the range RFC 3307 leaves to
// applications; see [DefaultMulticastGroup].
//
// # Limits
//
// An announcement is at most [MaxDatagram] bytes and a SIGNAL message
// [MaxFrame] bytes, both refused before parsing; the payload may not
// exceed [sdk.MaxEnvelopePayload]. The table holds at most 1024 peers, a
// Receive channel's queue 256 envelopes (the oldest dropped, logged).
package lan
