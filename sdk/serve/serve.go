// Package serve is the entry point of a Ferry plugin binary: its main
// function is a single call to [Plugin].
//
// It is a package of its own, not part of package sdk, because the shims it
// starts import gRPC and go-plugin and need sdk's types. Keeping them out of
// sdk keeps the contracts package free of them.
package serve

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/rpc"
)

// Plugin serves p as a Ferry plugin over go-plugin and returns when the
// host is gone. It serves each role interface p implements ([sdk.Discovery],
// [sdk.Signaling], [sdk.Transport], [sdk.Protocol]). It must be the only
// thing main does: nothing may be written to standard output before it,
// because go-plugin reads its handshake there. A binary run by hand, not by
// the Ferry core, prints a notice to standard error and exits with status 1.
func Plugin(p sdk.Plugin) {
	logger := hclog.New(&hclog.LoggerOptions{
		Output: os.Stderr, JSONFormat: true, Level: hclog.Trace,
	})
	if os.Getenv(rpc.DataFDsEnv) != "3,4" {
		fmt.Fprintln(os.Stderr, "This binary is a Ferry plugin: the ferry core starts it. It cannot run on its own.")
		os.Exit(1)
	}
	dc, err := datachan.FromFiles(os.NewFile(3, "ferry-data"), os.NewFile(4, "ferry-fds"), true)
	if err != nil {
		logger.Error("data channel on fds 3 and 4", "error", err)
		os.Exit(1)
	}
	// The data channel is the lifeline: when the host is gone, so are we.
	go func() {
		<-dc.Done()
		logger.Info("host closed the data channel: exiting")
		os.Exit(0)
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.VersionedPlugins(p, dc),
		GRPCServer:       rpc.NewServer,
		Logger:           logger,
	})
}
