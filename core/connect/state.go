package connect

// State is where a connection to a peer is, after the Tox session states
// of seed 002 (architecture §4). The CLI shows it while a transfer waits.
type State int

// The states, in the order a connection goes through them.
const (
	// Discovering: looking the peer up (is it on the network at all?).
	Discovering State = iota
	// Resolving: getting fresh addresses and capabilities for the peer.
	Resolving
	// Signaling: the sealed offer is sent; waiting for the answer.
	Signaling
	// Connecting: the transport is building a stream to the peer.
	Connecting
	// Securing: the TLS 1.3 handshake is checking both peer IDs.
	Securing
	// Connected: the protocol is talking on the secured stream.
	Connected
	// Failed: the attempt ended with an error.
	Failed
)

var stateNames = [...]string{"discovering", "resolving", "signaling", "connecting", "securing", "connected", "failed"}

// String returns the state's lower-case name.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}
