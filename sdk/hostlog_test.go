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
