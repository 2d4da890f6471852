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
