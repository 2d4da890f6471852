package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
)

func (a *app) resumeCommand() *cobra.Command {
	var (
		asJSON            bool
		findFor, retryFor time.Duration
	)
	cmd := &cobra.Command{
		Use:   "resume [TRANSFER]",
		Short: "Resume unfinished outgoing transfers",
		Long: `Resume an unfinished outgoing transfer (TRANSFER: its ID or a unique prefix,
as "ferry status" lists them), or every one when none is named.

The files are scanned again and must be the ones the transfer started with.
The peer is looked up by its ID, over whatever discovery and transport the
config has now (the transfer may have started over another), and offered the
transfer under its original ID; the receiver answers with what it already
holds and only the rest is sent. A running "ferry receive" also resumes
these transfers by itself when their peer comes back.`,
		Example: `  ferry resume
  ferry resume 3f9a1c2e --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if c, err := a.daemonClient(); err != nil || c != nil {
				if err != nil {
					return err
				}
				// The daemon resumes it; no second node of this device.
				defer c.Close()
				return resumeViaDaemon(cmd, c, args)
			}
			r := newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			s, err := a.startNode(ctx, cmd, r, node.Options{PeerTimeout: findFor})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			box, err := openOutbox(s)
			if err != nil {
				return err
			}
			defer box.Close()
			var recs []*transfer.Outgoing
			if len(args) == 1 {
				rec, err := box.Find(args[0])
				if err != nil {
					return err
				}
				recs = append(recs, rec)
			} else if recs, err = box.List(); err != nil {
				a.log.Warn("outbox", "err", err)
			}
			if len(recs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no unfinished outgoing transfers")
				return nil
			}
			var errs []error
			for _, rec := range recs {
				if !asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "resuming transfer %s to %s (%s): %s of %s confirmed\n", shortID(rec.ID), rec.PeerName, rec.Peer.Short(), size(rec.Done()), size(rec.Total()))
				}
				if err := s.node.Outgoing(box).Resume(ctx, rec, findFor, retryFor); err != nil {
					if ctx.Err() != nil && r.interrupted(rec.ID, peerWho(rec.PeerName, rec.Peer.String())) {
						return &exitError{code: exitInterrupted, err: err, silent: true}
					}
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print events as JSON lines instead of text and progress bars")
	f.DurationVar(&findFor, "find-timeout", 10*time.Second, "how long to look for each peer before reporting it offline")
	f.DurationVar(&retryFor, "retry-for", time.Minute, "how long to keep resuming after the connection breaks")
	return cmd
}
