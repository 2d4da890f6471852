package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/sdk"
)

// builtinSchema returns the config schema of the plugin's built-in twin,
// for checking an instance's config without starting its binary.
func builtinSchema(ctx context.Context) func(plugin string) (sdk.ConfigSchema, bool) {
	return func(plugin string) (sdk.ConfigSchema, bool) {
		mk, ok := builtins[plugin]
		if !ok {
			return sdk.ConfigSchema{}, false
		}
		p := mk()
		defer p.Close(ctx)
		s, err := p.ConfigSchema(ctx)
		return s, err == nil
	}
}

// watchReload reloads the config of the running session s on every
// SIGHUP, saying what it did through say, until the returned stop is
// called.
func (a *app) watchReload(ctx context.Context, cmd *cobra.Command, s *session, say func(string)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				say(a.reload(ctx, cmd, s))
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// reload loads the config again (file, environment, flags), checks every
// plugin config against its plugin's schema, and applies the plugin
// configs that changed to the running plugins: new connections use them,
// connections and transfers under way keep theirs. A config that does not
// load or check, or a change that needs a restart, is refused and the
// old config stays in force. It returns the line to show.
func (a *app) reload(ctx context.Context, cmd *cobra.Command, s *session) string {
	line, err := a.reloadConfig(ctx, cmd, s)
	if err != nil {
		return err.Error()
	}
	return line
}

// errReloadRefused marks a reload that changed nothing: the old config
// stays in force.
var errReloadRefused = errors.New("config reload refused, the old config stays in force")

// reloadConfig is reload, with a refusal as an error wrapping
// errReloadRefused.
func (a *app) reloadConfig(ctx context.Context, cmd *cobra.Command, s *session) (string, error) {
	refused := func(err error) error {
		return fmt.Errorf("%w: %w", errReloadRefused, err)
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return "", refused(err)
	}
	if _, err := cfg.CheckPluginConfigs(builtinSchema(ctx)); err != nil {
		return "", refused(err)
	}
	changed, err := s.cat.Reconfigure(ctx, cfg)
	switch {
	case err != nil && len(changed) == 0:
		return "", refused(err)
	case err != nil:
		return fmt.Sprintf("config reloaded from %s in part: reconfigured %s; refused: %v", cfg.Source(), strings.Join(changed, ", "), err), nil
	case len(changed) == 0:
		return fmt.Sprintf("config reloaded from %s: no plugin config changed", cfg.Source()), nil
	}
	return fmt.Sprintf("config reloaded from %s: reconfigured %s (new connections use it)", cfg.Source(), strings.Join(changed, ", ")), nil
}
