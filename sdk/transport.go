package sdk

import "context"

// ConnRole says which side of a connection attempt a transport is on.
type ConnRole int

// The connection roles. The initiator is the side that wants the connection
// (it sent the offer); the responder answered it. For ICE they map to the
// controlling and controlled agents; for TCP the initiator dials.
const (
	ConnRoleUnknown ConnRole = iota
	Initiator
	Responder
)

// String returns "initiator", "responder" or "unknown".
func (r ConnRole) String() string {
	switch r {
	case Initiator:
		return "initiator"
	case Responder:
		return "responder"
	}
	return "unknown"
}

// Description is what one side of a transport tells the other, over
// signaling, so that the two can connect: listen addresses for TCP; ufrag,
// password and candidates for ICE. It is opaque to the core, which carries it
// sealed inside a signaling message.
type Description struct {
	// Transport is the name of the transport that made it. REQUIRED.
	Transport string
	// Data is the transport's own encoding of the description.
	Data []byte
}

// PrepareRequest asks a transport to get ready for a connection with a peer.
type PrepareRequest struct {
	// Peer is the remote device. REQUIRED.
	Peer PeerID
	// Role says whether this side initiates or responds. REQUIRED.
	Role ConnRole
}

// PrepareResponse is the result of [Transport.Prepare].
type PrepareResponse struct {
	// Session names the prepared attempt in the following Connect.
	Session string
	// Local is the description to send to the peer.
	Local Description
}

// ConnectRequest completes a prepared connection attempt.
type ConnectRequest struct {
	// Session is the value Prepare returned. REQUIRED.
	Session string
	// Remote is the peer's description, as received over signaling.
	// REQUIRED for the initiator. The responder gets it when the transport
	// announces [CapRemoteDescription]; otherwise it is empty (TCP needs
	// nothing from the dialling side to accept it).
	Remote Description
}

// Transport builds a reliable byte stream to a peer.
//
// A connection attempt is two calls on each side. Prepare returns the local
// description, which the core seals and sends to the peer over signaling;
// Connect takes the peer's description and returns the Stream once the two
// sides are connected, or an error when ctx ends first. Transports are
// symmetric: the core does not know whether a transport dials, listens or
// punches holes.
//
// A Stream counts for the core only after its TLS handshake proves the
// peer's identity, so a transport need not authenticate anything itself.
// Sessions not completed by Connect are released after a transport-chosen
// timeout. All methods are safe to call concurrently.
//
// A transport whose streams are kernel sockets should return streams that
// implement syscall.Conn (as *net.TCPConn does): the SDK then hands the
// socket's descriptor to the core, so stream bytes bypass the plugin process.
type Transport interface {
	Plugin
	// Prepare gets ready for one connection attempt with req.Peer.
	Prepare(ctx context.Context, req PrepareRequest) (PrepareResponse, error)
	// Connect completes the attempt named by req.Session.
	Connect(ctx context.Context, req ConnectRequest) (Stream, error)
}
