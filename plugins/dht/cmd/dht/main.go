// Command dht is Ferry's DHT discovery and signaling plugin binary: a
// private Kademlia DHT over libp2p. The core starts it; it is not meant to
// be run by hand.
package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/sdk"
)

func main() {
	sdk.Serve(dht.New(dht.WithLogger(slog.New(hostLogHandler()))))
}

// hostLogHandler writes JSON lines in the shape the host's plugin log
// reader (hashicorp/go-plugin) understands: "@level", "@message" and
// "@timestamp", so that the host shows each line at its own level rather
// than as debug output.
func hostLogHandler() slog.Handler {
	return slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}
