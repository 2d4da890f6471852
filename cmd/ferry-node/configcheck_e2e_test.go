package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigCheckPluginConfig: `ferry config check` checks each plugin
// instance's config against the plugin's schema, without starting it, and
// names the file and line of the problem, within 1 s.
func TestConfigCheckPluginConfig(t *testing.T) {
	bin := binDir(t)
	root, _ := filepath.Abs("../..")
	base, err := os.ReadFile(filepath.Join(root, "configs", "loopback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to string
		want           []string // in the error; none = the check passes
	}{
		{"as shipped", "", "", nil},
		{"lan key typo", "announce_interval: 5s", "anounce_interval: 5s",
			[]string{"config.anounce_interval", "unknown key for plugin lan", `did you mean "announce_interval"?`}},
		{"lan bad duration", "peer_timeout: 20s", "peer_timeout: twenty", []string{"config.peer_timeout", `"twenty" is not a duration`}},
		{"lan port as text", "port: 41771", `port: "41771"`, []string{"config.port", "a whole number"}},
	}
	n := newNode(t, bin)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := string(base)
			line := 0
			if c.from != "" {
				i := strings.Index(data, c.from)
				if i < 0 {
					t.Fatalf("configs/loopback.yaml no longer holds %q; update this test", c.from)
				}
				line = strings.Count(data[:i], "\n") + 1
				data = data[:i] + c.to + data[i+len(c.from):]
			}
			cfg := filepath.Join(t.TempDir(), "ferry.yaml")
			if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, errs, err := n.run("--config", cfg, "config", "check")
			took := time.Since(start)
			if c.want == nil {
				if err != nil || !strings.Contains(out, "config OK") {
					t.Fatalf("config check of a good file: %v\n%s%s", err, out, errs)
				}
				return
			}
			if err == nil {
				t.Fatalf("config check passed:\n%s", out)
			}
			for _, w := range append(c.want, fmt.Sprintf("%s:%d:", cfg, line)) {
				if !strings.Contains(errs, w) {
					t.Errorf("error lacks %q:\n%s", w, errs)
				}
			}
			if took > time.Second {
				t.Errorf("config check took %s, want within 1 s", took)
			}
		})
	}
}
