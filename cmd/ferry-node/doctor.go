package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/sdk"
)

// doctorRow is one line of `ferry doctor --json`.
type doctorRow struct {
	Instance string            `json:"instance"`
	Check    string            `json:"check"`
	Status   string            `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Facts    map[string]string `json:"facts,omitempty"`
}

// Reachability verdicts of `ferry doctor`'s summary line.
const (
	reachDirect  = "peers behind most NATs can reach you directly"
	reachTURN    = "peers behind NAT can reach you only through TURN"
	reachNone    = "peers behind NAT cannot reach you at all"
	reachUnknown = "whether peers behind NAT can reach you is unknown (no STUN server answered)"
)

func (a *app) doctorCommand() *cobra.Command {
	var (
		asJSON  bool
		findFor time.Duration
	)
	cmd := &cobra.Command{
		Use:   "doctor [PEER]",
		Short: "Check what this node can reach, and how peers can reach it (or one peer)",
		Long: `Start every enabled plugin instance and run its checks: for ice, the address
each STUN server sees (mapped address) and whether the NAT keeps one mapping
whatever the destination (endpoint-independent) or makes one per destination;
an allocation on each TURN server with the configured credentials (a wrong
password is named as such); for dht, the DHT's peers and the signaling relay.
It ends with a summary line: peers behind most NATs can reach you directly,
only through TURN, or not at all.

The exit status is the number of failing checks (0 when all pass; warnings do
not count), at most 100. --json prints one line per check.

With PEER (a peer ID, a unique prefix of one, or a name), it tries a
connection to that peer without sending anything: every state of the
connection as it is entered, the transports raced and why the winner won,
for ice the candidate pairs checked and their outcome, and the round trip of
an echo over the secured stream. The peer must be receiving, and answers
only if its transfer.auto_accept lists this device (or it runs with --yes).
The exit status is 0 when the connection worked, 1 when it did not.`,
		Example: `  ferry doctor
  ferry doctor --json | jq 'select(.status=="FAIL")'
  ferry doctor laptop`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return a.doctorPeer(cmd, args[0], asJSON, findFor)
			}
			ctx := cmd.Context()
			cfg, _, cat, err := a.openPlugins(cmd)
			if err != nil {
				return err
			}
			defer a.closeCatalog(cat)
			var rows []doctorRow
			for _, in := range cfg.Plugins.Instances {
				if !in.Enabled {
					continue
				}
				inst, err := cat.Instance(in.Name)
				var checks []sdk.Check
				if err == nil {
					checks, err = inst.Diagnose(ctx)
				}
				switch {
				case errors.Is(err, sdk.ErrUnsupported):
					continue // nothing to check
				case err != nil:
					rows = append(rows, doctorRow{Instance: in.Name, Check: "start", Status: sdk.CheckFail.String(), Detail: err.Error()})
					continue
				}
				for _, c := range checks {
					rows = append(rows, doctorRow{Instance: in.Name, Check: c.Name, Status: c.Status.String(), Detail: c.Detail, Facts: c.Facts})
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := jsonLines(out, rows); err != nil {
					return err
				}
			} else {
				printDoctor(out, rows)
			}
			failed := 0
			for _, r := range rows {
				if r.Status == sdk.CheckFail.String() {
					failed++
				}
			}
			if failed > 0 {
				return &exitError{code: min(failed, 100), err: fmt.Errorf("%d checks failed", failed), silent: true}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per check (with PEER: per state)")
	cmd.Flags().DurationVar(&findFor, "find-for", 10*time.Second, "with PEER: how long to look for it")
	return cmd
}

// printDoctor prints the checks and the summary line.
func printDoctor(w io.Writer, rows []doctorRow) {
	for _, r := range rows {
		fmt.Fprintf(w, "%-4s  %s: %s", r.Status, r.Instance, r.Check)
		if r.Detail != "" {
			fmt.Fprintf(w, ": %s", r.Detail)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "summary: "+reachability(rows))
}

// reachability sums up the ice checks' facts: an endpoint-independent
// mapping means direct, a working TURN server means relayed.
func reachability(rows []doctorRow) string {
	var nat string
	turn := false
	for _, r := range rows {
		if v := r.Facts["nat"]; v != "" && (nat == "" || nat == "unknown") {
			nat = v
		}
		if r.Facts["turn"] == "ok" {
			turn = true
		}
	}
	switch {
	case nat == "endpoint-independent":
		return reachDirect
	case turn:
		return reachTURN
	case strings.HasPrefix(nat, "endpoint-dependent"):
		return reachNone
	}
	return reachUnknown
}
