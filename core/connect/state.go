package connect

// State is where a connection to a peer is, after the Tox session states
// of seed 002 (architecture §4). Each change is reported as a [Change].
type State int

// The states, in the order a connection goes through them. The zero value
// is Unknown, so a State that was never set is never mistaken for one.
const (
	// Unknown: no state was set.
	Unknown State = iota
	// Discovering: looking the peer up (is it on the network at all?).
	Discovering
	// Resolving: getting fresh addresses and capabilities for the peer.
	Resolving
	// Signaling: the sealed offer is sent; waiting for the answer.
	Signaling
	// Connecting: the transports are building streams to the peer.
	Connecting
	// Securing: TLS 1.3 handshakes are checking both peer IDs.
	Securing
	// Connected: one secured stream won; the protocol talks on it.
	Connected
	// Failed: the attempt ended with an error.
	Failed
)

var stateNames = [...]string{"unknown", "discovering", "resolving", "signaling", "connecting", "securing", "connected", "failed"}

// String returns the state's lower-case name.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}
