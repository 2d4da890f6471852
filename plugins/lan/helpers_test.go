package lan

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// eventually bounds every wait for something that should happen; tests
// never assert how fast it happens.
const eventually = 20 * time.Second

// freePort returns a UDP port for a test's announcements: below the
// kernel's ephemeral range (32768 and up), so no process's ephemeral
// socket takes it, and free at the time of the call.
func freePort(t testing.TB) uint16 {
	t.Helper()
	for range 200 {
		n, err := rand.Int(rand.Reader, big.NewInt(32000-20000))
		if err != nil {
			t.Fatal(err)
		}
		port := 20000 + int(n.Int64())
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			continue
		}
		_ = c.Close()
		return uint16(port)
	}
	t.Fatal("no free UDP port between 20000 and 32000")
	return 0
}

// newIdentity returns a fresh device ID, its private key and a delegation
// valid for an hour.
func newIdentity(t testing.TB) (sdk.PeerID, ed25519.PrivateKey, *sdk.Delegation) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sdk.NewDelegation(priv, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id, priv, d
}

// loConfig is the configuration of a test instance: loopback only, IPv4
// broadcast to 127.255.255.255, short timings.
func loConfig(port uint16, interval, timeout time.Duration) []byte {
	return fmt.Appendf(nil, `{"port": %d, "interfaces": ["lo"], "broadcast_addresses": ["127.255.255.255"], "multicast_group": "", "announce_interval": %q, "peer_timeout": %q}`,
		port, interval.String(), timeout.String())
}

// debugLogEnv, when set, makes the test log show the instances' debug
// lines too.
const debugLogEnv = "FERRY_LAN_TEST_DEBUG"

// logCapture is an instance's log: a plugintest.LogBuffer that echoes
// lines at info level and above (all of them with debugLogEnv set) under
// the instance's name, with the queries of the lan tests.
type logCapture struct{ *plugintest.LogBuffer }

func newLogCapture(t testing.TB, name string) *logCapture {
	echo := slog.LevelInfo
	if os.Getenv(debugLogEnv) != "" {
		echo = slog.LevelDebug
	}
	return &logCapture{plugintest.NewLogBuffer(t, plugintest.LogName(name), plugintest.LogEcho(echo))}
}

// dropped returns the warnings about input dropped for reason.
func (c *logCapture) dropped(reason string) []plugintest.LogRecord {
	return c.Records(func(r plugintest.LogRecord) bool {
		return r.Level == slog.LevelWarn && r.Attrs["reason"] == reason && strings.HasPrefix(r.Message, "lan: dropped")
	})
}

// awaitDropped waits for a warning about input from src dropped for
// reason, and returns it.
func (c *logCapture) awaitDropped(t testing.TB, reason, src string) plugintest.LogRecord {
	t.Helper()
	return c.Await(t, eventually, fmt.Sprintf("warns of input from %s dropped for %q", src, reason), func(r plugintest.LogRecord) bool {
		return r.Level == slog.LevelWarn && r.Attrs["reason"] == reason && strings.HasPrefix(r.Message, "lan: dropped") && strings.Contains(r.Attrs["from"], src)
	})[0]
}

// node is one in-process instance under test.
type node struct {
	*Plugin
	id   sdk.PeerID
	priv ed25519.PrivateKey // the device key, to restart it
	del  *sdk.Delegation
	log  *logCapture
}

// newNode configures an in-process instance with config and closes it at
// the end of the test.
func newNode(t testing.TB, name string, config []byte) *node {
	t.Helper()
	id, priv, del := newIdentity(t)
	lc := newLogCapture(t, name)
	p := New(WithLogger(slog.New(lc)))
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: config, Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("%s: Configure: %v", name, err)
	}
	t.Cleanup(func() { closePlugin(t, name, p) })
	return &node{Plugin: p, id: id, priv: priv, del: del, log: lc}
}

// closePlugin closes p, accepting that it was closed already.
func closePlugin(t testing.TB, name string, p sdk.Plugin) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
	if err := d.Announce(ctx, sdk.PeerInfo{ID: id, Name: name, Roles: []string{"discovery", "signaling"}, Transports: []string{"tcp"}, Protocols: []string{"ftv2a"}}); err != nil {
		t.Fatalf("Announce(%s): %v", name, err)
	}
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

// awaitEvent reads ch until an event of kind for id arrives, and returns
// it with the events read before it.
func awaitEvent(t testing.TB, ch <-chan sdk.PeerEvent, kind sdk.PeerEventKind, id sdk.PeerID) (sdk.PeerEvent, []sdk.PeerEvent) {
	t.Helper()
	timer := time.NewTimer(eventually)
	defer timer.Stop()
	var before []sdk.PeerEvent
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("Watch channel closed before a %s event for %s", kind, id.Short())
			}
			if ev.Kind == kind && ev.Peer.ID == id {
				return ev, before
			}
			before = append(before, ev)
		case <-timer.C:
			t.Fatalf("no %s event for %s within %v (got %d other events)", kind, id.Short(), eventually, len(before))
		}
	}
}

// awaitEvents reads ch until an event of kind arrived for each of ids, in
// any order, and returns them by ID.
func awaitEvents(t testing.TB, ch <-chan sdk.PeerEvent, kind sdk.PeerEventKind, ids ...sdk.PeerID) map[sdk.PeerID]sdk.PeerEvent {
	t.Helper()
	timer := time.NewTimer(eventually)
	defer timer.Stop()
	got := map[sdk.PeerID]sdk.PeerEvent{}
	for len(got) < len(ids) {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("Watch channel closed with %d of %d %s events", len(got), len(ids), kind)
			}
			if ev.Kind == kind && slices.Contains(ids, ev.Peer.ID) {
				got[ev.Peer.ID] = ev
			}
		case <-timer.C:
			t.Fatalf("%d of %d %s events within %v", len(got), len(ids), kind, eventually)
		}
	}
	return got
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
