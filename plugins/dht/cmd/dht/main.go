// Command dht is Ferry's DHT discovery and signaling plugin binary: a
// private Kademlia DHT over libp2p. The core starts it; it is not meant to
// be run by hand.
package main

import (
	"log/slog"
	"os"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() {
	serve.Plugin(dht.New(dht.WithLogger(slog.New(sdk.HostLogHandler(os.Stderr)))))
}
