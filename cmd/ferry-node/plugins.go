package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/plugins"
)

func (a *app) pluginsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List and pin plugins",
		Long: `Commands for the configured plugin instances and the lock file that pins
every plugin binary by sha256.`,
		Example: `  ferry plugins list
  ferry plugins lock --dir bin/plugins`,
	}
	cmd.AddCommand(a.pluginsListCommand(), a.pluginsLockCommand())
	return cmd
}

// pluginRow is one instance in `ferry plugins list --json`.
type pluginRow struct {
	Name    string `json:"name"`
	Plugin  string `json:"plugin"`
	Builtin bool   `json:"builtin"`
	Path    string `json:"path,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// Pin says whether the binary on disk matches SHA256, checked without
	// starting it: "ok", "changed", "missing" or "builtin".
	Pin          string   `json:"pin"`
	Roles        []string `json:"roles"`
	Version      string   `json:"version,omitempty"`
	APIVersions  []int    `json:"api_versions"`
	ProtocolID   string   `json:"protocol_id,omitempty"`
	Capabilities []string `json:"capabilities"`
	PID          int      `json:"pid"`
	State        string   `json:"state"`
	Restarts     int      `json:"restarts"`
	Error        string   `json:"error,omitempty"`
}

func rowOf(s plugins.Status) pluginRow {
	r := pluginRow{
		Name:         s.Name,
		Plugin:       s.Plugin,
		Builtin:      s.Builtin,
		Path:         s.Path,
		SHA256:       s.SHA256,
		Roles:        []string{},
		Version:      s.Info.Version,
		APIVersions:  s.Info.APIVersions,
		ProtocolID:   s.Info.ProtocolID,
		Capabilities: s.Info.Capabilities,
		PID:          s.PID,
		State:        s.State.String(),
		Restarts:     s.Restarts,
	}
	for _, role := range s.Info.Roles {
		r.Roles = append(r.Roles, role.String())
	}
	if r.APIVersions == nil {
		r.APIVersions = []int{}
	}
	if r.Capabilities == nil {
		r.Capabilities = []string{}
	}
	if s.Err != nil {
		r.Error = s.Err.Error()
	}
	r.Pin = pinState(r)
	return r
}

// pinState hashes an instance's binary and compares it with its pin,
// without starting it.
func pinState(r pluginRow) string {
	switch {
	case r.Builtin:
		return "builtin"
	case r.Path == "":
		return "missing"
	}
	sum, err := config.HashFile(r.Path)
	switch {
	case err != nil:
		return "missing"
	case r.SHA256 != "" && sum != r.SHA256:
		return "changed"
	}
	return "ok"
}

func (a *app) pluginsListCommand() *cobra.Command {
	var start, asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the configured plugin instances",
		Long: `List every configured plugin instance with its plugin, roles, version, API
versions, pinned sha256 (first 12 digits), whether the binary on disk still
matches that pin (PIN: ok, changed, missing; checked without starting it),
process ID and state.

Without --start nothing is started, so roles, version and PID are only known
for instances that are running. With --start each enabled instance is started
(its binary checked against its pin, then asked for its info and configured)
before the list is printed; an instance that fails to start is shown as
failed and its error is printed on standard error.`,
		Example: `  ferry plugins list
  ferry plugins list --start
  ferry plugins list --start --json | jq '.[].state'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, _, cat, err := a.openPlugins(cmd)
			if err != nil {
				return err
			}
			defer a.closeCatalog(cat)
			if start {
				for _, in := range cfg.Plugins.Instances {
					if !in.Enabled {
						continue
					}
					inst, err := cat.Instance(in.Name)
					if err == nil {
						err = inst.Start(ctx)
					}
					if err != nil {
						a.log.Debug("plugin instance did not start", "instance", in.Name, "err", err)
					}
				}
			}
			rows := []pluginRow{}
			for _, s := range cat.Statuses(ctx) {
				rows = append(rows, rowOf(s))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return jsonLines(out, rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPLUGIN\tROLES\tVERSION\tAPI\tSHA256\tPIN\tPID\tSTATE")
			for _, r := range rows {
				sum := short(r.SHA256)
				if r.Builtin {
					sum = "builtin"
				}
				apis := make([]string, len(r.APIVersions))
				for i, v := range r.APIVersions {
					apis[i] = strconv.Itoa(v)
				}
				pid := "-"
				if r.PID != 0 {
					pid = strconv.Itoa(r.PID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Plugin,
					dash(strings.Join(r.Roles, ",")), dash(r.Version), dash(strings.Join(apis, ",")),
					dash(sum), r.Pin, pid, r.State)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", r.Name, r.Error)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&start, "start", false, "start each enabled instance first, so that info and PID are filled in")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// dash returns s, or "-" when it is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) pluginsLockCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Pin every plugin binary in the plugin folder",
		Long: `Hash every executable file in the plugin folder and write the pins to its
lock file (plugins.lock, JSON), replacing it atomically. Ferry refuses to
start a plugin binary whose sha256 differs from its pin. ` + "`make build`" + ` runs
this for bin/plugins.

Without --dir the folder is plugins.dir from the configuration, by default
the plugins folder beside the ferry binary, and the lock file is
plugins.lock_file (default <folder>/plugins.lock). With --dir the lock file is
<dir>/plugins.lock and the configuration is not read.`,
		Example: `  ferry plugins lock --dir bin/plugins
  ferry plugins lock`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lockPath string
			if dir != "" {
				lockPath = filepath.Join(dir, "plugins.lock")
			} else {
				cfg, err := a.loadConfig(cmd)
				if err != nil {
					return err
				}
				exe, err := ferryBinary()
				if err != nil {
					return err
				}
				dir, lockPath = cfg.PluginDir(exe), cfg.LockFile(exe)
			}
			lock, err := config.WriteLock(lockPath, dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s\n", lockPath)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PLUGIN\tSHA256\tSIZE")
			for _, name := range lock.Names() {
				e := lock.Plugins[name]
				fmt.Fprintf(tw, "%s\t%s\t%d\n", name, e.SHA256, e.Size)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "plugin folder to pin (default: plugins.dir, or plugins/ beside the ferry binary)")
	return cmd
}
