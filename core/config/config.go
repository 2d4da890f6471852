package config

import (
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Config is Ferry's configuration, as loaded by [Load]. Field tags name the
// YAML keys; see configs/ferry.yaml for what each option does.
type Config struct {
	// Device describes this device to peers.
	Device Device `mapstructure:"device"`
	// Log sets logging.
	Log Log `mapstructure:"log"`
	// Plugins says where plugins live and which instances to run.
	Plugins Plugins `mapstructure:"plugins"`
	// Discovery lists instance names used for discovery, in priority order.
	Discovery []string `mapstructure:"discovery"`
	// Signaling lists instance names used for signaling, in priority order.
	Signaling []string `mapstructure:"signaling"`
	// Transports lists instance names used as transports, in priority order.
	Transports []string `mapstructure:"transports"`
	// Protocols lists instance names used as transfer protocols, in
	// priority order.
	Protocols []string `mapstructure:"protocols"`
	// Transfer sets receiving.
	Transfer Transfer `mapstructure:"transfer"`
	// Connect sets how transports race.
	Connect Connect `mapstructure:"connect"`

	home   string
	source string
	layers []*layer
}

// Device is the device section.
type Device struct {
	// Name is shown to peers; empty means the host name (see
	// [Config.DeviceName]).
	Name string `mapstructure:"name"`
}

// Log is the log section.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `mapstructure:"level"`
	// Format is text or json.
	Format string `mapstructure:"format"`
}

// Plugins is the plugins section.
type Plugins struct {
	// Dir holds the external plugin binaries; empty means the plugins folder
	// beside the ferry binary (see [Config.PluginDir]).
	Dir string `mapstructure:"dir" ferry:"path"`
	// LockFile holds the binaries' pins; empty means plugins.lock in Dir
	// (see [Config.LockFile]).
	LockFile string `mapstructure:"lock_file" ferry:"path"`
	// Instances are the configured plugin instances.
	Instances []PluginInstance `mapstructure:"instances"`
}

// PluginInstance is one configured copy of a plugin.
type PluginInstance struct {
	// Name is the instance's unique name, matching [a-z0-9-]+.
	Name string `mapstructure:"name"`
	// Plugin is the binary's file name in the plugin folder, or the builtin
	// twin's name when Builtin is set. [Load] fills it with Name when empty.
	Plugin string `mapstructure:"plugin"`
	// Builtin selects the in-process twin instead of the external binary.
	Builtin bool `mapstructure:"builtin"`
	// Enabled is false for an instance that is kept but not started. It
	// defaults to true when the key is absent.
	Enabled bool `mapstructure:"enabled"`
	// SHA256 is the binary's pin in lower-case hex, or empty to take it
	// from the lock file (see [PluginInstance.ResolvePin]).
	SHA256 string `mapstructure:"sha256"`
	// Config is handed to the plugin's Configure as JSON. It is free-form
	// here; the plugin host checks it against the plugin's ConfigSchema.
	Config map[string]any `mapstructure:"config"`
	// Priority orders a transport instance against the others: lower is
	// preferred, equal priorities race, and 0 means 10 times its place in
	// the transports list (10, 20, 30, ...). See [Config.TransportPriority].
	Priority int `mapstructure:"priority"`
}

// Transfer is the transfer section.
type Transfer struct {
	// Dir is where received files go. Empty means the current folder for
	// `ferry receive`; [Config.TransferDir] gives embedders the "received"
	// folder in the Ferry home instead.
	Dir string `mapstructure:"dir" ferry:"path"`
	// AutoAccept lists the peer IDs whose offers are accepted without a
	// prompt, in any form [sdk.ParsePeerID] accepts, and account IDs
	// (acct-...), whose every device with a valid, unrevoked certificate
	// is accepted so.
	AutoAccept []string `mapstructure:"auto_accept"`
}

// Connect is the connect section: when transports start in a race.
type Connect struct {
	// Stagger is the delay between the starts of transports of equal
	// priority, as a Go duration ("250ms"). Empty means 250ms.
	Stagger string `mapstructure:"stagger"`
	// Fallback is how long the transports of one priority have before the
	// next priority starts (at once when all of them failed), as a Go
	// duration. Empty means 1s.
	Fallback string `mapstructure:"fallback"`
}

