package host

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestLifecycleLogger checks that go-plugin's own info lines (a plugin
// that exited normally) drop to debug, while its warnings and the
// plugin's relayed lines (through a Named child) keep their levels.
func TestLifecycleLogger(t *testing.T) {
	var buf bytes.Buffer
	l := lifecycleLogger{hclog.New(&hclog.LoggerOptions{Name: "plugin.lan", Output: &buf, Level: hclog.Info})}
	l.Info("plugin process exited", "id", 1)
	l.Log(hclog.Info, "plugin process exited", "id", 2)
	l.Warn("plugin failed to exit gracefully")
	l.Named("lan").Info("announcing on lo")
	out := buf.String()
	if strings.Contains(out, "plugin process exited") {
		t.Errorf("a normal exit is printed at info level:\n%s", out)
	}
	for _, want := range []string{"[WARN]  plugin.lan: plugin failed to exit gracefully", "[INFO]  plugin.lan.lan: announcing on lo"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
