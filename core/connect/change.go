package connect

import "github.com/ferry-p2p/ferry/sdk"

// Change is one step of a connection, reported to an observer: the peer,
// the state entered and, once connected, the transport that won and why.
type Change struct {
	Peer  sdk.PeerID
	State State
	// Transport is the winning transport's name (Connected).
	Transport string
	// Why says how the transport won (Connected) or what failed (Failed).
	Why string
	// Route names the way the winning stream goes, when its transport
	// says (Connected): "direct host", "relay via turn:HOST:PORT".
	Route string
}

// Observer receives a connection's changes. It must not block.
type Observer func(Change)

func (o Observer) report(c Change) {
	if o != nil {
		o(c)
	}
}
