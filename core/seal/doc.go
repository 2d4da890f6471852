// Package seal encrypts small messages from one device to another, for the
// signaling plugins to carry: a plugin, a LAN neighbour or a DHT node sees
// that a message went to a peer, never what it says or who sent it.
//
// A sealed message is
//
//	version (1 byte, 1) | ephemeral X25519 public key (32) | ciphertext
//
// The key is HKDF-SHA256 of X25519(ephemeral, recipient), where the
// recipient's X25519 key is its ed25519 peer ID mapped to the Montgomery
// curve (as libsodium's crypto_sign_ed25519_pk_to_curve25519 does). The
// ciphertext is ChaCha20-Poly1305 with a zero nonce (the key is never
// reused: a fresh ephemeral key per message) over
//
//	sender peer ID (32) | ed25519 signature (64) | message
//
// and the signature, by the sender's device key, covers a domain string, the
// recipient's ID, the ephemeral key and the message. So only the recipient
// can read it, and it proves who sent it and to whom. Replays are the
// caller's to refuse (the messages carry IDs and times).
package seal
