package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) idCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print this device's peer ID",
		Long: `Print this device's peer ID: its ed25519 public key, printable and
checksummed. The key is kept in $FERRY_HOME/device.key (mode 0600) and made on
first use. The peer ID alone is printed on standard output, so scripts can
capture it.`,
		Example: `  ferry id
  FERRY_HOME=/tmp/node-a ferry id`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := a.identity(nil)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), id.ID.String())
			return err
		},
	}
}
