package ftv2a

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

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

// cleanupTimeout bounds the part-file calls made while a call winds down
// after its context ended.
const cleanupTimeout = 10 * time.Second

// Option sets up a Protocol in [New].
type Option func(*Protocol)

// WithLogger sets the logger for refusals, resumes and conversation
// trouble. A nil logger, or no option, means slog.Default() at the time of
// each call.
func WithLogger(l *slog.Logger) Option {
	return func(p *Protocol) { p.log = l }
}

// Protocol is the ftv2a protocol plugin: the sending and the receiving side
// of the conversation described in the package documentation. Make it with
// [New] and configure it with Configure (JSON, as the host does) or
// [Protocol.SetConfig] (in Go) before Send or Receive. All methods are safe
// to call concurrently; one Protocol serves any number of calls at once.
type Protocol struct {
	log *slog.Logger // nil: slog.Default()

	// life holds the configuration and the running Send and Receive
	// calls, which Close cancels.
	life *lifecycle.State[Config]
}

var _ sdk.Protocol = (*Protocol)(nil)

// New returns an unconfigured protocol.
func New(opts ...Option) *Protocol {
	p := &Protocol{life: lifecycle.New[Config](Name)}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *Protocol) logger() *slog.Logger {
	if p.log != nil {
		return p.log
	}
	return slog.Default()
}

// Info describes the plugin. It answers before Configure.
func (p *Protocol) Info(context.Context) (sdk.Info, error) {
	if p.life.Closed() {
		return sdk.Info{}, fmt.Errorf("ftv2a: info: %w", sdk.ErrClosed)
	}
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Roles:       []sdk.Role{sdk.RoleProtocol},
		APIVersions: []int{sdk.APIVersion},
		ProtocolID:  ProtocolID,
	}, nil
}

// ConfigSchema lists the options: retry_interval, retries, chunk_size,
// commit_bytes and commit_interval.
func (p *Protocol) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	if p.life.Closed() {
		return sdk.ConfigSchema{}, fmt.Errorf("ftv2a: config schema: %w", sdk.ErrClosed)
	}
	return sdk.ConfigSchema{Fields: slices.Clone(schema.Fields)}, nil
}

// Configure applies the options, a JSON object (see ConfigSchema); keys it
// does not name are refused. It may be called again: calls already running
// keep the options they started with.
func (p *Protocol) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	if req.APIVersion != 0 && req.APIVersion != sdk.APIVersion {
		return fmt.Errorf("ftv2a: configure: API version %d, want %d: %w", req.APIVersion, sdk.APIVersion, sdk.ErrUnsupported)
	}
	cfg, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	return p.life.Configure(cfg)
}

// SetConfig is Configure for Go callers: it applies c, whose zero fields
// take their defaults, after checking it with [Config.Validate].
func (p *Protocol) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return p.life.Configure(c.withDefaults())
}

// Close ends the running Send and Receive calls (their context is
// cancelled and their streams closed) and waits, until ctx ends, for them
// to return. Later calls return sdk.ErrClosed.
func (p *Protocol) Close(ctx context.Context) error {
	return p.life.Close(ctx)
}

// begin registers a Send or Receive call. It returns the configuration to
// use, a context that Close also cancels (with a cause wrapping
// sdk.ErrClosed), and the function to call when the call returns.
func (p *Protocol) begin(ctx context.Context, op string) (Config, context.Context, func(), error) {
	return p.life.Begin(ctx, op)
}

// ctxErr is the error of a call whose context ended: its cause, so that a
// Close shows as sdk.ErrClosed.
func ctxErr(ctx context.Context, op string) error {
	return lifecycle.Err(ctx, Name, op)
}

// cleanupContext returns a context for the part-file calls made while a
// call winds down, valid even when ctx has ended.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
