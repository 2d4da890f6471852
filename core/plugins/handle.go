package plugins

import (
	"context"
	"fmt"

	"github.com/ferry-p2p/ferry/sdk"
)

// transportHandle forwards to whichever process currently runs the
// instance, so a caller's handle survives a plugin restart.
type transportHandle struct{ i *Instance }

var _ sdk.Transport = transportHandle{}

func (h transportHandle) transport(ctx context.Context) (sdk.Transport, error) {
	p, err := h.i.current(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := p.(sdk.Transport)
	if !ok {
		return nil, fmt.Errorf("instance %q is not a transport: %w", h.i.cfg.Name, sdk.ErrUnsupported)
	}
	return t, nil
}

func (h transportHandle) Info(ctx context.Context) (sdk.Info, error) {
	t, err := h.transport(ctx)
	if err != nil {
		return sdk.Info{}, err
	}
	return t.Info(ctx)
}

func (h transportHandle) ConfigSchema(ctx context.Context) (sdk.ConfigSchema, error) {
	t, err := h.transport(ctx)
	if err != nil {
		return sdk.ConfigSchema{}, err
	}
	return t.ConfigSchema(ctx)
}

// Configure is owned by the supervisor: it re-applies the instance's config
// on every (re)start. A caller's Configure goes to the running plugin.
func (h transportHandle) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	t, err := h.transport(ctx)
	if err != nil {
		return err
	}
	return t.Configure(ctx, req)
}

// Close stops the instance.
func (h transportHandle) Close(ctx context.Context) error { return h.i.stop(ctx) }

func (h transportHandle) Prepare(ctx context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	t, err := h.transport(ctx)
	if err != nil {
		return sdk.PrepareResponse{}, err
	}
	return t.Prepare(ctx, req)
}

func (h transportHandle) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	t, err := h.transport(ctx)
	if err != nil {
		return nil, err
	}
	return t.Connect(ctx, req)
}
