package sdk

import "net"

// Stream is a reliable, ordered, full-duplex byte stream to a peer.
//
// It is a [net.Conn] (with working deadlines) that can also be half-closed:
// CloseWrite tells the peer that no more data follows, while reading goes on
// until the peer closes its side. Every Stream returned by a [Transport] must
// pass the stream checks of sdk/plugintest.
type Stream interface {
	net.Conn
	// CloseWrite shuts down the writing side; the peer reads io.EOF after the
	// data already written.
	CloseWrite() error
}

// RoutedStream is a [Stream] that can say which way its bytes go, in a
// few words for the user: "direct host", "direct srflx", "relay via
// turn:203.0.113.5:3478". A transport whose streams may take several
// routes (ICE) implements it; the core shows the route when the
// connection is made (the "connected" state event's route) and in
// `ferry status`.
type RoutedStream interface {
	Stream
	// Route names the way the stream's bytes go.
	Route() string
}

// TracedStream is a [Stream] that can tell how it was made, a line a
// step: for ICE, each candidate pair checked and its outcome ("host
// 192.0.2.2:40000 -> srflx 198.51.100.7:51234: succeeded, nominated").
// `ferry doctor PEER` prints the trace of the stream that won. A
// transport whose connections take several tries implements it.
type TracedStream interface {
	Stream
	// Trace returns the steps, oldest first.
	Trace() []string
}
