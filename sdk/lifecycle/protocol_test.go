package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// demoSpec is the spec of a protocol "demo" whose configuration is an
// int: Parse takes the JSON text's length, Validate refuses negatives
// and Defaults makes 0 into 5.
func demoSpec() Spec[int] {
	return Spec[int]{
		Info:   sdk.Info{Name: "demo", Version: "1.0.0", ProtocolID: "/demo/1"},
		Schema: sdk.ConfigSchema{Fields: []sdk.ConfigField{{Name: "n", Type: "int", Default: "5", Doc: "N."}}},
		Parse: func(raw []byte) (int, error) {
			if string(raw) == "bad" {
				return 0, sdk.ErrInvalidConfig
			}
			return len(raw), nil
		},
		ReceiveBuffer: 512,
		Validate: func(n int) error {
			if n < 0 {
				return sdk.ErrInvalidConfig
			}
			return nil
		},
		Defaults: func(n int) int { return cmp.Or(n, 5) },
	}
}

func TestProtocolInfo(t *testing.T) {
	p := NewProtocol(demoSpec())
	ctx := context.Background()
	info, err := p.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "demo" || info.ProtocolID != "/demo/1" || !slices.Equal(info.Roles, []sdk.Role{sdk.RoleProtocol}) || !slices.Equal(info.APIVersions, []int{sdk.APIVersion}) {
		t.Errorf("Info = %+v, want the spec's with the protocol role and this API version", info)
	}
	info.Roles[0] = sdk.RoleDiscovery
	if again, _ := p.Info(ctx); again.Roles[0] != sdk.RoleProtocol {
		t.Error("Info returned its own Roles slice")
	}
	s, err := p.ConfigSchema(ctx)
	if err != nil || len(s.Fields) != 1 || s.Fields[0].Name != "n" {
		t.Errorf("ConfigSchema = %+v, %v", s, err)
	}
}

func TestProtocolConfigure(t *testing.T) {
	p := NewProtocol(demoSpec())
	ctx := context.Background()
	if _, ok := p.Config(); ok {
		t.Error("Config reports a configuration before Configure")
	}
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion + 1, Config: []byte("{}")}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Configure with another API version: %v, want ErrUnsupported", err)
	}
	if err := p.Configure(ctx, sdk.ConfigureRequest{Config: []byte("bad")}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("Configure with what Parse refuses: %v, want its error", err)
	}
	if _, ok := p.Config(); ok {
		t.Error("a refused Configure set a configuration")
	}
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if n, ok := p.Config(); !ok || n != 2 {
		t.Errorf("Config = %d, %v; want what Parse made (2)", n, ok)
	}
	if err := p.SetConfig(-1); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("SetConfig(-1): %v, want Validate's error", err)
	}
	if err := p.SetConfig(0); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Config(); n != 5 {
		t.Errorf("Config after SetConfig(0) = %d, want Defaults' 5", n)
	}
}

func TestProtocolRun(t *testing.T) {
	p := NewProtocol(demoSpec())
	ctx := context.Background()
	pa, pb := net.Pipe()
	defer pa.Close()
	defer pb.Close()
	a, b := pipeStream{pa}, pipeStream{pb}
	ran := false
	run := func(context.Context, *Call[int]) error {
		ran = true
		return nil
	}
	if err := p.RunSend(ctx, sdk.SendRequest{Stream: a}, run); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("RunSend before Configure: %v, want ErrNotConfigured", err)
	}
	_ = p.SetConfig(7)
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"RunSend without a stream", func() error { return p.RunSend(ctx, sdk.SendRequest{}, run) }, "demo: send: no stream"},
		{"RunSend without a source", func() error { return p.RunSend(ctx, sdk.SendRequest{Stream: a}, run) }, "demo: send: no file source"},
		{"RunReceive without a stream", func() error { return p.RunReceive(ctx, sdk.ReceiveRequest{}, run) }, "demo: receive: no stream"},
		{"RunReceive without a sink", func() error { return p.RunReceive(ctx, sdk.ReceiveRequest{Stream: b}, run) }, "demo: receive: no file sink"},
	} {
		if err := c.call(); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if ran {
		t.Error("the call ran despite a missing part")
	}
	var got *Call[int]
	prog := nopProgress{}
	err := p.RunReceive(ctx, sdk.ReceiveRequest{Stream: b, Sink: nopSink{}, Progress: prog}, func(_ context.Context, c *Call[int]) error {
		got = c
		return errors.New("the call's own error")
	})
	if err == nil || err.Error() != "the call's own error" {
		t.Errorf("RunReceive returned %v, want the call's error", err)
	}
	switch {
	case got == nil:
		t.Fatal("the call did not run")
	case got.Config != 7 || got.Log != slog.Default() || got.Progress != prog:
		t.Errorf("the call got config %d, log %p, progress %v; want 7, slog.Default(), the request's", got.Config, got.Log, got.Progress)
	case got.Name != "demo" || got.Op != "receive" || got.Stream != b || got.Writer == nil:
		t.Errorf("the call's conversation is %+v, want demo, receive, the request's stream and a writer", got.Conversation)
	}
	// The writer buffers up to Spec.ReceiveBuffer bytes.
	if n := got.Writer.Size(); n != 512 {
		t.Errorf("receive buffer of %d bytes, want Spec.ReceiveBuffer (512)", n)
	}
}

func TestProtocolLogger(t *testing.T) {
	if l := NewProtocol(demoSpec()).Logger(); l != slog.Default() {
		t.Error("Logger without WithLogger is not slog.Default()")
	}
	mine := slog.New(slog.DiscardHandler)
	if l := NewProtocol(demoSpec(), WithLogger(mine)).Logger(); l != mine {
		t.Error("Logger does not return the WithLogger logger")
	}
}

// nopSink is a FileSink that is never used.
type nopSink struct{}

func (nopSink) Decide(context.Context, sdk.Offer) error { return nil }

func (nopSink) Create(context.Context, int) (sdk.PartFile, error) { return nil, sdk.ErrNotFound }

// pipeStream is one end of a net.Pipe as an sdk.Stream.
type pipeStream struct{ net.Conn }

func (pipeStream) CloseWrite() error { return nil }

// nopProgress is a Progress that drops the counts.
type nopProgress struct{}

func (nopProgress) Update(int, int64) {}
