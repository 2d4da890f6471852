package dht_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
)

// eventually bounds every wait for something that should happen; tests
// never assert how fast it happens.
const eventually = 30 * time.Second

// debugLogEnv, when set, makes the test log show the instances' debug
// lines too.
const debugLogEnv = "FERRY_DHT_TEST_DEBUG"

// logCapture is a slog handler that keeps every record and also writes
// those at info level and above to the test log.
type logCapture struct {
	t     testing.TB
	name  string
	mu    *sync.Mutex
	recs  *[]capturedRecord
	done  *bool
	attrs []slog.Attr
}

type capturedRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r capturedRecord) String() string {
	return fmt.Sprintf("%s %q %v", r.level, r.msg, r.attrs)
}

func newLogCapture(t testing.TB, name string) *logCapture {
	c := &logCapture{t: t, name: name, mu: &sync.Mutex{}, recs: &[]capturedRecord{}, done: new(bool)}
	// Goroutines of libp2p may outlive the test by a moment; t.Log after
	// the test would panic.
	t.Cleanup(func() {
		c.mu.Lock()
		*c.done = true
		c.mu.Unlock()
	})
	return c
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := capturedRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range c.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.recs = append(*c.recs, rec)
	if !*c.done && (r.Level >= slog.LevelInfo || os.Getenv(debugLogEnv) != "") {
		c.t.Logf("[%s] %s", c.name, rec)
	}
	return nil
}

func (c *logCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	d := *c
	d.attrs = append(append([]slog.Attr(nil), c.attrs...), attrs...)
	return &d
}

func (c *logCapture) WithGroup(string) slog.Handler { return c }

// records returns the records matching f.
func (c *logCapture) records(f func(capturedRecord) bool) []capturedRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []capturedRecord
	for _, r := range *c.recs {
		if f(r) {
			out = append(out, r)
		}
	}
	return out
}

// refused returns the lines about input refused for reason.
func (c *logCapture) refused(reason string) []capturedRecord {
	return c.records(func(r capturedRecord) bool {
		return r.attrs["reason"] == reason && strings.HasPrefix(r.msg, "dht: refused")
	})
}

// awaitRefused waits for a line about input refused for reason whose
// message or detail contains detail, and returns all such lines.
func (c *logCapture) awaitRefused(t testing.TB, reason, detail string) []capturedRecord {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for time.Now().Before(deadline) {
		var got []capturedRecord
		for _, r := range c.refused(reason) {
			if strings.Contains(r.attrs["detail"], detail) || strings.Contains(r.msg, detail) {
				got = append(got, r)
			}
		}
		if len(got) > 0 {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line about input refused for %q with %q; log:\n%s", reason, detail, c.dump())
	return nil
}

// awaitMessage waits for a line whose message contains s.
func (c *logCapture) awaitMessage(t testing.TB, s string) capturedRecord {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for time.Now().Before(deadline) {
		if got := c.records(func(r capturedRecord) bool { return strings.Contains(r.msg, s) }); len(got) > 0 {
			return got[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line containing %q; log:\n%s", s, c.dump())
	return capturedRecord{}
}

func (c *logCapture) dump() string {
	var b strings.Builder
	for _, r := range c.records(func(capturedRecord) bool { return true }) {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
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
