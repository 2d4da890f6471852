package tcp

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// shippedConfig returns the config mapping of the tcp instance of
// configs/<file>, as the host would pass it to Configure.
func shippedConfig(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plugins struct {
			Instances []struct {
				Name   string         `yaml:"name"`
				Config map[string]any `yaml:"config"`
			} `yaml:"instances"`
		} `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, in := range doc.Plugins.Instances {
		if in.Name == Name {
			raw, err := json.Marshal(in.Config)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
	t.Fatalf("%s has no %s instance", file, Name)
	return nil
}

// TestLoopbackConfigListensOnLoopbackOnly configures the transport with
// configs/loopback.yaml and checks, in /proc/net/tcp, that every socket
// listening on its ports is bound inside 127.0.0.0/8.
func TestLoopbackConfigListensOnLoopbackOnly(t *testing.T) {
	tr := New()
	raw := shippedConfig(t, "loopback.yaml")
	if err := tr.Configure(plugintest.Context(t), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	t.Cleanup(func() { _ = tr.Close(plugintest.Context(t)) })
	tr.mu.Lock()
	var ports []uint16
	for _, l := range tr.listeners {
		ports = append(ports, l.bound.addr.Port())
	}
	tr.mu.Unlock()
	socks, err := plugintest.TCPSockets(0)
	if err != nil {
		t.Fatal(err)
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	n := 0
	for _, s := range socks {
		if s.State != plugintest.TCPListen || !slices.Contains(ports, s.Local.Port()) {
			continue
		}
		n++
		if !loopback.Contains(s.Local.Addr()) {
			t.Errorf("listening on %v, outside %v", s.Local, loopback)
		}
	}
	if n == 0 {
		t.Fatalf("no listening socket on ports %v among %v", ports, socks)
	}
}
