package jsonchunk

import (
	"log/slog"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Identity of the plugin.
const (
	// Name is the plugin's name in its Info.
	Name = "jsonchunk"
	// Version is the plugin's own version.
	Version = "0.1.0"
	// ProtocolID is the wire protocol's identifier, which the core uses as
	// the TLS ALPN value.
	ProtocolID = "/ferry/jsonchunk/1"
)

// Option sets up a Protocol in [New].
type Option = lifecycle.Option

// WithLogger sets the logger for refusals, resumes, hash mismatches and
// conversation trouble. A nil logger, or no option, means slog.Default()
// at the time of each call.
func WithLogger(l *slog.Logger) Option { return lifecycle.WithLogger(l) }

// Protocol is the jsonchunk protocol plugin: the sending and the receiving
// side of the conversation described in the package documentation. Make it
// with [New] and configure it with Configure (JSON, as the host does) or
// SetConfig (in Go) before Send or Receive. All methods are safe to call
// concurrently; one Protocol serves any number of calls at once.
//
// Info, ConfigSchema, Configure, SetConfig and Close are those of the
// embedded [lifecycle.Protocol]. The options are mode, chunk_size,
// strict_chunk_size, window, retry_interval, retries, ack_timeout and
// verify_wait (see [Config]); Close ends the running Send and Receive
// calls (their context is cancelled and their streams closed).
type Protocol struct {
	*lifecycle.Protocol[Config]
}

var _ sdk.Protocol = (*Protocol)(nil)

// New returns an unconfigured protocol.
func New(opts ...Option) *Protocol {
	info := sdk.Info{Name: Name, Version: Version, ProtocolID: ProtocolID}
	// The token rides in AUTHENTICATION and reaches Decide: the receiving
	// core requires it.
	info.Capabilities = []string{sdk.CapOfferToken}
	spec := lifecycle.Spec[Config]{
		Info:          info,
		Schema:        schema,
		Parse:         parseConfig,
		Validate:      Config.Validate,
		Defaults:      Config.withDefaults,
		SendBuffer:    sendBufferSize,
		ReceiveBuffer: receiveBufferSize,
	}
	return &Protocol{lifecycle.NewProtocol(spec, opts...)}
}