// ConnectStagger returns connect.stagger, or 0 (the default) when unset
// or invalid ([Config.Validate] reports an invalid one).
func (c *Config) ConnectStagger() time.Duration { return parseDurationOr0(c.Connect.Stagger) }

// ConnectFallback returns connect.fallback, or 0 (the default) when unset
// or invalid.
func (c *Config) ConnectFallback() time.Duration { return parseDurationOr0(c.Connect.Fallback) }

func parseDurationOr0(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// Source names the config file that was loaded, or "embedded default" when
// there was none.
func (c *Config) Source() string {
	if c.source == "" {
		return embeddedName
	}
	return c.source
}

// Home returns the Ferry home folder the configuration was loaded for.
func (c *Config) Home() string { return c.home }

// DeviceName returns device.name, or the host name when it is empty, or
// "ferry" when the host name is unknown too.
func (c *Config) DeviceName() string {
	if c.Device.Name != "" {
		return c.Device.Name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "ferry"
}

// PluginDir returns plugins.dir, or when it is empty the "plugins" folder
// beside ferryBinary (normally the result of [os.Executable]).
func (c *Config) PluginDir(ferryBinary string) string {
	if c.Plugins.Dir != "" {
		return c.Plugins.Dir
	}
	return filepath.Join(filepath.Dir(ferryBinary), "plugins")
}

// LockFile returns plugins.lock_file, or when it is empty plugins.lock in
// [Config.PluginDir].
func (c *Config) LockFile(ferryBinary string) string {
	if c.Plugins.LockFile != "" {
		return c.Plugins.LockFile
	}
	return filepath.Join(c.PluginDir(ferryBinary), "plugins.lock")
}

// TransferDir returns transfer.dir, or when it is empty the "received"
// folder in the Ferry home.
func (c *Config) TransferDir() string {
	if c.Transfer.Dir != "" {
		return c.Transfer.Dir
	}
	return filepath.Join(c.home, "received")
}

// TransportPriority returns the priority of the transport instance name:
// its priority key, or when that is 0, 10 times its 1-based place in the
// transports list.
func (c *Config) TransportPriority(name string) int {
	if in, ok := c.Instance(name); ok && in.Priority > 0 {
		return in.Priority
	}
	for i, n := range c.Transports {
		if n == name {
			return 10 * (i + 1)
		}
	}
	return 10 * (len(c.Transports) + 1)
}

// Instance returns the instance with the given name.
func (c *Config) Instance(name string) (PluginInstance, bool) {
	for _, in := range c.Plugins.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return PluginInstance{}, false
}

// RoleNames returns the instance names configured for role r, in priority
// order, or nil for an unknown role. The slice is the Config's own.
func (c *Config) RoleNames(r sdk.Role) []string {
	switch r {
	case sdk.RoleDiscovery:
		return c.Discovery
	case sdk.RoleSignaling:
		return c.Signaling
	case sdk.RoleTransport:
		return c.Transports
	case sdk.RoleProtocol:
		return c.Protocols
	default:
		return nil
	}
}

// Role returns the instances configured for role r, in priority order.
// After a successful [Config.Validate] every listed name is an enabled
// instance; names that are not are skipped.
func (c *Config) Role(r sdk.Role) []PluginInstance {
	var out []PluginInstance
	for _, name := range c.RoleNames(r) {
		if in, ok := c.Instance(name); ok && in.Enabled {
			out = append(out, in)
		}
	}
	return out
}

// ResolvePin returns the sha256 pin the instance's binary must have: its own
// sha256 when set, else the lock's entry for its plugin. It reports false
// when there is no pin, and always for a builtin instance, which has no
// binary.
func (p PluginInstance) ResolvePin(l Lock) (string, bool) {
	if p.Builtin {
		return "", false
	}
	if p.SHA256 != "" {
		return p.SHA256, true
	}
	return l.Pin(p.Plugin)
}
