package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestHostLogHandler(t *testing.T) {
	var buf bytes.Buffer
	slog.New(HostLogHandler(&buf)).Warn("refused a frame", "from", "peer")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	for k, want := range map[string]string{"@level": "warn", "@message": "refused a frame", "from": "peer"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %q (line %s)", k, line[k], want, buf.String())
		}
	}
	if _, ok := line["@timestamp"].(string); !ok {
		t.Errorf("no @timestamp in %s", buf.String())
	}
}

// TestHostLogHandlerWholeNumbers checks that whole numbers reach the host
// as exact text: go-plugin parses JSON numbers as floats, which printed a
// byte count as 3.0092288e+07.
func TestHostLogHandlerWholeNumbers(t *testing.T) {
	var buf bytes.Buffer
	slog.New(HostLogHandler(&buf)).Info("held", "held", int64(30092288), "parts", uint64(7), "ratio", 0.5)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	if line["held"] != "30092288" || line["parts"] != "7" {
		t.Errorf("held = %#v, parts = %#v; want the exact digits as text (line %s)", line["held"], line["parts"], buf.String())
	}
	if line["ratio"] != 0.5 {
		t.Errorf("ratio = %#v, want the float untouched", line["ratio"])
	}
}
