package jsonchunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// suiteConfig is the JSON configuration of the conformance runs in mode:
// small chunks and window, so that a 3 MiB file takes many of each.
func suiteConfig(mode string) []byte {
	return fmt.Appendf(nil, `{"mode":%q,"chunk_size":65536,"strict_chunk_size":32768,"window":8,"retry_interval":"1s","retries":10}`, mode)
}

// TestConformance runs the protocol suite on the Go value, in both modes.
func TestConformance(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
				mk := func() sdk.Protocol {
					p := New()
					configure(t, p, suiteConfig(mode))
					t.Cleanup(func() { _ = p.Close(context.Background()) })
					return p
				}
				return mk(), mk()
			})
		})
	}
}

// TestConformanceRPC runs the suite through the real RPC shims in this
// process: the stream crosses the data channel, source and part files are
// handed over as descriptors, Decide, Commit and Close are host calls.
func TestConformanceRPC(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
				mk := func() sdk.Protocol {
					return configuredRemote(t, plugintest.ServeInProcess(t, New()), suiteConfig(mode))
				}
				return mk(), mk()
			})
		})
	}
}

// TestConformanceExternal runs the suite against the real plugin binary.
func TestConformanceExternal(t *testing.T) {
	bin := plugintest.PluginBinary(t, "jsonchunk", "github.com/ferry-p2p/ferry/plugins/jsonchunk/cmd/jsonchunk")
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
				mk := func() sdk.Protocol {
					return configuredRemote(t, plugintest.Launch(t, bin), suiteConfig(mode))
				}
				return mk(), mk()
			})
		})
	}
}

// configuredRemote returns pp's protocol configured with config.
func configuredRemote(t *testing.T, pp *host.Process, config []byte) sdk.Protocol {
	t.Helper()
	p, err := pp.Protocol()
	if err != nil {
		t.Fatalf("protocol: %v", err)
	}
	configure(t, p, config)
	return p
}

func configure(t testing.TB, p sdk.Plugin, config []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: config}); err != nil {
		t.Fatalf("Configure(%s): %v", config, err)
	}
}

func TestInfo(t *testing.T) {
	p := New()
	info, err := p.Info(plugintest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "jsonchunk" || info.ProtocolID != "/ferry/jsonchunk/1" ||
		!slices.Equal(info.Roles, []sdk.Role{sdk.RoleProtocol}) || !slices.Equal(info.APIVersions, []int{sdk.APIVersion}) {
		t.Errorf("Info = %+v", info)
	}
	if !slices.Contains(info.Capabilities, sdk.CapOfferToken) {
		t.Errorf("Info.Capabilities = %q, want %q: the token rides in AUTHENTICATION", info.Capabilities, sdk.CapOfferToken)
	}
	s, err := p.ConfigSchema(plugintest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
		if f.Doc == "" || f.Default == "" {
			t.Errorf("option %q lacks a doc or a default", f.Name)
		}
	}
	want := []string{"mode", "chunk_size", "strict_chunk_size", "window", "retry_interval", "retries", "ack_timeout", "verify_wait"}
	if !slices.Equal(names, want) {
		t.Errorf("schema names %v, want %v", names, want)
	}
}

// TestLifecycle runs the life-cycle suite: Info before Configure, the API
// version check, Send and Receive need Configure and end with Close, Close
// ends running calls, and every call after Close fails with ErrClosed.
func TestLifecycle(t *testing.T) {
	plugintest.TestProtocolLifecycle(t, func(t *testing.T) sdk.Protocol {
		p := New()
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}, nil)
}

// TestContextCancel checks that a cancelled context ends a waiting
// Receive and a waiting Send promptly.
func TestContextCancel(t *testing.T) {
	p := newProtocol(t, Config{RetryInterval: time.Hour})
	for _, side := range []string{"send", "receive"} {
		t.Run(side, func(t *testing.T) {
			a, b := tcpPair(t)
			ctx, cancel := context.WithCancel(plugintest.Context(t))
			peerDone := runAsync(func() error {
				// The hand-written peer reads whatever comes and never
				// answers.
				r := NewReader(b, 0)
				for {
					if _, err := r.Next(); err != nil {
						return nil
					}
				}
			})
			errc := runAsync(func() error {
				if side == "send" {
					return p.Send(ctx, sdk.SendRequest{Stream: a, Offer: offerOf([]byte("x")), Source: &memSource{files: [][]byte{[]byte("x")}}})
				}
				return p.Receive(ctx, sdk.ReceiveRequest{Stream: a, Sink: newDiskSink(t)})
			})
			time.Sleep(20 * time.Millisecond)
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("%s after cancel: %v, want context.Canceled", side, err)
			}
			_ = b.Close()
			<-peerDone
		})
	}
}

// TestTransferIDChecked checks that an offer whose transfer ID cannot be
// a fid fails before anything is written.
func TestTransferIDChecked(t *testing.T) {
	p := newProtocol(t, Config{})
	for _, id := range []string{"", "conformance", "00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddee"} {
		a, b := tcpPair(t)
		err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: sdk.Offer{TransferID: id, Files: []sdk.FileInfo{{Name: "x", Size: 1}}}, Source: &memSource{}})
		if err == nil || !strings.Contains(err.Error(), "32 lowercase hex") {
			t.Errorf("TransferID %q: %v, want an error about the transfer ID", id, err)
		}
		_ = a.Close()
		if n, _ := b.Read(make([]byte, 1)); n != 0 {
			t.Errorf("TransferID %q: the sender wrote before failing", id)
		}
	}
}

