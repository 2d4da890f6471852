// Package secure runs TLS 1.3 over any [sdk.Stream], with both sides'
// certificates pinned to their peer IDs.
//
// Each side presents a self-signed certificate for its device key (see
// package identity). No certificate authority, name or validity period is
// checked: a peer is who its key says it is. The checks, on both sides, are
// that the peer presents exactly one certificate, that it is an ed25519
// certificate with a valid self-signature, that the peer proves in the
// handshake that it holds the key, and that the peer ID derived from the key
// is not our own. The client also checks that the ID is the one it expected;
// the server asks the caller's accept function.
//
// As always in TLS 1.3, the client's handshake is over before the server has
// checked the client: a client the server refuses sees the server's alert
// as an error on its first Read.
//
// The protocol ID that will run over the secured stream is carried in TLS
// ALPN: the client offers a list, the server picks the first of its own
// list that the client offered.
//
// Session resumption is off, so every connection proves both identities
// afresh.
package secure
