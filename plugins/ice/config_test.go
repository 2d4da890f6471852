package ice

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name  string
		json  string
		check func(config) bool // for valid configs
		err   string            // part of the error, when invalid
	}{
		{"empty", ``, func(c config) bool {
			return c.ipv4 && c.ipv6 && c.host && c.srflx && c.relay && !c.includeLoopback &&
				c.gatherTimeout == 3*time.Second && c.sessionTimeout == 60*time.Second && c.portMin == 0
		}, ""},
		{"null", `null`, func(c config) bool { return c.host }, ""},
		{"servers", `{"stun_servers":["stun:127.0.0.1:3478","stun:stun.example.org:19302"],
			"turn_servers":["turn:127.0.0.1:3478?transport=udp","turn:[::1]:3478?transport=tcp"],
			"turn_username":"u","turn_password":"p"}`, func(c config) bool {
			return len(c.stunServers) == 2 && len(c.turnServers) == 2 && c.turnServers[1].Host == "::1"
		}, ""},
		{"relay only", `{"relay_only":true,"turn_servers":["turn:127.0.0.1:3478?transport=udp"],"turn_username":"u","turn_password":"p"}`,
			func(c config) bool { return !c.host && !c.srflx && c.relay }, ""},
		{"types", `{"network_types":["udp6"],"candidate_types":["srflx","host"]}`,
			func(c config) bool { return !c.ipv4 && c.ipv6 && c.host && c.srflx && !c.relay }, ""},
		{"loopback", `{"include_loopback":true,"interfaces":["lo"]}`,
			func(c config) bool { return c.includeLoopback && len(c.interfaces) == 1 }, ""},
		{"timeouts", `{"gather_timeout":"500ms","session_timeout":"2m"}`,
			func(c config) bool {
				return c.gatherTimeout == 500*time.Millisecond && c.sessionTimeout == 2*time.Minute
			}, ""},
		{"ports", `{"port_min":50000,"port_max":50100}`,
			func(c config) bool { return c.portMin == 50000 && c.portMax == 50100 }, ""},

		{"not an object", `[1]`, nil, "want a JSON object"},
		{"unknown key", `{"stun":"x"}`, nil, `unknown key "stun"`},
		{"stun not a list", `{"stun_servers":"stun:1.2.3.4:3478"}`, nil, "stun_servers"},
		{"stun scheme", `{"stun_servers":["turn:1.2.3.4:3478"]}`, nil, "stun_servers"},
		{"stuns", `{"stun_servers":["stuns:1.2.3.4:5349"]}`, nil, "secure schemes are not supported"},
		{"stun no port", `{"stun_servers":["stun:1.2.3.4"]}`, nil, "write the port"},
		{"stun garbage", `{"stun_servers":["not a url"]}`, nil, "stun_servers"},
		{"turn no transport", `{"turn_servers":["turn:1.2.3.4:3478"],"turn_username":"u","turn_password":"p"}`, nil, "write the transport"},
		{"turn bad transport", `{"turn_servers":["turn:1.2.3.4:3478?transport=sctp"],"turn_username":"u","turn_password":"p"}`, nil, "turn_servers"},
		{"turn credentials in url", `{"turn_servers":["turn:u:p@1.2.3.4:3478?transport=udp"],"turn_username":"u","turn_password":"p"}`, nil, "turn_servers"},
		{"turn without user", `{"turn_servers":["turn:1.2.3.4:3478?transport=udp"],"turn_password":"p"}`, nil, "turn_username: invalid config: required with turn_servers"},
		{"turn without password", `{"turn_servers":["turn:1.2.3.4:3478?transport=udp"],"turn_username":"u"}`, nil, "turn_password"},
		{"relay only without turn", `{"relay_only":true}`, nil, "relay_only: invalid config: needs turn_servers"},
		{"network tcp4", `{"network_types":["tcp4"]}`, nil, `network_types: invalid config: "tcp4" is not one of udp4, udp6`},
		{"network none", `{"network_types":[]}`, nil, "network_types"},
		{"network twice", `{"network_types":["udp4","udp4"]}`, nil, "listed twice"},
		{"candidate prflx", `{"candidate_types":["prflx"]}`, nil, "candidate_types"},
		{"loopback not bool", `{"include_loopback":"yes"}`, nil, "include_loopback: invalid config: want true or false"},
		{"no such interface", `{"interfaces":["ferry-no-such0"]}`, nil, `interfaces: invalid config: no interface named "ferry-no-such0"`},
		{"gather zero", `{"gather_timeout":"0s"}`, nil, "gather_timeout"},
		{"session bad", `{"session_timeout":"soon"}`, nil, "session_timeout"},
		{"port range", `{"port_min":6000,"port_max":5000}`, nil, "port_min: invalid config: 6000 is above port_max 5000"},
		{"port half", `{"port_min":6000}`, nil, "set port_min and port_max together"},
		{"port big", `{"port_max":70000}`, nil, "port_max"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseConfig([]byte(c.json))
			if c.err == "" {
				if err != nil {
					t.Fatalf("parseConfig: %v", err)
				}
				if !c.check(cfg) {
					t.Errorf("parsed %+v", cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseConfig(%s) succeeded, want an error containing %q", c.json, c.err)
			}
			if !errors.Is(err, sdk.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap sdk.ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %q does not contain %q", err, c.err)
			}
		})
	}
}

