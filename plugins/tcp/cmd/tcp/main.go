// Command tcp is Ferry's direct TCP transport plugin binary. The core
// starts it; it is not meant to be run by hand.
package main

import (
	"github.com/ferry-p2p/ferry/plugins/tcp"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() { serve.Plugin(tcp.New()) }
