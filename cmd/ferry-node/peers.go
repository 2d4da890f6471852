package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/api"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

func (a *app) peersCommand() *cobra.Command {
	var (
		wait          time.Duration
		watch, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List the peers discovery finds",
		Long: `Announce this device, listen for --wait, and list the peers found, with how
each was found (the discovery plugin) and its addresses. With --watch, print
peers as they join and leave until interrupted.`,
		Example: `  ferry peers
  ferry peers --watch --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.daemonClient()
			if err != nil {
				return err
			}
			if c != nil {
				// A daemon runs for this home and has been listening.
				defer c.Close()
				return peersViaDaemon(ctx, cmd, c, watch, asJSON)
			}
			var r *renderer
			if watch {
				r = newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			}
			s, err := a.startNode(ctx, cmd, r, node.Options{})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			if watch {
				<-ctx.Done()
				return nil
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			peers := s.node.Peers()
			out := cmd.OutOrStdout()
			if asJSON {
				views := make([]peerView, len(peers))
				for i, p := range peers {
					views[i] = api.PeerOf(p, accountName(s.node, p.ID))
				}
				return jsonLines(out, views)
			}
			if len(peers) == 0 {
				fmt.Fprintf(out, "no peers found within %s\n", wait)
				return nil
			}
			return printPeers(out, peers, s.node.AccountOf, s.node.CheckAccount)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&wait, "wait", 3*time.Second, "how long to listen before listing")
	f.BoolVar(&watch, "watch", false, "print peers as they join and leave until interrupted")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// peerView is a peer as `ferry peers --json` prints it: snake_case keys,
// as every other --json output uses; the daemon's API lists the same.
type peerView = api.Peer

// accountName is the printable account ID of device id's checked
// certificate, "" for a device of no account.
func accountName(n *node.Node, id sdk.PeerID) string {
	if c, ok := n.AccountOf(id); ok && c != nil {
		return c.Account.String()
	}
	return ""
}
