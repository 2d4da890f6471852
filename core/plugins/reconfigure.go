package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-p2p/ferry/core/config"
)

// ErrRestartNeeded is returned by [Catalog.Reconfigure] for a change it
// cannot apply to running plugins: instances added, removed or swapped,
// enabled or disabled, pinned differently, or a transport's priority.
var ErrRestartNeeded = errors.New("applies only after a restart")

// Reconfigure applies cfg's plugin configs to the running catalog: each
// instance whose "config:" mapping changed is configured anew (when it
// runs) and starts with the new one (when it starts later); the others are
// left alone. Connections and transfers already under way keep what they
// were made with; new ones use the new config. A change the catalog
// cannot apply in place is refused with [ErrRestartNeeded], naming it,
// before anything is changed. If a plugin refuses its new config, that
// instance keeps its old one, Reconfigure goes on with the others and
// returns the refusals. It returns the names of the instances it
// reconfigured.
func (c *Catalog) Reconfigure(ctx context.Context, cfg *config.Config) ([]string, error) {
	old := c.cfg.Plugins.Instances
	next := cfg.Plugins.Instances
	var why []string
	if !slices.EqualFunc(old, next, func(a, b config.PluginInstance) bool { return a.Name == b.Name }) {
		why = append(why, fmt.Sprintf("the instances changed (%s → %s)", instanceNames(old), instanceNames(next)))
	} else {
		for k, a := range old {
			b := next[k]
			switch {
			case a.Plugin != b.Plugin || a.Builtin != b.Builtin:
				why = append(why, fmt.Sprintf("instance %q runs another plugin", a.Name))
			case a.Enabled != b.Enabled:
				why = append(why, fmt.Sprintf("instance %q is enabled or disabled", a.Name))
			case a.SHA256 != b.SHA256:
				why = append(why, fmt.Sprintf("instance %q has another pin", a.Name))
			case a.Priority != b.Priority:
				why = append(why, fmt.Sprintf("instance %q has another priority", a.Name))
			}
		}
	}
	if len(why) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(why, "; "), ErrRestartNeeded)
	}
	var (
		changed []string
		errs    []error
	)
	for k, pi := range next {
		was, err1 := json.Marshal(old[k].Config)
		now, err2 := json.Marshal(pi.Config)
		if err1 == nil && err2 == nil && string(was) == string(now) {
			continue
		}
		inst, err := c.Instance(pi.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := inst.reconfigure(ctx, pi); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = append(changed, pi.Name)
	}
	c.mu.Lock()
	c.cfg.Plugins.Instances = slices.Clone(c.cfg.Plugins.Instances)
	for k, pi := range next {
		if slices.Contains(changed, pi.Name) {
			c.cfg.Plugins.Instances[k] = pi
		}
	}
	c.mu.Unlock()
	return changed, errors.Join(errs...)
}

// reconfigure gives the instance its new config: the running plugin is
// configured with it; on a refusal the instance keeps the old one.
func (i *Instance) reconfigure(ctx context.Context, pi config.PluginInstance) error {
	i.mu.Lock()
	oldCfg := i.cfg.Config
	i.cfg.Config = pi.Config // the only field that may change in place
	running := i.state == StateRunning
	p := i.impl
	i.mu.Unlock()
	if !running || p == nil {
		return nil
	}
	if err := i.configure(ctx, p); err != nil {
		i.mu.Lock()
		i.cfg.Config = oldCfg
		i.mu.Unlock()
		return err
	}
	return nil
}

func instanceNames(list []config.PluginInstance) string {
	names := make([]string, len(list))
	for k, pi := range list {
		names[k] = pi.Name
	}
	return strings.Join(names, ", ")
}
