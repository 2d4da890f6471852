package plugins

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// baseHandle forwards to whichever process currently runs the instance, so
// a caller's handle survives a plugin restart. Each role's handle embeds it.
type baseHandle struct {
	i    *Instance
	role sdk.Role
}

// plugin returns the running plugin, checked for the handle's role.
func (h baseHandle) plugin(ctx context.Context) (sdk.Plugin, error) {
	p, err := h.i.current(ctx)
	if err != nil {
		return nil, err
	}
	if !h.i.Status().Info.HasRole(h.role) {
		return nil, fmt.Errorf("instance %q does not serve the %s role: %w", h.i.cfg.Name, h.role, sdk.ErrUnsupported)
	}
	return p, nil
}

// as returns the running plugin as role interface T.
func as[T any](ctx context.Context, h baseHandle) (T, error) {
	var zero T
	p, err := h.plugin(ctx)
	if err != nil {
		return zero, err
	}
	var obj any = p
	if h.role == sdk.RoleProtocol {
		// An external protocol's client is its own type: the conversation
		// runs on the data channel, not on the base RPC client.
		h.i.mu.Lock()
		proc := h.i.proc
		h.i.mu.Unlock()
		if proc != nil {
			if obj, err = proc.Protocol(); err != nil {
				return zero, err
			}
		}
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("instance %q does not implement the %s role: %w", h.i.cfg.Name, h.role, sdk.ErrUnsupported)
	}
	return t, nil
}

func (h baseHandle) Info(ctx context.Context) (sdk.Info, error) {
	p, err := h.plugin(ctx)
	if err != nil {
		return sdk.Info{}, err
	}
	return p.Info(ctx)
}

func (h baseHandle) ConfigSchema(ctx context.Context) (sdk.ConfigSchema, error) {
	p, err := h.plugin(ctx)
	if err != nil {
		return sdk.ConfigSchema{}, err
	}
	return p.ConfigSchema(ctx)
}

// Configure is owned by the supervisor: it re-applies the instance's config
// on every (re)start. A caller's Configure goes to the running plugin.
func (h baseHandle) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	p, err := h.plugin(ctx)
	if err != nil {
		return err
	}
	return p.Configure(ctx, req)
}

// Close stops the instance.
func (h baseHandle) Close(ctx context.Context) error { return h.i.stop(ctx) }

// transportHandle is the restart-proof sdk.Transport of an instance.
type transportHandle struct{ baseHandle }

var _ sdk.Transport = transportHandle{}

func (h transportHandle) Prepare(ctx context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	t, err := as[sdk.Transport](ctx, h.baseHandle)
	if err != nil {
		return sdk.PrepareResponse{}, err
	}
	return t.Prepare(ctx, req)
}

func (h transportHandle) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	t, err := as[sdk.Transport](ctx, h.baseHandle)
	if err != nil {
		return nil, err
	}
	return t.Connect(ctx, req)
}

// protocolHandle is the restart-proof sdk.Protocol of an instance. A
// conversation cut by a restart fails; the transfer resumes from its
// journal on the next connection.
type protocolHandle struct{ baseHandle }

var _ sdk.Protocol = protocolHandle{}

func (h protocolHandle) Send(ctx context.Context, req sdk.SendRequest) error {
	p, err := as[sdk.Protocol](ctx, h.baseHandle)
	if err != nil {
		return err
	}
	return p.Send(ctx, req)
}

func (h protocolHandle) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	p, err := as[sdk.Protocol](ctx, h.baseHandle)
	if err != nil {
		return err
	}
	return p.Receive(ctx, req)
}

// discoveryHandle is the restart-proof sdk.Discovery of an instance: it
// remembers the last announcement and repeats it to a restarted plugin, and
// its Watch channels outlive restarts.
type discoveryHandle struct {
	baseHandle
	mu        sync.Mutex
	announced *sdk.PeerInfo
	account   []byte // the last account record published, repeated after a restart
}

var _ sdk.Discovery = (*discoveryHandle)(nil)

func (h *discoveryHandle) Announce(ctx context.Context, self sdk.PeerInfo) error {
	d, err := as[sdk.Discovery](ctx, h.baseHandle)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.announced = &self
	h.mu.Unlock()
	return d.Announce(ctx, self)
}

