// Package lifecycle holds the state a plugin keeps the same way whatever
// its role: its current configuration, whether it is closed, and the calls
// running, so that Close can cancel them and wait for them to return.
//
// A plugin keeps one [State] and calls [State.Begin] at the start of every
// long call (a protocol's Send and Receive, say): Begin hands the call the
// configuration it runs with and a context that Close cancels, with a
// cause wrapping [sdk.ErrClosed]. A configuration applied later does not
// change calls already running.
//
// A protocol plugin need not handle the State itself: it embeds a
// [Protocol], which answers Info, ConfigSchema, Configure and Close and
// starts each Send and Receive ([Protocol.RunSend]), handing it a [Call]
// whose [Conversation] runs the reading and the writing half on the
// stream; the plugin writes only its wire format.
//
// Any plugin shares the rest: [Meta] answers Info and ConfigSchema until
// Close, [ParseConfig] and [DecodeConfig] check the API version and
// decode the options (with [InvalidConfig] wording what is wrong),
// [CheckDelegation] checks a delegated key, and [Wait] ends Close.
package lifecycle

import (
	"context"
	"fmt"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
)

// State is a plugin's configuration of type C and its running calls. Make
// it with [New]; it is safe for concurrent use.
type State[C any] struct {
	name string

	mu         sync.Mutex
	cfg        C
	configured bool
	closed     bool
	calls      sync.WaitGroup

	closing context.Context // cancelled by Close
	cancel  context.CancelFunc
}

// New returns the state of an unconfigured plugin; name prefixes its
// errors ("ftv2a: send: closed").
func New[C any](name string) *State[C] {
	s := &State[C]{name: name}
	s.closing, s.cancel = context.WithCancel(context.Background())
	return s
}

// Configure sets the configuration later calls run with. After Close it
// fails with an error wrapping [sdk.ErrClosed].
func (s *State[C]) Configure(cfg C) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: configure: %w", s.name, sdk.ErrClosed)
	}
	s.cfg, s.configured = cfg, true
	return nil
}

// Config returns the current configuration and whether one was set.
func (s *State[C]) Config() (C, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, s.configured
}

// Closed reports whether Close was called.
func (s *State[C]) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Begin registers a call named op. It returns the configuration to use, a
// context derived from ctx that Close also cancels (with a cause wrapping
// sdk.ErrClosed), and the function to call when the call returns. It fails
// with an error wrapping sdk.ErrClosed after Close, and with one wrapping
// sdk.ErrNotConfigured before Configure.
func (s *State[C]) Begin(ctx context.Context, op string) (C, context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero C
	switch {
	case s.closed:
		return zero, nil, nil, fmt.Errorf("%s: %s: %w", s.name, op, sdk.ErrClosed)
	case !s.configured:
		return zero, nil, nil, fmt.Errorf("%s: %s: %w", s.name, op, sdk.ErrNotConfigured)
	}
	s.calls.Add(1)
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.closing, func() {
		cancel(fmt.Errorf("%s: %s: plugin closed: %w", s.name, op, sdk.ErrClosed))
	})
	return s.cfg, ctx, func() {
		stop()
		cancel(nil)
		s.calls.Done()
	}, nil
}

// Close cancels the running calls and waits, until ctx ends, for them to
// return. Calling it again fails with an error wrapping sdk.ErrClosed.
func (s *State[C]) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%s: close: %w", s.name, sdk.ErrClosed)
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if err := Wait(ctx, &s.calls); err != nil {
		return fmt.Errorf("%s: close: waiting for running calls: %w", s.name, err)
	}
	return nil
}

// Err is the error of call op of plugin name whose context ended: the
// context's cause, so that a call ended by Close reports sdk.ErrClosed.
func Err(ctx context.Context, name, op string) error {
	cause := context.Cause(ctx)
	if cause == ctx.Err() {
		return fmt.Errorf("%s: %s: %w", name, op, cause)
	}
	return cause
}
