package node

import "time"

// Event kinds reported to [Options.Events].
const (
	EventPeer     = "peer"     // a peer joined, was seen or left (State says which)
	EventState    = "state"    // a connection changed state (State)
	EventOffer    = "offer"    // an ASK arrived (receiver)
	EventAccepted = "accepted" // the transfer was accepted
	EventRefused  = "refused"  // the transfer was refused (Message: reason)
	EventFile     = "file"     // a file started (Offset > 0: resumed there)
	EventProgress = "progress" // Bytes of Total done for File
	EventVerified = "verified" // a file is complete and its hash checked (Path on the receiver)
	EventDone     = "done"     // the transfer finished: every file verified
	EventRetry    = "retry"    // the connection broke; the transfer resumes (Message: why)
	EventError    = "error"    // the transfer failed (Message)
)

// Event is one thing that happened, for progress output and --json.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"event"`
	Peer     string    `json:"peer,omitempty"`
	PeerName string    `json:"peer_name,omitempty"`
	Transfer string    `json:"transfer,omitempty"`
	State    string    `json:"state,omitempty"`
	File     string    `json:"file,omitempty"`
	Index    int       `json:"index,omitempty"`
	Files    int       `json:"files,omitempty"`
	Path     string    `json:"path,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Total    int64     `json:"total,omitempty"`
	Offset   int64     `json:"offset,omitempty"`
	Message  string    `json:"message,omitempty"`
}

func (n *Node) emit(e Event) {
	if n.opts.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	n.opts.Events(e)
}
