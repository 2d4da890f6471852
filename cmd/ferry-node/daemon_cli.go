package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/api"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// daemonSendError is how a send through the daemon ended when not every
// file was verified: the code and message of its ended event.
type daemonSendError struct{ code, msg string }

func (e *daemonSendError) Error() string { return e.msg }

// Is makes the error match the sentinels of its code, so that the output
// treats it as the same failure in this process.
func (e *daemonSendError) Is(target error) bool {
	switch target {
	case sdk.ErrRefused:
		return e.code == node.CodeRefused
	case sdk.ErrOffline:
		return e.code == node.CodeOffline
	case context.Canceled:
		return e.code == node.CodeCancelled
	}
	return false
}

// sendViaDaemon is `ferry send` to one peer through the running daemon:
// the daemon reads the files and sends them; this process shows the
// transfer's events as a send of its own would, and exits when the
// transfer ends. Ctrl-C leaves the transfer with the daemon.
func (a *app) sendViaDaemon(ctx context.Context, cmd *cobra.Command, c *api.Client, r *renderer, paths []string, to, protocol string, asJSON bool, findFor, retryFor time.Duration) error {
	out := cmd.OutOrStdout()
	abs := make([]string, len(paths))
	for i, p := range paths {
		ap, err := a.abs(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		abs[i] = ap
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := c.Events(ectx)
	if err != nil {
		return err
	}
	sent, err := c.Send(ctx, api.SendRequest{Paths: abs, To: to, Protocol: protocol, FindTimeoutMS: findFor.Milliseconds(), RetryForMS: retryFor.Milliseconds()})
	if err != nil {
		return err
	}
	for _, s := range sent.Skipped {
		a.log.Warn("not sent", "what", s)
	}
	if sent.Resumed && !asJSON {
		fmt.Fprintf(out, "resuming transfer %s: %s of %s confirmed earlier\n", shortID(sent.Transfer), size(sent.Done), size(sent.Total))
	}
	if !asJSON {
		fmt.Fprintf(out, "sending %d file(s), %s, to %s (%s) through the daemon\n", sent.Files, size(sent.Total), sent.PeerName, sent.Peer)
	}
	start, clock := time.Now(), &sendClock{}
	for {
		var e node.Event
		var ok bool
		select {
		case e, ok = <-events:
		case <-ctx.Done():
			if !asJSON {
				fmt.Fprintf(out, "the daemon goes on with transfer %s (`ferry status` shows it)\n", shortID(sent.Transfer))
			}
			return &exitError{code: exitInterrupted, err: ctx.Err(), silent: true}
		}
		if !ok {
			return fmt.Errorf("the daemon went away during transfer %s; it resumes when the daemon runs again", shortID(sent.Transfer))
		}
		if e.Transfer != sent.Transfer {
			continue
		}
		if e.Kind != api.EventEnded {
			clock.event(e)
			r.event(e)
			continue
		}
		if e.Code != "" {
			return &daemonSendError{code: e.Code, msg: e.Message}
		}
		break
	}
	if !asJSON {
		fmt.Fprintln(out, clock.summary(start, time.Now(), sent.Total-sent.Done))
	}
	if len(sent.Skipped) > 0 {
		return &exitError{code: exitSkipped, err: fmt.Errorf("sent %d file(s), but skipped %s", sent.Files, skippedSummary(sent.Skipped))}
	}
	return nil
}

// statusViaDaemon lists the daemon's unfinished transfers, with their
// state, rate and route.
func statusViaDaemon(ctx context.Context, c *api.Client) ([]statusLine, error) {
	ts, err := c.Transfers(ctx)
	if err != nil {
		return nil, err
	}
	lines := ts[:0]
	for _, t := range ts {
		if t.State != api.StateDone && t.State != api.StateFailed {
			lines = append(lines, t)
		}
	}
	return lines, nil
}

// peersViaDaemon is `ferry peers` through the daemon: the peers it sees
// now, or with --watch the peer events of its stream.
func peersViaDaemon(ctx context.Context, cmd *cobra.Command, c *api.Client, watch, asJSON bool) error {
	out := cmd.OutOrStdout()
	if watch {
		events, err := c.Events(ctx)
		if err != nil {
			return err
		}
		r := newRenderer(out, cmd.ErrOrStderr(), asJSON)
		for e := range events {
			if e.Kind == node.EventPeer {
				r.event(e)
			}
		}
		return nil
	}
	peers, err := c.Peers(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return jsonLines(out, peers)
	}
	if len(peers) == 0 {
		fmt.Fprintln(out, "the daemon sees no peers")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPEER ID\tFOUND BY\tADDRESSES\tPROTOCOLS")
	for _, p := range peers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.ID, p.Source, strings.Join(p.Addrs, ","), strings.Join(p.Protocols, ","))
	}
	return tw.Flush()
}

func (a *app) configReloadCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Have the running daemon load its config again",
		Long: `Have the running daemon ("ferry daemon") load its config again, as SIGHUP
does: plugin configs that changed apply to new connections; a config that
does not check, or a change that needs a restart, is refused with the reason
(exit status 1) and the old config stays in force. A running "ferry receive"
reloads on SIGHUP (kill -HUP PID).`,
		Example: `  ferry config reload`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.needDaemon()
			if err != nil {
				return err
			}
			defer c.Close()
			line, err := c.Reload(cmd.Context())
			if err != nil {
				var ae *api.Error
				if errors.As(err, &ae) {
					return errors.New(ae.Message)
				}
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			return nil
		},
	}
}

// daemonControl pauses, resumes or cancels (verb) a transfer in the
// daemon and says so.
func daemonControl(cmd *cobra.Command, c *api.Client, id, verb string) error {
	if err := c.Control(cmd.Context(), id, verb); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return errors.New(ae.Message)
		}
		return err
	}
	did := map[string]string{"cancel": "cancelled", "resume": "resumes", "pause": "paused"}[verb]
	fmt.Fprintf(cmd.OutOrStdout(), "the daemon %s transfer %s\n", did, id)
	return nil
}

// resumeViaDaemon is `ferry resume` while a daemon runs: the named
// transfer, or every outgoing one not running, is resumed by the daemon;
// `ferry status` follows them.
func resumeViaDaemon(cmd *cobra.Command, c *api.Client, args []string) error {
	if len(args) == 1 {
		return daemonControl(cmd, c, args[0], "resume")
	}
	ts, err := statusViaDaemon(cmd.Context(), c)
	if err != nil {
		return err
	}
	n := 0
	var errs []error
	for _, t := range ts {
		if t.Direction != "send" || t.State == api.StateRunning {
			continue
		}
		if err := daemonControl(cmd, c, t.Transfer, "resume"); err != nil {
			errs = append(errs, err)
		}
		n++
	}
	if n == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no outgoing transfer waits: the daemon runs every unfinished one whose peer is in sight")
	}
	return errors.Join(errs...)
}

// refuseBesideDaemon stops a command that would run a second node of this
// device (one identity running twice) while a daemon runs for the home.
func (a *app) refuseBesideDaemon() error {
	c, err := a.daemonClient()
	if err != nil || c == nil {
		return err
	}
	c.Close()
	home, _ := a.home()
	return fmt.Errorf("a ferry daemon runs for %s and receives for this device: answer its offers with `ferry accept` / `ferry refuse` (or stop it first)", home)
}
