package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// accountSettle is how long a send to an account waits, once one device
// of the account is seen, for the others to be seen too.
const accountSettle = 1500 * time.Millisecond

// leg is one receiver of a send to several: a device named by --to, or one
// device of an account named by --to.
type leg struct {
	to      string      // the --to it came from
	acct    *account.ID // the account, for a device found through one
	name    string      // the device's name in the account's certificate
	peer    sdk.PeerInfo
	man     *transfer.Manifest
	rec     *transfer.Outgoing
	err     error
	started bool
}

// who names the leg's device for people.
func (l *leg) who() string {
	if l.name != "" {
		return l.name
	}
	if l.peer.Name != "" {
		return l.peer.Name
	}
	if !l.peer.ID.IsZero() {
		return l.peer.ID.Short()
	}
	return l.to
}

// sendMany sends to several receivers at once: one transfer each, under
// one offer that names them all; man is the first one's scan (each other
// receiver gets a scan of its own, since a send records hashes and
// progress in its manifest). A --to naming an account stands for every
// device of it that is found, and later ones within retryFor.
func (a *app) sendMany(ctx context.Context, cmd *cobra.Command, r *renderer, s *session, paths []string, man *transfer.Manifest, tos []string, protocol string, asJSON bool, findFor, retryFor time.Duration) error {
	out := cmd.OutOrStdout()
	resolved := make([][]*leg, len(tos))
	var wg sync.WaitGroup
	for i, to := range tos {
		wg.Go(func() { resolved[i] = resolveLegs(ctx, s.node, to, findFor) })
	}
	wg.Wait()
	var legs []*leg
	var peers []sdk.PeerInfo
	seen := map[sdk.PeerID]string{}
	for _, group := range resolved {
		for _, l := range group {
			if l.err == nil {
				if other, dup := seen[l.peer.ID]; dup {
					if l.acct != nil {
						continue // named by itself too, or by another account
					}
					return fmt.Errorf("--to %q and --to %q name the same peer %s", other, l.to, l.peer.ID)
				}
				seen[l.peer.ID] = l.to
				peers = append(peers, l.peer)
			}
			legs = append(legs, l)
		}
	}
	box, err := openOutbox(s)
	if err != nil {
		return err
	}
	defer box.Close()
	o := s.node.Outgoing(box)
	var mu sync.Mutex // guards legs and the renderer's groups once sends run
	first := true
	prepare := func(l *leg) {
		l.man = man
		if !first {
			if l.man, l.err = transfer.ScanWith(ctx, paths, transfer.ScanOptions{Cache: s.node.HashCache(), Defer: true}); l.err != nil {
				return
			}
		}
		first = false
		if l.rec, _, l.err = o.Record(l.man, paths, l.peer, protocol); l.err != nil {
			return
		}
		if l.acct != nil {
			l.rec.Account = l.acct.String()
			r.joinGroup(l.acct.String(), l.acct.Short(), l.rec.ID, l.who())
		}
		if !asJSON {
			fmt.Fprintf(out, "sending %d file(s), %s, to %s (%s), transfer %s\n", len(l.man.Files), size(l.man.TotalSize()), l.peer.Name, l.peer.ID, shortID(l.rec.ID))
		}
	}
	for _, l := range legs {
		if l.err == nil {
			prepare(l)
		}
	}
	var sends sync.WaitGroup
	running := 0                    // sends under way; under mu
	ended := make(chan struct{}, 1) // a send ended
	start := func(l *leg) {         // called with mu held
		l.started = true
		running++
		sends.Go(func() {
			err := resumeHint(ctx, l.rec, o.SendAmong(ctx, l.rec, l.man, l.peer, peers, retryFor))
			mu.Lock()
			l.err = err
			running--
			mu.Unlock()
			select {
			case ended <- struct{}{}:
			default:
			}
		})
	}
	mu.Lock()
	for _, l := range legs {
		if l.rec != nil {
			start(l)
		}
	}
	mu.Unlock()
	// A device of an account that comes into sight later, within
	// retryFor, is offered the transfer too. The send waits for that
	// while a device known to belong to the account (from its own
	// announcement, or the account's record on the DHT) has not been
	// offered it yet; otherwise it ends with the last send.
	accts := map[account.ID]string{}
	for _, l := range legs {
		if l.acct != nil {
			accts[*l.acct] = l.to
		}
	}
	if len(accts) > 0 {
		lateCtx, stopLate := context.WithTimeout(ctx, retryFor)
		for {
			changed := s.node.PeersChanged()
			mu.Lock()
			pending := false
			for acct, to := range accts {
				if lateCtx.Err() != nil {
					break
				}
				for _, p := range s.node.AccountDevices(acct) {
					if _, ok := seen[p.ID]; ok {
						continue
					}
					seen[p.ID] = to
					a.log.Info("a device of the account came into sight: offering it the transfer too", "account", acct, "peer", p.ID, "name", p.Name)
					l := &leg{to: to, acct: &acct, peer: p, name: certName(s.node, p.ID)}
					legs = append(legs, l)
					prepare(l)
					if l.rec != nil {
						start(l)
					}
				}
				for _, d := range s.node.Accounts().Devices(acct) {
					if _, ok := seen[d]; !ok && d != s.id.ID {
						pending = true
					}
				}
			}
			idle := running == 0
			mu.Unlock()
			if idle && (!pending || lateCtx.Err() != nil) {
				break
			}
			var late <-chan struct{} // nil once expired: then only the sends' ends count
			if lateCtx.Err() == nil {
				late = lateCtx.Done()
			}
			select {
			case <-changed:
			case <-ended:
			case <-late:
			}
		}
		stopLate()
	}
	sends.Wait()
	return sendSummary(out, legs, man, asJSON)
}

