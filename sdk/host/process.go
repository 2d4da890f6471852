package host

import (
	"fmt"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/rpc"
)

// Process is a running plugin as the host sees it: an external process
// ([Launch]), or an implementation served in-process behind the same RPC
// shims ([ServeInProcess]). Its role accessors return clients that call
// the plugin.
type Process struct {
	rpc    *rpc.Client
	info   sdk.Info
	pid    int
	done   <-chan struct{}
	kill   func()
	apiVer int

	// proto is the protocol client, made once: it learns on its first
	// call whether the plugin runs the record layer, and keeps that for
	// the process's life (a restarted plugin is a new Process).
	protoOnce sync.Once
	proto     sdk.Protocol
}

// Info returns the plugin's Info as read at start.
func (p *Process) Info() sdk.Info { return p.info }

// PID returns the plugin's process id, or 0 for an in-process plugin.
func (p *Process) PID() int { return p.pid }

// APIVersion returns the negotiated plugin API major version.
func (p *Process) APIVersion() int { return p.apiVer }

// Done is closed when the plugin has exited (or, in-process, was killed).
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the plugin has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill stops the plugin at once. It is safe to call more than once.
func (p *Process) Kill() { p.kill() }

// Plugin returns the base client.
func (p *Process) Plugin() sdk.Plugin { return p.rpc }

// Transport returns the transport client, or an error wrapping
// [sdk.ErrUnsupported] when the plugin does not serve that role.
func (p *Process) Transport() (sdk.Transport, error) {
	if !p.info.HasRole(sdk.RoleTransport) {
		return nil, p.noRole(sdk.RoleTransport)
	}
	return p.rpc, nil
}

// Discovery returns the discovery client, or an error wrapping
// [sdk.ErrUnsupported] when the plugin does not serve that role.
func (p *Process) Discovery() (sdk.Discovery, error) {
	if !p.info.HasRole(sdk.RoleDiscovery) {
		return nil, p.noRole(sdk.RoleDiscovery)
	}
	return p.rpc, nil
}

// Signaling returns the signaling client, or an error wrapping
// [sdk.ErrUnsupported] when the plugin does not serve that role.
func (p *Process) Signaling() (sdk.Signaling, error) {
	if !p.info.HasRole(sdk.RoleSignaling) {
		return nil, p.noRole(sdk.RoleSignaling)
	}
	return p.rpc, nil
}

// Protocol returns the protocol client, or an error wrapping
// [sdk.ErrUnsupported] when the plugin does not serve that role.
func (p *Process) Protocol() (sdk.Protocol, error) {
	if !p.info.HasRole(sdk.RoleProtocol) {
		return nil, p.noRole(sdk.RoleProtocol)
	}
	p.protoOnce.Do(func() { p.proto = rpc.NewProtocolClient(p.rpc) })
	return p.proto, nil
}

func (p *Process) noRole(r sdk.Role) error {
	return fmt.Errorf("plugin %q serves %v, not %s: %w", p.info.Name, p.info.Roles, r, sdk.ErrUnsupported)
}
