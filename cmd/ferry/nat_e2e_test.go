package main

import (
	"errors"
	"os/exec"
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

// TestDoctorNAT runs `ferry doctor` behind each kind of NAT: it names an
// endpoint-independent mapping when the routers keep ports and an
// endpoint-dependent one with --random-fully, sums up how peers reach the
// node accordingly, and names a wrong TURN password as such with a
// non-zero exit status.
func TestDoctorNAT(t *testing.T) {
	bin := binDir(t)
	needNATTools(t)
	for _, c := range []struct {
		name     string
		mode     natMode
		env      []string
		nat      string
		summary  string
		failures int
		want     string // in the output
	}{
		{"port-preserving", natPortPreserving, nil, "endpoint-independent", reachDirect, 0, "allocated relayed address 198.18.0.10:"},
		{"random-fully", natRandom, nil, "endpoint-dependent", reachTURN, 0, "allocated relayed address 198.18.0.10:"},
		{"wrong password", natPortPreserving, []string{"FERRY_ICE_TURN_PASSWORD=not-the-password"}, "endpoint-independent", reachDirect, 1,
			`the server refused the credentials of user "ferry"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNATNet(t, c.mode)
			n.startCoturn(t)
			boot := n.startBootstrap(t, bin)
			p := n.peer(t, bin, n.ha, boot, c.env...)
			out, errs, err := p.run("doctor")
			t.Logf("ferry doctor:\n%s%s", out, errs)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.failures {
				t.Errorf("exit status %d, want %d (failing checks)", code, c.failures)
			}
			for _, s := range []string{c.nat + " mapping", "summary: " + c.summary, c.want, "signaling relay: reachable"} {
				if !strings.Contains(out, s) {
					t.Errorf("doctor output lacks %q", s)
				}
			}
			js, _, _ := p.run("doctor", "--json")
			rows := decodeLines[doctorRow](t, js)
			var nat string
			for _, r := range rows {
				if v := r.Facts["nat"]; v != "" {
					nat = v
				}
			}
			if nat != c.nat {
				t.Errorf("doctor --json: nat fact %q, want %q", nat, c.nat)
			}
		})
	}
}
