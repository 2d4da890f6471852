package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/plugins/dht"
)

func (a *app) dhtCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dht",
		Short: "Tools for the private Kademlia DHT the dht plugin uses",
	}
	cmd.AddCommand(a.dhtBootstrapCommand())
	return cmd
}

func (a *app) dhtBootstrapCommand() *cobra.Command {
	var (
		listen, join []string
		prefix       string
		fresh        bool
		noRelay      bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap [--listen ADDR]",
		Short: "Run a node that only serves the DHT, for peers to bootstrap from",
		Long: `Run a DHT-only node until interrupted: it stores and serves Ferry's signed peer
records and helps other nodes join, but announces no device and carries no
transfer. Its first line of output is its multiaddr alone, for other nodes'
bootstrap lists (the dht plugin's "bootstrap" option, or FERRY_DHT_BOOTSTRAP,
comma-separated); each further listen address follows on its own line.

Its libp2p key is kept in $FERRY_HOME/dht-bootstrap.key, so the multiaddr
stays the same across runs (--fresh-key for a new one each run). Every node
of one network must use the same --protocol-prefix.

It is also a signaling relay (libp2p circuit relay v2, 1 MiB and 2 minutes per
relayed connection): nodes behind NAT reserve a slot on it, so that peers
behind other NATs can deliver their sealed connection offers. Transfers
never go through it. --no-relay turns that off.`,
		Example: `  ferry dht bootstrap --listen /ip4/127.0.0.1/tcp/4001
  FERRY_DHT_BOOTSTRAP=$(ferry dht bootstrap | head -1) ferry receive --config configs/dht-loopback.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			home, err := a.home()
			if err != nil {
				return err
			}
			key := filepath.Join(home, "dht-bootstrap.key")
			if fresh {
				key = ""
			}
			node, err := dht.NewBootstrapNode(ctx, dht.BootstrapOptions{
				Listen: listen, Bootstrap: join, ProtocolPrefix: prefix, KeyFile: key, Logger: a.log,
				NoRelay: noRelay,
			})
			if err != nil {
				return err
			}
			defer node.Close()
			addrs := node.Addrs()
			if len(addrs) == 0 {
				return fmt.Errorf("dht bootstrap: the node listens nowhere (--listen %s)", strings.Join(listen, ","))
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(addrs, "\n"))
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&listen, "listen", nil, "multiaddr to listen on, e.g. /ip4/127.0.0.1/tcp/4001 (repeatable; default "+dht.DefaultListen+")")
	f.StringSliceVar(&join, "bootstrap", nil, "multiaddrs of other DHT nodes to join through (repeatable)")
	f.StringVar(&prefix, "protocol-prefix", dht.DefaultProtocolPrefix, "the private DHT's protocol prefix")
	f.BoolVar(&fresh, "fresh-key", false, "use a new libp2p key (and so a new multiaddr) instead of the saved one")
	f.BoolVar(&noRelay, "no-relay", false, "do not serve as a signaling relay for peers behind NAT")
	return cmd
}
