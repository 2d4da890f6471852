package sdk

import "context"

// MaxEnvelopePayload is the largest signaling payload a plugin must carry.
// Signaling is for small messages: connection offers and answers.
const MaxEnvelopePayload = 64 << 10

// Envelope is one signaling message. Its payload is sealed by the core for
// the recipient's key: a signaling plugin sees who talks to whom, never what.
type Envelope struct {
	// From is the sender's peer ID. A plugin fills it on receive from what
	// the network says; the core trusts only the sealed content.
	From PeerID
	// To is the recipient's peer ID. REQUIRED for Send.
	To PeerID
	// Payload is the sealed message, at most [MaxEnvelopePayload] bytes.
	Payload []byte
	// Instance, on Send, is the instance of To the message is for
	// ([PeerInfo.Instance]), or "" for any. A plugin that knows where
	// that instance is (two processes announcing one identity) delivers
	// there; one that does not delivers as usual.
	Instance string
}

// Signaling delivers small sealed messages to a peer that has no transport
// yet. Delivery is best effort: the core retries and times out. Receive
// returns a channel of messages addressed to this device, closed when ctx
// ends or the plugin closes. All methods are safe to call concurrently.
type Signaling interface {
	Plugin
	// Send delivers env to env.To, or fails with an error that wraps
	// [ErrNotFound] when the recipient cannot be reached at all.
	Send(ctx context.Context, env Envelope) error
	// Receive returns a channel of incoming envelopes until ctx ends.
	Receive(ctx context.Context) (<-chan Envelope, error)
}
