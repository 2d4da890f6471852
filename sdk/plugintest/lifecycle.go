package plugintest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// MakeProtocol returns a new, unconfigured instance of the protocol under
// test. The factory registers its Close with t.Cleanup; the suite closes
// it first, so the cleanup must accept an error wrapping [sdk.ErrClosed].
type MakeProtocol func(t *testing.T) sdk.Protocol

// TestProtocolLifecycle tests the life cycle every protocol plugin shares,
// whatever its wire format, each subtest on a fresh instance from mk and
// under a watchdog: InfoBeforeConfigure (Info and ConfigSchema answer
// before Configure), WrongAPIVersion (Configure with another API major
// version fails with an error wrapping sdk.ErrUnsupported and configures
// nothing), NotConfigured (Send and Receive before Configure fail with
// sdk.ErrNotConfigured), CloseEndsCalls (a Send and a Receive waiting for
// a silent peer end with sdk.ErrClosed once Close returned nil) and
// AfterClose (Send, Receive, Info, ConfigSchema, Configure and a second
// Close fail with sdk.ErrClosed). config is a valid configuration, given
// to Configure where the suite needs a configured instance.
func TestProtocolLifecycle(t *testing.T, mk MakeProtocol, config []byte) {
	t.Run("InfoBeforeConfigure", func(t *testing.T) {
		p, ctx, stop := lifecycleInstance(t, mk)
		defer stop()
		checkInfo(ctx, t, "unconfigured", p, sdk.RoleProtocol)
		if _, err := p.ConfigSchema(ctx); err != nil {
			t.Errorf("ConfigSchema before Configure: %v", err)
		}
	})
	t.Run("WrongAPIVersion", func(t *testing.T) {
		p, ctx, stop := lifecycleInstance(t, mk)
		defer stop()
		err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion + 1, Config: config})
		if !errors.Is(err, sdk.ErrUnsupported) {
			t.Errorf("Configure with API version %d: %v, want sdk.ErrUnsupported", sdk.APIVersion+1, err)
		}
		calls := newLifecycleCalls(t, p)
		if err := calls.send(ctx); !errors.Is(err, sdk.ErrNotConfigured) {
			t.Errorf("Send after a refused Configure: %v, want sdk.ErrNotConfigured", err)
		}
	})
	t.Run("NotConfigured", func(t *testing.T) {
		p, ctx, stop := lifecycleInstance(t, mk)
		defer stop()
		calls := newLifecycleCalls(t, p)
		if err := calls.send(ctx); !errors.Is(err, sdk.ErrNotConfigured) {
			t.Errorf("Send before Configure: %v, want sdk.ErrNotConfigured", err)
		}
		if err := calls.receive(ctx); !errors.Is(err, sdk.ErrNotConfigured) {
			t.Errorf("Receive before Configure: %v, want sdk.ErrNotConfigured", err)
		}
	})
	t.Run("CloseEndsCalls", func(t *testing.T) {
		p, ctx, stop := lifecycleInstance(t, mk)
		defer stop()
		configureProtocol(ctx, t, p, config)
		calls := newLifecycleCalls(t, p)
		ended := map[string]chan error{"Send": make(chan error, 1), "Receive": make(chan error, 1)}
		started := make(chan struct{}, 2)
		go func() {
			started <- struct{}{}
			ended["Send"] <- calls.send(ctx)
		}()
		go func() {
			started <- struct{}{}
			ended["Receive"] <- calls.receive(ctx)
		}()
		<-started
		<-started
		if err := p.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, name := range []string{"Send", "Receive"} {
			select {
			case err := <-ended[name]:
				// Close may also win the race with the call's start:
				// sdk.ErrClosed too.
				if !errors.Is(err, sdk.ErrClosed) {
					t.Errorf("%s ended by Close: %v, want sdk.ErrClosed", name, err)
				}
			case <-time.After(promptly):
				t.Errorf("%s still running %v after Close returned", name, promptly)
			}
		}
	})
	t.Run("AfterClose", func(t *testing.T) {
		p, ctx, stop := lifecycleInstance(t, mk)
		defer stop()
		configureProtocol(ctx, t, p, config)
		if err := p.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		calls := newLifecycleCalls(t, p)
		_, infoErr := p.Info(ctx)
		_, schemaErr := p.ConfigSchema(ctx)
		for _, c := range []struct {
			call string
			err  error
		}{
			{"Send", calls.send(ctx)},
			{"Receive", calls.receive(ctx)},
			{"Info", infoErr},
			{"ConfigSchema", schemaErr},
			{"Configure", p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: config})},
			{"second Close", p.Close(ctx)},
		} {
			if !errors.Is(c.err, sdk.ErrClosed) {
				t.Errorf("%s after Close: %v, want sdk.ErrClosed", c.call, c.err)
			}
		}
	})
}

// lifecycleInstance returns a fresh instance from mk and the context and
// stop function of its watchdog.
func lifecycleInstance(t *testing.T, mk MakeProtocol) (sdk.Protocol, context.Context, func()) {
	t.Helper()
	p := mk(t)
	ctx, stop := watchdog(t, "the protocol", nil, p)
	return p, ctx, stop
}

// configureProtocol configures p with config, failing t if it cannot.
func configureProtocol(ctx context.Context, t *testing.T, p sdk.Protocol, config []byte) {
	t.Helper()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: config}); err != nil {
		t.Fatalf("Configure(%s): %v", config, err)
	}
}

// lifecycleCalls are a Send and a Receive of one small file, each on its
// own stream whose peer never writes.
type lifecycleCalls struct {
	send, receive func(context.Context) error
}

// newLifecycleCalls prepares the calls on p; the streams and the source
// file are the test's.
func newLifecycleCalls(t *testing.T, p sdk.Protocol) lifecycleCalls {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	offer := sdk.Offer{TransferID: conformanceTransferID, Files: []sdk.FileInfo{{Name: "x.bin", Size: 1}}}
	sendStream, _ := TCPPair(t)
	recvStream, _ := TCPPair(t)
	sink := &testSink{dir: t.TempDir(), names: []string{"x.bin"}, srcPaths: []string{src}, done: map[int]bool{}}
	return lifecycleCalls{
		send: func(ctx context.Context) error {
			return p.Send(ctx, sdk.SendRequest{Stream: sendStream, Offer: offer, Source: &testSource{paths: []string{src}}})
		},
		receive: func(ctx context.Context) error {
			return p.Receive(ctx, sdk.ReceiveRequest{Stream: recvStream, Sink: sink})
		},
	}
}
