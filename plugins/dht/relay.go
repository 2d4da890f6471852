package dht

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// Signaling between peers behind NAT goes through a circuit relay (libp2p
// circuit relay v2) on the DHT's public nodes: a node that serves relays
// (the bootstrap nodes, by default) keeps a slot for every node that asks;
// a node reserves a slot on each of its bootstrap peers and publishes the
// relayed addresses (<relay>/p2p-circuit/p2p/<self>) in its record after
// its direct ones. A sender that cannot reach the direct addresses reaches
// the relayed one; the frame it carries is sealed end to end and signed,
// as on a direct stream, so the relay learns only who talks to whom. The
// relay carries signaling only: a relayed connection may carry
// relayLimitData bytes and live relayLimitDuration, and the transfer
// itself never goes through it (ICE and TURN carry that).
const (
	// relayLimitData bounds the bytes of one relayed connection: room for
	// a dozen full signaling frames.
	relayLimitData = 1 << 20
	// relayLimitDuration bounds the life of one relayed connection.
	relayLimitDuration = 2 * time.Minute
	// reserveTimeout bounds one reservation request.
	reserveTimeout = 10 * time.Second
	// reserveRefresh is how often a held reservation is renewed (it lasts
	// an hour), so a relay that restarted is noticed within it.
	reserveRefresh = 2 * time.Minute
	// reserveRetry is the wait after a failed reservation.
	reserveRetry = 30 * time.Second
	// reserveTick is how often the reservation loop looks at its timers.
	reserveTick = time.Second
)

// startRelayService makes h a circuit relay for signaling, with the
// limits above; the relay keeps slots for peers at any address (this is
// a private network: loopback and private addresses are welcome).
func startRelayService(h host.Host) (*relayv2.Relay, error) {
	rc := relayv2.DefaultResources()
	rc.Limit = &relayv2.RelayLimit{Duration: relayLimitDuration, Data: relayLimitData}
	r, err := relayv2.New(h,
		relayv2.WithResources(rc),
		relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }),
	)
	if err != nil {
		return nil, fmt.Errorf("dht: start the signaling relay: %w", err)
	}
	return r, nil
}

// circuitAddrs returns the relayed addresses through relay ai, without
// this node's own /p2p/ part: each of ai's addresses, then
// /p2p/<relay>/p2p-circuit.
func circuitAddrs(ai peer.AddrInfo) []ma.Multiaddr {
	suffix, err := ma.NewMultiaddr("/p2p/" + ai.ID.String() + "/p2p-circuit")
	if err != nil {
		return nil
	}
	out := make([]ma.Multiaddr, 0, len(ai.Addrs))
	for _, a := range ai.Addrs {
		out = append(out, a.Encapsulate(suffix))
	}
	return out
}

// relayedAddrs returns the relayed addresses the node holds now.
func (n *node) relayedAddrs() []ma.Multiaddr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.circuits)
}

// reserveLoop keeps a reservation on every bootstrap peer that serves
// relays, renewing each every reserveRefresh and retrying a failed one
// every reserveRetry, and calls onAddrs when the set of relayed addresses
// changes. The caller did n.wg.Add(1); it ends with the node.
func (n *node) reserveLoop() {
	defer n.wg.Done()
	next := make(map[peer.ID]time.Time, len(n.opts.bootstrap))
	held := make(map[peer.ID][]ma.Multiaddr, len(n.opts.bootstrap))
	failures := make(map[peer.ID]int, len(n.opts.bootstrap))
	ticker := time.NewTicker(reserveTick)
	defer ticker.Stop()
	for {
		changed := false
		for _, ai := range n.opts.bootstrap {
			if time.Now().Before(next[ai.ID]) {
				continue
			}
			ctx, cancel := context.WithTimeout(n.ctx, reserveTimeout)
			rsv, err := client.Reserve(ctx, n.h, ai)
			cancel()
			if n.ctx.Err() != nil {
				return
			}
			if err != nil {
				if held[ai.ID] != nil {
					delete(held, ai.ID)
					changed = true
					n.log.Info("dht: lost the signaling relay slot", "relay", ai.ID.String(), "err", err)
				} else if failures[ai.ID] == 0 {
					n.log.Debug("dht: no signaling relay slot", "relay", ai.ID.String(), "err", err)
				}
				failures[ai.ID]++
				next[ai.ID] = time.Now().Add(reserveRetry)
				continue
			}
			failures[ai.ID] = 0
			wait := reserveRefresh
			if until := time.Until(rsv.Expiration) / 2; until < wait {
				wait = max(until, reserveTick)
			}
			next[ai.ID] = time.Now().Add(wait)
			if held[ai.ID] == nil {
				held[ai.ID] = circuitAddrs(ai)
				changed = true
				n.log.Info("dht: reachable through the signaling relay", "relay", ai.ID.String())
			}
		}
		if changed {
			var all []ma.Multiaddr
			for _, ai := range n.opts.bootstrap {
				all = append(all, held[ai.ID]...)
			}
			n.mu.Lock()
			n.circuits = all
			n.mu.Unlock()
			if n.opts.onAddrs != nil {
				n.opts.onAddrs() // sign and publish the record with the new addresses
			}
		}
		select {
		case <-ticker.C:
		case <-n.ctx.Done():
			return
		}
	}
}
