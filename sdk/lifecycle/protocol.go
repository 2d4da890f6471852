package lifecycle

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// CleanupTimeout bounds the part-file calls a Send or Receive makes while
// it winds down after its context ended; see [CleanupContext].
const CleanupTimeout = 10 * time.Second

// CleanupContext returns a context for the part-file calls made while a
// call winds down, valid for [CleanupTimeout] even when ctx has ended.
func CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
}

// Spec describes a protocol plugin to [NewProtocol].
type Spec[C any] struct {
	// Info is what Info answers. Info.Name (REQUIRED) also prefixes
	// errors; empty Roles and APIVersions mean [sdk.RoleProtocol] and
	// [sdk.APIVersion].
	Info sdk.Info
	// Schema lists the options Configure accepts.
	Schema sdk.ConfigSchema
	// Parse decodes the JSON object Configure gets. REQUIRED.
	Parse func(raw []byte) (C, error)
	// Validate checks a configuration SetConfig gets from Go, and
	// Defaults fills in its zero fields; nil means none. Method
	// expressions fit: Config.Validate.
	Validate func(C) error
	Defaults func(C) C
	// SendBuffer and ReceiveBuffer are the sizes of the write buffer
	// ([Call].Writer) of a Send and of a Receive; 0 means 4096.
	SendBuffer, ReceiveBuffer int
}

// Call is one running Send or Receive, as [Protocol.RunSend] and
// [Protocol.RunReceive] hand it to the plugin: what every call works
// with, whatever the wire format.
type Call[C any] struct {
	// Conversation is the call's stream and the buffer writes to it go
	// through, and the errors' prefix: the plugin's name, "send" or
	// "receive".
	Conversation
	// Config is the configuration the call runs with.
	Config C
	// Log is the plugin's logger (see [Protocol.Logger]).
	Log *slog.Logger
	// Progress is the request's progress reporter. It may be nil.
	Progress sdk.Progress
}

// Option sets up a [Protocol] in [NewProtocol].
type Option func(*options)

// options are what the Options set.
type options struct {
	log *slog.Logger
}

// WithLogger sets the logger that [Protocol.Logger] returns. A nil
// logger, or no option, means slog.Default() at the time of each call.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// Protocol is the part of a protocol plugin that does not depend on its
// wire format: Info and ConfigSchema, which answer before Configure;
// Configure, which checks the API version and decodes the options;
// Close; and the start of every Send and Receive ([Protocol.RunSend],
// [Protocol.RunReceive]). A protocol plugin embeds a *Protocol and adds
// Send and Receive. After Close every call fails with an error wrapping
// [sdk.ErrClosed], a second Close too. It is safe for concurrent use.
type Protocol[C any] struct {
	Meta
	name  string
	spec  Spec[C]
	log   *slog.Logger // nil: slog.Default()
	state *State[C]
}

// NewProtocol returns the base of an unconfigured protocol plugin.
func NewProtocol[C any](spec Spec[C], opts ...Option) *Protocol[C] {
	if len(spec.Info.Roles) == 0 {
		spec.Info.Roles = []sdk.Role{sdk.RoleProtocol}
	}
	if len(spec.Info.APIVersions) == 0 {
		spec.Info.APIVersions = []int{sdk.APIVersion}
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p := &Protocol[C]{name: spec.Info.Name, spec: spec, log: o.log, state: New[C](spec.Info.Name)}
	p.Meta = Describe(spec.Info, spec.Schema, p.state.Closed)
	return p
}

// Logger returns the logger given with [WithLogger], or slog.Default().
func (p *Protocol[C]) Logger() *slog.Logger {
	if p.log != nil {
		return p.log
	}
	return slog.Default()
}

// Configure applies the options, a JSON object (see ConfigSchema). It may
// be called again: calls already running keep the options they started
// with.
func (p *Protocol[C]) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, err := ParseConfig(p.name, req, p.spec.Parse)
	if err != nil {
		return err
	}
	return p.state.Configure(cfg)
}

// SetConfig is Configure for Go callers: it applies c, with its defaults
// filled in, once the plugin's Validate accepted it.
func (p *Protocol[C]) SetConfig(c C) error {
	if p.spec.Validate != nil {
		if err := p.spec.Validate(c); err != nil {
			return err
		}
	}
	if p.spec.Defaults != nil {
		c = p.spec.Defaults(c)
	}
	return p.state.Configure(c)
}

// Config returns the configuration calls started now run with, and
// whether Configure or SetConfig set one.
func (p *Protocol[C]) Config() (C, bool) {
	return p.state.Config()
}

// Close ends the running Send and Receive calls (their context is
// cancelled) and waits, until ctx ends, for them to return.
func (p *Protocol[C]) Close(ctx context.Context) error {
	return p.state.Close(ctx)
}

// RunSend starts a Send: it fails with an error wrapping sdk.ErrClosed
// after Close, one wrapping sdk.ErrNotConfigured before Configure, and
// one naming what is missing when req has no stream or no source;
// otherwise it runs send with a context that Close also cancels (with a
// cause wrapping sdk.ErrClosed, see [Err]) and the [Call], and returns
// its error.
func (p *Protocol[C]) RunSend(ctx context.Context, req sdk.SendRequest, send func(context.Context, *Call[C]) error) error {
	missing := ""
	switch {
	case req.Stream == nil:
		missing = "stream"
	case req.Source == nil:
		missing = "file source"
	}
	return p.run(ctx, "send", missing, req.Stream, p.spec.SendBuffer, req.Progress, send)
}

// RunReceive is [Protocol.RunSend] for a Receive, whose request needs a
// stream and a sink.
func (p *Protocol[C]) RunReceive(ctx context.Context, req sdk.ReceiveRequest, receive func(context.Context, *Call[C]) error) error {
	missing := ""
	switch {
	case req.Stream == nil:
		missing = "stream"
	case req.Sink == nil:
		missing = "file sink"
	}
	return p.run(ctx, "receive", missing, req.Stream, p.spec.ReceiveBuffer, req.Progress, receive)
}

// run runs call op with the checks of RunSend; missing names the part of
// the request that is nil, if any; st, buffer and prog make the Call.
func (p *Protocol[C]) run(ctx context.Context, op, missing string, st sdk.Stream, buffer int, prog sdk.Progress, call func(context.Context, *Call[C]) error) error {
	cfg, ctx, end, err := p.state.Begin(ctx, op)
	if err != nil {
		return err
	}
	defer end()
	if missing != "" {
		return fmt.Errorf("%s: %s: no %s", p.name, op, missing)
	}
	return call(ctx, &Call[C]{
		Conversation: Conversation{Name: p.name, Op: op, Stream: st, Writer: bufio.NewWriterSize(st, buffer)},
		Config:       cfg,
		Log:          p.Logger(),
		Progress:     prog,
	})
}
