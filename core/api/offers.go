package api

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// Offer is an incoming offer waiting for an answer, as GET /api/v1/offers
// lists it.
type Offer struct {
	// ID is the offer's transfer ID: accept and refuse name it (or a
	// unique prefix), and the transfer's events carry it.
	ID       string `json:"id"`
	Peer     string `json:"peer"`
	PeerName string `json:"peer_name,omitempty"`
	Files    int    `json:"files"`
	Total    int64  `json:"total"`
	// Names are the first top-level names of the files (at most 16).
	Names []string  `json:"names"`
	Since time.Time `json:"since"`
}

// Refusal reasons the offers give.
const (
	// RefusedByUser is the reason of a refusal without one.
	RefusedByUser = "declined by the user"
	// shuttingDown is the answer when the daemon stops while an offer
	// waits (the node does not send it: its context has ended).
	shuttingDown = "receiver shutting down"
)

// ProbesRefused is the answer to a connection test (`ferry doctor PEER`)
// from a peer not in transfer.auto_accept: a test reveals this device's
// addresses, and is not worth a question.
const ProbesRefused = "this device answers connection tests only from peers in its transfer.auto_accept"

// maxNames bounds the names an Offer lists.
const maxNames = 16

// Offers holds the offers waiting for an answer from the API. Its Decide
// is the node's Decider: it blocks until Answer, or until the offer is
// withdrawn (the sender gave up, the offer expired, the daemon stops).
type Offers struct {
	// Log, if set, is told of each offer that starts waiting, so that a
	// daemon's log says an answer is wanted.
	Log *slog.Logger

	mu      sync.Mutex
	pending []*pendingOffer
}

type pendingOffer struct {
	Offer
	answer chan string // buffered: the refusal reason, "" to accept
}

// NewOffers returns an empty set of offers.
func NewOffers() *Offers { return &Offers{} }

// Decide waits for the answer to a from the API.
func (o *Offers) Decide(ctx context.Context, a node.Ask) string {
	if a.Probe {
		return ProbesRefused
	}
	p := &pendingOffer{Offer: offerOf(a), answer: make(chan string, 1)}
	o.mu.Lock()
	o.pending = append(o.pending, p)
	o.mu.Unlock()
	if o.Log != nil {
		o.Log.Info("an offer waits for an answer: `ferry accept` or `ferry refuse` (or the web page)",
			"offer", p.ID, "from", who(p.PeerName, p.Peer), "files", p.Files, "bytes", p.Total, "names", strings.Join(p.Names, ", "))
	}
	defer func() {
		o.mu.Lock()
		o.pending = slices.DeleteFunc(o.pending, func(q *pendingOffer) bool { return q == p })
		o.mu.Unlock()
	}()
	select {
	case why := <-p.answer:
		return why
	case <-ctx.Done():
		return shuttingDown
	}
}

func offerOf(a node.Ask) Offer {
	of := Offer{ID: a.Offer.TransferID, Peer: a.Peer.String(), PeerName: a.PeerName, Since: time.Now().UTC(), Names: []string{}}
	if a.Summary != nil {
		of.Files, of.Total = a.Summary.Files, a.Summary.Size
		of.Names = append(of.Names, a.Summary.Top[:min(len(a.Summary.Top), maxNames)]...)
		return of
	}
	of.Files = len(a.Offer.Files)
	for _, f := range a.Offer.Files {
		of.Total += f.Size
		top, _, _ := strings.Cut(f.Name, "/")
		if len(of.Names) < maxNames && !slices.Contains(of.Names, top) {
			of.Names = append(of.Names, top)
		}
	}
	return of
}

// List returns the offers waiting, oldest first.
func (o *Offers) List() []Offer {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Offer, len(o.pending))
	for i, p := range o.pending {
		out[i] = p.Offer
	}
	return out
}

// Answer accepts (refuse "") or refuses with reason refuse the waiting
// offer whose ID is id or starts with it; id "" names the only one
// waiting. It fails with ErrNotFound when none or several match.
func (o *Offers) Answer(id, refuse string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var match []*pendingOffer
	for _, p := range o.pending {
		if strings.HasPrefix(p.ID, strings.ToLower(id)) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 0 && id == "":
		return fmt.Errorf("%w: no offer is waiting for an answer", ErrNotFound)
	case len(match) == 0:
		return fmt.Errorf("%w: no offer %q is waiting for an answer", ErrNotFound, id)
	case len(match) > 1:
		ids := make([]string, len(match))
		for i, p := range match {
			ids[i] = fmt.Sprintf("%s from %s", p.ID[:min(8, len(p.ID))], who(p.PeerName, p.Peer))
		}
		return fmt.Errorf("%w: %d offers are waiting (%s); name one", ErrNotFound, len(match), strings.Join(ids, ", "))
	}
	p := match[0]
	o.pending = slices.DeleteFunc(o.pending, func(q *pendingOffer) bool { return q == p })
	p.answer <- refuse
	return nil
}

// who names a peer by its device name, else the start of its ID.
func who(name, id string) string {
	if name != "" {
		return name
	}
	return id[:min(7, len(id))]
}
