package dht_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// eventually bounds every wait for something that should happen; tests
// never assert how fast it happens.
const eventually = 30 * time.Second

// debugLogEnv, when set, makes the test log show the instances' debug
// lines too.
const debugLogEnv = "FERRY_DHT_TEST_DEBUG"

// logCapture is an instance's log: a plugintest.LogBuffer that echoes
// lines at info level and above (all of them with debugLogEnv set) under
// the instance's name, with the queries of the dht tests. Lines logged by
// libp2p goroutines after the test ended are not echoed.
type logCapture struct{ *plugintest.LogBuffer }

func newLogCapture(t testing.TB, name string) *logCapture {
	echo := slog.LevelInfo
	if os.Getenv(debugLogEnv) != "" {
		echo = slog.LevelDebug
	}
	return &logCapture{plugintest.NewLogBuffer(t, plugintest.LogName(name), plugintest.LogEcho(echo))}
}

// refused returns the lines about input refused for reason.
func (c *logCapture) refused(reason string) []plugintest.LogRecord {
	return c.Records(func(r plugintest.LogRecord) bool { return isRefusal(r, reason) })
}

// isRefusal reports whether r is a line about input refused for reason.
func isRefusal(r plugintest.LogRecord, reason string) bool {
	return r.Attrs["reason"] == reason && strings.HasPrefix(r.Message, "dht: refused")
}

// awaitRefused waits for a line about input refused for reason whose
// message or detail contains detail, and returns all such lines.
func (c *logCapture) awaitRefused(t testing.TB, reason, detail string) []plugintest.LogRecord {
	t.Helper()
	return c.Await(t, eventually, fmt.Sprintf("about input refused for %q with %q", reason, detail), func(r plugintest.LogRecord) bool {
		return isRefusal(r, reason) && (strings.Contains(r.Attrs["detail"], detail) || strings.Contains(r.Message, detail))
	})
}

// awaitMessage waits for a line whose message contains s.
func (c *logCapture) awaitMessage(t testing.TB, s string) plugintest.LogRecord {
	t.Helper()
	return c.Await(t, eventually, fmt.Sprintf("containing %q", s), func(r plugintest.LogRecord) bool {
		return strings.Contains(r.Message, s)
	})[0]
}

// seedNode starts a bootstrap node on loopback, closed at the end of the
// test, and returns its multiaddrs.
func seedNode(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	b, err := dht.NewBootstrapNode(ctx, dht.BootstrapOptions{Logger: slog.New(newLogCapture(t, "seed"))})
	if err != nil {
		t.Fatalf("bootstrap node: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close bootstrap node: %v", err)
		}
	})
	return b.Addrs()
}

// testNode is one in-process instance under test.
type testNode struct {
	*dht.Plugin
	id     sdk.PeerID
	devKey ed25519.PrivateKey // the device key, to make new delegations
	del    *sdk.Delegation
	log    *logCapture
}

// newNode configures an in-process instance bootstrapping from boot, with
// extra options, and closes it at the end of the test.
func newNode(t testing.TB, name string, boot []string, extra map[string]any) *testNode {
	t.Helper()
	id, devKey, del := dhtsim.NewIdentity(t)
	lc := newLogCapture(t, name)
	p := dht.New(dht.WithLogger(slog.New(lc)))
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: dhtsim.Config(t, boot, extra), Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("%s: Configure: %v", name, err)
	}
	t.Cleanup(func() { closePlugin(t, name, p) })
	return &testNode{Plugin: p, id: id, devKey: devKey, del: del, log: lc}
}

// closePlugin closes p, accepting that it was closed already.
func closePlugin(t testing.TB, name string, p sdk.Plugin) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := p.Close(ctx); err != nil && !errors.Is(err, sdk.ErrClosed) && !errors.Is(err, sdk.ErrPluginExited) {
		t.Errorf("%s: Close: %v", name, err)
	}
}

// announceSelf has d announce the device id under name.
func announceSelf(t testing.TB, d sdk.Discovery, id sdk.PeerID, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := d.Announce(ctx, sdk.PeerInfo{ID: id, Name: name, Addrs: []string{"tcp:127.0.0.1:9"}, Roles: []string{"discovery", "signaling"}, Transports: []string{"tcp"}, Protocols: []string{"ftv2a"}}); err != nil {
		t.Fatalf("Announce(%s): %v", name, err)
	}
}

// awaitLookup calls Lookup until it returns the record named name.
func awaitLookup(t testing.TB, d sdk.Discovery, id sdk.PeerID, name string) sdk.PeerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	return dhtsim.AwaitLookup(ctx, t, d, id, name)
}

// watch starts a Watch that ends with the test.
func watch(t testing.TB, d sdk.Discovery) <-chan sdk.PeerEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := d.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return ch
}

// awaitEvent reads ch until an event of kind for id arrives.
func awaitEvent(t testing.TB, ch <-chan sdk.PeerEvent, kind sdk.PeerEventKind, id sdk.PeerID) sdk.PeerEvent {
	t.Helper()
	timer := time.NewTimer(eventually)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("Watch channel closed before a %s event for %s", kind, id.Short())
			}
			if ev.Kind == kind && ev.Peer.ID == id {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %s event for %s within %v", kind, id.Short(), eventually)
		}
	}
}

// receive starts a Receive that ends with the test.
func receive(t testing.TB, s sdk.Signaling) <-chan sdk.Envelope {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := s.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return ch
}

// awaitEnvelope reads ch until an envelope with payload arrives.
func awaitEnvelope(t testing.TB, ch <-chan sdk.Envelope, payload []byte) sdk.Envelope {
	t.Helper()
	timer := time.NewTimer(eventually)
	defer timer.Stop()
	for {
		select {
		case env, ok := <-ch:
			if !ok {
				t.Fatal("Receive channel closed before the envelope arrived")
			}
			if string(env.Payload) == string(payload) {
				return env
			}
		case <-timer.C:
			t.Fatalf("envelope of %d bytes did not arrive within %v", len(payload), eventually)
		}
	}
}
