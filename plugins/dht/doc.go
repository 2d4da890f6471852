// Package dht is Ferry's DHT discovery and signaling plugin: a private
// Kademlia DHT (go-libp2p-kad-dht) where each device publishes a signed
// record of itself, and direct libp2p streams that carry the core's sealed
// signaling envelopes. [New] returns the plugin, which serves both roles
// ([sdk.Discovery] and [sdk.Signaling]); cmd/dht is its binary.
// [NewBootstrapNode] runs a DHT-only node for others to join through
// (`ferry dht bootstrap`), and package dhtsim runs simulated networks of
// plugin instances for tests and benchmarks.
//
// # A private network
//
// The DHT is Ferry's own, never the public Amino DHT: its protocols are
// "<prefix>/kad/1.0.0" with protocol_prefix "/ferry" by default (/ipfs is
// refused), its only record namespace is "ferry", and it stores no
// provider records. The node contacts nobody unasked but the configured
// bootstrap peers, listens only where "listen" says (loopback by default),
// speaks TCP only, and has no relay, no NAT port mapping, no AutoNAT
// service and no mDNS. A resource manager (default limits scaled to
// 256 MiB, at most 2×max_connections connections) and a connection
// manager (trimming above max_connections) bound what peers can make it
// hold. Every node is a DHT server; private and loopback addresses are
// welcome in the routing table, since such networks often live on one LAN
// or one machine.
//
// The node's libp2p identity is the delegated key of [sdk.Delegation]
// (given at Configure; the device key never reaches the plugin): the
// device's certificate thus vouches for the libp2p peer, and a restart of
// the core, which makes a new delegation, gives a new libp2p peer ID.
//
// # Start-up and states
//
// Configure binds the listen addresses, starts the host and the DHT and
// returns within milliseconds; bootstrapping runs in the background, owned
// by the plugin until Close. The node logs its state as it changes:
// "bootstrapping", "connected to N DHT peers" (again once the routing
// table is refreshed) and "no DHT peers (bootstrap … unreachable)", in
// which state it tries the bootstrap peers again with back-off (1 s
// doubling to 30 s). While it has no DHT peer, Lookup and Send fail at
// once with an error wrapping [ErrNoDHTPeers] and [sdk.ErrNotFound] that
// names the bootstrap peers; while it is still bootstrapping they wait at
// most lookup_timeout. The core retries with back-off; the plugin only
// fails clearly and quickly. Finer steps (looking a key up, connecting,
// delivery) are logged at debug level.
//
// # Records
//
// A device's record lives under the key "/ferry/<printable peer ID>" (the
// grouped, checked form of [sdk.PeerID.String]; see [Key]). It is JSON:
//
//	{"record": {"v": 1, "id": "<printable peer ID>", "seq": 1764480000123,
//	            "expires_unix_ms": 1764483600123, "name": "laptop",
//	            "p2p_addrs": ["/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…"],
//	            "addrs": ["192.0.2.7:50123"],
//	            "roles": ["discovery", "signaling"], "transports": ["tcp"],
//	            "protocols": ["ftv2a"], "owner": ""},
//	 "cert": "<base64 of the 136-byte sdk.Certificate>",
//	 "sig": "<base64 ed25519 signature>"}
//
// "sig" is the delegated key's signature of the domain string
// "ferry dht record v1\x00" followed by the bytes of "record" exactly as
// they appear, so no re-encoding is ever needed to check it. "p2p_addrs"
// are the node's libp2p multiaddrs, each ending in the libp2p peer ID of
// the certified key; "addrs" are the transport addresses the core
// announced ([sdk.PeerInfo.Addrs]), opaque here. "seq" is the signing time
// in Unix milliseconds (or one more than the last), so a restarted device
// supersedes its old records although its key is new. "owner" is reserved
// for multi-device accounts: the account key that vouches for this device
// (a future account record would list its devices); one record per device
// key stays the rule. Unknown fields are ignored, so newer writers and
// older readers coexist. Lookup reports the record as an [sdk.PeerInfo]
// with Source "dht", the announced addresses first, then the libp2p ones.
//
// # Validator rules
//
// [Validator] (registered for the "ferry" namespace) accepts a record only
// if all of these hold, and refuses it otherwise with an error wrapping
// one of the ErrRecord errors:
//
//   - at most [MaxRecordSize] (8 KiB) bytes ([ErrRecordTooLarge]);
//   - well-formed: JSON of the shape above, v ≥ 1, an ID, a certificate of
//     [sdk.CertificateSize] bytes, at most 16 entries per list and 256
//     bytes per entry, p2p_addrs that are multiaddrs ending in the
//     certified key's peer ID ([ErrRecordMalformed]);
//   - stored under the key of the device it describes, in canonical form
//     ([ErrRecordWrongKey]);
//   - signed, with a certificate issued by that device, valid now, whose
//     key verifies the signature ([ErrRecordForged]: unsigned, altered,
//     signed by another device's key or with a forged or expired
//     certificate);
//   - not expired, and expiring at most [MaxRecordTTL] (24 h, plus
//     [MaxClockSkew]) from now ([ErrRecordExpired]).
//
// Select prefers the highest seq, then the latest expiry. kad-dht v0.42.2
// stores a PUT_VALUE only when Select prefers it over the record it holds
// (records.ValueStore.Put returns ErrOldRecord otherwise), so an older
// record never replaces a newer one, and a lookup returns the freshest of
// the answers it got. Each refused record is logged once (rate-limited
// per key and reason; expired ones at debug level, since a record that
// merely aged is nobody's fault).
//
// # Publishing and lookups
//
// Announce signs the record at once (so a record that breaks a limit is
// refused there), hands it to the connected Ferry neighbours and puts it
// into the DHT (PutValue to the closest peers) in the background, as soon
// as the routing table has a peer; it is published again when the table
// is first refreshed, and signed anew (fresh seq and expiry) and published
// every record_ttl/3. Lookup asks the DHT (GetValue, stopping once four
// holders answered or the lookup ran out, at most lookup_timeout) and
// returns the freshest of that answer and what the node already holds.
//
// Neighbours: a node that dials another Ferry node (after identify)
// exchanges records with it over "<prefix>/hello/1.0.0": each side writes
// a 4-byte big-endian length and its current record (length 0 before
// Announce), and takes the other's, which must validate and be signed by
// the key of the connection it came over. Records are pushed the same way
// to every connected neighbour at each Announce and republish.
//
// Events: Watch reports a peer as [sdk.PeerJoined] when its record first
// arrives (from a neighbour's hello, a lookup, or a peer that connects to
// send an envelope), [sdk.PeerSeen] when a fresher one does, and
// [sdk.PeerLeft] when its record expired and one last lookup found no
// renewal.
//
// # Signaling
//
// Send delivers an envelope over a direct libp2p stream: it takes the
// recipient's record from what the node holds (neighbours, earlier
// lookups) or looks it up, connects to the record's p2p_addrs (5 s),
// opens "<prefix>/signal/1.0.0" and writes one frame:
//
//	length   4 bytes, big-endian: the length of the rest, at most MaxFrame
//	version  1 byte, 1
//	from     32 bytes, the sender's device ID
//	cert     136 bytes, the sender's delegation certificate
//	to       32 bytes, the recipient's device ID
//	payload  the sealed envelope, at most sdk.MaxEnvelopePayload bytes
//
// The receiver checks that cert was issued by "from", is valid, and
// certifies the very key the libp2p connection was authenticated with
// (the connection's security handshake proves the sender holds it), and
// that "to" is itself; it then queues Envelope{From, To, Payload} for
// Receive and only then writes one ack byte (0x06). Send waits 5 s for
// it. A bad frame (bad length, short, wrong version, a certificate of
// another issuer or another key, another recipient) is logged once and
// the stream reset without an ack; the node keeps serving. When the
// addresses of a cached record fail, they are dropped (with the dial
// back-off) and the record is looked up once more before Send gives up
// (seed 002's recurring task: a stale address is resolved again). A
// recipient that has no record, or is unreachable at every address, is an
// error wrapping [sdk.ErrNotFound] that names it.
//
// Why direct streams rather than a DHT mailbox (putting sealed offers into
// the DHT under the recipient's key, as Jami does):
//
//   - Latency. A mailbox costs a PutValue (a lookup, then a store at the
//     20 closest nodes) per message, and the recipient learns of it only
//     by polling with lookups. A stream costs one lookup, usually answered
//     from what the node already holds, one connection and one round trip:
//     an offer and its answer take a few milliseconds on a 20-node
//     loopback DHT (BenchmarkSignalRoundTrip), against a target of 300 ms.
//   - Delivery is confirmed. The ack comes once the envelope is queued for
//     the core, so the core's retries are driven by facts, not timeouts.
//   - Less is stored and less is shown. A mailbox stores every 64 KiB
//     payload at 20 nodes for its lifetime, needs keys per sender and
//     recipient (one value per key: concurrent offers would overwrite each
//     other) and so writes who talks to whom into the DHT for anyone to
//     read. With streams, DHT nodes see only lookups of a key; the
//     envelope goes end to end and is sealed by the core either way, so
//     neither the DHT nor any relay sees more than ciphertext.
//   - Authentication comes free: the libp2p handshake proves the delegated
//     key and the certificate ties it to the device, so "From" is
//     trustworthy without a signature per message.
//
// The price is that the recipient's node must be reachable at an address
// in its record; a device behind NAT needs a reachable listen address or,
// later, a configured relay (which, like the DHT, would see only
// ciphertext).
//
// # Options
//
//	listen           ["/ip4/127.0.0.1/tcp/0"]  libp2p TCP multiaddrs; production
//	                                           e.g. /ip4/0.0.0.0/tcp/4001
//	bootstrap        []                        multiaddrs ending in /p2p/<id>; a
//	                                           comma-separated string also works
//	protocol_prefix  /ferry                    never /ipfs
//	record_ttl       1h                        1s to 24h; republished every third
//	lookup_timeout   5s
//	max_connections  256
//	bootstrap_only   false                     serve the DHT only: no delegation
//	                                           needed, the libp2p key is kept in
//	                                           the state folder; no Announce/Send
//
// Configure refuses unknown keys and, unless bootstrap_only, a request
// without a delegation, naming what is wrong.
//
// # Limits
//
// A record is at most [MaxRecordSize] bytes, a signaling frame [MaxFrame];
// both are refused by their length before more is read. At most 64
// inbound hello and signal streams are served at once, 16 hellos started;
// the peer table holds 4096 peers and a Receive queue 256 envelopes (the
// oldest dropped, logged).
package dht
