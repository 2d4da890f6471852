package plugintest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// LogBuffer collects a plugin's log lines for a test to search, and echoes
// each to t.Log. It is safe for concurrent use; use it as the writer of a
// slog handler.
type LogBuffer struct {
	t   testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLogBuffer returns a LogBuffer that echoes to t.
func NewLogBuffer(t testing.TB) *LogBuffer { return &LogBuffer{t: t} }

// Write records p and logs it to the test.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
