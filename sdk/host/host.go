// Package host is the host's side of the Ferry plugin SDK: it starts a
// plugin binary ([Launch]), or serves an implementation inside this process
// behind the same RPC shims ([ServeInProcess]), and returns a [Process]
// whose role accessors call the plugin through the sdk interfaces.
//
// Plugin authors do not need this package; the Ferry core (core/plugins),
// the conformance kit (sdk/plugintest) and benchmarks do.
package host

import (
	"context"

	"github.com/ferry-p2p/ferry/sdk"
)

// LaunchConfig says how to start an external plugin binary.
type LaunchConfig = sdk.LaunchConfig

// Process is a running plugin as the host sees it.
type Process = sdk.PluginProcess

// Launch starts the plugin binary, performs the handshake, and reads its
// Info.
func Launch(ctx context.Context, cfg LaunchConfig) (*Process, error) {
	return sdk.Launch(ctx, cfg)
}

// ServeInProcess serves impl behind the real RPC shims and data channel
// inside this process, and returns the host's side of it.
func ServeInProcess(ctx context.Context, impl sdk.Plugin) (*Process, error) {
	return sdk.ServeInProcess(ctx, impl)
}
