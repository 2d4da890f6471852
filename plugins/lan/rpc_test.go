package lan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// mode is one way to reach an instance: directly, through the RPC shims
// in this process, or as the external binary.
type mode struct {
	name  string
	start func(t *testing.T) sdk.Plugin
}

func modes(t *testing.T) []mode {
	t.Helper()
	// Built once per top-level test, into its temp dir.
	bin := plugintest.PluginBinary(t, "lan", "github.com/ferry-p2p/ferry/plugins/lan/cmd/lan")
	return []mode{
		{"direct", func(t *testing.T) sdk.Plugin {
			return New(WithLogger(slog.New(newLogCapture(t, "lan"))))
		}},
		{"rpc", func(t *testing.T) sdk.Plugin {
			return plugintest.ServeInProcess(t, New(WithLogger(slog.New(newLogCapture(t, "lan"))))).Plugin()
		}},
		{"external", func(t *testing.T) sdk.Plugin {
			return plugintest.Launch(t, bin).Plugin()
		}},
	}
}

// configured configures p for loopback on port with a fresh identity,
// announces it under its own ID and closes it at the end of the test.
func configured(t *testing.T, p sdk.Plugin, port uint16, name string) sdk.PeerID {
	t.Helper()
	id, _, del := newIdentity(t)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: loConfig(port, 200*time.Millisecond, time.Second), Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("%s: Configure: %v", name, err)
	}
	t.Cleanup(func() { closePlugin(t, name, p) })
	return id
}

// asDiscovery and asSignaling return the role of a direct plugin or an
// RPC client.
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

// TestSignalingConformance runs plugintest.TestSignaling on pairs of
// instances that announced themselves on loopback, in each mode.
func TestSignalingConformance(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			plugintest.TestSignaling(t, func(t *testing.T) (a, b sdk.Signaling, idA, idB sdk.PeerID) {
				port := freePort(t)
				pa, pb := m.start(t), m.start(t)
				idA, idB = configured(t, pa, port, "a"), configured(t, pb, port, "b")
				announceSelf(t, asDiscovery(t, pa), idA, "a")
				announceSelf(t, asDiscovery(t, pb), idB, "b")
				// Not required (the suite sends again while the peer is
				// not found), but saves its one-second retries.
				ctx, cancel := context.WithTimeout(context.Background(), eventually)
				defer cancel()
				awaitLookup(ctx, t, asDiscovery(t, pa), idB, "b")
				awaitLookup(ctx, t, asDiscovery(t, pb), idA, "a")
				return asSignaling(t, pa), asSignaling(t, pb), idA, idB
			})
		})
	}
}

// TestDiscoveryConformance runs plugintest.TestDiscovery on pairs of
// instances on loopback, in each mode.
func TestDiscoveryConformance(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			plugintest.TestDiscovery(t, func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID) {
				port := freePort(t)
				pa, pb := m.start(t), m.start(t)
				configured(t, pa, port, "a")
				idB = configured(t, pb, port, "b")
				return asDiscovery(t, pa), asDiscovery(t, pb), idB
			})
		})
	}
}

