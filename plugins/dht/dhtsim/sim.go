// Package dhtsim runs simulated networks of Ferry dht plugin instances on
// 127.0.0.1 inside one test process, for tests and benchmarks: N nodes,
// each with its own device key and delegation, joined through one or a
// few seed nodes. Everything started is closed by t.Cleanup.
//
//	sim := dhtsim.Start(t, dhtsim.Options{N: 20})
//	sim.AnnounceAll(t)
//	info, err := sim.Nodes[3].Lookup(ctx, sim.Nodes[17].ID)
package dhtsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/sdk"
)

// LogEnv, when set to 1, makes every node log (at debug level) to the
// test log; otherwise nodes log nothing.
const LogEnv = "FERRY_DHT_SIM_LOG"

// Eventually bounds every wait of the harness.
const Eventually = 60 * time.Second

// Options shape a simulated network.
type Options struct {
	// N is the number of nodes. REQUIRED.
	N int
	// Seeds is how many of the first nodes the others bootstrap from; the
	// first node bootstraps from nobody and the other seeds from it. Zero
	// means 1.
	Seeds int
	// Config holds plugin options for every node besides listen and
	// bootstrap, which the harness sets (e.g. {"record_ttl": "3s"}).
	Config map[string]any
	// Logger, when not nil, gives node i its logger; it overrides LogEnv.
	Logger func(i int) *slog.Logger
	// ExtraBootstrap lists multiaddrs every node bootstraps from besides
	// the seeds (e.g. plain kad-dht nodes for interop tests).
	ExtraBootstrap []string
}

// Node is one plugin instance of the network.
type Node struct {
	*dht.Plugin
	// Index is the node's place in Sim.Nodes.
	Index int
	// ID is the node's device ID.
	ID sdk.PeerID
	// Key is the device key; it never reaches the plugin.
	Key ed25519.PrivateKey
	// Delegation is what the plugin was configured with.
	Delegation *sdk.Delegation
	// Name is the name AnnounceAll announces.
	Name string

	mu     sync.Mutex
	closed bool
}

// Sim is a running network.
type Sim struct {
	// Nodes are the instances, seeds first.
	Nodes []*Node
	// SeedAddrs are the multiaddrs the non-seed nodes bootstrapped from.
	SeedAddrs []string
}

// NewIdentity returns a fresh device ID, its private key and a delegation
// valid for an hour, as the core would make them.
func NewIdentity(t testing.TB) (sdk.PeerID, ed25519.PrivateKey, *sdk.Delegation) {
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

// Config returns a node's JSON configuration: loopback listening, the
// given bootstrap list and extra options.
func Config(t testing.TB, bootstrap []string, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"listen": []string{"/ip4/127.0.0.1/tcp/0"}, "bootstrap": bootstrap}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logger returns node i's logger.
func (o Options) logger(t testing.TB, i int) *slog.Logger {
	if o.Logger != nil {
		return o.Logger(i)
	}
	if os.Getenv(LogEnv) == "1" {
		return slog.New(slog.NewTextHandler(testWriter{t, fmt.Sprintf("node%d: ", i)}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start starts the network and waits until every node has a DHT peer.
func Start(t testing.TB, o Options) *Sim {
	t.Helper()
	if o.N < 1 {
		t.Fatalf("dhtsim: %d nodes", o.N)
	}
	seeds := max(o.Seeds, 1)
	seeds = min(seeds, o.N)
	s := &Sim{}
	for i := range o.N {
		var boot []string
		switch {
		case i == 0:
		case i < seeds:
			boot = s.Nodes[0].Addrs()
		default:
			boot = s.SeedAddrs
		}
		if i > 0 || len(o.ExtraBootstrap) > 0 {
			boot = append(append([]string(nil), boot...), o.ExtraBootstrap...)
		}
		n := s.StartNode(t, i, boot, o)
		if i < seeds {
			s.SeedAddrs = append(s.SeedAddrs, n.Addrs()...)
		}
	}
	s.AwaitConnected(t)
	return s
}

// StartNode starts one more node bootstrapping from boot, appends it to
// s.Nodes and returns it.
func (s *Sim) StartNode(t testing.TB, i int, boot []string, o Options) *Node {
	t.Helper()
	id, priv, del := NewIdentity(t)
	p := dht.New(dht.WithLogger(o.logger(t, i)))
	ctx, cancel := context.WithTimeout(context.Background(), Eventually)
	defer cancel()
	if err := p.Configure(ctx, sdk.ConfigureRequest{
		APIVersion: sdk.APIVersion, Config: Config(t, boot, o.Config), Self: id, Delegation: del,
	}); err != nil {
		t.Fatalf("dhtsim: node %d: Configure: %v", i, err)
	}
	n := &Node{Plugin: p, Index: len(s.Nodes), ID: id, Key: priv, Delegation: del, Name: fmt.Sprintf("sim node %d", i)}
	s.Nodes = append(s.Nodes, n)
	t.Cleanup(func() { n.Kill(t) })
	return n
}

// Kill closes the node, as a crash would leave the network: its records
// stay until they expire. Killing it again does nothing.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil && !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("dhtsim: close node %d: %v", n.Index, err)
	}
}

// Alive reports whether the node was not killed.
func (n *Node) Alive() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.closed
}

// AwaitConnected waits until every live node has at least one DHT peer.
func (s *Sim) AwaitConnected(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(Eventually)
	for _, n := range s.Nodes {
		for n.Alive() && n.DHTPeers() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("dhtsim: node %d has no DHT peer after %v", n.Index, Eventually)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// AnnounceAll has every live node announce itself under its Name, then
// waits until node 0 (or the first live node) finds every record.
func (s *Sim) AnnounceAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Eventually)
	defer cancel()
	var live []*Node
	for _, n := range s.Nodes {
		if !n.Alive() {
			continue
		}
		live = append(live, n)
		if err := n.Announce(ctx, sdk.PeerInfo{ID: n.ID, Name: n.Name, Roles: []string{"discovery", "signaling"}, Transports: []string{"tcp"}, Protocols: []string{"ftv2a"}}); err != nil {
			t.Fatalf("dhtsim: node %d: Announce: %v", n.Index, err)
		}
	}
	if len(live) == 0 {
		return
	}
	for _, n := range live[1:] {
		AwaitLookup(ctx, t, live[0].Plugin, n.ID, n.Name)
	}
}

// AwaitLookup calls d.Lookup(id) until it returns a record named name,
// retrying while it fails with sdk.ErrNotFound; it stops the test on
// another error or when ctx ends.
func AwaitLookup(ctx context.Context, t testing.TB, d sdk.Discovery, id sdk.PeerID, name string) sdk.PeerInfo {
	t.Helper()
	var last string
	for {
		info, err := d.Lookup(ctx, id)
		switch {
		case err == nil && info.ID == id && info.Name == name:
			return info
		case err == nil:
			last = fmt.Sprintf("record named %q", info.Name)
		case ctx.Err() != nil:
		case !errors.Is(err, sdk.ErrNotFound):
			t.Fatalf("dhtsim: Lookup(%s): %v", id.Short(), err)
		default:
			last = err.Error()
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("dhtsim: Lookup(%s) found no record named %q; last answer: %s", id.Short(), name, last)
		}
	}
}

// testWriter writes log lines to a test's log.
type testWriter struct {
	t      testing.TB
	prefix string
}

// Write logs p, one line, to the test.
func (w testWriter) Write(p []byte) (int, error) {
	n := len(p)
	for n > 0 && p[n-1] == '\n' {
		n--
	}
	w.t.Log(w.prefix + string(p[:n]))
	return len(p), nil
}
