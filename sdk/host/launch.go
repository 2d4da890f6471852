package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/rpc"
)

// LaunchConfig says how to start an external plugin binary.
type LaunchConfig struct {
	// Name names the instance in logs. REQUIRED.
	Name string
	// Path is the plugin binary. REQUIRED.
	Path string
	// SHA256 is the binary's pinned hash in hex. REQUIRED: a binary whose
	// hash differs is not started.
	SHA256 string
	// Checked says the caller has just hashed the binary and found SHA256
	// (the core does, to report a mismatch with both hashes): Launch then
	// does not read the binary a second time before starting it.
	Checked bool
	// Args are extra command-line arguments.
	Args []string
	// Env is extra environment ("K=V"). The plugin does not inherit the
	// host's environment beyond PATH, HOME, TMPDIR, LANG and LC_ALL;
	// secrets go through Configure, never the environment.
	Env []string
	// LogOutput receives the plugin's log lines, prefixed with its name.
	// Nil means os.Stderr.
	LogOutput io.Writer
	// LogLevel is the lowest level shown: trace, debug, info, warn, error.
	LogLevel string
	// StartTimeout bounds the handshake; zero means 10s.
	StartTimeout time.Duration
}

// Launch starts the plugin binary, performs the handshake, and reads its
// Info. A plugin that does not speak this host's plugin API version is
// killed, and the error wraps [sdk.ErrUnsupported]. The process is killed
// when Kill is called; it also exits by itself when the host process dies
// (the data channel is its lifeline).
func Launch(ctx context.Context, cfg LaunchConfig) (*Process, error) {
	sum, err := hex.DecodeString(cfg.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("launch %s: sha256 pin %q is not 64 hex digits", cfg.Name, cfg.SHA256)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.LogOutput == nil {
		cfg.LogOutput = os.Stderr
	}
	hostData, childData, err := datachan.SocketPair(syscall.SOCK_STREAM)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	hostFDs, childFDs, err := datachan.SocketPair(syscall.SOCK_SEQPACKET)
	if err != nil {
		_ = hostData.Close()
		_ = childData.Close()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	defer childData.Close()
	defer childFDs.Close()

	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = append(pluginEnv(), cfg.Env...)
	cmd.Env = append(cmd.Env, rpc.DataFDsEnv+"=3,4")
	cmd.ExtraFiles = []*os.File{childData, childFDs}
	// Own process group, so the whole group can be killed; and a parent
	// death signal as a second lifeline next to the data channel.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	dc, err := datachan.FromFiles(hostData, hostFDs, false)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "plugin." + cfg.Name, Output: cfg.LogOutput, Level: hclog.LevelFromString(cfg.LogLevel),
	})
	secure := &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	if cfg.Checked {
		secure = nil
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  rpc.Handshake,
		VersionedPlugins: rpc.VersionedPlugins(nil, dc),
		Cmd:              cmd,
		SkipHostEnv:      true,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           lifecycleLogger{logger},
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
	})
	fail := func(err error) (*Process, error) {
		client.Kill()
		dc.Close()
		return nil, fmt.Errorf("launch %s (%s): %w", cfg.Name, cfg.Path, err)
	}
	rpcc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpcc.Dispense(rpc.PluginKey)
	if err != nil {
		return fail(err)
	}
	rc, ok := raw.(*rpc.Client)
	if !ok {
		return fail(fmt.Errorf("dispensed %T, want the Ferry client", raw))
	}
	p := &Process{rpc: rc, done: rc.Done(), apiVer: client.NegotiatedVersion()}
	if rcfg := client.ReattachConfig(); rcfg != nil {
		p.pid = rcfg.Pid
	}
	p.kill = func() {
		client.Kill()
		if p.pid > 0 {
			_ = syscall.Kill(-p.pid, syscall.SIGKILL) // grandchildren too
		}
		dc.Close()
	}
	info, err := rc.Info(ctx)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	if err := checkAPIVersion(info); err != nil {
		p.kill()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	p.info = info
	return p, nil
}

// checkAPIVersion refuses a plugin that does not list this host's API
// version.
func checkAPIVersion(info sdk.Info) error {
	for _, v := range info.APIVersions {
		if v == sdk.APIVersion {
			return nil
		}
	}
	return fmt.Errorf("plugin %q speaks plugin API %v, this host speaks %d: %w", info.Name, info.APIVersions, sdk.APIVersion, sdk.ErrUnsupported)
}

// pluginEnv is the part of the host's environment a plugin inherits.
func pluginEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL":
			env = append(env, kv)
		}
	}
	return env
}
