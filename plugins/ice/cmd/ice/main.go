// Command ice is Ferry's ICE transport plugin binary (STUN, TURN, a QUIC
// stream over the selected pair). The core starts it; it is not meant to
// be run by hand.
package main

import (
	"log/slog"
	"os"

	"github.com/ferry-p2p/ferry/plugins/ice"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() {
	serve.Plugin(ice.New(ice.WithLogger(slog.New(sdk.HostLogHandler(os.Stderr)))))
}