// TestPasswordNotInErrors: a bad config's error never shows the TURN
// password.
func TestPasswordNotInErrors(t *testing.T) {
	const secret = "s3cret-never-shown"
	for _, raw := range []string{
		`{"turn_servers":["turn:1.2.3.4"],"turn_username":"u","turn_password":"` + secret + `"}`,
		`{"turn_servers":["turn:1.2.3.4:1?transport=udp"],"turn_password":"` + secret + `"}`,
		`{"turn_password":"` + secret + `","bogus":1}`,
	} {
		_, err := parseConfig([]byte(raw))
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("parseConfig: %v", err)
		}
	}
}

func TestSchemaMatchesParser(t *testing.T) {
	for _, f := range schema.Fields {
		raw := `{"` + f.Name + `":` + map[string]string{
			"string": `"x"`, "int": `0`, "bool": `false`, "duration": `"1s"`, "[]string": `[]`,
		}[f.Type] + `}`
		_, err := parseConfig([]byte(raw))
		if err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("schema field %q is not parsed: %v", f.Name, err)
		}
	}
}

func TestConfigureRefusesOtherAPI(t *testing.T) {
	tr := New()
	defer tr.Close(context.Background())
	err := tr.Configure(context.Background(), sdk.ConfigureRequest{APIVersion: sdk.APIVersion + 1})
	if !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Configure with API %d: %v, want ErrUnsupported", sdk.APIVersion+1, err)
	}
	if _, err := tr.Prepare(context.Background(), sdk.PrepareRequest{}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Prepare before Configure: %v, want ErrNotConfigured", err)
	}
}

// shippedInstance is the part of a configs/*.yaml instance entry read here.
type shippedInstance struct {
	Name   string         `yaml:"name"`
	Config map[string]any `yaml:"config"`
}

// TestShippedConfig checks that the ice block of configs/ice-loopback.yaml
// is valid and keeps everything on the machine (parsed only).
func TestShippedConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "ice-loopback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plugins struct {
			Instances []shippedInstance `yaml:"instances"`
		} `yaml:"plugins"`
		Transports []string `yaml:"transports"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(doc.Transports, []string{"ice"}) {
		t.Errorf("transports %v, want [ice]", doc.Transports)
	}
	i := slices.IndexFunc(doc.Plugins.Instances, func(in shippedInstance) bool { return in.Name == "ice" })
	if i < 0 {
		t.Fatal("no ice instance")
	}
	raw, err := json.Marshal(doc.Plugins.Instances[i].Config)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig(raw)
	if err != nil {
		t.Fatalf("ice config %s: %v", raw, err)
	}
	if !c.includeLoopback || !slices.Equal(c.interfaces, []string{"lo"}) || !c.host || c.srflx || c.relay ||
		len(c.stunServers) > 0 || len(c.turnServers) > 0 {
		t.Errorf("ice config parsed as %+v, want host candidates on lo only", c)
	}
}

// TestShippedInternetConfigs checks that the ice blocks of
// configs/internet.yaml and relay-only.yaml parse with servers and
// credentials set as FERRY_ICE_SERVERS and FERRY_ICE_TURN_* set them, that
// internet.yaml parses as shipped too (no server named) while relay-only
// is refused until a TURN server is set, and that relay-only offers relays
// only.
func TestShippedInternetConfigs(t *testing.T) {
	for _, file := range []string{"internet.yaml", "relay-only.yaml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "configs", file))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Plugins struct {
					Instances []shippedInstance `yaml:"instances"`
				} `yaml:"plugins"`
			}
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(doc.Plugins.Instances, func(in shippedInstance) bool { return in.Name == "ice" })
			if i < 0 {
				t.Fatal("no ice instance")
			}
			shipped := doc.Plugins.Instances[i].Config
			for _, set := range []map[string]any{
				{},
				{"stun_servers": []any{"stun:127.0.0.1:3478"}, "turn_servers": []any{"turn:127.0.0.1:3478?transport=udp"}, "turn_username": "alice", "turn_password": "s3cret"},
			} {
				cfg := map[string]any{}
				for k, v := range shipped {
					cfg[k] = v
				}
				for k, v := range set {
					cfg[k] = v
				}
				raw, err := json.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				c, err := parseConfig(raw)
				if file == "relay-only.yaml" && len(set) == 0 {
					// As shipped it names no relay: refused until one is set.
					if err == nil || !strings.Contains(err.Error(), "needs turn_servers") {
						t.Errorf("relay-only with no TURN server: %v, want it refused naming turn_servers", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("ice config %s: %v", raw, err)
				}
				if file == "relay-only.yaml" && (c.host || c.srflx || !c.relay) {
					t.Errorf("relay-only parsed as host %v, srflx %v, relay %v; want relays only", c.host, c.srflx, c.relay)
				}
				if file == "internet.yaml" && !(c.host && c.srflx && c.relay) {
					t.Errorf("internet parsed as host %v, srflx %v, relay %v; want all three", c.host, c.srflx, c.relay)
				}
			}
		})
	}
}
