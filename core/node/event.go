package node

import (
	"maps"
	"slices"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
)

// Event kinds reported to [Options.Events].
const (
	EventPeer      = "peer"      // a peer joined, was seen or left (State says which)
	EventState     = "state"     // a connection changed state (State; once connected, Transport, Route and why in Message)
	EventOffer     = "offer"     // an ASK arrived (receiver)
	EventAccepted  = "accepted"  // the transfer was accepted
	EventRefused   = "refused"   // the transfer was refused (Message: reason)
	EventWithdrawn = "withdrawn" // the offer ended before it was answered (receiver; Message: why)
	EventFile      = "file"      // a file started (Offset > 0: resumed there)
	EventProgress  = "progress"  // Bytes of Total done for File
	EventVerified  = "verified"  // a file is complete and its hash checked (Path on the receiver)
	EventDone      = "done"      // the transfer finished: every file verified
	EventRetry     = "retry"     // the connection broke; the transfer resumes (Message: why)
	EventError     = "error"     // the transfer failed (Message; Code, one of the Code constants)
)

// Event is one thing that happened, for progress output and --json.
type Event struct {
	Time      time.Time `json:"time"`
	Kind      string    `json:"event"`
	Peer      string    `json:"peer,omitempty"`
	PeerName  string    `json:"peer_name,omitempty"`
	Transfer  string    `json:"transfer,omitempty"`
	State     string    `json:"state,omitempty"`
	Transport string    `json:"transport,omitempty"`
	Route     string    `json:"route,omitempty"`
	File      string    `json:"file,omitempty"`
	Index     int       `json:"index,omitempty"`
	Files     int       `json:"files,omitempty"`
	Path      string    `json:"path,omitempty"`
	Bytes     int64     `json:"bytes,omitempty"`
	Total     int64     `json:"total,omitempty"`
	Offset    int64     `json:"offset,omitempty"`
	Message   string    `json:"message,omitempty"`
	Code      string    `json:"code,omitempty"`
	// A retry's: the attempt it makes next (the first send is attempt
	// 1), how long it waits before it, and when the sender gives up.
	Attempt int       `json:"attempt,omitempty"`
	WaitMS  int64     `json:"wait_ms,omitempty"`
	Until   time.Time `json:"until,omitzero"`
	// Account is, on the sending side of a send to an account, the
	// account (acct-...) through which the transfer reached this device;
	// the CLI sets it, the node leaves it empty.
	Account string `json:"account,omitempty"`
}

// Subscribe adds fn to the functions every event goes to, besides
// [Options.Events], and returns the function that removes it. fn is
// called from several goroutines and must not block.
func (n *Node) Subscribe(fn func(Event)) (remove func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.nextSub
	n.nextSub++
	n.subs[id] = fn
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.subs, id)
	}
}

func (n *Node) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if n.opts.Events != nil {
		n.opts.Events(e)
	}
	n.mu.Lock()
	subs := slices.Collect(maps.Values(n.subs))
	n.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

// observer turns a connection's changes into state events of the
// transfer base names.
func (n *Node) observer(base Event) connect.Observer {
	return func(c connect.Change) {
		e := base
		e.Kind, e.State, e.Transport, e.Route, e.Message = EventState, c.State.String(), c.Transport, c.Route, c.Why
		n.emit(e)
	}
}
