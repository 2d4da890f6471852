package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestDoctorPeer: `ferry doctor PEER` makes a real connection without a
// transfer and shows each state, the winner and, over ice, the candidate
// pairs checked; a receiver that asks before accepting refuses the test,
// and the prober says why and exits 1.
func TestDoctorPeer(t *testing.T) {
	bin := binDir(t)
	const iceLine = "    - name: ice\n      plugin: ice\n      config:\n        include_loopback: true\n        interfaces: [lo]\n        network_types: [udp4]\n        candidate_types: [host]\n\n    - name: ftv2a\n"
	cases := []struct {
		name       string
		transports string
		yes        bool
		transport  string // the winner; "" when the test must fail
		route      string
		trace      bool
	}{
		{name: "tcp", transports: "transports: [tcp]", yes: true, transport: "tcp"},
		{name: "ice", transports: "transports: [ice]", yes: true, transport: "ice", route: "direct host", trace: true},
		{name: "refused", transports: "transports: [tcp]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := configVariant(t, "    - name: ftv2a\n", iceLine, "transports: [tcp]", c.transports)
			a, b := newNode(t, bin, "FERRY_CONFIG="+cfg), newNode(t, bin, "FERRY_CONFIG="+cfg)
			idB := b.id()
			args := []string{}
			if c.yes {
				args = append(args, "--yes")
			}
			recv := startReceiver(t, b, t.TempDir(), args...)
			out, errOut, err := a.run("doctor", idB, "--json", "--find-for", "20s")
			rows := decodeLines[probeRow](t, out)
			states := make([]string, len(rows))
			for i, r := range rows {
				states[i] = r.State
			}
			t.Logf("states: %v", states)
			for _, want := range []string{"discovering", "signaling"} {
				if !strings.Contains(strings.Join(states, " "), want) {
					t.Errorf("no %q state in %v", want, states)
				}
			}
			last := rows[len(rows)-1]
			if c.transport == "" {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 {
					t.Fatalf("doctor on a refusing peer: %v, want exit status 1\n%s\n%s", err, out, errOut)
				}
				if last.State != "failed" || !strings.Contains(last.Why, "auto_accept") {
					t.Errorf("last line %+v, want failed naming auto_accept", last)
				}
				return
			}
			if err != nil {
				t.Fatalf("doctor: %v\n%s\n%s\nreceiver:\n%s", err, out, errOut, recv.stderr.String())
			}
			if last.State != "echoed" || last.RTTMS <= 0 {
				t.Fatalf("last line %+v, want echoed with a round trip", last)
			}
			var conn *probeRow
			for i := range rows {
				if rows[i].State == "connected" {
					conn = &rows[i]
				}
			}
			switch {
			case conn == nil:
				t.Fatalf("no connected line in %v", states)
			case conn.Transport != c.transport || conn.Route != c.route:
				t.Errorf("connected over %q %q, want %q %q", conn.Transport, conn.Route, c.transport, c.route)
			case conn.Why == "":
				t.Errorf("connected line says not why the transport won: %+v", conn)
			}
			if c.trace && (len(conn.Trace) == 0 || !strings.Contains(conn.Trace[0], "nominated")) {
				t.Errorf("trace %q, want the candidate pairs, the nominated first", conn.Trace)
			}
			t.Logf("connected: %s %s (%s); trace %q; echo %.2f ms", conn.Transport, conn.Route, conn.Why, conn.Trace, last.RTTMS)
		})
	}
}
