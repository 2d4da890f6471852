// Command ftv2a is Ferry's ftv2a protocol plugin binary. The core starts
// it; it is not meant to be run by hand.
package main

import (
	"github.com/ferry-p2p/ferry/plugins/ftv2a"
	"github.com/ferry-p2p/ferry/sdk/serve"
)

func main() { serve.Plugin(ftv2a.New()) }
