package sdk

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

// PluginProcess is a running plugin as the host sees it: an external
// process, or an implementation served in-process behind the same RPC shims
// (ServeInProcess). Its role accessors return clients that call the plugin.
type PluginProcess struct {
	rpc    *rpcClient
	info   Info
	pid    int
	done   <-chan struct{}
	kill   func()
	apiVer int
}

// Launch starts the plugin binary, performs the handshake, and reads its
// Info. The process is killed when Kill is called; it also exits by itself
// when the host process dies (the data channel is its lifeline).
func Launch(ctx context.Context, cfg LaunchConfig) (*PluginProcess, error) {
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
	hostData, childData, err := socketPair(syscall.SOCK_STREAM)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	hostFDs, childFDs, err := socketPair(syscall.SOCK_SEQPACKET)
	if err != nil {
		_ = hostData.Close()
		_ = childData.Close()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	defer childData.Close()
	defer childFDs.Close()

	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = append(pluginEnv(), cfg.Env...)
	cmd.Env = append(cmd.Env, dataFDsEnv+"=3,4")
	cmd.ExtraFiles = []*os.File{childData, childFDs}
	// Own process group, so the whole group can be killed; and a parent
	// death signal as a second lifeline next to the data channel.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	stream, err := fileUnixConn(hostData)
	if err != nil {
		_ = hostFDs.Close()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	fds, err := fileUnixConn(hostFDs)
	if err != nil {
		_ = stream.Close()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	dc, err := newDataChannel(stream, fds, false)
	if err != nil {
		_ = stream.Close()
		_ = fds.Close()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "plugin." + cfg.Name, Output: cfg.LogOutput, Level: hclog.LevelFromString(cfg.LogLevel),
	})
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: map[int]plugin.PluginSet{APIVersion: {pluginKey: &grpcPlugin{dc: dc}}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           logger,
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
	})
	fail := func(err error) (*PluginProcess, error) {
		client.Kill()
		dc.close()
		return nil, fmt.Errorf("launch %s (%s): %w", cfg.Name, cfg.Path, err)
	}
	rpcc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpcc.Dispense(pluginKey)
	if err != nil {
		return fail(err)
	}
	rc, ok := raw.(*rpcClient)
	if !ok {
		return fail(fmt.Errorf("dispensed %T, want the Ferry client", raw))
	}
	pp := &PluginProcess{rpc: rc, done: rc.done, apiVer: client.NegotiatedVersion()}
	if rcfg := client.ReattachConfig(); rcfg != nil {
		pp.pid = rcfg.Pid
	}
	pp.kill = func() {
		client.Kill()
		if pp.pid > 0 {
			_ = syscall.Kill(-pp.pid, syscall.SIGKILL) // grandchildren too
		}
		dc.close()
	}
	info, err := rc.Info(ctx)
	if err != nil {
		pp.kill()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	if err := checkAPIVersion(info); err != nil {
		pp.kill()
		return nil, fmt.Errorf("launch %s: %w", cfg.Name, err)
	}
	pp.info = info
	return pp, nil
}

func checkAPIVersion(info Info) error {
	for _, v := range info.APIVersions {
		if v == APIVersion {
			return nil
		}
	}
	return fmt.Errorf("plugin %q speaks plugin API %v, this host speaks %d: %w", info.Name, info.APIVersions, APIVersion, ErrUnsupported)
}

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

// Info returns the plugin's Info as read at start.
func (p *PluginProcess) Info() Info { return p.info }

// PID returns the plugin's process id, or 0 for an in-process plugin.
func (p *PluginProcess) PID() int { return p.pid }

// APIVersion returns the negotiated plugin API major version.
func (p *PluginProcess) APIVersion() int { return p.apiVer }

// Done is closed when the plugin has exited (or, in-process, was killed).
func (p *PluginProcess) Done() <-chan struct{} { return p.done }

// Exited reports whether the plugin has exited.
func (p *PluginProcess) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill stops the plugin at once. It is safe to call more than once.
func (p *PluginProcess) Kill() { p.kill() }

// Plugin returns the base client.
func (p *PluginProcess) Plugin() Plugin { return p.rpc }

// Transport returns the transport client, or an error wrapping
// ErrUnsupported when the plugin does not serve that role.
func (p *PluginProcess) Transport() (Transport, error) {
	if !p.info.HasRole(RoleTransport) {
		return nil, p.noRole(RoleTransport)
	}
	return p.rpc, nil
}

// Discovery returns the discovery client, or an error wrapping
// ErrUnsupported when the plugin does not serve that role.
func (p *PluginProcess) Discovery() (Discovery, error) {
	if !p.info.HasRole(RoleDiscovery) {
		return nil, p.noRole(RoleDiscovery)
	}
	return p.rpc, nil
}

// Signaling returns the signaling client, or an error wrapping
// ErrUnsupported when the plugin does not serve that role.
func (p *PluginProcess) Signaling() (Signaling, error) {
	if !p.info.HasRole(RoleSignaling) {
		return nil, p.noRole(RoleSignaling)
	}
	return p.rpc, nil
}

func (p *PluginProcess) noRole(r Role) error {
	return fmt.Errorf("plugin %q serves %v, not %s: %w", p.info.Name, p.info.Roles, r, ErrUnsupported)
}

// Protocol returns the protocol client, or an error wrapping
// ErrUnsupported when the plugin does not serve that role.
func (p *PluginProcess) Protocol() (Protocol, error) {
	if !p.info.HasRole(RoleProtocol) {
		return nil, p.noRole(RoleProtocol)
	}
	return protocolClient{p.rpc}, nil
}
