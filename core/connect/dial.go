package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
)

// ErrNoAnswer is returned by [Dialer.Dial] when the peer sends neither
// ACCEPT nor REFUSE within [Policy.Answer].
var ErrNoAnswer = errors.New("no answer")

// ErrElsewhere is returned by [Dialer.Dial] when the answer came from
// another instance of the peer's identity than the one holding the
// transfer (a REFUSE marked Elsewhere): trying again may reach the holder.
var ErrElsewhere = errors.New("answered by another instance of the peer")

// ErrBadAnswer is returned by [Dialer.Dial] when the peer's ACCEPT names
// no transport or protocol that was offered.
var ErrBadAnswer = errors.New("unusable answer")

// Directory is what a connection asks about peers: core/node's peer table
// over its discovery plugins.
type Directory interface {
	// Wait returns the peer's entry once discovery has it, waiting up to
	// timeout (and looking it up meanwhile where discovery can).
	Wait(ctx context.Context, id sdk.PeerID, timeout time.Duration) (sdk.PeerInfo, error)
	// Lookup asks discovery for a fresh entry.
	Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error)
}

// Messenger carries sealed consent messages over signaling.
type Messenger interface {
	// Send seals m for peer and hands it to signaling.
	Send(ctx context.Context, peer sdk.PeerID, m *Message) error
	// Expect registers for the answers to transfer id, until stop is
	// called. Answers arrive checked: sealed by the peer they name.
	Expect(id string) (answers <-chan *Message, stop func())
}

// Dialer makes the sending side's connection: it walks Discovering,
// Resolving, Signaling, Connecting, Securing and Connected for one
// attempt. It is safe for concurrent use.
type Dialer struct {
	// Identity is this device; its key signs the TLS certificate.
	Identity *identity.Identity
	// Transports are this device's transports, with their priorities.
	Transports Transports
	// Directory finds peers; Messenger carries the ASK and its answer.
	Directory Directory
	Messenger Messenger
	// Policy bounds each state.
	Policy Policy
	// Observe, if set, receives each change.
	Observe Observer
	// Answered, if set, is called with the peer's ACCEPT or REFUSE as soon
	// as it arrives, before any transport is tried.
	Answered func(*Message)
}

// Result is a connection that Dial or Answer made.
type Result struct {
	// Peer is the peer's discovery entry (Dial).
	Peer sdk.PeerInfo
	// Answer is the peer's ACCEPT or REFUSE (Dial).
	Answer *Message
	// Conn is the secured stream; the caller closes it.
	Conn *secure.Conn
	// Transport is the name of the transport that won, and Why says how.
	Transport, Why string
	// Route names the way the stream goes, when the transport says.
	Route string
	// Trace tells how the transport made the stream (sdk.TracedStream),
	// when it says.
	Trace []string
}

// Dial makes one attempt to connect to peer for the transfer that ask
// builds, given the peer's entry. It returns the secured stream with the
// peer's ACCEPT, or an error: one wrapping [sdk.ErrRefused] (with the
// Result holding the REFUSE), [ErrNoAnswer], [ErrBadAnswer], or what the
// failing state met. attempt numbers this attempt, from 1; answers to
// another are stale and ignored, and an attempt after the first looks the
// peer up again (see Policy.Fresh).
func (d *Dialer) Dial(ctx context.Context, peer sdk.PeerID, attempt int, ask func(sdk.PeerInfo) *Message) (*Result, error) {
	pol := d.Policy.withDefaults()
	res, err := d.dial(ctx, pol, peer, attempt, ask)
	if err != nil {
		d.Observe.report(Change{Peer: peer, State: Failed, Why: err.Error()})
		return res, err
	}
	d.Observe.report(Change{Peer: peer, State: Connected, Transport: res.Transport, Why: res.Why, Route: res.Route})
	return res, nil
}