// TestDiscoverySelf is plugintest.TestDiscovery's AnnounceThenWatch,
// Lookup, WatchEndsWithContext and Reannounce with b announcing its own
// ID, in each mode, plus a check that announcing another ID is refused.
func TestDiscoverySelf(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			pair := func(t *testing.T) (a, b sdk.Discovery, idB sdk.PeerID) {
				port := freePort(t)
				pa, pb := m.start(t), m.start(t)
				configured(t, pa, port, "a")
				idB = configured(t, pb, port, "b")
				return asDiscovery(t, pa), asDiscovery(t, pb), idB
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*eventually)
			defer cancel()
			t.Run("AnnounceThenWatch", func(t *testing.T) {
				a, b, idB := pair(t)
				name := "announce then watch " + idB.Short()
				announceSelf(t, b, idB, name)
				awaitNamed(t, watch(t, a), idB, name)
			})
			t.Run("Lookup", func(t *testing.T) {
				a, b, idB := pair(t)
				name := "lookup " + idB.Short()
				announceSelf(t, b, idB, name)
				awaitLookup(ctx, t, a, idB, name)
				if _, err := a.Lookup(ctx, plugintest.RandomPeerID(t)); !errors.Is(err, sdk.ErrNotFound) {
					t.Errorf("Lookup of an unknown ID: %v, want sdk.ErrNotFound", err)
				}
			})
			t.Run("WatchEndsWithContext", func(t *testing.T) {
				a, b, idB := pair(t)
				announceSelf(t, b, idB, "watch ends "+idB.Short())
				// Let events queue unread, then cancel.
				wctx, wcancel := context.WithCancel(ctx)
				defer wcancel()
				ch, err := a.Watch(wctx)
				if err != nil {
					t.Fatal(err)
				}
				awaitLookup(ctx, t, a, idB, "watch ends "+idB.Short())
				wcancel()
				timer := time.NewTimer(5 * time.Second) // plugintest's "promptly"
				defer timer.Stop()
				for {
					select {
					case _, ok := <-ch:
						if !ok {
							return
						}
					case <-timer.C:
						t.Fatal("Watch channel still open 5s after its context was cancelled")
					}
				}
			})
			t.Run("Reannounce", func(t *testing.T) {
				a, b, idB := pair(t)
				name := "reannounce " + idB.Short()
				announceSelf(t, b, idB, name)
				w := watch(t, a)
				awaitNamed(t, w, idB, name)
				announceSelf(t, b, idB, name+" renamed")
				awaitNamed(t, w, idB, name+" renamed")
				awaitLookup(ctx, t, a, idB, name+" renamed")
			})
			t.Run("ForeignIDRefused", func(t *testing.T) {
				_, b, _ := pair(t)
				foreign := plugintest.RandomPeerID(t)
				err := b.Announce(ctx, sdk.PeerInfo{ID: foreign, Name: "someone else"})
				if !errors.Is(err, sdk.ErrUnsupported) {
					t.Fatalf("Announce of another device's ID: %v, want sdk.ErrUnsupported", err)
				}
			})
		})
	}
}

// awaitNamed reads ch until a joined or seen event for id with name.
func awaitNamed(t *testing.T, ch <-chan sdk.PeerEvent, id sdk.PeerID, name string) {
	t.Helper()
	timer := time.NewTimer(eventually)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("Watch channel closed")
			}
			if ev.Peer.ID == id && (ev.Kind == sdk.PeerJoined || ev.Kind == sdk.PeerSeen) && ev.Peer.Name == name {
				return
			}
		case <-timer.C:
			t.Fatalf("no event for %s named %q", id.Short(), name)
		}
	}
}

// awaitLookup calls Lookup until it returns the record named name.
func awaitLookup(ctx context.Context, t *testing.T, d sdk.Discovery, id sdk.PeerID, name string) {
	t.Helper()
	var last string
	for {
		info, err := d.Lookup(ctx, id)
		switch {
		case err == nil && info.ID == id && info.Name == name:
			return
		case err == nil:
			last = fmt.Sprintf("record named %q", info.Name)
		case !errors.Is(err, sdk.ErrNotFound):
			t.Fatalf("Lookup(%s): %v", id.Short(), err)
		default:
			last = err.Error()
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("Lookup(%s) found no record named %q; last answer: %s", id.Short(), name, last)
		}
	}
}

// TestConfigureOverRPC checks that Configure's errors cross the RPC
// boundary: no delegation, bad options.
func TestConfigureOverRPC(t *testing.T) {
	for _, m := range modes(t)[1:] {
		t.Run(m.name, func(t *testing.T) {
			p := m.start(t)
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			id, _, del := newIdentity(t)
			err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: loConfig(freePort(t), time.Second, 5*time.Second), Self: id})
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "delegated signing key") {
				t.Errorf("Configure without a delegation: %v", err)
			}
			err = p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte(`{"prot": 1}`), Self: id, Delegation: del})
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), `"prot"`) {
				t.Errorf("Configure with an unknown key: %v", err)
			}
			schema, err := p.ConfigSchema(ctx)
			if err != nil || len(schema.Fields) != 9 {
				t.Errorf("ConfigSchema over RPC: %+v, %v", schema, err)
			}
		})
	}
}
