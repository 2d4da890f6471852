package host

import "github.com/hashicorp/go-hclog"

// lifecycleLogger is the logger go-plugin's client gets. go-plugin reports
// a plugin's normal life (started, exited with status 0) at info level on
// the client's own logger, which would print a line per plugin at the end
// of every command; those go to debug. The plugin's own log lines, which
// go-plugin writes through a Named child logger, keep their levels, and so
// do go-plugin's warnings and errors (a crashed plugin is still reported).
type lifecycleLogger struct {
	hclog.Logger
}

// Info logs at debug level: see lifecycleLogger.
func (l lifecycleLogger) Info(msg string, args ...any) { l.Logger.Debug(msg, args...) }

// Log demotes info to debug, as Info does.
func (l lifecycleLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Info {
		level = hclog.Debug
	}
	l.Logger.Log(level, msg, args...)
}
