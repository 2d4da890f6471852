package serve_test

import (
	"context"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

// nopPlugin is a plugin with no role yet, enough to show main.
type nopPlugin struct{}

func (nopPlugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "nop", Version: "0.1.0"}, nil
}
func (nopPlugin) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	return sdk.ConfigSchema{}, nil
}
func (nopPlugin) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (nopPlugin) Close(context.Context) error                           { return nil }

// A plugin binary's main is one call. (This example is compiled, not run:
// Plugin only works in a process the Ferry core started.)
func ExamplePlugin() {
	serve.Plugin(nopPlugin{})
}
