package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

func (a *app) sendCommand() *cobra.Command {
	var (
		tos                         []string
		protocol                    string
		asJSON                      bool
		findFor, retryFor, answerIn time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send PATH... --to PEER [--to PEER]...",
		Short: "Send files and folders to a peer",
		Long: `Send files and folders to a peer. PEER is a peer ID, a unique prefix of one,
or a device name seen on the network ("ferry peers" lists them); a prefix or
name matching several peers is an error that lists them.

ferry hashes every file (SHA-256), finds the peer, sends it a sealed offer
(ASK) and waits for the receiver to accept. Then it connects through the
configured transports, secures the stream with TLS 1.3 pinned to the peer's
ID, and sends. If the connection breaks (the receiver restarts, the network
drops) it resumes where the receiver's journal says, for --retry-for.

An unfinished transfer is kept in $FERRY_HOME/outbox: running the same send
again (same peer, same files) resumes it under its transfer ID, and so does
"ferry resume"; the receiver then asks only for what it lacks. "ferry status"
lists unfinished transfers.

Exit status 0 means the receiver has checked the SHA-256 of every file.
Exit status 3 means every file that was sent was checked, but some paths
were skipped (FIFOs, sockets, devices, symlinks, names a receiver would
refuse); the error lists each with its reason. A send with nothing sendable
fails before any peer is looked up. Ctrl-C prints how far the transfer got
and how to go on with it, and exits 130; the transfer stays in the outbox.
Any other failure exits 1.

With several --to, one offer names every receiver (seed 003's receivers
list); each answers for itself and gets its own connection, transfer ID and
resume (the files are read for each). The exit status is 0 only when every
receiver has verified every file; otherwise 1, and the summary names each
receiver that did not and why (refused, offline, failed).

PEER may be an account ID (acct-..., "ferry peers" shows the accounts of the
devices it sees): the transfer is offered to every reachable device of the
account, found by LAN announcements or the DHT, and to a device that comes
online later within --retry-for. Each device accepts or refuses for itself
and gets its own transfer and resume; the progress shown is that of the most
advanced device, --json and "ferry status" give each device's, and the
summary lists each device's outcome. A send to an account succeeds (exit 0)
when at least one of its devices verified every file.`,
		Example: `  ferry send report.pdf --to KXQ3Z7M
  ferry send photos/ notes.txt --to laptop --json
  ferry send big.iso --to laptop --protocol jsonchunk
  ferry send photos/ --to laptop --to phone --to KXQ3Z7M
  ferry send photos/ --to acct-MFRGGZD-FMZTWQ2-...`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) (err error) {
			ctx := cmd.Context()
			r := newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			defer func() {
				r.fail(err)
				if r.shownRefusal(err) {
					// "[bob] REFUSE: reason" said it once; exit 1 quietly.
					err = &exitError{code: 1, err: err, silent: true}
				}
			}()
			if len(tos) == 0 || slices.Contains(tos, "") {
				return errors.New("--to is required: a peer ID, a unique prefix of one, or a device name")
			}
			to := tos[0]
			// An account is sent to here, as several receivers are: the
			// daemon's API takes one peer.
			c, err := a.daemonClient()
			if err != nil {
				return err
			}
			if c != nil {
				defer c.Close()
				if len(tos) > 1 || account.IsAccountID(to) {
					// Starting a node here would run this device twice
					// beside the daemon: peers would answer either.
					return errors.New("a ferry daemon runs for this home, and it sends to one device at a time (ferry send PATH --to PEER): a send to several receivers or to an account needs the daemon stopped (this device must not run twice)")
				}
				// A daemon runs for this home: it sends, no plugin starts here.
				return a.sendViaDaemon(ctx, cmd, c, r, paths, to, protocol, asJSON, findFor, retryFor)
			}
			// Start first: discovery finds the peer while the files are hashed.
			s, err := a.startNode(ctx, cmd, r, node.Options{PeerTimeout: findFor, AnswerTimeout: answerIn})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			// The offer goes out at once: files the hash cache does not
			// know are hashed as they are sent.
			man, err := transfer.ScanWith(ctx, paths, transfer.ScanOptions{Cache: s.node.HashCache(), Defer: true})
			if err != nil {
				return err
			}
			if len(man.Files) == 0 {
				// Before any peer is looked up or any outbox entry made.
				return fmt.Errorf("nothing to send: %s", skippedSummary(man.Skipped))
			}
			for _, s := range man.Skipped {
				a.log.Warn("not sent", "what", s)
			}
			if len(tos) > 1 || slices.ContainsFunc(tos, account.IsAccountID) {
				return a.sendMany(ctx, cmd, r, s, paths, man, tos, protocol, asJSON, findFor, retryFor)
			}
			peer, err := s.node.Resolve(ctx, to, findFor)
			if err != nil {
				if errors.Is(err, sdk.ErrOffline) {
					return fmt.Errorf("%w (is `ferry receive` running there, on the same network?)", err)
				}
				return err
			}
			box, err := openOutbox(s)
			if err != nil {
				return err
			}
			defer box.Close()
			out := s.node.Outgoing(box)
			rec, resumed, err := out.Record(man, paths, peer, protocol)
			if err != nil {
				return err
			}
			if resumed && !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "resuming transfer %s: %s of %s confirmed earlier\n", shortID(rec.ID), size(rec.Done()), size(rec.Total()))
			}
			if !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "sending %d file(s), %s, to %s (%s)\n", len(man.Files), size(man.TotalSize()), peer.Name, peer.ID)
			}
			start, already := time.Now(), rec.Done()
			clock := &sendClock{}
			defer s.node.Subscribe(clock.event)()
			if err := out.Send(ctx, rec, man, peer, retryFor); err != nil {
				if ctx.Err() != nil && r.interrupted(rec.ID, peerWho(peer.Name, peer.ID.String())) {
					// Ctrl-C: the paused line says how far and how to go on.
					return &exitError{code: exitInterrupted, err: err, silent: true}
				}
				return resumeHint(ctx, rec, err)
			}
			if !asJSON {
				fmt.Fprintln(cmd.OutOrStdout(), clock.summary(start, time.Now(), man.TotalSize()-already))
			}
			if len(man.Skipped) > 0 {
				return &exitError{code: exitSkipped, err: fmt.Errorf("sent %d file(s), but skipped %s", len(man.Files), skippedSummary(man.Skipped))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&tos, "to", nil, "receiver: peer ID, unique ID prefix, or device name (REQUIRED; repeat for several receivers)")
	f.StringVar(&protocol, "protocol", "", "the only protocol to offer: a configured protocol's name (ftv2a, jsonchunk) or ID; default: every configured one, in config order")
	f.BoolVar(&asJSON, "json", false, "print events as JSON lines instead of text and progress bars")
	f.DurationVar(&findFor, "find-timeout", 10*time.Second, "how long to look for the peer before reporting it offline")
	f.DurationVar(&retryFor, "retry-for", time.Minute, "how long to keep resuming after the connection breaks")
	f.DurationVar(&answerIn, "answer-timeout", 5*time.Minute, "how long to wait for the receiver to accept or refuse")
	return cmd
}

