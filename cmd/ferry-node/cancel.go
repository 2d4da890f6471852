package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

func (a *app) cancelCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cancel TRANSFER",
		Short: "Drop an unfinished transfer on this device",
		Long: `Drop an unfinished transfer (TRANSFER: its ID or a unique prefix, as
"ferry status" lists them) on this device.

An outgoing transfer leaves the outbox: it is no longer resumed, by hand or
when its peer comes back. An incoming one has its part files, journals and
record removed, with the folders it made if they are left empty; files it
already received and verified stay. The peer is not told: a sender that
offers the transfer again is asked anew. Cancel an incoming transfer while
no "ferry receive" is receiving it.`,
		Example: `  ferry status
  ferry cancel 3f9a1c2e`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := a.daemonClient(); err != nil || c != nil {
				if err != nil {
					return err
				}
				// The daemon may be running the transfer: it stops it.
				defer c.Close()
				return daemonControl(cmd, c, args[0], "cancel")
			}
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			id := strings.ToLower(args[0])
			box, err := outboxOf(cfg)
			if err != nil {
				return err
			}
			defer box.Close()
			if dir, err = receiveDir(dir, cfg); err != nil {
				return err
			}
			inbox, err := inboxOf(cfg, dir)
			if err != nil {
				return err
			}
			defer inbox.Close()

			out, oerr := box.Find(id)
			if oerr != nil && !errors.Is(oerr, sdk.ErrNotFound) {
				return oerr
			}
			pending, err := inbox.Pending()
			if err != nil {
				a.log.Warn("inbox", "err", err)
			}
			var in []transfer.Record
			for _, r := range pending {
				if strings.HasPrefix(r.ID, id) {
					in = append(in, r)
				}
			}
			switch {
			case out == nil && len(in) == 0:
				return fmt.Errorf("no unfinished transfer %q here (see ferry status): %w", args[0], sdk.ErrNotFound)
			case len(in) > 1 || (out != nil && len(in) == 1 && out.ID != in[0].ID):
				ids := []string{}
				if out != nil {
					ids = append(ids, out.ID+" (send)")
				}
				for _, r := range in {
					ids = append(ids, r.ID+" (receive)")
				}
				return fmt.Errorf("transfer %q is ambiguous: it starts %s", args[0], strings.Join(ids, ", "))
			}
			if out != nil {
				if err := box.Remove(out.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cancelled transfer %s to %s: %s of %s had been confirmed; it will not be resumed\n",
					shortID(out.ID), peerLabel(out.PeerName, out.Peer), size(out.Done()), size(out.Total()))
			}
			if len(in) == 1 {
				r := in[0]
				held := inbox.Received(r)
				inc, err := inbox.Find(r.Peer, r.ID)
				if err != nil {
					return err
				}
				if err := inc.Discard(); err != nil {
					return fmt.Errorf("cancel transfer %s: %w", shortID(r.ID), err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cancelled transfer %s from %s: %s received so far removed (verified files stay)\n",
					shortID(r.ID), peerLabel(r.PeerName, r.Peer), size(held))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the receive folder of incoming transfers (default: as for ferry receive)")
	return cmd
}

// peerLabel names a peer for a message: its name and short ID.
func peerLabel(name string, id sdk.PeerID) string {
	if name == "" {
		return id.Short()
	}
	return fmt.Sprintf("%s (%s)", name, id.Short())
}
