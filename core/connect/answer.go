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

// Answer connects to the sender of ask over protocol. It prepares the
// transports ask shares with this device, in this device's priority order
// (a version-1 sender gets only the first), and calls accept with their
// descriptions: accept sends the ACCEPT. Answer then waits for the
// sender's streams and returns the one the sender nominates, once its TLS
// handshake has proven the peer to be from.
func (a *Answerer) Answer(ctx context.Context, from sdk.PeerID, ask *Message, protocol string, accept func(context.Context, []sdk.Description) error) (*Result, error) {
	pol := a.Policy.withDefaults()
	res, err := a.answer(ctx, pol, from, ask, protocol, accept)
	if err != nil {
		a.Observe.report(Change{Peer: from, State: Failed, Why: err.Error()})
		return nil, err
	}
	a.Observe.report(Change{Peer: from, State: Connected, Transport: res.Transport, Why: res.Why})
	return res, nil
}

func (a *Answerer) answer(ctx context.Context, pol Policy, from sdk.PeerID, ask *Message, protocol string, accept func(context.Context, []sdk.Description) error) (*Result, error) {
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
		descs []sdk.Description
		errs  legErrors
	)
	for _, t := range shared {
		p, err := t.Transport.Prepare(cctx, sdk.PrepareRequest{Peer: from, Role: sdk.Responder})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: prepare: %w", t.Name, err))
			continue
		}
		preps = append(preps, prepared{t, p.Session})
		descs = append(descs, p.Local)
	}
	if len(preps) == 0 {
		return nil, fmt.Errorf("prepare: %w", errs)
	}
	if err := accept(cctx, descs); err != nil {
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
			st, err := p.t.Transport.Connect(ctx, sdk.ConnectRequest{Session: p.session})
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
	return &Result{Conn: conn, Transport: w.Name, Why: "nominated by the sender; " + why}, nil
}
