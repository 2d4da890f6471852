package tcp

import (
	"context"
	"net"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

var loopbackConfig = []byte(`{"listen":["127.0.0.1:0"]}`)

// TestConformanceRPC runs the suite through the real RPC shims and data
// channel in this process: streams come back as passed descriptors.
func TestConformanceRPC(t *testing.T) {
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		mk := func() sdk.Transport {
			return plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, New()), loopbackConfig)
		}
		return mk(), mk()
	})
}

// TestConformanceRPCMux hides the socket from the SDK, so streams take the
// yamux path of the data channel, as a user-space transport's would.
func TestConformanceRPCMux(t *testing.T) {
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		mk := func() sdk.Transport {
			return plugintest.ConfiguredTransport(t, plugintest.ServeInProcess(t, hideFD{New()}), loopbackConfig)
		}
		return mk(), mk()
	})
}

// TestConformanceExternal runs the suite against the real plugin binary.
func TestConformanceExternal(t *testing.T) {
	bin := plugintest.PluginBinary(t, "tcp", "github.com/ferry-p2p/ferry/plugins/tcp/cmd/tcp")
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		mk := func() sdk.Transport {
			return plugintest.ConfiguredTransport(t, plugintest.Launch(t, bin), loopbackConfig)
		}
		return mk(), mk()
	})
}

// TestExternalStreamIsSocket checks the shortest-path rule: a stream from
// the external plugin is a kernel TCP socket in this process.
func TestExternalStreamIsSocket(t *testing.T) {
	bin := plugintest.PluginBinary(t, "tcp", "github.com/ferry-p2p/ferry/plugins/tcp/cmd/tcp")
	a := plugintest.ConfiguredTransport(t, plugintest.Launch(t, bin), loopbackConfig)
	b := plugintest.ConfiguredTransport(t, plugintest.Launch(t, bin), loopbackConfig)
	sa, sb := connectPair(t, a, b)
	for _, s := range []sdk.Stream{sa, sb} {
		if _, ok := s.(*net.TCPConn); !ok {
			t.Fatalf("stream is %T, want *net.TCPConn handed over by descriptor", s)
		}
	}
	plugintest.RoundTrip(t, sa, sb)
}

// hideFD wraps the transport so its streams are not kernel sockets.
type hideFD struct{ *Transport }

type opaqueStream struct{ sdk.Stream }

func (h hideFD) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	s, err := h.Transport.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return opaqueStream{s}, nil
}