// reannounce repeats the last announcement to a freshly started plugin.
func (h *discoveryHandle) reannounce(ctx context.Context, p sdk.Plugin) error {
	h.mu.Lock()
	self, acct := h.announced, h.account
	h.mu.Unlock()
	d, ok := p.(sdk.Discovery)
	if self == nil || !ok {
		return nil
	}
	if err := d.Announce(ctx, *self); err != nil {
		return err
	}
	if ad, ok := p.(sdk.AccountDirectory); ok && acct != nil {
		return ad.PublishAccount(ctx, acct)
	}
	return nil
}

func (h *discoveryHandle) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	return resubscribe(ctx, h.baseHandle, func(ctx context.Context) (<-chan sdk.PeerEvent, error) {
		d, err := as[sdk.Discovery](ctx, h.baseHandle)
		if err != nil {
			return nil, err
		}
		return d.Watch(ctx)
	})
}

func (h *discoveryHandle) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	d, err := as[sdk.Discovery](ctx, h.baseHandle)
	if err != nil {
		return sdk.PeerInfo{}, err
	}
	return d.Lookup(ctx, id)
}

var _ sdk.AccountDirectory = (*discoveryHandle)(nil)

// PublishAccount publishes an account record through the plugin, if it
// implements sdk.AccountDirectory (else an error wrapping
// sdk.ErrUnsupported), and repeats it to a restarted plugin.
func (h *discoveryHandle) PublishAccount(ctx context.Context, record []byte) error {
	d, err := as[sdk.AccountDirectory](ctx, h.baseHandle)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.account = record
	h.mu.Unlock()
	return d.PublishAccount(ctx, record)
}

// LookupAccount looks an account record up through the plugin.
func (h *discoveryHandle) LookupAccount(ctx context.Context, account [32]byte) ([]byte, error) {
	d, err := as[sdk.AccountDirectory](ctx, h.baseHandle)
	if err != nil {
		return nil, err
	}
	return d.LookupAccount(ctx, account)
}

// signalingHandle is the restart-proof sdk.Signaling of an instance; its
// Receive channels outlive restarts.
type signalingHandle struct{ baseHandle }

var _ sdk.Signaling = signalingHandle{}

func (h signalingHandle) Send(ctx context.Context, env sdk.Envelope) error {
	s, err := as[sdk.Signaling](ctx, h.baseHandle)
	if err != nil {
		return err
	}
	return s.Send(ctx, env)
}

func (h signalingHandle) Receive(ctx context.Context) (<-chan sdk.Envelope, error) {
	return resubscribe(ctx, h.baseHandle, func(ctx context.Context) (<-chan sdk.Envelope, error) {
		s, err := as[sdk.Signaling](ctx, h.baseHandle)
		if err != nil {
			return nil, err
		}
		return s.Receive(ctx)
	})
}

// resubscribeDelay spaces out subscriptions after a channel ends, so a
// plugin that keeps closing them is not called in a tight loop.
const resubscribeDelay = 200 * time.Millisecond

// resubscribe opens a subscription and returns a channel that outlives the
// plugin process: when the plugin's channel ends (the process exited), it
// waits for the supervisor's restart and subscribes again. The channel
// closes when ctx ends or the catalog closes.
func resubscribe[T any](ctx context.Context, h baseHandle, open func(context.Context) (<-chan T, error)) (<-chan T, error) {
	in, err := open(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan T, 64)
	catCtx := h.i.cat.ctx
	go func() {
		defer close(out)
		for {
			for v := range in {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
			t := time.NewTimer(resubscribeDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-catCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if h.i.Status().State == StateStopped {
				return // closed on purpose
			}
			next, err := open(ctx)
			if err != nil {
				if ctx.Err() != nil || catCtx.Err() != nil {
					return
				}
				h.i.cat.log().Warn("resubscribe failed; retrying", "instance", h.i.cfg.Name, "role", h.role, "err", err)
				continue // in is drained: the loop waits resubscribeDelay and tries again
			}
			in = next
		}
	}()
	return out, nil
}
