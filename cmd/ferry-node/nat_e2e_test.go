package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("receiver's stderr:\n%s", recv.stderr.String())
				}
			})
			send := a.start(nil, "send", src, "--to", idB, "--json", "--retry-for", "60s")
			connected := func(e node.Event) bool { return e.Kind == node.EventState && e.State == "connected" }
			// Signaling's round trip through the relay, as the sender
			// sees it: from the offer sent to the answer in (which
			// includes the receiver gathering its candidates).
			var signaling time.Time
			rtt := send.waitEvent("the sender's connecting state", 90*time.Second, func(e node.Event) bool {
				if e.Kind == node.EventState && e.State == "signaling" {
					signaling = e.Time
				}
				return e.Kind == node.EventState && e.State == "connecting"
			}).Time.Sub(signaling)
			t.Logf("signaling: offer to answer in %v", rtt.Round(time.Millisecond))
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
			// `ferry doctor PEER` across the same NATs: every state, the
			// pairs ice checked, and the same kind of path.
			out, errOut, err := a.run("doctor", idB, "--find-for", "60s")
			t.Logf("ferry doctor %s:\n%s", idB[:8], out)
			if err != nil {
				t.Fatalf("doctor PEER across the NATs: %v\n%s\n%s", err, out, errOut)
			}
			var path string
			for _, line := range strings.Split(out, "\n") {
				if p, ok := strings.CutPrefix(strings.TrimSpace(line), "summary: the peer is reachable over ice ("); ok {
					path = strings.TrimSuffix(p, ")")
				}
			}
			// Which pair pion nominates on this second connection is its
			// own timing (once it took a relay pair after srflx pairs had
			// succeeded); what doctor must show is an ice path and the
			// pairs, with a direct pair that worked where the NAT keeps
			// ports.
			if !strings.HasPrefix(path, "direct ") && !strings.HasPrefix(path, "relay via ") || !strings.Contains(out, "candidate pairs checked:") {
				t.Errorf("doctor PEER: path %q, want an ice path, with the candidate pairs", path)
			}
			if c.mode == natPortPreserving && !regexp.MustCompile(`-> (srflx|prflx) \S+: succeeded`).MatchString(out) {
				t.Errorf("doctor PEER behind port-preserving NATs lists no direct pair that succeeded")
			}
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

