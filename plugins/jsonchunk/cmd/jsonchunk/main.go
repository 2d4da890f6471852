// Command jsonchunk is Ferry's jsonchunk protocol plugin binary. The core
// starts it; it is not meant to be run by hand.
package main

import (
	"log/slog"
	"os"

	"github.com/ferry-p2p/ferry/plugins/jsonchunk"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() {
	serve.Plugin(jsonchunk.New(jsonchunk.WithLogger(slog.New(sdk.HostLogHandler(os.Stderr)))))
}
