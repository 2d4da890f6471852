package ice

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// loggerFactory routes pion's logs (ice, turnc) to the transport's logger.
// pion's errors and warnings are routine here (a check to a dead address,
// a discarded stray packet), so they become debug lines; pion's own debug
// and trace lines are dropped, among other reasons because they print ICE
// passwords. What matters is reported by this package itself.
type loggerFactory struct{ log *slog.Logger }

var _ logging.LoggerFactory = loggerFactory{}

func (f loggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log, scope: scope}
}

type pionLogger struct {
	log   *slog.Logger
	scope string
}

func (p pionLogger) enabled() bool { return p.log.Enabled(context.Background(), slog.LevelDebug) }

func (p pionLogger) emit(level, msg string) {
	p.log.Debug("ice: pion", "scope", p.scope, "level", level, "msg", msg)
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}

func (p pionLogger) Info(msg string) { p.emit("info", msg) }
func (p pionLogger) Infof(format string, a ...any) {
	if p.enabled() {
		p.emit("info", fmt.Sprintf(format, a...))
	}
}
func (p pionLogger) Warn(msg string) { p.emit("warn", msg) }
func (p pionLogger) Warnf(format string, a ...any) {
	if p.enabled() {
		p.emit("warn", fmt.Sprintf(format, a...))
	}
}
func (p pionLogger) Error(msg string) { p.emit("error", msg) }
func (p pionLogger) Errorf(format string, a ...any) {
	if p.enabled() {
		p.emit("error", fmt.Sprintf(format, a...))
	}
}
