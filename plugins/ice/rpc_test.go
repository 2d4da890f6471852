package ice

import (
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestConformanceRPC runs the suite through the real RPC shims in this
// process: streams are carried over the data channel's multiplexer, as a
// user-space transport's must be.
func TestConformanceRPC(t *testing.T) {
	cfg := mustJSON(t, loopbackOptions())
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		mk := func() sdk.Transport {
			return plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, New()), cfg)
		}
		return mk(), mk()
	})
}

// TestConformanceExternal runs the suite against the real plugin binary.
func TestConformanceExternal(t *testing.T) {
	bin := plugintest.PluginBinary(t, "ice", "github.com/ferry-p2p/ferry/plugins/ice/cmd/ice")
	cfg := mustJSON(t, loopbackOptions())
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		mk := func() sdk.Transport {
			return plugintest.ConfiguredTransport(t, plugintest.Launch(t, bin), cfg)
		}
		return mk(), mk()
	})
}

// TestRouteOverRPC checks that the route of an ice stream crosses the RPC
// shims: two host-only transports on loopback, served in process, give
// streams that say "direct host" on both sides.
func TestRouteOverRPC(t *testing.T) {
	cfg := mustJSON(t, loopbackOptions())
	a := plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, New()), cfg)
	b := plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, New()), cfg)
	sa, sb := connectPair(t, a, b)
	checkRoute(t, "initiator", sa, "direct host")
	checkRoute(t, "responder", sb, "direct host")
}
