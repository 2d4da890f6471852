package plugintest

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogBufferText: as a text handler's writer, the buffer keeps the
// text for String.
func TestLogBufferText(t *testing.T) {
	logs := NewLogBuffer(t)
	slog.New(slog.NewTextHandler(logs, nil)).Info("hello", "n", 1)
	if s := logs.String(); !strings.Contains(s, "msg=hello n=1") {
		t.Errorf("String = %q, want the text line", s)
	}
}

// TestLogBufferRecords: as the handler itself, the buffer keeps each
// record's level, message and attributes (those of WithAttrs too), which
// Records and Await search.
func TestLogBufferRecords(t *testing.T) {
	logs := NewLogBuffer(t, LogName("node"), LogEcho(slog.LevelInfo))
	log := slog.New(logs).With("peer", "abc")
	log.Debug("quiet", "n", 1)
	log.WithGroup("g").Warn("dropped", "reason", "replay")

	all := logs.Records(nil)
	if len(all) != 2 {
		t.Fatalf("Records(nil) = %v, want both records (debug ones are kept)", all)
	}
	if r := all[0]; r.Level != slog.LevelDebug || r.Message != "quiet" || r.Attrs["n"] != "1" || r.Attrs["peer"] != "abc" {
		t.Errorf("first record = %v", r)
	}
	warn := logs.Records(func(r LogRecord) bool { return r.Level == slog.LevelWarn && r.Attrs["reason"] == "replay" })
	if len(warn) != 1 || warn[0].Message != "dropped" || warn[0].Attrs["peer"] != "abc" {
		t.Errorf("the warning = %v", warn)
	}
	if s := logs.String(); !strings.Contains(s, `WARN "dropped"`) {
		t.Errorf("String = %q, want a line per record", s)
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		log.Info("late")
	}()
	got := logs.Await(t, 5*time.Second, "saying late", func(r LogRecord) bool { return r.Message == "late" })
	if len(got) != 1 || got[0].Level != slog.LevelInfo {
		t.Errorf("Await = %v, want the late record", got)
	}
}

// TestLogBufferAfterTheTest: a record that arrives once the test ended
// is kept and not echoed (t.Log would panic).
func TestLogBufferAfterTheTest(t *testing.T) {
	var logs *LogBuffer
	t.Run("inner", func(t *testing.T) {
		logs = NewLogBuffer(t)
	})
	slog.New(logs).Error("after the test")
	if got := logs.Records(nil); len(got) != 1 {
		t.Errorf("Records = %v, want the record kept", got)
	}
	_, _ = logs.Write([]byte("text after the test\n"))
	if !strings.Contains(logs.String(), "text after the test") {
		t.Error("text written after the test was not kept")
	}
}
