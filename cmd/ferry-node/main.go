// Command ferry-node is the Ferry command-line tool, whole. It sends files
// and folders to a peer (send, resume, status), receives them (receive),
// lists the peers discovery sees (peers), shows this device's peer ID (id),
// checks the configuration (config), lists and pins plugins (plugins), runs
// a DHT bootstrap node (dht bootstrap), and offers debugging commands
// (debug). It only parses flags and renders events: the work is done by
// core/node.
//
// Users run it as ferry: the front (cmd/ferry) executes this program for
// every command line it does not hand to a running daemon, and the daemon
// runs those in this same code (forwarded.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/plugins"
	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/ftv2a"
	"github.com/ferry-p2p/ferry/plugins/ice"
	"github.com/ferry-p2p/ferry/plugins/jsonchunk"
	"github.com/ferry-p2p/ferry/plugins/lan"
	"github.com/ferry-p2p/ferry/plugins/tcp"
	"github.com/ferry-p2p/ferry/sdk"
)

// builtins are the in-process twins of the plugin binaries, used for
// instances configured with builtin: true.
var builtins = map[string]plugins.Factory{
	"tcp":       func() sdk.Plugin { return tcp.New() },
	"lan":       func() sdk.Plugin { return lan.New() },
	"ftv2a":     func() sdk.Plugin { return ftv2a.New() },
	"dht":       func() sdk.Plugin { return dht.New() },
	"jsonchunk": func() sdk.Plugin { return jsonchunk.New() },
	"ice":       func() sdk.Plugin { return ice.New() },
}

// closeTimeout bounds how long shutting the plugins down may take.
const closeTimeout = 10 * time.Second

// memoryLimit is the soft memory limit the ferry process sets for its Go
// runtime unless GOMEMLIMIT is set: the garbage collector runs sooner as
// the heap nears it, so that a send or receive of 100,000 small files,
// whose lists are live for the whole transfer, stays in a flat footprint
// rather than doubling the live heap between collections.
const memoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if err := run(); err != nil {
		os.Exit(exitStatus(err, os.Stderr))
	}
}

// exitStatus returns the exit status for a command's error (nil: 0), and
// prints the error on stderr unless the output already said it.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if !errors.As(err, &ee) || !ee.silent {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
	}
	if ee != nil {
		return ee.code
	}
	return 1
}

// exitError is an error with its exit status, and silent when the output
// already said it.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run builds the command tree and executes it with the process arguments,
// cancelled on SIGINT or SIGTERM.
func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("FERRY_CPUPROFILE"); path != "" {
		// A CPU profile of this process, for performance work (go tool pprof).
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("FERRY_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("FERRY_CPUPROFILE: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	// Logs go through the console, which prints them above the
	// progress bars while bars are drawn.
	app := &app{stdout: os.Stdout, stderr: newConsole(os.Stderr), env: os.Environ()}
	root := app.rootCommand()
	root.SetArgs(os.Args[1:])
	return root.ExecuteContext(ctx)
}

// app holds what every command shares: output streams, the environment and
// the global flags.
type app struct {
	stdout, stderr io.Writer
	env            []string

	// inDaemon is set for a command line the daemon runs for the ferry
	// front (forwarded.go): the daemon is known to run.
	inDaemon bool
	// dir is the working folder relative paths are taken from: the
	// front's, for a command line run in the daemon; "" is this
	// process's.
	dir string

	configFile string
	logLevel   string
	log        *slog.Logger
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Plugin-based peer-to-peer file transfer",
		Long: `Ferry moves files between devices peer to peer. Discovery, signaling,
transports and transfer protocols are plugins: separate binaries pinned by
sha256 (or in-process twins), started and supervised by ferry.

Configuration is layered: built-in defaults < config file < FERRY_* environment
variables < command-line flags. The config file is --config, else
$FERRY_CONFIG, else $FERRY_HOME/ferry.yaml when it exists. FERRY_HOME
(default ~/.config/ferry) also holds this device's key.`,
		Example: `  ferry receive                       # on the receiving device: accept offers until Ctrl-C
  ferry peers                         # on the sending device: who is there?
  ferry send photos/ --to laptop      # send to a device by name, ID or ID prefix
  ferry status                        # unfinished transfers, both ways`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			a.log = newLogger(a.stderr, a.logLevel, "text")
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "config file (overrides $FERRY_CONFIG and $FERRY_HOME/ferry.yaml)")
	pf.StringVar(&a.logLevel, config.FlagName("log.level"), "", "log level: debug, info, warn or error (overrides log.level)")

	root.AddCommand(a.sendCommand(), a.receiveCommand(), a.resumeCommand(), a.statusCommand(), a.cancelCommand(), a.doctorCommand(), a.dhtCommand(), a.peersCommand(), a.idCommand(), a.accountCommand(), a.configCommand(), a.pluginsCommand(), a.debugCommand(), a.daemonCommand(), a.acceptCommand(), a.refuseCommand())
	return root
}

// home returns the Ferry home folder from the environment.
func (a *app) home() (string, error) {
	return config.ResolveHome(a.env)
}

// loadConfig loads and validates the configuration, with cmd's flags as the
// top layer, and switches the logger to its level and format.
func (a *app) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	home, err := a.home()
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.LoadOptions{Home: home, Env: a.env, Flags: cmd.Flags()})
	if err != nil {
		return nil, err
	}
	a.log = newLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
	return cfg, nil
}

// identity loads this device's identity from the Ferry home, creating it on
// first use.
func (a *app) identity(cfg *config.Config) (*identity.Identity, error) {
	home := ""
	if cfg != nil {
		home = cfg.Home()
	}
	if home == "" {
		h, err := a.home()
		if err != nil {
			return nil, err
		}
		home = h
	}
	id, err := identity.LoadOrCreate(home)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The home itself is unusable (not a folder, not writable): say
		// which one and how to choose another.
		return nil, fmt.Errorf("the Ferry home %s (FERRY_HOME, default ~/.config/ferry) is not usable: %w; set FERRY_HOME to a folder you can write", home, err)
	}
	return id, err
}

// openPlugins loads the config (with cmd's flags) and the identity and
// makes the plugin catalog, starting nothing. The caller must close the
// catalog.
func (a *app) openPlugins(cmd *cobra.Command) (*config.Config, *identity.Identity, *plugins.Catalog, error) {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := a.identity(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	cat, err := a.catalog(cfg, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, id, cat, nil
}

// catalog makes the plugin catalog for cfg. The caller must close it.
func (a *app) catalog(cfg *config.Config, id *identity.Identity) (*plugins.Catalog, error) {
	exe, err := ferryBinary()
	if err != nil {
		return nil, err
	}
	return plugins.New(cfg, plugins.Options{
		FerryBinary: exe,
		Builtins:    builtins,
		Identity:    id,
		LogOutput:   a.stderr,
		LogLevel:    cfg.Log.Level,
	})
}

// closeCatalog shuts the plugins down, logging a failure.
func (a *app) closeCatalog(c *plugins.Catalog) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		a.log.Warn("closing plugins", "err", err)
	}
}

// ferryBinary returns the path of the running ferry binary, with symbolic
// links resolved, so that plugins are found beside the real file.
func ferryBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find ferry binary: %w", err)
	}
	return exe, nil
}

// newLogger returns a slog logger on w at level (default info), as text or
// JSON.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// abs makes p absolute, from the command's working folder (see app.dir).
func (a *app) abs(p string) (string, error) {
	if a.dir != "" && !filepath.IsAbs(p) {
		p = filepath.Join(a.dir, p)
	}
	return filepath.Abs(p)
}
