package plugintest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogBuffer collects a plugin's log for a test to search, and echoes it to
// t.Log. Use it as the writer of a slog handler (a text handler, say:
// [LogBuffer.String] then searches the text), or as the slog.Handler itself
// ([LogBuffer.Records] and [LogBuffer.Await] then search the records by
// level, message and attribute). It is safe for concurrent use. What
// arrives once the test has ended is kept but not echoed, as t.Log would
// panic: goroutines of a closed plugin may log a moment longer.
type LogBuffer struct {
	s     *logStore
	attrs []slog.Attr // from WithAttrs
}

// logStore is what a LogBuffer and the handlers derived from it share.
type logStore struct {
	t    testing.TB
	name string     // prefixes echoed lines, if set
	echo slog.Level // least level of records echoed

	mu   sync.Mutex
	buf  bytes.Buffer
	recs []LogRecord
	done bool // the test ended
}

// LogRecord is one record a [LogBuffer] got as a slog.Handler.
type LogRecord struct {
	// Level is the record's level.
	Level slog.Level
	// Message is the record's message.
	Message string
	// Attrs are the record's attributes (with those of WithAttrs), as
	// text; groups are flattened.
	Attrs map[string]string
}

// String writes the record as one line: level, quoted message, attributes.
func (r LogRecord) String() string {
	return fmt.Sprintf("%s %q %v", r.Level, r.Message, r.Attrs)
}

// LogOption sets up a LogBuffer in [NewLogBuffer].
type LogOption func(*logStore)

// LogName prefixes each line echoed to the test log with "[name] ", to
// tell several plugins' logs apart.
func LogName(name string) LogOption {
	return func(s *logStore) { s.name = name }
}

// LogEcho echoes only records at level or above to the test log (all are
// kept); lines written as text are always echoed. Without it, every
// record is echoed.
func LogEcho(level slog.Level) LogOption {
	return func(s *logStore) { s.echo = level }
}

// NewLogBuffer returns a LogBuffer that echoes to t.
func NewLogBuffer(t testing.TB, opts ...LogOption) *LogBuffer {
	s := &logStore{t: t, echo: slog.LevelDebug - 4}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
	})
	return &LogBuffer{s: s}
}

// Write records p and logs it to the test.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.buf.Write(p)
	l.s.echoLocked(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// echoLocked logs line to the test, unless it ended. s.mu is held.
func (s *logStore) echoLocked(line string) {
	if s.done {
		return
	}
	if s.name != "" {
		line = "[" + s.name + "] " + line
	}
	s.t.Log(line)
}

// String returns everything written so far, and a line for each record.
func (l *LogBuffer) String() string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.s.buf.String()
}

// Enabled reports that every level is recorded.
func (l *LogBuffer) Enabled(context.Context, slog.Level) bool { return true }

// Handle records r, and echoes it to the test log (see [LogEcho]).
func (l *LogBuffer) Handle(_ context.Context, r slog.Record) error {
	rec := LogRecord{Level: r.Level, Message: r.Message, Attrs: map[string]string{}}
	for _, a := range l.attrs {
		rec.Attrs[a.Key] = a.Value.Resolve().String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	line := rec.String()
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.recs = append(l.s.recs, rec)
	l.s.buf.WriteString(line + "\n")
	if r.Level >= l.s.echo {
		l.s.echoLocked(line)
	}
	return nil
}

// WithAttrs returns a handler into the same buffer that adds attrs to
// every record.
func (l *LogBuffer) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogBuffer{s: l.s, attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}

// WithGroup returns l: groups are flattened.
func (l *LogBuffer) WithGroup(string) slog.Handler { return l }

// Records returns the records match accepts (all, for a nil match), in the
// order they came.
func (l *LogBuffer) Records(match func(LogRecord) bool) []LogRecord {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	var out []LogRecord
	for _, r := range l.s.recs {
		if match == nil || match(r) {
			out = append(out, r)
		}
	}
	return out
}

// Await waits up to within for a record match accepts and returns all
// those it accepts by then. If none comes, it stops the test with
// t.Fatal, naming what (as in "no log line <what>") and showing the log.
func (l *LogBuffer) Await(t testing.TB, within time.Duration, what string, match func(LogRecord) bool) []LogRecord {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := l.Records(match); len(got) > 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %s within %v; log:\n%s", what, within, l.String())
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}
