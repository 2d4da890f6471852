package connect

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
)

// ErrNoCommon is returned by [Answerer.Answer] when the ASK offers no
// transport this device has.
var ErrNoCommon = errors.New("no common transport")

// Answerer makes the receiving side's connection: it prepares every
// transport the ASK shares with this device, lets the caller send the
// ACCEPT that carries their descriptions, and races the connections. It is
// safe for concurrent use.
type Answerer struct {
	// Identity is this device; its key signs the TLS certificate.
	Identity *identity.Identity
	// Transports are this device's transports, with their priorities.
	Transports Transports
	// Policy bounds each state.
	Policy Policy
	// Observe, if set, receives each change.
	Observe Observer
}

// AnswerRequest is what [Answerer.Answer] needs.
type AnswerRequest struct {
	// From is the sender, whose ASK this answers. REQUIRED.
	From sdk.PeerID
	// Ask is the sender's ASK. REQUIRED.
	Ask *Message
	// Protocol is the protocol ID chosen, the TLS ALPN value. REQUIRED.
	Protocol string
	// Accept sends the ACCEPT carrying cands (see
	// [Message.SetCandidateList]). REQUIRED.
	Accept func(ctx context.Context, cands []Candidate) error
	// Candidates delivers the sender's CANDIDATES messages for this
	// transfer: its descriptions of the transports whose receiving side
	// needs them ([Transport.NeedsRemote]). It may be nil when none does.
	Candidates <-chan *Message
}

// Answer connects to the sender of req.Ask over req.Protocol. It prepares
// the transports the ASK shares with this device, in this device's
// priority order (a version-1 sender gets only the first), and calls
// req.Accept with their descriptions, asking for the sender's own
// description of each transport that needs it. Answer then waits for the
// sender's streams and returns the one the sender nominates, once its TLS
// handshake has proven the peer to be req.From.
func (a *Answerer) Answer(ctx context.Context, req AnswerRequest) (*Result, error) {
	pol := a.Policy.withDefaults()
	res, err := a.answer(ctx, pol, req)
	if err != nil {
		a.Observe.report(Change{Peer: req.From, State: Failed, Why: err.Error()})
		return nil, err
	}
	a.Observe.report(Change{Peer: req.From, State: Connected, Transport: res.Transport, Why: res.Why, Route: res.Route})
	return res, nil
}

func (a *Answerer) answer(ctx context.Context, pol Policy, req AnswerRequest) (*Result, error) {
	from, ask, protocol := req.From, req.Ask, req.Protocol
	shared := a.Transports.Shared(ask.Ferry.Transports)
	if len(shared) == 0 {
		return nil, fmt.Errorf("offered %v, have %v: %w", ask.Ferry.Transports, a.Transports.Names(), ErrNoCommon)
	}
	legacy := ask.Ferry.V < 2
	if legacy {
		shared = shared[:1]
	}
	cctx, cancel := context.WithTimeout(ctx, pol.Connect)
	defer cancel()
	a.Observe.report(Change{Peer: from, State: Connecting})

	type prepared struct {
		t       Transport
		session string
	}
	var (
		preps []prepared
		cands []Candidate
		errs  legErrors
	)
	for _, t := range shared {
		p, err := t.Transport.Prepare(cctx, sdk.PrepareRequest{Peer: from, Role: sdk.Responder})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: prepare: %w", t.Name, err))
			continue
		}
		preps = append(preps, prepared{t, p.Session})
		c := NewCandidate(p.Local)
		c.Remote = t.NeedsRemote && !legacy
		cands = append(cands, c)
	}
	if len(preps) == 0 {
		return nil, fmt.Errorf("prepare: %w", errs)
	}
	// The sender's descriptions arrive after the ACCEPT; collect them from
	// now on, for the legs that need one.
	remotes := newRemoteSet()
	var wg sync.WaitGroup
	defer wg.Wait()
	rctx, stopRemotes := context.WithCancel(cctx)
	defer stopRemotes()
	if req.Candidates != nil {
		wg.Go(func() { remotes.collect(rctx, req.Candidates, ask.Ferry.Attempt) })
	}
	if err := req.Accept(cctx, cands); err != nil {
		return nil, err
	}

	only := func(p sdk.PeerID) error {
		if p != from {
			return &secure.PeerMismatchError{Expected: from, Actual: p}
		}
		return nil
	}
	var (
		cl      claim
		secured sync.Once
		legs    []leg
	)
	for _, p := range preps {
		legs = append(legs, leg{t: p.t, run: func(ctx context.Context) (*secure.Conn, error) {
			var remote sdk.Description
			if p.t.NeedsRemote && !legacy {
				var err error
				if remote, err = remotes.wait(ctx, p.t.Name); err != nil {
					return nil, err
				}
			}
			st, err := p.t.Transport.Connect(ctx, sdk.ConnectRequest{Session: p.session, Remote: remote})
			if err != nil {
				return nil, fmt.Errorf("wait for %s: %w", from.Short(), err)
			}
			secured.Do(func() { a.Observe.report(Change{Peer: from, State: Securing}) })
			sctx, cancel := context.WithTimeout(ctx, pol.Secure)
			defer cancel()
			c, err := secure.Server(sctx, st, a.Identity, only, []string{protocol})
			if err != nil {
				return nil, err
			}
			if legacy {
				return c, nil
			}
			if err := cl.confirm(ctx, c, pol.Secure); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		}})
	}
	// The sender decides; every prepared transport waits at once.
	conn, w, why, err := race(cctx, [][]leg{legs}, 0, pol.Connect)
	if err != nil {
		if len(errs) > 0 {
			return nil, fmt.Errorf("%w; %w", err, errs)
		}
		return nil, err
	}
	if len(errs) > 0 {
		why += ", after " + errs.Error()
	}
	return &Result{Conn: conn, Transport: w.Name, Why: "nominated by the sender; " + why, Route: conn.Route()}, nil
}

// remoteSet holds the sender's descriptions of this receiver's transports,
// from its CANDIDATES messages, for the legs that wait for them.
type remoteSet struct {
	mu      sync.Mutex
	got     map[string]sdk.Description
	changed chan struct{}
}

func newRemoteSet() *remoteSet {
	return &remoteSet{got: map[string]sdk.Description{}, changed: make(chan struct{})}
}

// collect stores the descriptions of CANDIDATES messages for attempt (a
// message for another attempt is stale) until ctx ends.
func (r *remoteSet) collect(ctx context.Context, in <-chan *Message, attempt int) {
	for {
		select {
		case m := <-in:
			if m.Ferry.Attempt != attempt {
				continue
			}
			r.mu.Lock()
			for _, c := range m.Ferry.Candidates {
				r.got[c.Transport] = c.Decode()
			}
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
		case <-ctx.Done():
			return
		}
	}
}

// wait returns the sender's description of transport name once it has
// arrived.
func (r *remoteSet) wait(ctx context.Context, name string) (sdk.Description, error) {
	for {
		r.mu.Lock()
		d, ok := r.got[name]
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return d, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return sdk.Description{}, fmt.Errorf("the sender's description of %s never arrived: %w", name, ctx.Err())
		}
	}
}
