// Command lan is Ferry's local-network discovery and signaling plugin
// binary. The core starts it; it is not meant to be run by hand.
package main

import (
	"log/slog"
	"os"

	"github.com/ferry-p2p/ferry/plugins/lan"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() {
	serve.Plugin(lan.New(lan.WithLogger(slog.New(sdk.HostLogHandler(os.Stderr)))))
}
