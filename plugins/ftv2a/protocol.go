package ftv2a

import (
	"log/slog"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Identity of the plugin.
const (
	// Name is the plugin's name in its Info.
	Name = "ftv2a"
	// Version is the plugin's own version.
	Version = "0.1.0"
	// ProtocolID is the wire protocol's identifier, which the core uses as
	// the TLS ALPN value.
	ProtocolID = "/ferry/ftv2a/1"
)

// Option sets up a Protocol in [New].
type Option = lifecycle.Option

// WithLogger sets the logger for refusals, resumes and conversation
// trouble. A nil logger, or no option, means slog.Default() at the time of
// each call.
func WithLogger(l *slog.Logger) Option { return lifecycle.WithLogger(l) }

// Protocol is the ftv2a protocol plugin: the sending and the receiving side
// of the conversation described in the package documentation. Make it with
// [New] and configure it with Configure (JSON, as the host does) or
// SetConfig (in Go) before Send or Receive. All methods are safe to call
// concurrently; one Protocol serves any number of calls at once.
//
// Info, ConfigSchema, Configure, SetConfig and Close are those of the
// embedded [lifecycle.Protocol]. The options are retry_interval, retries,
// chunk_size, commit_bytes and commit_interval (see [Config]); Close ends
// the running Send and Receive calls (their context is cancelled and
// their streams closed).
type Protocol struct {
	*lifecycle.Protocol[Config]
}

var _ sdk.Protocol = (*Protocol)(nil)

// New returns an unconfigured protocol.
func New(opts ...Option) *Protocol {
	spec := lifecycle.Spec[Config]{
		// FILE_SENDREQUEST carries at most MaxNameLen bytes of name: the
		// sending core offers another protocol for longer ones.
		Info:          sdk.Info{Name: Name, Version: Version, ProtocolID: ProtocolID, Capabilities: []string{sdk.NameMaxCapability(MaxNameLen)}},
		Schema:        schema,
		Parse:         parseConfig,
		Validate:      Config.Validate,
		Defaults:      Config.withDefaults,
		SendBuffer:    sendBufferSize,
		ReceiveBuffer: receiveBufferSize,
	}
	return &Protocol{lifecycle.NewProtocol(spec, opts...)}
}
