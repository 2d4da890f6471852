// Package lan is Ferry's local-network discovery and signaling plugin,
// built on the Sent protocol (shared/seeds/003): JOIN broadcast at start,
// PING unicast in reply to a JOIN, LEAVE broadcast on a clean exit, all as
// JSON UDP datagrams. This file set is the message layer: the wire format,
// its checks and its signatures. Sockets come later.
//
// # Announcements
//
// An announcement keeps the seed's shape and adds a "ferry" object:
//
//	{"type": "JOIN",
//	 "user": {"name": "Bob Dole", "ip": "192.0.2.13"},
//	 "ferry": {"v": 1, "id": "<printable peer ID>", "port": 41771,
//	           "roles": ["discovery", "signaling"], "transports": ["tcp"],
//	           "protocols": ["ftv2a"], "seq": 7, "sig": "<base64>"}}
//
// Unknown fields are ignored at every level, so older and newer peers
// coexist; a newer "v" is accepted. A message without "ferry" is from a
// plain Sent peer: it decodes (its user.ip is kept as text, since the
// seed's own examples are not valid addresses), is marked by
// [Message.IsFerry], cannot be verified and cannot signal.
//
// # Signaling
//
// Signaling travels in datagrams of Ferry's own type:
//
//	{"type": "SIGNAL", "ferry": {...sender header...},
//	 "to": "<recipient peer ID>", "payload": "<base64 sealed bytes>"}
//
// The payload is an [sdk.Envelope] payload, sealed by the core for the
// recipient's key; this layer only carries it. The seed's consent step
// lives inside it: the core puts the seed's ASK (sender, receivers, files
// with name, size, media type, sha256; time), ACCEPT and REFUSE (the
// seed's prose also calls it DENY; Ferry uses REFUSE), plus the transport
// descriptions needed to connect, in the sealed plaintext. An ASK naming
// several receivers is sent as one SIGNAL per receiver, each sealed for
// that receiver, and each receiver answers for itself with its own SIGNAL
// carrying ACCEPT or REFUSE. A LAN neighbour thus learns that two devices
// talk, never what they say. Plain ASK, ACCEPT and REFUSE datagrams of
// unmodified Sent clients are not accepted: their "type" is unknown here.
//
// # Authenticity
//
// Every Ferry message is signed with the sender's ed25519 device key,
// which its peer ID names, over the binary encoding of [SigningBytes]. The
// core signs through [Sign]'s function argument (the plugin never holds the
// key); [Verify] rejects a message whose ID was spoofed or whose signed
// fields were changed. Seq lets receivers drop replays.
//
// # Limits
//
// A datagram is at most [MaxDatagram] bytes, refused before parsing. The
// payload may not exceed [sdk.MaxEnvelopePayload], but a single datagram
// holds only about 6 KiB of it once base64 and the header are counted.
package lan
