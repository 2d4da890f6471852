package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
)

// Catalog holds every plugin instance the config names. Instances start
// lazily, on first use.
type Catalog struct {
	opts      Options
	cfg       *config.Config
	dir       string
	lock      config.Lock
	lockErr   error
	mu        sync.Mutex
	instances map[string]*Instance
	ctx       context.Context
	cancel    context.CancelFunc
}

// New makes the catalog for cfg. It reads the lock file but starts nothing.
func New(cfg *config.Config, opts Options) (*Catalog, error) {
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	if opts.Backoff == 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Identity == nil {
		return nil, errors.New("plugin catalog: no identity")
	}
	c := &Catalog{opts: opts, cfg: cfg, dir: cfg.PluginDir(opts.FerryBinary), instances: map[string]*Instance{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.lock, c.lockErr = config.ReadLock(cfg.LockFile(opts.FerryBinary))
	if c.lockErr != nil && errors.Is(c.lockErr, os.ErrNotExist) {
		c.lock, c.lockErr = config.Lock{}, nil
	}
	for _, pi := range cfg.Plugins.Instances {
		inst := &Instance{cat: c, cfg: pi, state: StateStopped}
		if pi.Builtin {
			if _, ok := opts.Builtins[pi.Plugin]; !ok {
				inst.setupErr = fmt.Errorf("instance %q: builtin %q: %w (builtins: %v)", pi.Name, pi.Plugin, ErrUnknownPlugin, builtinNames(opts.Builtins))
			}
		} else {
			inst.path = filepath.Join(c.dir, pi.Plugin)
			if _, err := os.Stat(inst.path); errors.Is(err, os.ErrNotExist) {
				inst.setupErr = fmt.Errorf("instance %q: plugin binary %s not found (not built, or plugins.dir points elsewhere): %w", pi.Name, inst.path, ErrUnknownPlugin)
			} else if pin, ok := pi.ResolvePin(c.lock); ok {
				inst.pin = pin
			} else if c.lockErr != nil {
				inst.setupErr = fmt.Errorf("instance %q: lock file: %w", pi.Name, c.lockErr)
			} else {
				inst.setupErr = fmt.Errorf("instance %q: %s: %w in config or in %s (run `make build` or `ferry plugins lock`)", pi.Name, inst.path, ErrNoPin, cfg.LockFile(opts.FerryBinary))
			}
		}
		c.instances[pi.Name] = inst
	}
	return c, nil
}

func builtinNames(m map[string]Factory) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Instance returns the named instance.
func (c *Catalog) Instance(name string) (*Instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inst, ok := c.instances[name]
	if !ok {
		return nil, fmt.Errorf("instance %q: %w", name, ErrUnknownPlugin)
	}
	return inst, nil
}

// Statuses returns a snapshot of every instance, in config order. It starts
// nothing.
func (c *Catalog) Statuses(context.Context) []Status {
	var out []Status
	for _, pi := range c.cfg.Plugins.Instances {
		if inst, err := c.Instance(pi.Name); err == nil {
			out = append(out, inst.Status())
		}
	}
	return out
}

// Close stops every instance.
func (c *Catalog) Close(ctx context.Context) error {
	c.cancel()
	c.mu.Lock()
	insts := make([]*Instance, 0, len(c.instances))
	for _, i := range c.instances {
		insts = append(insts, i)
	}
	c.mu.Unlock()
	var errs []error
	for _, i := range insts {
		if err := i.stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Catalog) logOutput() io.Writer { return c.opts.LogOutput }

func (c *Catalog) log() *slog.Logger { return c.opts.Logger }
