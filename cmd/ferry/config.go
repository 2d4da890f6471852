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
	cmd.AddCommand(a.configCheckCommand())
	return cmd
}

func (a *app) configCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration",
		Long: `Load the configuration (built-in default < config file < FERRY_* environment
variables < flags), validate it, and print the config file used and the
plugin instances. Exits non-zero with the validation errors, which name the
file, line and key of each problem. A plugin instance's own "config:" mapping
is checked against the plugin's schema when the plugin starts, not here.`,
		Example: `  ferry config check
  ferry config check --config configs/loopback.yaml
  FERRY_LOG_LEVEL=debug ferry config check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
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
			return tw.Flush()
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