// exitSkipped is the exit status of a send that delivered every file it
// sent but skipped some paths.
const exitSkipped = 3

// exitInterrupted is the exit status of a command stopped by Ctrl-C
// (SIGINT) or SIGTERM, as shells report a process killed by SIGINT.
const exitInterrupted = 130

// peerWho is how text output names a peer: its device name, else the
// start of its ID.
func peerWho(name, id string) string {
	if name == "" && len(id) > 7 {
		return id[:7]
	}
	if name == "" {
		return id
	}
	return name
}

// skippedSummary lists skipped paths with their reasons, at most ten.
func skippedSummary(skipped []string) string {
	if len(skipped) == 0 {
		return "no files found"
	}
	list := skipped
	more := ""
	if len(list) > 10 {
		list, more = list[:10], fmt.Sprintf("; and %d more", len(skipped)-10)
	}
	return fmt.Sprintf("%d path(s): %s%s", len(skipped), strings.Join(list, "; "), more)
}

// sendClock notes when the receiver accepted, so that the closing line
// gives the transfer's rate apart from the time spent waiting for the
// answer.
type sendClock struct {
	mu       sync.Mutex
	accepted time.Time
}

func (c *sendClock) event(e node.Event) {
	if e.Kind != node.EventAccepted {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accepted.IsZero() {
		c.accepted = e.Time
	}
}

// summary says how long the data took and at what rate, and how long the
// receiver took to answer; moved is the number of bytes this run sent.
func (c *sendClock) summary(start, end time.Time, moved int64) string {
	c.mu.Lock()
	accepted := c.accepted
	c.mu.Unlock()
	if accepted.IsZero() || accepted.Before(start) || accepted.After(end) {
		accepted = start
	}
	secs := end.Sub(accepted).Seconds()
	line := fmt.Sprintf("sent %s in %.1fs (%s/s)", size(moved), secs, size(int64(float64(moved)/max(secs, 0.001))))
	if wait := accepted.Sub(start); wait >= 100*time.Millisecond {
		line += fmt.Sprintf("; %.1fs waiting for the receiver to accept", wait.Seconds())
	}
	return line
}
