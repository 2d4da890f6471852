package plugintest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// watchdog returns a context for one subtest and a stop function to defer.
// When the limit of [TimeoutEnv] passes before stop, it fails the test,
// cancels the context, runs onFire (if not nil) and closes plugins, so that
// blocked calls return.
func watchdog(t *testing.T, what string, onFire func(), plugins ...sdk.Plugin) (context.Context, func()) {
	t.Helper()
	timeout := watchdogTimeout(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	timer := time.AfterFunc(timeout, func() {
		once.Do(func() {
			t.Errorf("test timed out after %v (%s overrides); cancelling and closing %s", timeout, TimeoutEnv, what)
			cancel()
			if onFire != nil {
				onFire()
			}
			cctx, ccancel := context.WithTimeout(context.Background(), promptly)
			defer ccancel()
			for _, p := range plugins {
				_ = p.Close(cctx)
			}
		})
	})
	return ctx, func() {
		timer.Stop()
		once.Do(cancel)
	}
}

// checkInfo tests that p's Info names the plugin, lists role and speaks
// this SDK's API version.
func checkInfo(ctx context.Context, t *testing.T, side string, p sdk.Plugin, role sdk.Role) {
	t.Helper()
	info, err := p.Info(ctx)
	if err != nil {
		t.Errorf("%s: Info: %v", side, err)
		return
	}
	if info.Name == "" {
		t.Errorf("%s: Info.Name is empty", side)
	}
	if !info.HasRole(role) {
		t.Errorf("%s: Info.Roles = %v, want it to include %v", side, info.Roles, role)
	}
	if !slices.Contains(info.APIVersions, sdk.APIVersion) {
		t.Errorf("%s: Info.APIVersions = %v, want it to include %d", side, info.APIVersions, sdk.APIVersion)
	}
}
