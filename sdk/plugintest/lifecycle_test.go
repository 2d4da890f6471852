package plugintest

import (
	"context"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// waitProtocol is the smallest protocol on the shared base: its Send and
// Receive wait until their context ends.
type waitProtocol struct {
	*lifecycle.Protocol[struct{}]
}

func (p waitProtocol) Send(ctx context.Context, req sdk.SendRequest) error {
	return p.RunSend(ctx, req, wait)
}

func (p waitProtocol) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	return p.RunReceive(ctx, req, wait)
}

func wait(ctx context.Context, _ *lifecycle.Call[struct{}]) error {
	<-ctx.Done()
	return lifecycle.Err(ctx, "wait", "call")
}

// TestProtocolLifecycleSuite runs the life-cycle suite on waitProtocol.
func TestProtocolLifecycleSuite(t *testing.T) {
	TestProtocolLifecycle(t, func(t *testing.T) sdk.Protocol {
		p := waitProtocol{lifecycle.NewProtocol(lifecycle.Spec[struct{}]{
			Info:  sdk.Info{Name: "wait", ProtocolID: "/wait/1"},
			Parse: func([]byte) (struct{}, error) { return struct{}{}, nil },
		})}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}, []byte(`{}`))
}