// TestTransferModes moves several files in each mode pairing, with
// progress on both sides and tokens passed through.
func TestTransferModes(t *testing.T) {
	files := [][]byte{randomBytes(300_000, 1), {}, randomBytes(1, 2), randomBytes(65536*3, 3)}
	for _, c := range []struct{ sender, receiver, want string }{
		{ModeFast, ModeFast, ModeFast},
		{ModeFast, ModeStrict, ModeStrict},
		{ModeStrict, ModeFast, ModeStrict},
		{ModeStrict, ModeStrict, ModeStrict},
	} {
		t.Run(c.sender+"-to-"+c.receiver, func(t *testing.T) {
			ctx := plugintest.Context(t)
			s := newProtocol(t, Config{Mode: c.sender, ChunkSize: 65536, StrictChunkSize: 16384, Window: 4})
			r := newProtocol(t, Config{Mode: c.receiver, Window: 3})
			sink := newDiskSink(t)
			offer := offerOf(files...)
			sprog, rprog := &lastProgress{}, &lastProgress{}
			x, b := tcpPair(t)
			a := &sniffer{Stream: x}
			errc := runAsync(func() error { return r.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink, Progress: rprog}) })
			if err := s.Send(ctx, sdk.SendRequest{Stream: a, Offer: offer, Source: &memSource{files: files}, Progress: sprog}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if fast := bytes.Contains(a.head, []byte(`"length":`)); fast != (c.want == ModeFast) {
				t.Errorf("chunks sent in fast mode: %v, want mode %s", fast, c.want)
			}
			if got := sink.offers[0].Token; got != offer.Token {
				t.Errorf("Decide got token %q, want %q", got, offer.Token)
			}
			if got := sink.offers[0].Files[0]; got.MediaType != "application/octet-stream" || len(got.SHA256) != 32 {
				t.Errorf("Decide got file %+v, want its media type and hash", got)
			}
			for i, want := range files {
				name := fmt.Sprintf("f%d", i)
				if got := sink.content(t, name); !slices.Equal(got, want) {
					t.Errorf("%s: got %d bytes, want %d identical", name, len(got), len(want))
				}
				if _, done := sink.state(name); !done {
					t.Errorf("%s: not closed as complete", name)
				}
				if n := sprog.get(i); n != int64(len(want)) {
					t.Errorf("%s: sender's last progress %d, want %d", name, n, len(want))
				}
				if n := rprog.get(i); n != int64(len(want)) {
					t.Errorf("%s: receiver's last progress %d, want %d", name, n, len(want))
				}
			}
			if _, _, rw := sink.counts(); rw != 0 {
				t.Errorf("%d writes over committed bytes", rw)
			}
		})
	}
}

// sniffer keeps the first bytes written to a stream.
type sniffer struct {
	sdk.Stream
	head []byte
}

func (s *sniffer) Write(p []byte) (int, error) {
	if len(s.head) < 64<<10 {
		s.head = append(s.head, p[:min(len(p), 64<<10)]...)
	}
	return s.Stream.Write(p)
}

// TestNoGoroutinesLeft checks that Send and Receive leave no goroutine
// behind, whether they succeed, are refused, are cut or are cancelled.
func TestNoGoroutinesLeft(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx := plugintest.Context(t)
	s, r := newProtocol(t, Config{ChunkSize: 4096, Window: 2}), newProtocol(t, Config{})
	data := randomBytes(100_000, 8)
	src := &memSource{files: [][]byte{data}}
	a, b := tcpPair(t)
	if sendErr, recvErr := transfer(ctx, s, r, a, b, offerOf(data), src, newDiskSink(t), nil); sendErr != nil || recvErr != nil {
		t.Fatalf("Send %v, Receive %v", sendErr, recvErr)
	}
	refusing := newDiskSink(t)
	refusing.refuse = sdk.ErrRefused
	a, b = tcpPair(t)
	_, _ = transfer(ctx, s, r, a, b, offerOf(data), src, refusing, nil)
	a, front := tcpPair(t)
	back, b := tcpPair(t)
	px := startProxy(front, back, 30_000)
	_, _ = transfer(ctx, s, r, a, b, offerOf(data), src, newDiskSink(t), nil)
	px.kill()
	px.wait()
	cctx, cancel := context.WithCancel(ctx)
	a, b = tcpPair(t)
	errc := runAsync(func() error { return r.Receive(cctx, sdk.ReceiveRequest{Stream: b, Sink: newDiskSink(t)}) })
	time.AfterFunc(20*time.Millisecond, cancel)
	_ = s.Send(cctx, sdk.SendRequest{Stream: a, Offer: offerOf(data), Source: &slowSource{memSource: src}})
	<-errc
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// slowSource is a memSource whose reads take a while.
type slowSource struct{ *memSource }

func (s *slowSource) Open(ctx context.Context, index int, offset int64) (io.ReadCloser, error) {
	rc, err := s.memSource.Open(ctx, index, offset)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{readerFunc(func(p []byte) (int, error) {
		time.Sleep(time.Millisecond)
		return rc.Read(p[:min(len(p), 512)])
	}), rc}, nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
