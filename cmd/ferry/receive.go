package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

func (a *app) receiveCommand() *cobra.Command {
	var (
		dir                 string
		yes, asJSON, resume bool
	)
	cmd := &cobra.Command{
		Use:   "receive [--dir D] [--yes]",
		Short: "Receive files until interrupted",
		Long: `Announce this device and receive files until interrupted (Ctrl-C).

Each offer is shown with its sender, file count and size, and you are asked to
accept it, unless --yes is given or the sender's peer ID is listed in
transfer.auto_accept. Files are written to part files beside their final
place, journaled, checked against the sender's SHA-256 and renamed into place;
an existing file is never overwritten (a free name like "a (1).txt" is used).
An interrupted transfer resumes when the sender sends again, even after this
command restarts.

Files land in --dir, else transfer.dir from the config, else the current
folder (as with croc). They keep the sender's permission bits (under this
process's umask) and modification times. A folder that is already there is
never merged into: a second send of "photos/" arrives as "photos (1)/".

While it runs, it also resumes this device's own unfinished outgoing transfers
(see "ferry status") whenever their receiver comes into sight; --resume=false
turns that off.`,
		Example: `  ferry receive
  ferry receive --dir ~/Downloads --yes --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			r := newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			s, err := a.startNode(ctx, cmd, r, node.Options{})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			if dir, err = receiveDir(dir, s.cfg); err != nil {
				return err
			}
			inbox, err := transfer.OpenInbox(dir, filepath.Join(s.cfg.Home(), "transfers"))
			if err != nil {
				return err
			}
			defer inbox.Close()
			var auto []sdk.PeerID
			for _, raw := range s.cfg.Transfer.AutoAccept {
				id, err := sdk.ParsePeerID(raw)
				if err != nil {
					return fmt.Errorf("transfer.auto_accept: %q: %w", raw, err)
				}
				auto = append(auto, id)
			}
			decide := acceptAll
			if !yes {
				decide = a.prompt(cmd.InOrStdin(), cmd.OutOrStdout())
			}
			s.node.Serve(inbox, auto, decide)
			if !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "receiving as %s (%s) into %s; Ctrl-C to stop\n", s.cfg.DeviceName(), s.id.ID, inbox.Dir())
			}
			if resume {
				box, err := openOutbox(s)
				if err != nil {
					return err
				}
				defer box.Close()
				wait := s.node.Outgoing(box).AutoResume(ctx, time.Minute)
				defer wait()
			}
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder to receive into (default: transfer.dir, else the current folder)")
	f.BoolVar(&yes, "yes", false, "accept every offer without asking")
	f.BoolVar(&asJSON, "json", false, "print events as JSON lines")
	f.BoolVar(&resume, "resume", true, "resume this device's unfinished outgoing transfers when their peer comes into sight")
	return cmd
}

func acceptAll(context.Context, node.Ask) string { return "" }

// prompt asks on the terminal, one offer at a time. With no input left
// (stdin closed), offers are refused with a reason.
func (a *app) prompt(in io.Reader, out io.Writer) node.Decider {
	var mu sync.Mutex
	lines := bufio.NewScanner(in)
	return func(ctx context.Context, ask node.Ask) string {
		mu.Lock()
		defer mu.Unlock()
		var total int64
		for _, f := range ask.Offer.Files {
			total += f.Size
		}
		fmt.Fprintf(out, "Accept %d file(s), %s, from %s (%s)?\n", len(ask.Offer.Files), size(total), ask.PeerName, ask.Peer)
		for i, f := range ask.Offer.Files {
			if i == 10 {
				fmt.Fprintf(out, "  ... and %d more\n", len(ask.Offer.Files)-10)
				break
			}
			fmt.Fprintf(out, "  %s (%s)\n", f.Name, size(f.Size))
		}
		fmt.Fprint(out, "[y/N] ")
		answer := make(chan string, 1)
		go func() {
			if lines.Scan() {
				answer <- lines.Text()
			} else {
				answer <- "\x00eof"
			}
		}()
		select {
		case got := <-answer:
			switch strings.ToLower(strings.TrimSpace(got)) {
			case "y", "yes":
				return ""
			case "\x00eof":
				return "no one to ask on the receiving side (run `ferry receive --yes` or list the sender in transfer.auto_accept)"
			}
			return "declined by the user"
		case <-ctx.Done():
			return "receiver shutting down"
		}
	}
}
