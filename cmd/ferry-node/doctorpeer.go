package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/node"
)

// probeRow is one line of `ferry doctor PEER --json`: a state of the
// connection as it was entered, and last a line with state "echoed" (or
// "failed") that sums up.
type probeRow struct {
	ElapsedMS float64  `json:"elapsed_ms"`
	State     string   `json:"state"`
	Transport string   `json:"transport,omitempty"`
	Route     string   `json:"route,omitempty"`
	Why       string   `json:"why,omitempty"`
	Trace     []string `json:"trace,omitempty"`
	RTTMS     float64  `json:"rtt_ms,omitempty"`
}

// doctorPeer tries a connection to the peer query names and prints how it
// went, state by state.
func (a *app) doctorPeer(cmd *cobra.Command, query string, asJSON bool, findFor time.Duration) error {
	ctx := cmd.Context()
	s, err := a.startNode(ctx, cmd, nil, node.Options{})
	if err != nil {
		return err
	}
	defer a.closeSession(s)
	out := cmd.OutOrStdout()
	var mu sync.Mutex
	start := time.Now()
	emit := func(r probeRow) {
		mu.Lock()
		defer mu.Unlock()
		r.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
		if asJSON {
			_ = jsonLines(out, []probeRow{r})
			return
		}
		printProbeRow(out, r)
	}
	peer, err := s.node.Resolve(ctx, query, findFor)
	if err != nil {
		emit(probeRow{State: "failed", Why: err.Error()})
		return &exitError{code: 1, err: err, silent: true}
	}
	if !asJSON {
		fmt.Fprintf(out, "trying a connection to %s (%s)\n", peer.Name, peer.ID)
	}
	res, err := s.node.Probe(ctx, peer, func(c connect.Change) {
		if c.State == connect.Failed || c.State == connect.Connected {
			return // said below, with the trace
		}
		emit(probeRow{State: c.State.String()})
	})
	if res.Transport != "" {
		emit(probeRow{State: connect.Connected.String(), Transport: res.Transport, Route: res.Route, Why: res.Why, Trace: res.Trace})
	}
	if err != nil {
		emit(probeRow{State: "failed", Why: err.Error()})
		return &exitError{code: 1, err: err, silent: true}
	}
	emit(probeRow{State: "echoed", Transport: res.Transport, Route: res.Route, RTTMS: float64(res.RTT.Microseconds()) / 1000})
	return nil
}

// printProbeRow prints one state of `ferry doctor PEER` for people.
func printProbeRow(w io.Writer, r probeRow) {
	at := fmt.Sprintf("%8.3fs  ", r.ElapsedMS/1000)
	switch r.State {
	case connect.Connected.String():
		path := r.Transport
		if r.Route != "" {
			path += ": " + r.Route
		}
		fmt.Fprintf(w, "%sconnected over %s\n", at, path)
		if r.Why != "" {
			fmt.Fprintf(w, "%10s  why: %s\n", "", r.Why)
		}
		if len(r.Trace) > 0 {
			fmt.Fprintf(w, "%10s  candidate pairs checked:\n", "")
			for _, l := range r.Trace {
				fmt.Fprintf(w, "%10s    %s\n", "", l)
			}
		}
	case "echoed":
		fmt.Fprintf(w, "%secho over the secured stream: %.2f ms\n", at, r.RTTMS)
		path := r.Transport
		if r.Route != "" {
			path += " (" + r.Route + ")"
		}
		fmt.Fprintf(w, "summary: the peer is reachable over %s\n", path)
	case "failed":
		fmt.Fprintf(w, "%sfailed: %s\n", at, r.Why)
		fmt.Fprintln(w, "summary: the peer cannot be reached (see above)")
	default:
		fmt.Fprintf(w, "%s%s\n", at, r.State)
	}
}