// resolveLegs resolves one --to: a device, or every device of an account
// seen within findFor.
func resolveLegs(ctx context.Context, n *node.Node, to string, findFor time.Duration) []*leg {
	if !account.IsAccountID(to) {
		p, err := n.Resolve(ctx, to, findFor)
		return []*leg{{to: to, peer: p, err: err}}
	}
	id, err := account.ParseID(to)
	if err != nil {
		return []*leg{{to: to, err: err}}
	}
	devs, err := n.ResolveAccount(ctx, id, findFor, accountSettle)
	if err != nil {
		return []*leg{{to: to, acct: &id, err: err}}
	}
	legs := make([]*leg, len(devs))
	for i, d := range devs {
		legs[i] = &leg{to: to, acct: &id, peer: d, name: certName(n, d.ID)}
	}
	return legs
}

// certName is the name the account's certificate gives device id.
func certName(n *node.Node, id sdk.PeerID) string {
	if c, ok := n.AccountOf(id); ok {
		return c.Name
	}
	return ""
}

// sendSummary prints each receiver's outcome, grouped by account, and
// returns the send's error: a device named by --to must have verified
// every file; an account, through at least one of its devices.
func sendSummary(out io.Writer, legs []*leg, man *transfer.Manifest, asJSON bool) error {
	var failed, skipped []string
	byAcct := map[account.ID][]*leg{}
	var acctOrder []account.ID
	for _, l := range legs {
		if l.acct != nil {
			if _, ok := byAcct[*l.acct]; !ok {
				acctOrder = append(acctOrder, *l.acct)
			}
			byAcct[*l.acct] = append(byAcct[*l.acct], l)
			continue
		}
		switch {
		case l.err != nil:
			failed = append(failed, fmt.Sprintf("%s: %s: %v", l.who(), node.ErrorCode(l.err), l.err))
		case len(l.man.Skipped) > len(skipped):
			skipped = l.man.Skipped
		}
		if !asJSON && l.err == nil {
			fmt.Fprintf(out, "%s: every file verified\n", l.who())
		}
	}
	for _, acct := range acctOrder {
		group := byAcct[acct]
		ok := 0
		var lines []string
		for _, l := range group {
			outcome := "verified every file"
			switch {
			case l.err != nil && l.peer.ID.IsZero():
				outcome = fmt.Sprintf("%s: %v", node.ErrorCode(l.err), l.err)
			case l.err != nil:
				outcome = fmt.Sprintf("%s: %v", node.ErrorCode(l.err), l.err)
			default:
				ok++
				if len(l.man.Skipped) > len(skipped) {
					skipped = l.man.Skipped
				}
			}
			id := ""
			if !l.peer.ID.IsZero() {
				id = " (" + l.peer.ID.Short() + ")"
			}
			lines = append(lines, fmt.Sprintf("  %s%s: %s", l.who(), id, outcome))
		}
		if !asJSON {
			fmt.Fprintf(out, "account %s: %d of %d device(s) verified every file\n%s\n", acct.Short(), ok, len(group), strings.Join(lines, "\n"))
		}
		if ok == 0 {
			failed = append(failed, fmt.Sprintf("account %s: no device verified every file: %s", acct.Short(), strings.Join(trimAll(lines), "; ")))
		}
	}
	if len(failed) > 0 {
		// Not wrapping the receivers' errors: each was said in its own
		// events; this summary is said whole, whatever they were.
		return fmt.Errorf("%d of %d receivers did not verify every file: %s", len(failed), len(legs), strings.Join(failed, "; "))
	}
	if len(skipped) > 0 {
		return &exitError{code: exitSkipped, err: fmt.Errorf("sent %d file(s) to %d receivers, but skipped %s", len(man.Files), len(legs), skippedSummary(skipped))}
	}
	return nil
}

func trimAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSpace(l)
	}
	return out
}
