package ice

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/pion/stun/v4"

	"github.com/ferry-p2p/ferry/sdk"
)

var _ sdk.Diagnoser = (*Transport)(nil)

// Diagnose checks the configured servers, for `ferry doctor`: for each
// address family, the mapped address each STUN server sees from one
// socket, and from those whether this side's NAT maps a socket to one
// address whatever the destination (endpoint-independent: a peer behind
// most NATs can reach it directly) or to one per destination
// (endpoint-dependent: only through TURN); then an allocation on each
// TURN server with the configured credentials, released at once. Each
// server gets gather_timeout.
func (t *Transport) Diagnose(ctx context.Context, _ sdk.DiagnoseRequest) ([]sdk.Check, error) {
	cfg, ctx, end, err := t.state.Begin(ctx, "diagnose")
	if err != nil {
		return nil, err
	}
	defer end()
	var checks []sdk.Check
	for _, network := range cfg.networks() {
		checks = append(checks, diagnoseSTUN(ctx, cfg, network)...)
	}
	for _, u := range cfg.turnServers {
		for _, network := range cfg.networks() {
			checks = append(checks, t.diagnoseTURN(ctx, cfg, u, network))
		}
	}
	if len(checks) == 0 {
		checks = append(checks, sdk.Check{Name: "ice servers", Status: sdk.CheckWarn,
			Detail: "no STUN or TURN server configured: only peers that can reach this node's own addresses connect over ice"})
	}
	return checks, nil
}

// diagnoseSTUN asks every STUN server from one socket of network's family
// and compares the mapped addresses.
func diagnoseSTUN(ctx context.Context, cfg config, network string) []sdk.Check {
	if len(cfg.stunServers) == 0 {
		return nil
	}
	unspec := netip.IPv4Unspecified()
	if network == "udp6" {
		unspec = netip.IPv6Unspecified()
	}
	conn, err := listenUDP(network, unspec, cfg)
	if err != nil {
		return []sdk.Check{{Name: "stun (" + network + ")", Status: sdk.CheckFail, Detail: fmt.Sprintf("no %s socket: %v", network, err)}}
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	var (
		checks []sdk.Check
		mapped []netip.AddrPort
		names  []string
	)
	for _, u := range cfg.stunServers {
		name := fmt.Sprintf("stun %s (%s)", u, network)
		sctx, cancel := context.WithTimeout(ctx, cfg.gatherTimeout)
		server, err := resolve(sctx, u, network)
		if err == nil && !server.IsValid() {
			cancel()
			continue // no address of this family
		}
		var m netip.AddrPort
		if err == nil {
			m, err = stunBinding(sctx, conn, server)
		}
		cancel()
		if err != nil {
			checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckFail, Detail: err.Error()})
			continue
		}
		m = netip.AddrPortFrom(m.Addr().Unmap(), m.Port())
		mapped, names = append(mapped, m), append(names, u.String())
		checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckOK,
			Detail: fmt.Sprintf("mapped address %s (local port %d)", m, local.Port()),
			Facts:  map[string]string{"mapped": m.String(), "local_port": strconv.Itoa(int(local.Port()))}})
	}
	name := "nat mapping (" + network + ")"
	switch {
	case len(mapped) == 0:
		checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckFail, Detail: "no STUN server answered: the NAT's kind is unknown"})
	case len(mapped) == 1:
		checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckWarn,
			Detail: "only " + names[0] + " answered; two STUN servers at different addresses tell whether the mapping depends on the destination",
			Facts:  map[string]string{"nat": "unknown"}})
	default:
		same := true
		for _, m := range mapped[1:] {
			same = same && m == mapped[0]
		}
		if same {
			kind := "endpoint-independent"
			detail := fmt.Sprintf("%d servers saw one mapped address %s: endpoint-independent mapping", len(mapped), mapped[0])
			if mapped[0].Port() == local.Port() {
				detail += ", port-preserving"
			}
			checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckOK, Detail: detail,
				Facts: map[string]string{"nat": kind, "mapped": mapped[0].String()}})
		} else {
			checks = append(checks, sdk.Check{Name: name, Status: sdk.CheckWarn,
				Detail: fmt.Sprintf("the servers saw different mapped addresses (%v): endpoint-dependent mapping, so a peer behind NAT reaches this node only through TURN", mapped),
				Facts:  map[string]string{"nat": "endpoint-dependent"}})
		}
	}
	return checks
}

// diagnoseTURN allocates a relayed address on one server and releases it.
func (t *Transport) diagnoseTURN(ctx context.Context, cfg config, u *stun.URI, network string) sdk.Check {
	name := fmt.Sprintf("turn %s (%s)", u, network)
	tctx, cancel := context.WithTimeout(ctx, cfg.gatherTimeout)
	defer cancel()
	l, err := gatherRelay(tctx, cfg, u, network, t.logs)
	if err != nil {
		return sdk.Check{Name: name, Status: sdk.CheckFail, Detail: err.Error(), Facts: map[string]string{"turn": "failed"}}
	}
	defer l.release()
	return sdk.Check{Name: name, Status: sdk.CheckOK,
		Detail: fmt.Sprintf("allocated relayed address %s with user %q", l.cand.addr, cfg.turnUsername),
		Facts:  map[string]string{"turn": "ok", "relayed": l.cand.addr.String()}}
}
