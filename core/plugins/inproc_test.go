package plugins

import (
	"testing"

	"github.com/ferry-p2p/ferry/plugins/tcp"
	"github.com/ferry-p2p/ferry/sdk"
)

// inProcessTCP is the tcp plugin's in-process twin, for the other end of a
// connection in tests. (Tests may use plugins; the core code may not.)
func inProcessTCP(t *testing.T) sdk.Plugin {
	t.Helper()
	return tcp.New()
}
