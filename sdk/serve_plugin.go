package sdk

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// maxRecvMsg raises gRPC's 4 MiB default in the plugin: only control
// messages travel on gRPC, but an envelope or schema must never be cut.
const maxRecvMsg = 16 << 20

func serve(p Plugin) {
	logger := hclog.New(&hclog.LoggerOptions{
		Output: os.Stderr, JSONFormat: true, Level: hclog.Trace,
	})
	if os.Getenv(dataFDsEnv) != "3,4" {
		fmt.Fprintln(os.Stderr, "This binary is a Ferry plugin: the ferry core starts it. It cannot run on its own.")
		os.Exit(1)
	}
	dc, err := pluginDataChannel()
	if err != nil {
		logger.Error("data channel", "error", err)
		os.Exit(1)
	}
	// The data channel is the lifeline: when the host is gone, so are we.
	go func() {
		<-dc.Done()
		logger.Info("host closed the data channel: exiting")
		os.Exit(0)
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: map[int]plugin.PluginSet{APIVersion: {pluginKey: &grpcPlugin{impl: p, dc: dc}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxRecvMsg))...)
		},
		Logger: logger,
	})
}

func pluginDataChannel() (*dataChannel, error) {
	stream, err := fileUnixConn(os.NewFile(3, "ferry-data"))
	if err != nil {
		return nil, fmt.Errorf("fd 3: %w", err)
	}
	fds, err := fileUnixConn(os.NewFile(4, "ferry-fds"))
	if err != nil {
		return nil, fmt.Errorf("fd 4: %w", err)
	}
	return newDataChannel(stream, fds, true)
}