// TestReloadTURNServer: a receiver behind a NAT that only TURN passes
// reloads its config on SIGHUP while a transfer runs through the relay:
// the transfer completes, the next connection goes through the new TURN
// server (its route names it), and a config with a typo is refused,
// naming the key, with the old config kept.
func TestReloadTURNServer(t *testing.T) {
	bin := binDir(t)
	n := newNATNet(t, natRandom)
	n.startCoturn(t)
	const newPort = 3600
	n.startCoturnAt(t, []string{natPubAddr2}, newPort, 50152)
	boot := n.startBootstrap(t, bin)
	a := n.peer(t, bin, n.ha, boot)
	conf := n.natConfig(t)
	b := newNode(t, bin, "FERRY_CONFIG="+conf, "FERRY_DHT_BOOTSTRAP="+boot)
	b.netns = n.hb
	idB := b.id()
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")
	src := filepath.Join(t.TempDir(), "first.bin")
	writeRandom(t, src, 96<<20, 93)
	send := a.start(nil, "send", src, "--to", idB, "--json", "--retry-for", "60s")
	routeOf := func(p *proc, what string) string {
		e := p.waitEvent(what, 90*time.Second, func(e node.Event) bool { return e.Kind == node.EventState && e.State == "connected" })
		t.Logf("%s: %s, %s", what, e.Transport, e.Route)
		return e.Route
	}
	if r := routeOf(recv, "first connection"); r != "relay via turn:"+natPubAddr+":3478" {
		t.Fatalf("first connection's route %q, want relay via turn:%s:3478", r, natPubAddr)
	}
	recv.waitEvent("progress of the first transfer", 60*time.Second, func(e node.Event) bool { return e.Kind == node.EventProgress && e.Bytes > 0 })

	// A typo: refused, naming the key; the old config stays.
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "turn_servers:", "turn_server:", 1)
	if err := os.WriteFile(conf, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := recv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitText(t, recv, "config reload refused")
	if s := recv.stderr.String(); !strings.Contains(s, "turn_server") {
		t.Errorf("the refusal does not name the key:\n%s", s)
	}
	// The new TURN server, while the transfer runs.
	good := strings.Replace(string(data), fmt.Sprintf("turn:%s:%d", natPubAddr, natTURNPort), fmt.Sprintf("turn:%s:%d", natPubAddr2, newPort), 1)
	if good == string(data) {
		t.Fatal("the NAT config names no TURN server to replace")
	}
	if err := os.WriteFile(conf, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := recv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitText(t, recv, "reconfigured ice")
	if err := send.wait(120 * time.Second); err != nil {
		t.Fatalf("the transfer under way did not survive the reload: %v\n%s", err, send.stderr.String())
	}
	src2 := filepath.Join(t.TempDir(), "second.bin")
	writeRandom(t, src2, 1<<20, 94)
	send2 := a.start(nil, "send", src2, "--to", idB, "--json", "--retry-for", "60s")
	if r := routeOf(recv, "next connection"); r != fmt.Sprintf("relay via turn:%s:%d", natPubAddr2, newPort) {
		t.Errorf("next connection's route %q, want relay via the new server turn:%s:%d", r, natPubAddr2, newPort)
	}
	if err := send2.wait(90 * time.Second); err != nil {
		t.Fatalf("second send: %v\n%s", err, send2.stderr.String())
	}
	want := t.TempDir()
	for _, f := range []string{src, src2} {
		if err := os.Link(f, filepath.Join(want, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	sameTree(t, want, dst)
}

// waitText waits until p's stderr holds s.
func waitText(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 30s:\n%s", s, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRelayKilledResume: behind NATs that only TURN passes, with two TURN
// servers configured, a 100 MiB jsonchunk transfer goes through one relay;
// that coturn is killed mid-transfer, and the send resumes over a new
// connection through the other one, from the receiver's journal: the file
// matches and only what was not yet acknowledged is sent again.
func TestRelayKilledResume(t *testing.T) {
	bin := binDir(t)
	n := newNATNet(t, natRandom)
	const port2 = 3600 // not 3479: coturn also listens on its port+1 (RFC 5780)
	second := fmt.Sprintf("turn:%s:%d?transport=udp", natPubAddr2, port2)
	servers := map[string]func(){
		fmt.Sprintf("turn:%s:%d", natPubAddr, natTURNPort): n.startCoturnAt(t, []string{natPubAddr, natPubAddr2}, natTURNPort, 49152),
		fmt.Sprintf("turn:%s:%d", natPubAddr2, port2):      n.startCoturnAt(t, []string{natPubAddr2}, port2, 50152),
	}
	boot := n.startBootstrap(t, bin)
	peer := func(ns string) *testPeer {
		p := newNode(t, bin, "FERRY_CONFIG="+n.natConfig(t, second), "FERRY_DHT_BOOTSTRAP="+boot)
		p.netns = ns
		return p
	}
	a, b := peer(n.ha), peer(n.hb)
	idB := b.id()
	const size = 100 << 20
	src := filepath.Join(t.TempDir(), "through-relay.bin")
	writeRandom(t, src, size, 95)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")
	send := a.start(nil, "send", src, "--to", idB, "--json", "--protocol", "jsonchunk", "--retry-for", "120s")
	connected := func(e node.Event) bool { return e.Kind == node.EventState && e.State == "connected" }
	first := recv.waitEvent("the first connection", 90*time.Second, connected)
	server, ok := strings.CutPrefix(first.Route, "relay via ")
	if !ok || servers[server] == nil {
		t.Fatalf("first connection's route %q, want a relay via one of the two TURN servers", first.Route)
	}
	var held int64
	recv.waitEvent("a quarter of the file", 90*time.Second, func(e node.Event) bool {
		held = max(held, e.Bytes)
		return e.Kind == node.EventProgress && e.Bytes >= size/4
	})
	// `ferry status` on either side names the path the transfer runs on
	// (the sender's side names the relay as it sees it).
	if l := statusOf(t, b, "receive"); l.Transport != "ice" || l.Route != first.Route {
		t.Errorf("receiver: ferry status gives %q, want ice: %s", pathOf(l), first.Route)
	}
	if l := statusOf(t, a, "send"); l.Transport != "ice" || !strings.HasPrefix(l.Route, "relay via ") {
		t.Errorf("sender: ferry status gives %q, want ice: relay via …", pathOf(l))
	}
	servers[server]()
	t.Logf("killed %s with %.1f MiB received", server, float64(held)/(1<<20))
	var resumedAt int64 = -1
	send.waitEvent("the resumed file", 120*time.Second, func(e node.Event) bool {
		if e.Kind == node.EventFile && e.Offset > 0 {
			resumedAt = e.Offset
			return true
		}
		return false
	})
	next := recv.waitEvent("the second connection", 90*time.Second, func(e node.Event) bool {
		if e.Kind == node.EventState || e.Kind == node.EventFile || e.Kind == node.EventRetry {
			t.Logf("receiver: %s %s %s %s off=%d %s", e.Time.Format("15:04:05.000"), e.Kind, e.State, e.Route, e.Offset, e.Message)
		}
		return connected(e)
	})
	if next.Route == first.Route || !strings.HasPrefix(next.Route, "relay via ") && !strings.HasPrefix(next.Route, "direct") {
		t.Errorf("second connection's route %q, want another path than %q", next.Route, first.Route)
	}
	if err := send.wait(180 * time.Second); err != nil {
		t.Fatalf("send: %v\n%s", err, send.stderr.String())
	}
	sameTree(t, filepath.Dir(src), dst)
	t.Logf("resumed at %.1f MiB over %s: %.1f MiB not re-sent; the cut cost %.1f MiB of the %.1f MiB moved before it",
		float64(resumedAt)/(1<<20), next.Route, float64(resumedAt)/(1<<20), float64(max(held-resumedAt, 0))/(1<<20), float64(held)/(1<<20))
}
