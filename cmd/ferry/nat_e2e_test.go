package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestNATTransfer: two peers behind two separate NAT routers, which share
// nothing but a public segment with an unmodified coturn and a DHT
// bootstrap node, find each other through the DHT, exchange the sealed
// offer and answer through the bootstrap node's signaling relay, and send
// a file over ice: over a server-reflexive pair when the NATs keep ports,
// through the TURN relay when they map every destination to a random
// port. tcp, tried first, cannot cross the NATs. Both sides' connected
// event names the route.
func TestNATTransfer(t *testing.T) {
	bin := binDir(t)
	needNATTools(t)
	for _, c := range []struct {
		name  string
		mode  natMode
		route func(string) bool
		want  string
	}{
		{"port-preserving", natPortPreserving, func(r string) bool { return r == "direct srflx" }, "direct srflx"},
		{"random-fully", natRandom, func(r string) bool { return strings.HasPrefix(r, "relay via ") }, "relay via ..."},
		{"udp-blocked", natNoUDP, func(r string) bool { return strings.HasPrefix(r, "relay via ") }, "relay via ..."},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNATNet(t, c.mode)
			n.startCoturn(t)
			boot := n.startBootstrap(t, bin)
			a, b := n.peer(t, bin, n.ha, boot), n.peer(t, bin, n.hb, boot)
			idB := b.id()
			src := filepath.Join(t.TempDir(), "behind-nat.bin")
			writeRandom(t, src, 4<<20, 91)
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			send := a.start(nil, "send", src, "--to", idB, "--json", "--retry-for", "60s")
			connected := func(e node.Event) bool { return e.Kind == node.EventState && e.State == "connected" }
			for side, p := range map[string]*proc{"sender": send, "receiver": recv} {
				e := p.waitEvent(side+"'s connected state", 90*time.Second, connected)
				t.Logf("%s: connected over %s, %s: %s", side, e.Transport, e.Route, e.Message)
				if e.Transport != "ice" || !c.route(e.Route) {
					t.Errorf("%s connected over %q, route %q, want ice, %s", side, e.Transport, e.Route, c.want)
				}
			}
			if err := send.wait(120 * time.Second); err != nil {
				t.Fatalf("send across the NATs: %v\nsender:\n%s\nreceiver:\n%s", err, send.stderr.String(), recv.stderr.String())
			}
			sameTree(t, filepath.Dir(src), dst)
		})
	}
}
