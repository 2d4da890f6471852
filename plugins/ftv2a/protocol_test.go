package ftv2a

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// suiteConfig is the JSON configuration of the conformance runs: small
// chunks and commits, so that a 3 MiB file takes many of each.
var suiteConfig = []byte(`{"retry_interval":"1s","retries":10,"chunk_size":16384,"commit_bytes":262144}`)

// TestConformance runs the protocol suite on the Go value.
func TestConformance(t *testing.T) {
	plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
		mk := func() sdk.Protocol {
			p := New()
			configure(t, p, suiteConfig)
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			return p
		}
		return mk(), mk()
	})
}

// TestConformanceRPC runs the suite through the real RPC shims in this
// process: the stream crosses the data channel, source and part files are
// handed over as descriptors, Decide, Commit and Close are host calls.
func TestConformanceRPC(t *testing.T) {
	plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
		mk := func() sdk.Protocol {
			return configuredRemote(t, plugintest.ServeInProcess(t, New()))
		}
		return mk(), mk()
	})
}

// TestConformanceExternal runs the suite against the real plugin binary.
func TestConformanceExternal(t *testing.T) {
	bin := plugintest.PluginBinary(t, "ftv2a", "github.com/ferry-p2p/ferry/plugins/ftv2a/cmd/ftv2a")
	plugintest.TestProtocol(t, func(t *testing.T) (sdk.Protocol, sdk.Protocol) {
		mk := func() sdk.Protocol {
			return configuredRemote(t, plugintest.Launch(t, bin))
		}
		return mk(), mk()
	})
}

// configuredRemote returns pp's protocol configured with suiteConfig.
func configuredRemote(t *testing.T, pp *host.Process) sdk.Protocol {
	t.Helper()
	p, err := pp.Protocol()
	if err != nil {
		t.Fatalf("protocol: %v", err)
	}
	configure(t, p, suiteConfig)
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
	if info.Name != "ftv2a" || info.Version != "0.1.0" || info.ProtocolID != "/ferry/ftv2a/1" ||
		!slices.Equal(info.Roles, []sdk.Role{sdk.RoleProtocol}) || !slices.Equal(info.APIVersions, []int{sdk.APIVersion}) {
		t.Errorf("Info = %+v", info)
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
	if want := []string{"retry_interval", "retries", "chunk_size", "commit_bytes", "commit_interval"}; !slices.Equal(names, want) {
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
	p, _ := newProtocol(t, Config{RetryInterval: time.Hour})
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
					src := &memSource{files: [][]byte{[]byte("x")}}
					return p.Send(ctx, sdk.SendRequest{Stream: a, Offer: sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{{Name: "x", Size: 1}}}, Source: src})
				}
				return p.Receive(ctx, sdk.ReceiveRequest{Stream: a, Sink: &memSink{}})
			})
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("%s after cancel: %v, want context.Canceled", side, err)
			}
			_ = b.Close()
			<-peerDone
		})
	}
}

func TestTransferIDChecked(t *testing.T) {
	p, _ := newProtocol(t, Config{})
	for _, id := range []string{"", "conformance", "00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddee", "00112233445566778899aabbccddeeff00"} {
		a, b := tcpPair(t)
		err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: sdk.Offer{TransferID: id, Files: []sdk.FileInfo{{Name: "x", Size: 1}}}, Source: &memSource{}})
		if err == nil || !strings.Contains(err.Error(), "32 lowercase hex") {
			t.Errorf("TransferID %q: %v, want an error about the transfer ID", id, err)
		}
		// Nothing was written: the peer reads EOF once the sender closes.
		_ = a.Close()
		if n, _ := b.Read(make([]byte, 1)); n != 0 {
			t.Errorf("TransferID %q: the sender wrote before failing", id)
		}
	}
}
