package main

import "github.com/spf13/cobra"

// accountLinkCommands returns link and join; see account_link.go.
func (a *app) accountLinkCommands() []*cobra.Command { return nil }
