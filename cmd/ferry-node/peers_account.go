package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/sdk"
)

// printPeers prints the peer table grouped by account: each account's
// devices under a line naming the account, then the devices of no
// account.
// A device check refuses (revoked, expired) is marked so.
func printPeers(out io.Writer, peers []sdk.PeerInfo, accountOf func(sdk.PeerID) (*account.Certificate, bool), check func(sdk.PeerID) error) error {
	groups := map[account.ID][]sdk.PeerInfo{}
	var order []account.ID
	var loose []sdk.PeerInfo
	for _, p := range peers {
		c, ok := accountOf(p.ID)
		if !ok {
			loose = append(loose, p)
			continue
		}
		if _, seen := groups[c.Account]; !seen {
			order = append(order, c.Account)
		}
		groups[c.Account] = append(groups[c.Account], p)
	}
	slices.SortFunc(order, func(a, b account.ID) int { return strings.Compare(a.String(), b.String()) })
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPEER ID\tFOUND BY\tADDRESSES\tPROTOCOLS")
	row := func(indent string, p sdk.PeerInfo) {
		name := p.Name
		if c, ok := accountOf(p.ID); ok && c.Name != "" && c.Name != name {
			name = fmt.Sprintf("%s (%s)", c.Name, p.Name)
		}
		if err := check(p.ID); err != nil {
			name += " [revoked]"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", indent, name, p.ID, p.Source, strings.Join(p.Addrs, ","), strings.Join(p.Protocols, ","))
	}
	for _, a := range order {
		fmt.Fprintf(tw, "account %s (%d device(s))\t\t\t\t\n", a, len(groups[a]))
		for _, p := range groups[a] {
			row("  ", p)
		}
	}
	if len(order) > 0 && len(loose) > 0 {
		fmt.Fprintln(tw, "no account\t\t\t\t")
	}
	indent := ""
	if len(order) > 0 {
		indent = "  "
	}
	for _, p := range loose {
		row(indent, p)
	}
	return tw.Flush()
}
