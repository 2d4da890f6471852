package api

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// Backend is what the API serves: the running daemon.
type Backend interface {
	// Identity is this device.
	Identity() Identity
	// Peers are the peers discovery sees now.
	Peers() []sdk.PeerInfo
	// Send starts sending req.Paths to req.To in the background and
	// returns what it started, once the peer is found and the transfer
	// recorded in the outbox.
	Send(ctx context.Context, req SendRequest) (Sent, error)
	// Transfers lists the unfinished transfers both ways, as the outbox
	// and the inbox record them, with State set.
	Transfers() ([]Transfer, error)
	// Pause stops a running outgoing transfer and keeps it from being
	// resumed by itself until Resume; Resume takes it up again; Cancel
	// stops it and drops it from the outbox. id is a transfer ID or a
	// unique prefix of one.
	Pause(id string) error
	Resume(id string) error
	Cancel(id string) error
	// Reload loads the config again and applies it; an error means it was
	// refused and the old config stays in force.
	Reload(ctx context.Context) (string, error)
	// Plugins lists the plugin instances, as `ferry plugins list --json`
	// prints them.
	Plugins(ctx context.Context) any
	// Subscribe adds fn to the functions every node event goes to (and
	// the daemon's own [EventEnded]); remove takes it off. fn must not
	// block.
	Subscribe(fn func(node.Event)) (remove func())
}

// EventEnded is the kind of the event the daemon adds to the node's: a
// run of an outgoing transfer stopped. Code is "" when every file was
// verified, else the error code (node.ErrorCode) or "paused"; Message
// says why.
const EventEnded = "ended"

// CodePaused is the code of the EventEnded of a run stopped by Pause.
const CodePaused = "paused"

// Errors a Backend wraps to choose the HTTP status.
var (
	ErrNotFound   = errors.New("not found")             // 404
	ErrBadRequest = errors.New("bad request")           // 400
	ErrConflict   = errors.New("not in a fit state")    // 409
	ErrRefused    = errors.New("config reload refused") // 409
)

// Identity is this device, as GET /api/v1/identity returns it.
type Identity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SendRequest is the body of POST /api/v1/send.
type SendRequest struct {
	// Paths are the files and folders to send, absolute (they are read
	// by the daemon).
	Paths []string `json:"paths"`
	// To is the receiver: peer ID, unique ID prefix or device name.
	To string `json:"to"`
	// Protocol, if set, is the only protocol offered.
	Protocol string `json:"protocol,omitempty"`
	// FindTimeoutMS is how long to look for the peer (default 10 s) and
	// RetryForMS how long to keep resuming after a broken connection
	// (default 1 min).
	FindTimeoutMS int64 `json:"find_timeout_ms,omitempty"`
	RetryForMS    int64 `json:"retry_for_ms,omitempty"`
	// Upload, set by the server for a browser upload, is the folder
	// holding the uploaded copy, removed once the transfer leaves the
	// outbox.
	Upload string `json:"-"`
}

// FindTimeout is the request's find timeout, defaulted.
func (r SendRequest) FindTimeout() time.Duration {
	if r.FindTimeoutMS <= 0 {
		return 10 * time.Second
	}
	return time.Duration(r.FindTimeoutMS) * time.Millisecond
}

// RetryFor is the request's retry window, defaulted.
func (r SendRequest) RetryFor() time.Duration {
	if r.RetryForMS <= 0 {
		return time.Minute
	}
	return time.Duration(r.RetryForMS) * time.Millisecond
}

// Sent is what POST /api/v1/send answers: the transfer started.
type Sent struct {
	Transfer string `json:"transfer"`
	Peer     string `json:"peer"`
	PeerName string `json:"peer_name,omitempty"`
	Files    int    `json:"files"`
	Total    int64  `json:"total"`
	// Resumed says an unfinished transfer of the same files to the same
	// peer was taken up; Done is what its receiver had confirmed.
	Resumed bool  `json:"resumed,omitempty"`
	Done    int64 `json:"done,omitempty"`
	// Skipped lists the paths not sent, with why.
	Skipped []string `json:"skipped,omitempty"`
}

// Transfer is one transfer, as GET /api/v1/transfers and `ferry status
// --json` list it.
type Transfer struct {
	Direction string    `json:"direction"` // "send" or "receive"
	Transfer  string    `json:"transfer"`
	Peer      string    `json:"peer"`
	PeerName  string    `json:"peer_name,omitempty"`
	Files     int       `json:"files"`
	Done      int64     `json:"done"`
	Total     int64     `json:"total"`
	Percent   float64   `json:"percent"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// The daemon's: State is running, paused, waiting (for its peer),
	// done or failed; Rate (bytes/s) and ETASeconds while bytes move;
	// Transport and Route of its connection ("direct host", "relay via
	// turn:HOST:PORT").
	State      string  `json:"state,omitempty"`
	Rate       float64 `json:"rate,omitempty"`
	ETASeconds float64 `json:"eta_seconds,omitempty"`
	Transport  string  `json:"transport,omitempty"`
	Route      string  `json:"route,omitempty"`
	// Account is the account (acct-…) a send to an account reached this
	// device through; one transfer per device.
	Account string `json:"account,omitempty"`
}

// Transfer states.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateWaiting = "waiting"
	StateDone    = "done"
	StateFailed  = "failed"
)

// SetPercent sets t.Percent from Done and Total (100 for an empty one).
func (t *Transfer) SetPercent() {
	t.Percent = 100
	if t.Total > 0 {
		t.Percent = float64(t.Done) * 100 / float64(t.Total)
	}
}

// Peer is a peer as GET /api/v1/peers and `ferry peers --json` list it.
type Peer struct {
	ID         sdk.PeerID `json:"id"`
	Name       string     `json:"name"`
	Source     string     `json:"source"`
	Addrs      []string   `json:"addrs"`
	Transports []string   `json:"transports"`
	Protocols  []string   `json:"protocols"`
	Roles      []string   `json:"roles"`
	Seen       time.Time  `json:"seen"`
	Expires    *time.Time `json:"expires,omitempty"`
	// Account is the account (acct-…) whose valid certificate the device
	// showed, "" for a device of no account.
	Account string `json:"account,omitempty"`
}

// AccountNamer is implemented by a [Backend] that knows the account each
// peer device belongs to (its checked account certificate).
type AccountNamer interface {
	// AccountOf returns the printable account ID of device id, or "".
	AccountOf(id sdk.PeerID) string
}

// PeerOf is p as the API shows it; account is the device's account ID,
// "" for none.
func PeerOf(p sdk.PeerInfo, account string) Peer {
	v := Peer{ID: p.ID, Name: p.Name, Source: p.Source, Addrs: p.Addrs, Transports: p.Transports, Protocols: p.Protocols, Roles: p.Roles, Seen: p.Seen, Account: account}
	if !p.Expires.IsZero() {
		v.Expires = &p.Expires
	}
	return v
}
