package ice

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// loopbackOptions are host candidates on 127.0.0.1 only: nothing leaves
// the machine.
func loopbackOptions() map[string]any {
	return map[string]any{
		"include_loopback": true,
		"interfaces":       []string{"lo"},
		"network_types":    []string{"udp4"},
		"candidate_types":  []string{"host"},
	}
}

// with returns base with the keys of extra added or replaced.
func with(base map[string]any, extra map[string]any) map[string]any {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configuredLog returns a configured in-process transport and its log; it
// is closed when the test ends.
func configuredLog(t testing.TB, opts map[string]any) (*Transport, *plugintest.LogBuffer) {
	t.Helper()
	logs := plugintest.NewLogBuffer(t)
	tr := New(WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	raw := mustJSON(t, opts)
	if err := tr.Configure(plugintest.Context(t), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tr.Close(ctx); err != nil && !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return tr, logs
}

func configured(t testing.TB, opts map[string]any) *Transport {
	t.Helper()
	tr, _ := configuredLog(t, opts)
	return tr
}

// connectPair connects a to b and closes the streams when the test ends.
func connectPair(t testing.TB, a, b sdk.Transport) (sa, sb sdk.Stream) {
	t.Helper()
	sa, sb, err := plugintest.ConnectPair(plugintest.Context(t), a, b, plugintest.RandomPeerID(t), plugintest.RandomPeerID(t))
	if err != nil {
		t.Fatalf("ConnectPair: %v", err)
	}
	t.Cleanup(func() {
		_ = sa.Close()
		_ = sb.Close()
	})
	return sa, sb
}

// connectCore connects a to b the way Ferry's core does: only the
// responder's description travels; the responder's Connect gets none.
func connectCore(ctx context.Context, t testing.TB, a, b sdk.Transport) (sa, sb sdk.Stream, err error) {
	peerA, peerB := plugintest.RandomPeerID(t), plugintest.RandomPeerID(t)
	pb, err := b.Prepare(ctx, sdk.PrepareRequest{Peer: peerA, Role: sdk.Responder})
	if err != nil {
		return nil, nil, err
	}
	type res struct {
		s   sdk.Stream
		err error
	}
	rb := make(chan res, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		s, err := b.Connect(cctx, sdk.ConnectRequest{Session: pb.Session})
		rb <- res{s, err}
	}()
	pa, err := a.Prepare(ctx, sdk.PrepareRequest{Peer: peerB, Role: sdk.Initiator})
	if err == nil {
		sa, err = a.Connect(cctx, sdk.ConnectRequest{Session: pa.Session, Remote: pb.Local})
	}
	if err != nil {
		cancel()
	}
	r := <-rb
	if err != nil || r.err != nil {
		for _, s := range []sdk.Stream{sa, r.s} {
			if s != nil {
				_ = s.Close()
			}
		}
		return nil, nil, errors.Join(err, r.err)
	}
	return sa, r.s, nil
}

// ourGoroutines counts the goroutines running code of this package, pion
// or quic-go.
func ourGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var dump strings.Builder
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ice.ourGoroutines") {
			continue
		}
		if strings.Contains(g, "github.com/pion/") || strings.Contains(g, "github.com/quic-go/") ||
			(strings.Contains(g, "ferry/plugins/ice.") && !strings.Contains(g, "ferry/plugins/ice.Test")) {
			n++
			dump.WriteString(g)
			dump.WriteString("\n\n")
		}
	}
	return n, dump.String()
}

// checkNoLeaks fails the test if goroutines of pion, quic-go or this
// package are still running a few seconds after the test's cleanups.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	before, _ := ourGoroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, dump := ourGoroutines()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines of pion, quic-go or plugins/ice left (had %d before):\n%s", n, before, dump)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// discardLog drops everything.
var discardLog = slog.New(slog.DiscardHandler)
