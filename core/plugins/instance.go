package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
)

// Instance is one configured plugin instance and its supervisor: it starts
// the plugin on first use, configures it, and when the process exits it
// restarts it with exponential backoff and configures it again.
type Instance struct {
	cat      *Catalog
	cfg      config.PluginInstance
	path     string // external binary, empty for builtins
	pin      string
	setupErr error

	mu       sync.Mutex
	state    State
	proc     *host.Process // external
	impl     sdk.Plugin    // the current plugin (RPC client or builtin)
	info     sdk.Info
	restarts int
	err      error
	changed  chan struct{}    // closed and replaced on every state change
	disc     *discoveryHandle // made by the first Discovery call
}

// Status returns a snapshot of the instance.
func (i *Instance) Status() Status {
	i.mu.Lock()
	defer i.mu.Unlock()
	st := Status{
		Name: i.cfg.Name, Plugin: i.cfg.Plugin, Builtin: i.cfg.Builtin, Path: i.path, SHA256: i.pin,
		State: i.state, Info: i.info, Restarts: i.restarts, Err: i.err,
	}
	if i.setupErr != nil {
		st.Err = i.setupErr
		st.State = StateFailed
	}
	if i.proc != nil && i.state == StateRunning {
		st.PID = i.proc.PID()
	}
	return st
}

func (i *Instance) setState(s State, err error) {
	i.state = s
	if err != nil {
		i.err = err
	}
	if i.changed != nil {
		close(i.changed)
	}
	i.changed = make(chan struct{})
}

// Changed returns a channel that is closed at the instance's next state
// change (started, exited, restarted, stopped): how its users learn that a
// plugin went away and came back. Read Status after it fires, then call
// Changed again for the next one.
func (i *Instance) Changed() <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.changed == nil {
		i.changed = make(chan struct{})
	}
	return i.changed
}

// Start starts and configures the plugin unless it is running. It is safe
// to call concurrently; callers wait for one start.
func (i *Instance) Start(ctx context.Context) error {
	_, err := i.current(ctx)
	return err
}

// current returns the running plugin, starting it or waiting for a restart
// as needed.
func (i *Instance) current(ctx context.Context) (sdk.Plugin, error) {
	if i.setupErr != nil {
		return nil, i.setupErr
	}
	if !i.cfg.Enabled {
		return nil, fmt.Errorf("instance %q is disabled in config: %w", i.cfg.Name, sdk.ErrUnsupported)
	}
	for {
		i.mu.Lock()
		switch i.state {
		case StateRunning:
			p := i.impl
			i.mu.Unlock()
			return p, nil
		case StateStopped, StateFailed:
			i.setState(StateStarting, nil)
			i.mu.Unlock()
			if err := i.start(ctx); err != nil {
				i.mu.Lock()
				i.setState(StateFailed, err)
				i.mu.Unlock()
				return nil, err
			}
			continue
		}
		ch := i.changed
		i.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("instance %q (%s): %w", i.cfg.Name, i.state, ctx.Err())
		}
	}
}

// start launches (or builds, for builtins) and configures the plugin, then
// marks it running and, for external ones, watches for its exit.
func (i *Instance) start(ctx context.Context) error {
	var (
		impl sdk.Plugin
		proc *host.Process
		info sdk.Info
		err  error
	)
	if i.cfg.Builtin {
		impl = i.cat.opts.Builtins[i.cfg.Plugin]()
		if info, err = impl.Info(ctx); err != nil {
			return fmt.Errorf("instance %q: info: %w", i.cfg.Name, err)
		}
	} else {
		if err := checkBinary(i.path, i.pin); err != nil {
			return fmt.Errorf("instance %q: %w", i.cfg.Name, err)
		}
		proc, err = host.Launch(ctx, host.LaunchConfig{
			Name: i.cfg.Name, Path: i.path, SHA256: i.pin, Checked: true, // checkBinary hashed it just now
			LogOutput: i.cat.logOutput(), LogLevel: i.cat.opts.LogLevel,
		})
		if err != nil {
			return fmt.Errorf("instance %q: %w", i.cfg.Name, err)
		}
		impl, info = proc.Plugin(), proc.Info()
	}
	if err := i.configure(ctx, impl); err != nil {
		if proc != nil {
			proc.Kill()
		}
		return err
	}
	i.mu.Lock()
	disc := i.disc
	i.mu.Unlock()
	if disc != nil {
		if err := disc.reannounce(ctx, impl); err != nil {
			i.cat.log().Warn("announce after restart failed", "instance", i.cfg.Name, "err", err)
		}
	}
	i.mu.Lock()
	i.proc, i.impl, i.info = proc, impl, info
	i.setState(StateRunning, nil)
	i.mu.Unlock()
	if proc != nil {
		go i.watch(proc)
	}
	return nil
}

