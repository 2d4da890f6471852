package dht

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

var _ sdk.Diagnoser = (*Plugin)(nil)

// relayWait bounds how long Diagnose waits for a first relay slot.
const relayWait = 3 * time.Second

// Diagnose checks the node's place in the DHT, for `ferry doctor`:
// whether it has DHT peers (waiting up to lookup_timeout for the
// bootstrap), and, when it uses relays, whether it holds a slot on a
// signaling relay, without which a sender behind another NAT cannot
// deliver an offer to it.
func (p *Plugin) Diagnose(ctx context.Context, _ sdk.DiagnoseRequest) ([]sdk.Check, error) {
	s, err := p.session("diagnose")
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.lookupTimeout)
	err = s.n.ready(rctx)
	cancel()
	var checks []sdk.Check
	if err != nil {
		checks = append(checks, sdk.Check{Name: "dht peers", Status: sdk.CheckFail, Detail: err.Error()})
	} else {
		size := s.n.kad.RoutingTable().Size()
		checks = append(checks, sdk.Check{Name: "dht peers", Status: sdk.CheckOK,
			Detail: fmt.Sprintf("%d DHT peers (bootstrap %s); listening on %s", size, s.n.bootstrapList(), strings.Join(s.n.p2pAddrs(true), ", ")),
			Facts:  map[string]string{"peers": fmt.Sprint(size)}})
	}
	if !s.n.opts.useRelays || len(s.n.opts.bootstrap) == 0 {
		return checks, nil
	}
	deadline := time.Now().Add(relayWait)
	for len(s.n.relayedAddrs()) == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if relayed := s.n.relayedAddrs(); len(relayed) > 0 {
		checks = append(checks, sdk.Check{Name: "signaling relay", Status: sdk.CheckOK,
			Detail: fmt.Sprintf("reachable for signaling through %d relayed address(es), e.g. %s", len(relayed), relayed[0]),
			Facts:  map[string]string{"relayed": fmt.Sprint(len(relayed))}})
	} else {
		checks = append(checks, sdk.Check{Name: "signaling relay", Status: sdk.CheckWarn,
			Detail: "no bootstrap peer gave a signaling relay slot (is it `ferry dht bootstrap` without --no-relay?): a sender behind another NAT cannot deliver an offer to this node"})
	}
	return checks, nil
}
