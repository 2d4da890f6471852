package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// accountLinkCommands returns link (on the key holder) and join (on the
// new device).
func (a *app) accountLinkCommands() []*cobra.Command {
	return []*cobra.Command{a.accountLinkCommand(), a.accountJoinCommand()}
}

func (a *app) accountLinkCommand() *cobra.Command {
	var (
		tries           int
		validFor, certs time.Duration
	)
	cmd := &cobra.Command{
		Use:   "link",
		Short: "Show a one-time code that links a new device to the account (on the key holder)",
		Long: `Print a short one-time code, valid for --valid-for, and wait for a new device
to type it in "ferry account join CODE". The code names this device (its
first ID group) and 40 random bits; the exchange is a PAKE (PAKE2 on P-256),
so whoever sees it cannot test guesses offline, and after --tries wrong codes
the code is burned. The first device that proves the code gets a certificate
(valid for --cert-valid-for) and the account's revocation list, over the LAN or
the DHT (sealed signaling messages); the code then cannot be used again, and
link exits. Exit status 1 when the code expired or burned unused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, self, _, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			key, err := store.Key()
			if err != nil {
				return err
			}
			rev, err := store.Revocations()
			if err != nil {
				return err
			}
			code, err := account.NewLinkCode(self)
			if err != nil {
				return err
			}
			expires := time.Now().Add(validFor)
			l := account.NewLinker(account.LinkerOptions{Key: key, Self: self, Code: code, Tries: tries, Expires: expires, Validity: certs, Revocations: rev})
			s, err := a.startNode(ctx, cmd, nil, node.Options{})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			linked := make(chan *account.Certificate, 1)
			burned := make(chan error, 1)
			// The handler answers while the link is open; finish closes
			// it and lets the answers already given leave.
			var (
				sends  sync.WaitGroup
				hmu    sync.Mutex
				closed bool
			)
			finish := func() {
				hmu.Lock()
				closed = true
				hmu.Unlock()
				sends.Wait()
			}
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			defer finish()
			defer s.node.HandleLink(func(from sdk.PeerID, payload []byte) {
				hmu.Lock()
				defer hmu.Unlock()
				if closed {
					return
				}
				reply, issued, err := l.Handle(from, payload)
				if err != nil {
					a.log.Warn("link attempt refused", "from", from, "err", err)
				}
				if reply != nil {
					sends.Go(func() {
						if err := s.node.SendLink(sctx, from, reply); err != nil {
							a.log.Warn("could not answer a link attempt", "peer", from, "err", err)
						}
					})
				}
				switch {
				case issued != nil:
					select {
					case linked <- issued:
					default:
					}
				case errors.Is(err, account.ErrCodeBurned):
					select {
					case burned <- err:
					default:
					}
				}
			})()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "link code: %s\n", code)
			fmt.Fprintf(out, "on the new device, within %s: ferry account join %s\n", validFor, code)
			timer := time.NewTimer(validFor)
			defer timer.Stop()
			select {
			case c := <-linked:
				if err := store.SaveIssued(c); err != nil {
					return err
				}
				finish() // the certificate's message leaves before the node stops
				fmt.Fprintf(out, "linked %q (%s) to account %s\n", c.Name, c.Device, c.Account)
				return nil
			case err := <-burned:
				finish() // the last "fail" answer leaves first
				return fmt.Errorf("%w (%d wrong codes); run ferry account link again for a new one", err, tries)
			case <-timer.C:
				return fmt.Errorf("link code %s expired unused after %s", code, validFor)
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
	f := cmd.Flags()
	f.IntVar(&tries, "tries", 3, "wrong codes that burn the code")
	f.DurationVar(&validFor, "valid-for", 5*time.Minute, "how long the code can be used")
	f.DurationVar(&certs, "cert-valid-for", account.DefaultValidity, "how long the new device's certificate is valid")
	return cmd
}

func (a *app) accountJoinCommand() *cobra.Command {
	var (
		name    string
		via     string
		findFor time.Duration
		answer  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "join CODE",
		Short: "Join an account with the code ferry account link shows",
		Long: `Join this device to an account: CODE is what "ferry account link" printed on
the device holding the account key. That device is found by the first group
of its ID in the code among the peers discovery sees (the LAN); give its whole
peer ID with --via to look it up through the DHT instead. The exchange proves
the code without sending it (PAKE); a wrong code fails with the same message
as a used or expired one. The certificate (and the account's revocation list)
are stored in $FERRY_HOME/account/.`,
		Example: `  ferry account join KXQ3Z7M-ABCD-EFGH
  ferry account join KXQ3Z7M-ABCD-EFGH --via KXQ3Z7M-...   # over the DHT`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			code, err := account.ParseLinkCode(args[0])
			if err != nil {
				return err
			}
			store, self, devName, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			if store.HasKey() {
				return errors.New("this device holds an account key: it is that account's first device and cannot join another")
			}
			if name == "" {
				name = truncName(devName)
			}
			s, err := a.startNode(ctx, cmd, nil, node.Options{})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			var linker sdk.PeerInfo
			if via != "" {
				id, err := sdk.ParsePeerID(via)
				if err != nil {
					return fmt.Errorf("--via: %w", err)
				}
				if id.Short() != code.Linker {
					return fmt.Errorf("--via %s is not the device the code names (%s...)", id.Short(), code.Linker)
				}
				if linker, err = s.node.Find(ctx, id, findFor); err != nil {
					return err
				}
			} else if linker, err = s.node.Resolve(ctx, code.Linker, findFor); err != nil {
				return fmt.Errorf("the device showing the code: %w", err)
			}
			j, hello, err := account.NewJoiner(self, linker.ID, code, name)
			if err != nil {
				return err
			}
			replies := make(chan []byte, 8)
			defer s.node.HandleLink(func(from sdk.PeerID, payload []byte) {
				if from != linker.ID {
					a.log.Warn("ignored a link message from another device than the linker", "from", from)
					return
				}
				select {
				case replies <- payload:
				default:
				}
			})()
			msg := hello
			for {
				if err := s.node.SendLink(ctx, linker.ID, msg); err != nil {
					return err
				}
				msg = nil
				for msg == nil {
					var reply []byte
					select {
					case reply = <-replies:
					case <-time.After(answer):
						return fmt.Errorf("no answer from %s (%s) within %s: is ferry account link still running there? %w", linker.Name, linker.ID.Short(), answer, sdk.ErrOffline)
					case <-ctx.Done():
						return ctx.Err()
					}
					next, cert, rev, err := j.Handle(reply, time.Now())
					if err != nil {
						return err
					}
					if cert != nil {
						if err := installCertificate(cmd, store, self, cert); err != nil {
							return err
						}
						if rev != nil {
							if _, err := store.SaveRevocations(rev); err != nil {
								return err
							}
						}
						return nil
					}
					msg = next // nil: a repeat or another session's; wait on
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "this device's name in the account (default: device.name)")
	f.StringVar(&via, "via", "", "the linking device's whole peer ID, to look it up through the DHT")
	f.DurationVar(&findFor, "find-timeout", 10*time.Second, "how long to look for the linking device")
	f.DurationVar(&answer, "answer-timeout", 20*time.Second, "how long to wait for each answer of the linking device")
	return cmd
}
