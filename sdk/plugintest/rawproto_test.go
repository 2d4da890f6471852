package plugintest

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestRawProtocol(t *testing.T) {
	TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) { return RawProtocol{}, RawProtocol{} })
}

// TestRawProtocolRPC runs the protocol suite through the real RPC shims:
// the secured stream crosses the data channel, source files and part files
// are handed over as descriptors, and Decide/Commit/Close/progress are host
// service calls.
func TestRawProtocolRPC(t *testing.T) {
	TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
		mk := func() sdk.Protocol {
			pp := ServeInProcess(t, RawProtocol{})
			p, err := pp.Protocol()
			if err != nil {
				t.Fatalf("protocol: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte(`{}`)}); err != nil {
				t.Fatalf("configure: %v", err)
			}
			return p
		}
		return mk(), mk()
	})
}
