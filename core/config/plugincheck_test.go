package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// CheckPluginConfigs reports each key of an instance's config that its
// plugin's schema does not name, or whose value is not of the field's type,
// with the file and line; instances of plugins without a known schema are
// returned unchecked.
func TestCheckPluginConfigs(t *testing.T) {
	schemas := map[string]sdk.ConfigSchema{"lan": {Fields: []sdk.ConfigField{
		{Name: "port", Type: "int"},
		{Name: "announce_interval", Type: "duration"},
		{Name: "interfaces", Type: "[]string"},
		{Name: "multicast_group", Type: "string"},
	}}}
	schema := func(p string) (sdk.ConfigSchema, bool) { s, ok := schemas[p]; return s, ok }
	head := "plugins:\n  instances:\n    - name: lan\n      config:\n"
	// After the instances, so that lines stay put: the role lists name
	// only lan.
	const roles = "discovery: [lan]\nsignaling: [lan]\ntransports: []\nprotocols: []\n"
	cases := []struct {
		name, config string
		line         int // of the problem; 0 = none
		key          string
		contains     []string
	}{
		{"valid", "        port: 1\n        announce_interval: 5s\n        interfaces: [lo]\n", 0, "", nil},
		{"null is not set", "        port:\n", 0, "", nil},
		{"typo", "        port: 1\n        anounce_interval: 5s\n", 6, "plugins.instances[0].config.anounce_interval",
			[]string{"unknown key for plugin lan", `did you mean "announce_interval"?`, "port, announce_interval"}},
		{"no close key", "        colour: red\n", 5, "plugins.instances[0].config.colour", []string{"unknown key"}},
		{"int as text", "        port: \"41771\"\n", 5, "plugins.instances[0].config.port", []string{"a whole number", "a string"}},
		{"bad duration", "        announce_interval: 5 seconds\n", 5, "plugins.instances[0].config.announce_interval", []string{"not a duration"}},
		{"single string for a list", "        interfaces: lo\n", 5, "plugins.instances[0].config.interfaces", []string{"a list of strings", "[lo]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "ferry.yaml", head+c.config+roles)
			cfg := mustLoad(t, LoadOptions{File: path})
			unchecked, err := cfg.CheckPluginConfigs(schema)
			if len(unchecked) != 0 {
				t.Errorf("unchecked %v", unchecked)
			}
			if c.line == 0 {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.File != path || ve.Line != c.line || ve.Key != c.key {
				t.Errorf("at %s:%d %s, want %s:%d %s (%v)", ve.File, ve.Line, ve.Key, path, c.line, c.key, err)
			}
			for _, want := range c.contains {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
	t.Run("unknown plugin", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "ferry.yaml", "plugins:\n  instances:\n    - name: mine\n      plugin: custom\n      config:\n        x: 1\n    - name: lan\n"+roles)
		cfg := mustLoad(t, LoadOptions{File: path})
		unchecked, err := cfg.CheckPluginConfigs(schema)
		if err != nil || len(unchecked) != 1 || unchecked[0] != "mine" {
			t.Errorf("unchecked %v, err %v; want [mine] and no error", unchecked, err)
		}
	})
}
