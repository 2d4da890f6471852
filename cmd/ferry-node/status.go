package main

import (
	"fmt"

	"github.com/ferry-p2p/ferry/core/api"
	"github.com/ferry-p2p/ferry/core/config"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// statusLine is one unfinished transfer, as `ferry status` lists it; the
// daemon's API lists the same, with its state, rate and route.
type statusLine = api.Transfer

func (a *app) statusCommand() *cobra.Command {
	var (
		asJSON bool
		dir    string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List unfinished transfers with how far each got",
		Long: `List the transfers this device has not finished: those it sends (from the
outbox; "done" is what the receiver confirmed, as last saved) and those it
receives (from the receiver's journals: bytes durably written). Outgoing ones
resume with "ferry resume"; incoming ones when their sender sends again.`,
		Example: `  ferry status
  ferry status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			var lines []statusLine
			c, err := a.daemonClient()
			if err != nil {
				return err
			}
			if c != nil {
				// A daemon runs for this home: it knows what moves now.
				defer c.Close()
				lines, err = statusViaDaemon(cmd.Context(), c)
			} else {
				lines, err = a.listTransfers(cfg, dir)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return jsonLines(w, lines)
			}
			if len(lines) == 0 {
				fmt.Fprintln(w, "no unfinished transfers")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			daemon := c != nil // the daemon adds each one's state
			head := "DIRECTION\tTRANSFER\tPEER\tFILES\tDONE\tSINCE\tPATH\tLAST ERROR"
			if daemon {
				head = "DIRECTION\tTRANSFER\tPEER\tFILES\tDONE\tSTATE\tSINCE\tPATH\tLAST ERROR"
			}
			fmt.Fprintln(tw, head)
			for _, l := range lines {
				who := l.PeerName
				if who == "" {
					who = l.Peer[:8]
				}
				state := ""
				if daemon {
					state = l.State + "\t"
					if l.Rate > 0 {
						state = fmt.Sprintf("%s %s/s\t", l.State, size(int64(l.Rate)))
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%5.1f%% (%s of %s)\t%s%s\t%s\t%s\n", l.Direction, shortID(l.Transfer), who, l.Files,
					l.Percent, size(l.Done), size(l.Total), state, l.Since.Local().Format(time.DateTime), pathOf(l), l.LastError)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&dir, "dir", "", "the receive folder (default: transfer.dir, else the current folder)")
	return cmd
}

// listTransfers lists the unfinished transfers of the Ferry home cfg was
// loaded for: outgoing ones from the outbox, incoming ones (into dir, else
// transfer.dir, else the current folder) from the inbox's journals.
func (a *app) listTransfers(cfg *config.Config, dir string) ([]statusLine, error) {
	var lines []statusLine
	box, err := outboxOf(cfg)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	out, err := box.List()
	if err != nil {
		a.log.Warn("outbox", "err", err)
	}
	for _, o := range out {
		l := statusLine{Direction: "send", Transfer: o.ID, Peer: o.Peer.String(), PeerName: o.PeerName,
			Files: len(o.Files), Done: o.Done(), Total: o.Total(), Since: o.Created, LastError: o.LastError, Account: o.Account}
		if o.Link != nil {
			l.Transport, l.Route = o.Link.Transport, o.Link.Route
		}
		lines = append(lines, l)
	}
	if dir, err = receiveDir(dir, cfg); err != nil {
		return nil, err
	}
	inbox, err := inboxOf(cfg, dir)
	if err != nil {
		return nil, err
	}
	defer inbox.Close()
	in, err := inbox.Pending()
	if err != nil {
		a.log.Warn("inbox", "err", err)
	}
	for _, r := range in {
		var total int64
		for _, f := range r.Files {
			total += f.Size
		}
		lines = append(lines, statusLine{Direction: "receive", Transfer: r.ID, Peer: r.Peer.String(), PeerName: r.PeerName,
			Files: len(r.Files), Done: inbox.Received(r), Total: total, Since: r.Accepted,
			Transport: r.Link.Transport, Route: r.Link.Route})
	}
	for i := range lines {
		lines[i].SetPercent()
	}
	return lines, nil
}

// pathOf says how a transfer's last connection went: the transport, and
// its route when the transport named one ("ice: relay via
// turn:198.51.100.7:3478"); "-" before any connection.
func pathOf(l statusLine) string {
	switch {
	case l.Transport == "":
		return "-"
	case l.Route == "":
		return l.Transport
	}
	return l.Transport + ": " + l.Route
}
