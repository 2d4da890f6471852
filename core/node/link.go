package node

import (
	"context"

	"github.com/ferry-p2p/ferry/sdk"
)

// linkMagic starts the plaintext of a sealed signaling message of account
// linking (core/account's link messages), told apart from consent
// messages (JSON objects) by its first byte.
var linkMagic = []byte("ferry-link-v1\n")

// SendLink sends one account-linking message to peer, sealed to it and
// signed by this device like every signaling message, over the first
// signaling plugin that takes it (the LAN, or the DHT).
func (n *Node) SendLink(ctx context.Context, peer sdk.PeerID, payload []byte) error {
	return n.sendSealed(ctx, peer, append(append([]byte(nil), linkMagic...), payload...), "link message", "link message")
}

// HandleLink routes the account-linking messages this node receives to
// fn (called from the receive loop: it must not block long) until the
// returned function is called. One handler at a time; messages with none
// are dropped.
func (n *Node) HandleLink(fn func(from sdk.PeerID, payload []byte)) (stop func()) {
	n.mu.Lock()
	n.link = fn
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		n.link = nil
		n.mu.Unlock()
	}
}

func (n *Node) onLink(from sdk.PeerID, payload []byte) {
	n.mu.Lock()
	fn := n.link
	n.mu.Unlock()
	if fn == nil {
		n.log.Debug("dropped a link message: no link in progress here", "from", from)
		return
	}
	fn(from, payload)
}
