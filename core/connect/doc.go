// Package connect makes a connection to a peer: the consent messages of
// seed 003 (ASK, ACCEPT, REFUSE, sealed by core/seal and carried by a
// signaling plugin) and the walk through the connection states of seed 002:
//
//	Discovering -> Resolving -> Signaling -> Connecting -> Securing -> Connected
//
// [Dialer] is the sending side. It waits for discovery to see the peer,
// refreshes its entry, sends the ASK and waits for the answer, then races
// the transports the receiver's ACCEPT offers: grouped by this device's
// priorities (lower is preferred), equal priorities started [Policy.Stagger]
// apart, the next priority after [Policy.Fallback] or as soon as every
// better one failed (Syncthing's priority buckets, libp2p's dial ranker).
// Each stream goes through TLS 1.3 (core/secure) pinned to the peer's ID; a
// stream whose peer proves another identity never wins. The first secured
// stream is nominated: the sender writes one byte on it and the receiver
// confirms it, so both sides settle on the same stream although several may
// secure at once (ICE's nomination by the controlling agent). Losers are
// closed, and nothing a race started outlives it.
//
// [Answerer] is the receiving side: it prepares every transport the ASK
// shares with this device, in its own priority order, lets the caller send
// the ACCEPT carrying their descriptions, and waits for the stream the
// sender nominates.
//
// Each state has a bound and a staleness rule ([Policy]); each change is
// reported as a [Change], and the last one names the transport that won
// and why. An ASK carries the transfer (ID, files with name, size, media
// type and SHA-256, time) and the transports and protocols the sender can
// use. Sizes are strings, as in the seed. A version-1 peer (no candidates,
// no nomination) gets the old single-transport exchange.
package connect
