package ice

import (
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestConformance runs the transport suite in process, host candidates
// on 127.0.0.1.
func TestConformance(t *testing.T) {
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		return configured(t, loopbackOptions()), configured(t, loopbackOptions())
	})
}

// TestCoreFlow connects the way the core does: the responder never sees
// the initiator's description.
func TestCoreFlow(t *testing.T) {
	checkNoLeaks(t)
	a, b := configured(t, loopbackOptions()), configured(t, loopbackOptions())
	sa, sb, err := connectCore(testContext(t), t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	roundTrip(t, sa, sb)
}