// DelegationTTL is how long the signing key given to a plugin at Configure
// stays valid. Peers refuse what it signs after that; a plugin configured
// again (restart) gets a new one.
const DelegationTTL = 30 * 24 * time.Hour

func (i *Instance) configure(ctx context.Context, p sdk.Plugin) error {
	i.mu.Lock()
	conf := i.cfg.Config // Reconfigure may replace it
	i.mu.Unlock()
	raw, err := json.Marshal(conf)
	if err != nil {
		return fmt.Errorf("instance %q: config: %w", i.cfg.Name, err)
	}
	if len(conf) == 0 {
		raw = []byte("{}")
	}
	dir := filepath.Join(i.cat.cfg.Home(), "plugins", i.cfg.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("instance %q: state dir: %w", i.cfg.Name, err)
	}
	// A fresh delegated key each time: a restarted plugin never reuses the
	// old process's key, and the device key never leaves the core.
	del, err := sdk.NewDelegation(i.cat.opts.Identity.PrivateKey(), DelegationTTL, time.Now())
	if err != nil {
		return fmt.Errorf("instance %q: %w", i.cfg.Name, err)
	}
	err = p.Configure(ctx, sdk.ConfigureRequest{
		APIVersion: sdk.APIVersion, Config: raw, Self: i.cat.opts.Identity.ID, StateDir: dir,
		Delegation: del,
	})
	if err != nil {
		return fmt.Errorf("instance %q: configure: %w", i.cfg.Name, err)
	}
	return nil
}

// watch waits for the process to exit and restarts it with backoff until
// the catalog closes.
func (i *Instance) watch(proc *host.Process) {
	ctx := i.cat.ctx
	select {
	case <-proc.Done():
	case <-ctx.Done():
		return
	}
	i.mu.Lock()
	if i.proc != proc || i.state != StateRunning {
		i.mu.Unlock()
		return // stopped on purpose
	}
	proc.Kill() // reap and release the data channel
	i.restarts++
	i.setState(StateRestarting, fmt.Errorf("instance %q: plugin process %d exited: %w", i.cfg.Name, proc.PID(), sdk.ErrPluginExited))
	i.mu.Unlock()
	delay := i.cat.opts.Backoff
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := i.start(sctx)
		cancel()
		if err == nil {
			return
		}
		i.mu.Lock()
		i.err = err
		i.mu.Unlock()
		delay *= 2
		if delay > i.cat.opts.MaxBackoff {
			delay = i.cat.opts.MaxBackoff
		}
	}
}

// stop closes the plugin and, for external ones, kills the process.
func (i *Instance) stop(ctx context.Context) error {
	i.mu.Lock()
	impl, proc, running := i.impl, i.proc, i.state == StateRunning
	i.impl, i.proc = nil, nil
	i.setState(StateStopped, nil)
	i.mu.Unlock()
	var err error
	if running && impl != nil {
		if cerr := impl.Close(ctx); cerr != nil && !errors.Is(cerr, sdk.ErrClosed) && !errors.Is(cerr, sdk.ErrPluginExited) {
			err = fmt.Errorf("instance %q: close: %w", i.cfg.Name, cerr)
		}
	}
	if proc != nil {
		proc.Kill()
	}
	return err
}

// handle starts the instance and returns its base handle for role r, after
// checking the plugin serves r.
func (i *Instance) handle(ctx context.Context, r sdk.Role) (baseHandle, error) {
	h := baseHandle{i: i, role: r}
	_, err := h.plugin(ctx)
	return h, err
}

// Transport returns the instance as a transport. The value stays valid
// across restarts: each call goes to the plugin process running then, and
// waits for a restart in progress.
func (i *Instance) Transport(ctx context.Context) (sdk.Transport, error) {
	h, err := i.handle(ctx, sdk.RoleTransport)
	if err != nil {
		return nil, err
	}
	return transportHandle{h}, nil
}

// Protocol returns the instance as a protocol, valid across restarts.
func (i *Instance) Protocol(ctx context.Context) (sdk.Protocol, error) {
	h, err := i.handle(ctx, sdk.RoleProtocol)
	if err != nil {
		return nil, err
	}
	return protocolHandle{h}, nil
}

// Discovery returns the instance as a discovery, valid across restarts:
// the last announcement is repeated to a restarted plugin and Watch
// channels carry on.
func (i *Instance) Discovery(ctx context.Context) (sdk.Discovery, error) {
	h, err := i.handle(ctx, sdk.RoleDiscovery)
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.disc == nil {
		i.disc = &discoveryHandle{baseHandle: h}
	}
	return i.disc, nil
}

// Signaling returns the instance as a signaling, valid across restarts;
// Receive channels carry on.
func (i *Instance) Signaling(ctx context.Context) (sdk.Signaling, error) {
	h, err := i.handle(ctx, sdk.RoleSignaling)
	if err != nil {
		return nil, err
	}
	return signalingHandle{h}, nil
}
