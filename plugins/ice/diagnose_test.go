package ice

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestDiagnoseOverRPC runs the checks through the RPC shims against an
// in-process pion/turn server (also a STUN server): the STUN check gives
// the mapped address, one server cannot tell the NAT's kind (a warning),
// the TURN check allocates; with a wrong password the TURN check fails
// naming the credentials.
func TestDiagnoseOverRPC(t *testing.T) {
	srv := startTURN(t)
	for _, c := range []struct {
		name     string
		password string
		turn     sdk.CheckStatus
		detail   string
	}{
		{"good credentials", turnPass, sdk.CheckOK, "allocated relayed address 127.0.0.1:"},
		{"wrong password", "wrong", sdk.CheckFail, "refused the credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustJSON(t, with(loopbackOptions(), map[string]any{
				"stun_servers": []string{srv.stunURL()}, "turn_servers": []string{srv.url("udp")},
				"turn_username": turnUser, "turn_password": c.password,
			}))
			tr := plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, New()), cfg)
			d, ok := tr.(sdk.Diagnoser)
			if !ok {
				t.Fatalf("%T is no sdk.Diagnoser", tr)
			}
			checks, err := d.Diagnose(context.Background(), sdk.DiagnoseRequest{})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]sdk.Check{}
			for _, ch := range checks {
				byName[strings.SplitN(ch.Name, " ", 2)[0]] = ch
				t.Logf("%s %s: %s %v", ch.Status, ch.Name, ch.Detail, ch.Facts)
			}
			if s := byName["stun"]; s.Status != sdk.CheckOK || !strings.HasPrefix(s.Facts["mapped"], "127.0.0.1:") {
				t.Errorf("stun check %+v, want ok with a mapped loopback address", s)
			}
			if n := byName["nat"]; n.Status != sdk.CheckWarn || n.Facts["nat"] != "unknown" {
				t.Errorf("nat check %+v, want a warning: one server cannot tell", n)
			}
			if tc := byName["turn"]; tc.Status != c.turn || !strings.Contains(tc.Detail, c.detail) {
				t.Errorf("turn check %+v, want %s with %q", tc, c.turn, c.detail)
			}
		})
	}
}
