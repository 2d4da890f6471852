package dht_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// binPkg is the plugin binary's package.
const binPkg = "github.com/ferry-p2p/ferry/plugins/dht/cmd/dht"

// mode is one way to reach an instance: directly, through the RPC shims
// in this process, or as the external binary the host launches.
type mode struct {
	name  string
	start func(t *testing.T, name string) sdk.Plugin
}

func modes(t *testing.T) []mode {
	t.Helper()
	// Built once per top-level test, into its temp dir.
	bin := plugintest.PluginBinary(t, "dht", binPkg)
	return []mode{
		{"direct", func(t *testing.T, name string) sdk.Plugin {
			return dht.New(dht.WithLogger(slog.New(newLogCapture(t, name))))
		}},
		{"rpc", func(t *testing.T, name string) sdk.Plugin {
			return plugintest.ServeInProcess(t, dht.New(dht.WithLogger(slog.New(newLogCapture(t, name))))).Plugin()
		}},
		{"external", func(t *testing.T, name string) sdk.Plugin {
			return plugintest.Launch(t, bin).Plugin()
		}},
	}
}

// configured configures p with a fresh identity to join through boot, and
// closes it at the end of the test.
func configured(t *testing.T, p sdk.Plugin, boot []string, name string) sdk.PeerID {
	t.Helper()
	id, _, del := dhtsim.NewIdentity(t)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: dhtsim.Config(t, boot, nil), Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("%s: Configure: %v", name, err)
	}
	t.Cleanup(func() { closePlugin(t, name, p) })
	return id
}

func asDiscovery(t *testing.T, p sdk.Plugin) sdk.Discovery {
	t.Helper()
	d, ok := p.(sdk.Discovery)
	if !ok {
		t.Fatalf("%T is not a discovery plugin", p)
	}
	return d
}

func asSignaling(t *testing.T, p sdk.Plugin) sdk.Signaling {
	t.Helper()
	s, ok := p.(sdk.Signaling)
	if !ok {
		t.Fatalf("%T is not a signaling plugin", p)
	}
	return s
}

// TestDiscoveryConformance runs plugintest.TestDiscovery on pairs of
// instances that join through a bootstrap node on loopback, in each mode.
func TestDiscoveryConformance(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			plugintest.TestDiscovery(t, func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID) {
				seed := seedNode(t)
				pa, pb := m.start(t, "a"), m.start(t, "b")
				configured(t, pa, seed, "a")
				idB = configured(t, pb, seed, "b")
				return asDiscovery(t, pa), asDiscovery(t, pb), idB
			})
		})
	}
}

// TestSignalingConformance runs plugintest.TestSignaling on pairs of
// instances that announced themselves, in each mode.
func TestSignalingConformance(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			plugintest.TestSignaling(t, func(t *testing.T) (a, b sdk.Signaling, idA, idB sdk.PeerID) {
				seed := seedNode(t)
				pa, pb := m.start(t, "a"), m.start(t, "b")
				idA, idB = configured(t, pa, seed, "a"), configured(t, pb, seed, "b")
				announceSelf(t, asDiscovery(t, pa), idA, "a")
				announceSelf(t, asDiscovery(t, pb), idB, "b")
				// Not required (the suite sends again while the peer is
				// not found), but saves its one-second retries.
				awaitLookup(t, asDiscovery(t, pa), idB, "b")
				awaitLookup(t, asDiscovery(t, pb), idA, "a")
				return asSignaling(t, pa), asSignaling(t, pb), idA, idB
			})
		})
	}
}

// TestConfigureOverRPC checks that Configure's errors cross the RPC
// boundary: no delegation, an unknown key, a bad bootstrap address.
func TestConfigureOverRPC(t *testing.T) {
	for _, m := range modes(t)[1:] {
		t.Run(m.name, func(t *testing.T) {
			p := m.start(t, "p")
			t.Cleanup(func() { closePlugin(t, "p", p) })
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			id, _, del := dhtsim.NewIdentity(t)
			err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: dhtsim.Config(t, nil, nil), Self: id})
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "delegated signing key") {
				t.Errorf("Configure without a delegation: %v", err)
			}
			err = p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte(`{"bootstrapp": []}`), Self: id, Delegation: del})
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), `"bootstrapp"`) {
				t.Errorf("Configure with an unknown key: %v", err)
			}
			err = p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte(`{"bootstrap": ["/ip4/127.0.0.1/tcp/1"]}`), Self: id, Delegation: del})
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "/p2p/") {
				t.Errorf("Configure with a bootstrap address without /p2p/: %v", err)
			}
			schema, err := p.ConfigSchema(ctx)
			if err != nil || len(schema.Fields) != 11 {
				t.Errorf("ConfigSchema over RPC: %+v, %v", schema, err)
			}
		})
	}
}
