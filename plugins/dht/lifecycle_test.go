package dht_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/host"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// unreachableBootstrap returns a bootstrap multiaddr nobody answers at: a
// loopback port just closed, with a random peer ID.
func unreachableBootstrap(t testing.TB) string {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := newPlainNode(t, nil) // only to get a port the kernel gave out
	port := strings.Split(p.h.Addrs()[0].String(), "/")[4]
	_ = p.h.Close()
	return "/ip4/127.0.0.1/tcp/" + port + "/p2p/" + id.String()
}

// TestStartWithUnreachableBootstrap launches the external binary as the
// host does, with a bootstrap peer nobody answers at: the handshake,
// Info and Configure each finish within a second, and Lookup and Send
// then fail at once with "no DHT peers", naming the bootstrap address.
func TestStartWithUnreachableBootstrap(t *testing.T) {
	bin := plugintest.PluginBinary(t, "dht", binPkg)
	boot := unreachableBootstrap(t)
	sum := sha256File(t, bin)
	start := time.Now()
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	pp, err := host.Launch(lctx, host.LaunchConfig{Name: "dht", Path: bin, SHA256: sum, LogOutput: testLogWriter{t}, LogLevel: "info", StartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(pp.Kill)
	t.Logf("handshake and Info took %v", time.Since(start))
	d, err := pp.Discovery()
	if err != nil {
		t.Fatal(err)
	}
	ictx, icancel := context.WithTimeout(context.Background(), time.Second)
	defer icancel()
	if _, err := d.Info(ictx); err != nil {
		t.Fatalf("Info within 1s: %v", err)
	}
	id, _, del := dhtsim.NewIdentity(t)
	cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
	defer ccancel()
	if err := d.Configure(cctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: dhtsim.Config(t, []string{boot}, map[string]any{"lookup_timeout": "3s"}), Self: id, StateDir: t.TempDir(), Delegation: del}); err != nil {
		t.Fatalf("Configure within 1s with an unreachable bootstrap peer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	announceSelf(t, d, id, "alone") // kept for when peers come
	lookupStart := time.Now()
	_, err = d.Lookup(ctx, plugintest.RandomPeerID(t))
	took := time.Since(lookupStart)
	if !errors.Is(err, sdk.ErrNotFound) || !strings.Contains(err.Error(), "no DHT peers (bootstrap "+boot+" unreachable)") {
		t.Fatalf("Lookup with no DHT peers: %v, want sdk.ErrNotFound saying \"no DHT peers (bootstrap %s unreachable)\"", err, boot)
	}
	// Refused at once, not after lookup_timeout (3s): the node knows it has
	// no peer as soon as the bootstrap dial is refused.
	if took >= 3*time.Second {
		t.Errorf("Lookup with no DHT peers took %v, lookup_timeout is 3s", took)
	}
	t.Logf("Lookup with no DHT peers failed after %v: %v", took, err)
	s, err := pp.Signaling()
	if err != nil {
		t.Fatal(err)
	}
	to := plugintest.RandomPeerID(t)
	err = s.Send(ctx, sdk.Envelope{To: to, Payload: []byte("anyone?")})
	if !errors.Is(err, sdk.ErrNotFound) || !strings.Contains(err.Error(), "no DHT peers") || !strings.Contains(err.Error(), to.Short()) {
		t.Fatalf("Send with no DHT peers: %v, want sdk.ErrNotFound naming the peer and saying no DHT peers", err)
	}
}

// TestNoPeersStateLogged checks the state changes in the log of an
// in-process instance: bootstrapping, no DHT peers, and connected once a
// peer joins through it.
func TestNoPeersStateLogged(t *testing.T) {
	boot := unreachableBootstrap(t)
	n := newNode(t, "n", []string{boot}, nil)
	n.log.awaitMessage(t, "dht: bootstrapping")
	line := n.log.awaitMessage(t, "dht: no DHT peers (bootstrap "+boot+" unreachable)")
	if line.Level != slog.LevelWarn {
		t.Errorf("no-peers line at %v, want warn", line.Level)
	}
	newNode(t, "m", n.Addrs(), nil)
	n.log.awaitMessage(t, "dht: connected to 1 DHT peers")
}

// TestWatchAndExpiry checks that a neighbour's record shows as joined,
// its renewals as seen, and, once it is gone and its record expired
// unrenewed, as left; and that Lookup then fails.
func TestWatchAndExpiry(t *testing.T) {
	short := map[string]any{"record_ttl": "2s", "lookup_timeout": "2s"}
	a := newNode(t, "a", nil, short)
	b := newNode(t, "b", a.Addrs(), short)
	w := watch(t, a)
	announceSelf(t, b, b.id, "short-lived")
	joined := awaitEvent(t, w, sdk.PeerJoined, b.id)
	if joined.Peer.Name != "short-lived" || joined.Peer.Source != "dht" || !joined.Peer.Expires.After(joined.Peer.Seen) {
		t.Fatalf("joined %+v", joined.Peer)
	}
	seen := awaitEvent(t, w, sdk.PeerSeen, b.id) // the republish after ttl/3
	if !seen.Peer.Expires.After(joined.Peer.Expires) {
		t.Errorf("renewal expires %v, first record %v", seen.Peer.Expires, joined.Peer.Expires)
	}
	closePlugin(t, "b", b)
	left := awaitEvent(t, w, sdk.PeerLeft, b.id)
	if time.Now().Before(left.Peer.Expires) {
		t.Errorf("left before its record expired at %v", left.Peer.Expires)
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if _, err := a.Lookup(ctx, b.id); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Lookup of an expired peer: %v, want sdk.ErrNotFound", err)
	}
}

// TestReconfigure checks that Configure with the same request changes
// nothing, that a new delegated key (a restart of the core) gives a new
// libp2p identity and republishes the record, and that announcing
// another device is refused.
func TestReconfigure(t *testing.T) {
	a := newNode(t, "a", nil, nil)
	b := newNode(t, "b", a.Addrs(), nil)
	announceSelf(t, b, b.id, "before")
	awaitLookup(t, a, b.id, "before")
	before := b.Addrs()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	cfg := dhtsim.Config(t, a.Addrs(), nil)
	if err := b.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: b.id, Delegation: b.del}); err != nil {
		t.Fatal(err)
	}
	if after := b.Addrs(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("the same Configure moved the node from %v to %v", before, after)
	}
	// Same device, new delegated key: a new libp2p identity.
	del2 := renewDelegation(t, b)
	if err := b.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: b.id, Delegation: del2}); err != nil {
		t.Fatal(err)
	}
	newAddrs := b.Addrs()
	if strings.Join(newAddrs, ",") == strings.Join(before, ",") {
		t.Fatal("a new delegated key kept the old libp2p identity")
	}
	// a finds the republished record, with the new node's address.
	deadline := time.Now().Add(eventually)
	for {
		info, err := a.Lookup(ctx, b.id)
		if err == nil && strings.Contains(strings.Join(info.Addrs, ","), newAddrs[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a never saw b's new address %s: %+v, %v", newAddrs[0], info, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	err := b.Announce(ctx, sdk.PeerInfo{ID: a.id, Name: "impostor"})
	if !errors.Is(err, sdk.ErrUnsupported) {
		t.Fatalf("Announce of another device: %v, want sdk.ErrUnsupported", err)
	}
}

// renewDelegation returns a new delegation for n's device, as the core
// makes one at each start.
func renewDelegation(t testing.TB, n *testNode) *sdk.Delegation {
	t.Helper()
	if n.devKey == nil {
		t.Fatal("node has no device key")
	}
	d, err := sdk.NewDelegation(n.devKey, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBootstrapNodeKeyFile checks that a bootstrap node keeps its libp2p
// key in its key file (mode 0600), so its multiaddr survives a restart,
// and that a key file others may read is refused.
func TestBootstrapNodeKeyFile(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "sub", "boot.key")
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	start := func() *dht.BootstrapNode {
		t.Helper()
		b, err := dht.NewBootstrapNode(ctx, dht.BootstrapOptions{KeyFile: keyFile, Logger: slog.New(newLogCapture(t, "boot"))})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1 := start()
	addrs := b1.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(addrs[0], "/p2p/"+b1.ID()) {
		t.Fatalf("Addrs %v", addrs)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	b2 := start()
	defer b2.Close()
	if b2.ID() != b1.ID() {
		t.Fatalf("restarted as %s, was %s", b2.ID(), b1.ID())
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dht.NewBootstrapNode(ctx, dht.BootstrapOptions{KeyFile: keyFile}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("key file readable by others: %v", err)
	}
	for _, o := range []dht.BootstrapOptions{
		{Listen: []string{"/ip4/127.0.0.1/udp/0"}},
		{Bootstrap: []string{"/ip4/127.0.0.1/tcp/1"}},
		{ProtocolPrefix: "/ipfs"},
	} {
		if _, err := dht.NewBootstrapNode(ctx, o); err == nil {
			t.Errorf("NewBootstrapNode(%+v) accepted", o)
		}
	}
}

// TestBootstrapNodeServes checks that plugin instances join through a
// bootstrap node, store their records on it and find each other, and
// that a bootstrap_only plugin instance serves the same way without a
// delegated key.
func TestBootstrapNodeServes(t *testing.T) {
	seed := seedNode(t)
	// A bootstrap_only plugin instance, itself joined through the seed.
	bo := dht.New(dht.WithLogger(slog.New(newLogCapture(t, "bootstrap_only"))))
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	stateDir := t.TempDir()
	if err := bo.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: dhtsim.Config(t, seed, map[string]any{"bootstrap_only": true}), StateDir: stateDir}); err != nil {
		t.Fatalf("Configure bootstrap_only without a delegation: %v", err)
	}
	t.Cleanup(func() { closePlugin(t, "bootstrap_only", bo) })
	if _, err := os.Stat(filepath.Join(stateDir, "libp2p.key")); err != nil {
		t.Fatalf("bootstrap_only key file: %v", err)
	}
	if err := bo.Announce(ctx, sdk.PeerInfo{Name: "x"}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Announce on bootstrap_only: %v", err)
	}
	if err := bo.Send(ctx, sdk.Envelope{To: plugintest.RandomPeerID(t), Payload: []byte("x")}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Send on bootstrap_only: %v", err)
	}
	a := newNode(t, "a", seed, nil)
	b := newNode(t, "b", bo.Addrs(), nil)
	announceSelf(t, a, a.id, "a")
	announceSelf(t, b, b.id, "b")
	awaitLookup(t, a, b.id, "b")
	awaitLookup(t, b, a.id, "a")
	info := awaitLookup(t, bo, a.id, "a") // a bootstrap_only node reads too
	if info.ID != a.id {
		t.Fatalf("bootstrap_only looked up %+v", info)
	}
}

// sha256File returns the hex sha256 of a file, the host's pin.
func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestCloseStopsEverything checks that after Close of the plugins and of
// the bootstrap node, every goroutine they started (theirs and libp2p's)
// has stopped.
func TestCloseStopsEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), eventually)
		defer cancel()
		bn, err := dht.NewBootstrapNode(ctx, dht.BootstrapOptions{Logger: slog.New(newLogCapture(t, "seed"))})
		if err != nil {
			t.Fatal(err)
		}
		defer bn.Close()
		a := newNode(t, "a", bn.Addrs(), nil)
		b := newNode(t, "b", bn.Addrs(), nil)
		announceSelf(t, a, a.id, "a")
		announceSelf(t, b, b.id, "b")
		awaitLookup(t, a, b.id, "b")
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		in, err := b.Receive(rctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Watch(rctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(ctx, sdk.Envelope{To: b.id, Payload: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		awaitEnvelope(t, in, []byte("x"))
		closePlugin(t, "a", a)
		closePlugin(t, "b", b)
	}()
	deadline := time.Now().Add(eventually)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSendToStaleAddress checks seed 002's "recurring task": when the
// addresses of the recipient's cached record fail, they are dropped and
// the record is looked up again once, and the envelope goes to the fresh
// address; when the lookup gives nothing new, Send fails with
// sdk.ErrNotFound naming the peer.
func TestSendToStaleAddress(t *testing.T) {
	seed := seedNode(t)
	a := newNode(t, "a", seed, nil)
	b := newNode(t, "b", seed, nil)
	announceSelf(t, b, b.id, "b")
	awaitLookup(t, a, b.id, "b")
	b.log.awaitMessage(t, "dht: published the record") // in the DHT, not only in a's table

	// A record of b from another (dead) node of b's, fresher than the real
	// one, pointing at a closed port.
	old := renewDelegation(t, b)
	dead := unreachableBootstrap(t) // a closed port; its /p2p/ part is replaced
	pk, err := crypto.UnmarshalEd25519PublicKey(old.Cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead[:strings.Index(dead, "/p2p/")] + "/p2p/" + pid.String()
	stale, err := dht.SignRecord(dht.Record{V: 1, ID: b.id, Seq: uint64(time.Now().Add(time.Minute).UnixMilli()),
		ExpiresMs: time.Now().Add(time.Hour).UnixMilli(), Name: "b", P2PAddrs: []string{deadAddr}}, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.InjectRecord(stale); err != nil {
		t.Fatal(err)
	}
	in := receive(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := a.Send(ctx, sdk.Envelope{To: b.id, Payload: []byte("via the fresh address")}); err != nil {
		t.Fatalf("Send with a stale cached address: %v", err)
	}
	awaitEnvelope(t, in, []byte("via the fresh address"))
	a.log.awaitMessage(t, "recipient unreachable at the addresses of its record; looking it up again")

	// b goes away; its record stays valid in the DHT until it expires.
	closePlugin(t, "b", b)
	err = a.Send(ctx, sdk.Envelope{To: b.id, Payload: []byte("anyone?")})
	if !errors.Is(err, sdk.ErrNotFound) || !strings.Contains(err.Error(), b.id.Short()) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Send to a node that is gone: %v, want sdk.ErrNotFound naming it as unreachable", err)
	}
	t.Logf("Send to a node that is gone: %v", err)
}

// TestReconfigureFixedPort checks that Configure with a new delegated key
// on a fixed listen port frees the port before the new node binds it.
func TestReconfigureFixedPort(t *testing.T) {
	free := unreachableBootstrap(t) // a port the kernel just gave back
	listen := free[:strings.Index(free, "/p2p/")]
	n := newNode(t, "n", nil, map[string]any{"listen": []string{listen}})
	if !strings.HasPrefix(n.Addrs()[0], listen+"/p2p/") {
		t.Fatalf("listening at %v, want %s", n.Addrs(), listen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	del2 := renewDelegation(t, n)
	cfg := dhtsim.Config(t, nil, map[string]any{"listen": []string{listen}})
	if err := n.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: cfg, Self: n.id, Delegation: del2}); err != nil {
		t.Fatalf("Configure again on the same fixed port: %v", err)
	}
	if got := n.Addrs(); len(got) != 1 || !strings.HasPrefix(got[0], listen+"/p2p/") {
		t.Fatalf("after Configure listening at %v, want %s", got, listen)
	}
}