func (d *Dialer) dial(ctx context.Context, pol Policy, peer sdk.PeerID, attempt int, ask func(sdk.PeerInfo) *Message) (*Result, error) {
	res := &Result{}
	d.Observe.report(Change{Peer: peer, State: Discovering})
	info, err := d.Directory.Wait(ctx, peer, pol.Discover)
	if err != nil {
		return res, err
	}
	d.Observe.report(Change{Peer: peer, State: Resolving})
	if attempt > 1 || pol.Fresh <= 0 || time.Since(info.Seen) > pol.Fresh {
		lctx, cancel := context.WithTimeout(ctx, pol.Resolve)
		if fresh, err := d.Directory.Lookup(lctx, peer); err == nil && fresh.ID == peer {
			info = fresh
		}
		cancel()
	}
	res.Peer = info

	d.Observe.report(Change{Peer: peer, State: Signaling})
	m := ask(info)
	m.Ferry.Attempt = attempt
	m.Ferry.AnswerWithin = int((pol.Answer + time.Second - 1) / time.Second)
	answers, stop := d.Messenger.Expect(m.ID)
	defer stop()
	if err := d.Messenger.Send(ctx, peer, m); err != nil {
		return res, err
	}
	timeout := time.NewTimer(pol.Answer)
	defer timeout.Stop()
	var ans *Message
	for ans == nil {
		select {
		case a := <-answers:
			if a.Ferry.Attempt != 0 && a.Ferry.Attempt != attempt {
				continue // stale: an answer to an earlier attempt
			}
			ans = a
		case <-timeout.C:
			return res, fmt.Errorf("no answer from %s within %s: %w", peer.Short(), pol.Answer, ErrNoAnswer)
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	res.Answer = ans
	if ans.Type == TypeRefuse && ans.Ferry.Elsewhere {
		return res, fmt.Errorf("%s answered from instance %s, which does not hold the transfer (the ASK was for %s): %w", peer.Short(), ans.Ferry.Instance, m.Ferry.For, ErrElsewhere)
	}
	if d.Answered != nil {
		d.Answered(ans)
	}
	if ans.Type == TypeRefuse {
		reason := ans.Ferry.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return res, fmt.Errorf("%s (%s) sent REFUSE: %s: %w", peer.Short(), info.Name, reason, sdk.ErrRefused)
	}
	if !slices.Contains(m.Ferry.Protocols, ans.Ferry.Protocol) {
		return res, fmt.Errorf("receiver chose protocol %q, which was not offered: %w", ans.Ferry.Protocol, ErrBadAnswer)
	}

	d.Observe.report(Change{Peer: peer, State: Connecting})
	offered := ans.Offered()
	var cands Transports
	desc := map[string]sdk.Description{}
	wantsOurs := map[string]bool{} // the receiver asked for our description
	for _, c := range ans.Ferry.Candidates {
		wantsOurs[c.Transport] = wantsOurs[c.Transport] || c.Remote
	}
	var unknown []string
	for _, o := range offered {
		t, ok := d.Transports.Find(o.Transport)
		if !ok {
			unknown = append(unknown, o.Transport)
			continue
		}
		if _, dup := desc[t.Name]; !dup {
			cands = append(cands, t)
			desc[t.Name] = o
		}
	}
	// sendOurs gives the receiver this side's description of a transport
	// whose receiving side needs it, in a CANDIDATES message.
	sendOurs := func(ctx context.Context, local sdk.Description) error {
		cm := &Message{
			Type: TypeCandidates, ID: m.ID, Sender: m.Sender,
			Receiver: &User{Name: info.Name, ID: peer.String()},
			Time:     Now(time.Now()),
			Ferry:    Ferry{V: MessageVersion, Attempt: attempt, Candidates: []Candidate{NewCandidate(local)}},
		}
		if err := d.Messenger.Send(ctx, peer, cm); err != nil {
			return fmt.Errorf("send our description: %w", err)
		}
		return nil
	}
	if len(cands) == 0 {
		return res, fmt.Errorf("receiver offered transports %v, none of which this device has: %w", unknown, ErrBadAnswer)
	}
	// A version-1 receiver neither races nor confirms a nomination.
	legacy := len(ans.Ferry.Candidates) == 0
	var secured sync.Once
	groups := buckets(cands.Sorted(), func(t Transport) int { return t.Priority })
	legGroups := make([][]leg, len(groups))
	for i, g := range groups {
		for _, t := range g {
			legGroups[i] = append(legGroups[i], leg{t: t, run: func(ctx context.Context) (*secure.Conn, error) {
				prep, err := t.Transport.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator})
				if err != nil {
					return nil, fmt.Errorf("prepare: %w", err)
				}
				if wantsOurs[t.Name] {
					if err := sendOurs(ctx, prep.Local); err != nil {
						return nil, err
					}
				}
				st, err := t.Transport.Connect(ctx, sdk.ConnectRequest{Session: prep.Session, Remote: desc[t.Name]})
				if err != nil {
					return nil, fmt.Errorf("connect to %s: %w", peer.Short(), err)
				}
				secured.Do(func() { d.Observe.report(Change{Peer: peer, State: Securing}) })
				sctx, cancel := context.WithTimeout(ctx, pol.Secure)
				defer cancel()
				c, err := secure.Client(sctx, st, d.Identity, peer, []string{ans.Ferry.Protocol})
				if err != nil {
					return nil, err
				}
				if legacy {
					return c, nil
				}
				if err := nominate(ctx, c, pol.Secure); err != nil {
					_ = c.Close()
					return nil, err
				}
				return c, nil
			}})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, pol.Connect)
	defer cancel()
	conn, w, why, err := race(cctx, legGroups, pol.Stagger, pol.Fallback)
	if err != nil {
		return res, fmt.Errorf("connect to %s: %w", peer.Short(), err)
	}
	res.Conn, res.Transport, res.Why, res.Route, res.Trace = conn, w.Name, why, conn.Route(), conn.Trace()
	return res, nil
}
