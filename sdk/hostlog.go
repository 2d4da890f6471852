package sdk

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// HostLogHandler returns a slog handler that writes JSON lines to w (a
// plugin's standard error) in the shape the host's plugin log reader
// (hashicorp/go-plugin) understands: "@level", "@message" and "@timestamp",
// so that the host shows each line at its own level and with its
// attributes, rather than as plain debug output. Whole numbers are written
// as text, so that a byte count reaches the host's log exact. Every level
// is written; the host filters.
func HostLogHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Value.Kind() {
			case slog.KindInt64:
				// The host parses JSON numbers as floats and would print
				// a byte count as 3.0092288e+07; as text it stays exact.
				return slog.String(a.Key, strconv.FormatInt(a.Value.Int64(), 10))
			case slog.KindUint64:
				return slog.String(a.Key, strconv.FormatUint(a.Value.Uint64(), 10))
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}
