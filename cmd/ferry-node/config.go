package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Long:  `Commands that inspect Ferry's layered configuration.`,
		Example: `  ferry config check
  FERRY_CONFIG=configs/loopback.yaml ferry config check`,
	}
	cmd.AddCommand(a.configCheckCommand(), a.configReloadCommand())
	return cmd
}

func (a *app) configCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration",
		Long: `Load the configuration (built-in default < config file < FERRY_* environment
variables < flags), validate it, and print the config file used and the
plugin instances. Exits non-zero with the validation errors, which name the
file, line and key of each problem. Each plugin instance's own "config:"
mapping is checked too, against the plugin's schema (its keys and their
types), without starting the plugin; the plugin checks ranges and the like
when it starts. An instance of a plugin this ferry has no built-in twin of
cannot be checked without starting it, and is named as not checked.`,
		Example: `  ferry config check
  ferry config check --config configs/loopback.yaml
  FERRY_LOG_LEVEL=debug ferry config check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			unchecked, err := cfg.CheckPluginConfigs(builtinSchema(cmd.Context()))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "config OK: %s\n", cfg.Source())
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INSTANCE\tPLUGIN\tKIND\tENABLED\tPIN")
			for _, in := range cfg.Plugins.Instances {
				kind, pin := "external", "lock file"
				if in.Builtin {
					kind, pin = "builtin", "-"
				} else if in.SHA256 != "" {
					pin = short(in.SHA256)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", in.Name, in.Plugin, kind, in.Enabled, pin)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, name := range unchecked {
				fmt.Fprintf(out, "not checked: the config of instance %s (no built-in twin of its plugin to ask for its schema)\n", name)
			}
			return nil
		},
	}
}

// short returns the first 12 characters of a hash.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
