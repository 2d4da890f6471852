package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/node"
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
transfer.auto_accept. Answer y (accept), n or Enter (refuse), or a (accept,
and add the sender to transfer.auto_accept in the config file, so that its
offers are accepted without asking from now on). Keys typed before the
question appeared are ignored; an answer not understood is asked again; the
question is withdrawn when the sender gives up or its offer expires. With
--json the questions go to stderr.

Files are written to part files beside their final place, journaled, checked
against the sender's SHA-256 and renamed into place; an existing file is never
overwritten (a free name like "a (1).txt" is used). An interrupted transfer
resumes when the sender sends again, even after this command restarts.

Files land in --dir, else transfer.dir from the config, else the current
folder (as with croc). They keep the sender's permission bits (under this
process's umask) and modification times. A folder that is already there is
never merged into: a second send of "photos/" arrives as "photos (1)/".

While it runs, it also resumes this device's own unfinished outgoing transfers
(see "ferry status") whenever their receiver comes into sight; --resume=false
turns that off.

SIGHUP reloads the config (file and FERRY_* variables): plugin configs that
changed, such as new STUN/TURN servers or credentials, apply to new
connections while transfers under way go on; a config that does not check,
or a change that needs a restart (instances, priorities), is refused with the
reason and the old config stays in force.`,
		Example: `  ferry receive
  ferry receive --dir ~/Downloads --yes --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.refuseBesideDaemon(); err != nil {
				return err
			}
			r := newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			s, err := a.startNode(ctx, cmd, r, node.Options{})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			defer a.watchReload(ctx, cmd, s, func(line string) {
				if asJSON { // stdout holds only events
					fmt.Fprintln(cmd.ErrOrStderr(), line)
				} else {
					r.printf("%s\n", line)
				}
			})()
			if dir, err = receiveDir(dir, s.cfg); err != nil {
				return err
			}
			inbox, err := inboxOf(s.cfg, dir)
			if err != nil {
				return err
			}
			defer inbox.Close()
			auto, err := autoAccept(s.cfg)
			if err != nil {
				return err
			}
			decide := acceptAll
			if !yes {
				// With --json, stdout holds only events: the
				// questions go to stderr.
				out := cmd.OutOrStdout()
				if asJSON {
					out = cmd.ErrOrStderr()
				}
				decide = prompt(newLineReader(cmd.InOrStdin()), out, func(id sdk.PeerID) (string, error) {
					file := s.cfg.File()
					if file == "" {
						file = s.cfg.DefaultFile()
					}
					return file, config.AddAutoAccept(file, id)
				})
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

// autoAccept returns the peers of transfer.auto_accept, whose offers are
// accepted without asking.
func autoAccept(cfg *config.Config) ([]sdk.PeerID, error) {
	var auto []sdk.PeerID
	for _, raw := range cfg.Transfer.AutoAccept {
		if account.IsAccountID(raw) {
			continue // an account: the node accepts its devices (node.Start)
		}
		id, err := sdk.ParsePeerID(raw)
		if err != nil {
			return nil, fmt.Errorf("transfer.auto_accept: %q: %w", raw, err)
		}
		auto = append(auto, id)
	}
	return auto, nil
}
