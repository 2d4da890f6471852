package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/api"
)

// daemonClient returns a client of the daemon running for this Ferry
// home, or nil when none runs.
func (a *app) daemonClient() (*api.Client, error) {
	home, err := a.home()
	if err != nil {
		return nil, err
	}
	if a.inDaemon {
		// A command line the daemon runs for the ferry front.
		return api.NewClient(home), nil
	}
	c, err := api.Dial(home)
	if errors.Is(err, api.ErrNoDaemon) {
		return nil, nil
	}
	return c, err
}

// needDaemon is daemonClient for commands that only work through one.
func (a *app) needDaemon() (*api.Client, error) {
	c, err := a.daemonClient()
	if err == nil && c == nil {
		home, _ := a.home()
		err = fmt.Errorf("no ferry daemon is running for %s: start one with `ferry daemon` (offers to `ferry receive` are answered in its terminal)", home)
	}
	return c, err
}

func (a *app) acceptCommand() *cobra.Command {
	return a.answerCommand(false)
}

func (a *app) refuseCommand() *cobra.Command {
	return a.answerCommand(true)
}

// answerCommand is `ferry accept` (refuse false) or `ferry refuse`.
func (a *app) answerCommand(refuse bool) *cobra.Command {
	var (
		reason string
		list   bool
	)
	verb, did := "accept", "accepted"
	if refuse {
		verb, did = "refuse", "refused"
	}
	cmd := &cobra.Command{
		Use:   verb + " [OFFER]",
		Short: map[bool]string{false: "Accept an offer waiting in the running daemon", true: "Refuse an offer waiting in the running daemon"}[refuse],
		Long: `Answer an incoming offer that waits in the running daemon ("ferry daemon"),
from any terminal. OFFER is the offer's transfer ID or a unique prefix of one;
without it, the only offer waiting is answered (several waiting is an error
that lists them). --list shows the offers waiting.`,
		Example: fmt.Sprintf("  ferry %s --list\n  ferry %s\n  ferry %s 3f9a1c2e", verb, verb, verb),
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.needDaemon()
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			if list {
				offers, err := c.Offers(ctx)
				if err != nil {
					return err
				}
				if len(offers) == 0 {
					fmt.Fprintln(out, "no offer is waiting")
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "OFFER\tFROM\tFILES\tSIZE\tNAMES")
				for _, o := range offers {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%v\n", shortID(o.ID), peerWho(o.PeerName, o.Peer), o.Files, size(o.Total), o.Names)
				}
				return tw.Flush()
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			// Say which offer was answered: the one named, or the only one.
			offers, err := c.Offers(ctx)
			if err != nil {
				return err
			}
			if err := c.Answer(ctx, id, refuse, reason); err != nil {
				return err
			}
			for _, o := range offers {
				if len(offers) == 1 || id != "" && len(id) <= len(o.ID) && o.ID[:len(id)] == id {
					fmt.Fprintf(out, "%s the offer %s from %s: %d file(s), %s\n", did, shortID(o.ID), peerWho(o.PeerName, o.Peer), o.Files, size(o.Total))
					break
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list the offers waiting instead of answering one")
	if refuse {
		cmd.Flags().StringVar(&reason, "reason", "", "the reason the sender is told (default: declined by the user)")
	}
	return cmd
}
