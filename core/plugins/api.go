package plugins

import (
	"io"
	"log/slog"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

// Factory makes an in-process plugin: the builtin twin of a plugin binary.
type Factory func() sdk.Plugin

// Options configure a Catalog.
type Options struct {
	// FerryBinary is the path of the running ferry binary; plugins are found
	// beside it (in plugins/) unless config says otherwise.
	FerryBinary string
	// Builtins maps plugin names to in-process factories.
	Builtins map[string]Factory
	// Identity is this device; plugins are told its peer ID.
	Identity *identity.Identity
	// LogOutput receives plugin logs; nil means os.Stderr.
	LogOutput io.Writer
	// LogLevel is the plugins' log level (debug, info, warn, error).
	LogLevel string
	// Logger receives the supervisor's own messages; nil discards them.
	Logger *slog.Logger
	// Backoff is the first restart delay (doubles up to MaxBackoff);
	// zero means 200ms and 30s.
	Backoff, MaxBackoff time.Duration
}

// State is where an instance is in its life cycle.
type State int

// The instance states.
const (
	StateUnknown State = iota
	StateStopped
	StateStarting
	StateRunning
	StateRestarting
	StateFailed
)

var stateNames = [...]string{"unknown", "stopped", "starting", "running", "restarting", "failed"}

// String returns the lower-case state name.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// Status is a snapshot of one instance, for `ferry plugins list`.
type Status struct {
	Name     string   // instance name from config
	Plugin   string   // plugin (binary or builtin) name
	Builtin  bool     // in-process twin
	Path     string   // binary path, empty for builtins
	SHA256   string   // pinned hash, empty for builtins
	PID      int      // process id while running, else 0
	State    State    // life-cycle state
	Info     sdk.Info // as reported by the plugin, once started
	Restarts int      // restarts since the catalog was made
	Err      error    // last start or exit error, if any
}
