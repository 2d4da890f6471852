package sdk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// APIVersion is the major version of the plugin API this SDK speaks. The host
// and a plugin agree on it in the go-plugin handshake; a plugin built for
// another major version is refused. Additions within a major version are
// announced as capability strings in [Info.Capabilities].
const APIVersion = 1

// Role names one of the four jobs a plugin can do.
type Role int

// The roles. RoleUnknown is the zero value and is never valid.
const (
	RoleUnknown Role = iota
	RoleDiscovery
	RoleSignaling
	RoleTransport
	RoleProtocol
)

var roleNames = [...]string{"unknown", "discovery", "signaling", "transport", "protocol"}

// String returns the lower-case role name used in config and the CLI.
func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole parses a role name as printed by [Role.String].
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Role(i), nil
		}
	}
	return RoleUnknown, fmt.Errorf("unknown role %q (want discovery, signaling, transport or protocol): %w", s, ErrUnsupported)
}

// Info describes a plugin. The host reads it before configuring anything.
type Info struct {
	// Name is the plugin's name, for logs, metrics and config. REQUIRED.
	// No behaviour is switched on it.
	Name string
	// Version is the plugin's own semantic version, e.g. "1.2.0".
	Version string
	// Roles lists the roles this plugin serves. When it is left empty, the
	// SDK's server (serve.Plugin) fills it from the interfaces the value
	// implements.
	Roles []Role
	// APIVersions lists the plugin API major versions it speaks. When it is
	// left empty, the SDK's server fills it with [APIVersion].
	APIVersions []int
	// ProtocolID is, for a protocol plugin, the wire protocol's identifier,
	// e.g. "/ferry/ftv2a/1"; the core uses it as the TLS ALPN value.
	ProtocolID string
	// Capabilities lists optional abilities within the API version, such as
	// "stream.fd" or "discovery.lookup".
	Capabilities []string
}

// HasRole reports whether the plugin serves role r.
func (i Info) HasRole(r Role) bool {
	for _, x := range i.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// ConfigField describes one option a plugin accepts.
type ConfigField struct {
	// Name is the option's key. REQUIRED.
	Name string
	// Type is one of "string", "int", "bool", "duration", "[]string".
	Type string
	// Default is the value used when the option is not set, as text.
	Default string
	// Required marks an option that has no default.
	Required bool
	// Doc says what the option does, in one sentence.
	Doc string
}

// ConfigSchema lists the options a plugin accepts. The host refuses
// configuration keys the schema does not name.
type ConfigSchema struct {
	// Fields are the accepted options.
	Fields []ConfigField
}

// Field returns the field with the given name.
func (s ConfigSchema) Field(name string) (ConfigField, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ConfigField{}, false
}

// ConfigureRequest carries the configuration the host gives a plugin.
type ConfigureRequest struct {
	// APIVersion is the negotiated plugin API major version.
	APIVersion int
	// Config is the plugin's options as a JSON object whose keys were
	// checked against its [ConfigSchema].
	Config []byte
	// Self is this device's peer ID.
	Self PeerID
	// StateDir is a directory private to this plugin instance where it may
	// keep state across restarts. It exists and has mode 0700.
	StateDir string
	// Delegation, when not nil, is a key the plugin may sign with on this
	// device's behalf (announcements, records), certified by the device
	// key. The device key itself never reaches a plugin.
	Delegation *Delegation
}

// Plugin is the base every plugin role embeds.
//
// Configure may be called again after a restart of the plugin process, and
// with new options at run time; it must be idempotent for equal requests.
// All methods are safe to call concurrently.
type Plugin interface {
	// Info describes the plugin. It must answer without Configure.
	Info(ctx context.Context) (Info, error)
	// ConfigSchema lists the options Configure accepts.
	ConfigSchema(ctx context.Context) (ConfigSchema, error)
	// Configure applies options. Slow start-up work (binding sockets,
	// joining a network) belongs here, not in main, but should not block
	// beyond what the options need: long-running work runs in the
	// background, owned by the plugin until Close.
	Configure(ctx context.Context, req ConfigureRequest) error
	// Close releases everything the plugin holds. Calls after Close return
	// [ErrClosed].
	Close(ctx context.Context) error
}

// CapOfferToken is the capability of a protocol whose wire carries the
// receiver's transfer token ([Offer.Token]) and passes it to
// [FileSink.Decide]: with it, the receiving core refuses an offer whose
// token is missing or does not check out.
const CapOfferToken = "offer.token"

// CapNameMaxPrefix starts the capability by which a protocol whose wire
// bounds a file name's length says so: "name.max:255" means names of at
// most 255 bytes. The sending core then offers that protocol only for
// transfers whose every name fits. Use [NameMaxCapability] to make it.
const CapNameMaxPrefix = "name.max:"

// NameMaxCapability returns the capability of a protocol that carries file
// names of at most n bytes.
func NameMaxCapability(n int) string { return CapNameMaxPrefix + strconv.Itoa(n) }

// NameMax returns the longest file name, in bytes, that a protocol with
// info carries, and false when it announces no bound.
func (i Info) NameMax() (int, bool) {
	for _, c := range i.Capabilities {
		if rest, ok := strings.CutPrefix(c, CapNameMaxPrefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// CapRemoteDescription is the capability of a transport whose responder
// needs the initiator's description ([ConnectRequest.Remote]) to connect:
// ICE, whose responder must send checks to the initiator's candidates to
// open a path through both sides' NATs. The core then sends the
// initiator's description over signaling after the receiver's ACCEPT, and
// passes it to the responder's Connect. Without it the responder's Connect
// gets an empty Remote (TCP needs nothing from the dialling side).
const CapRemoteDescription = "transport.remote"

// CapStreamFD is the capability a transport served over RPC announces: its
// kernel-socket streams are handed to the host as descriptors.
const CapStreamFD = "stream.fd"
