package dht_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/sdk"
)

// permissive is the record validator of a plain DHT node that knows
// nothing of Ferry: it takes any value and keeps the newest written.
type permissive struct{}

func (permissive) Validate(string, []byte) error        { return nil }
func (permissive) Select(string, [][]byte) (int, error) { return 0, nil }

// plainNode is a go-libp2p host with a kad-dht server on the Ferry
// protocol prefix, built from the libraries alone: no Ferry code.
type plainNode struct {
	h   host.Host
	kad *kaddht.IpfsDHT
}

// newPlainNode starts a plain node on loopback that joins through boot,
// with identity key (nil: a fresh one), closed at the end of the test.
func newPlainNode(t testing.TB, key crypto.PrivKey, boot ...string) *plainNode {
	t.Helper()
	if key == nil {
		var err error
		if key, _, err = crypto.GenerateEd25519Key(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	var infos []peer.AddrInfo
	for _, s := range boot {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, *ai)
	}
	kad, err := kaddht.New(h, kaddht.Mode(kaddht.ModeServer), kaddht.ProtocolPrefix("/ferry"),
		kaddht.NamespacedValidator("ferry", permissive{}), kaddht.NamespacedValidator(dht.AccountNamespace, permissive{}),
		kaddht.BootstrapPeers(infos...))
	if err != nil {
		_ = h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kad.Close()
		_ = h.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	for _, ai := range infos {
		if err := h.Connect(ctx, ai); err != nil {
			t.Fatalf("plain node: connect to %s: %v", ai.ID, err)
		}
	}
	return &plainNode{h: h, kad: kad}
}

// addrs returns the plain node's multiaddrs with /p2p/.
func (n *plainNode) addrs() []string {
	var out []string
	for _, a := range n.h.Addrs() {
		p2p, _ := ma.NewComponent("p2p", n.h.ID().String())
		out = append(out, a.Encapsulate(p2p.Multiaddr()).String())
	}
	return out
}

// awaitRT waits until the DHT's routing table holds at least n peers.
func awaitRT(t testing.TB, kad *kaddht.IpfsDHT, n int) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for kad.RoutingTable().Size() < n {
		if time.Now().After(deadline) {
			t.Fatalf("routing table has %d peers, want %d", kad.RoutingTable().Size(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInteropPlainNodes joins two Ferry nodes through plain kad-dht
// nodes only: each bootstraps from a different plain node. Their records
// travel through the plain nodes, which store and serve them, and the
// Ferry nodes find and signal each other.
func TestInteropPlainNodes(t *testing.T) {
	p1 := newPlainNode(t, nil)
	p2 := newPlainNode(t, nil, p1.addrs()...)
	awaitRT(t, p1.kad, 1)
	a := newNode(t, "a", p1.addrs(), nil)
	b := newNode(t, "b", p2.addrs(), nil)
	announceSelf(t, a, a.id, "ferry a")
	announceSelf(t, b, b.id, "ferry b")

	infoB := awaitLookup(t, a, b.id, "ferry b")
	awaitLookup(t, b, a.id, "ferry a")
	if infoB.Source != "dht" || len(infoB.Addrs) < 2 {
		t.Errorf("a's record of b: %+v", infoB)
	}

	// The plain nodes hold the Ferry records, verbatim and valid.
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	for _, pn := range []*plainNode{p1, p2} {
		for _, id := range []sdk.PeerID{a.id, b.id} {
			awaitPlainValue(ctx, t, pn, id)
		}
	}

	// Signaling between the two Ferry nodes.
	in := receive(t, b)
	payload := []byte("offer through a DHT of strangers")
	if err := a.Send(ctx, sdk.Envelope{To: b.id, Payload: payload}); err != nil {
		t.Fatalf("a to b: %v", err)
	}
	env := awaitEnvelope(t, in, payload)
	if env.From != a.id || env.To != b.id {
		t.Fatalf("envelope From %s To %s", env.From.Short(), env.To.Short())
	}
}

// TestPlainNodeBootstrapsFromFerry checks the other direction: a plain
// kad-dht node joins through a Ferry node and serves as its DHT peer.
func TestPlainNodeBootstrapsFromFerry(t *testing.T) {
	f := newNode(t, "f", nil, nil)
	p := newPlainNode(t, nil, f.Addrs()...)
	awaitRT(t, p.kad, 1)
	deadline := time.Now().Add(eventually)
	for f.DHTPeers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Ferry node never counted the plain node as a DHT peer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	announceSelf(t, f, f.id, "lonely ferry")
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	awaitPlainValue(ctx, t, p, f.id)
}

// awaitPlainValue waits until the plain node finds id's record through
// its own DHT lookup, and checks that the record validates.
func awaitPlainValue(ctx context.Context, t testing.TB, pn *plainNode, id sdk.PeerID) {
	t.Helper()
	for {
		val, err := pn.kad.GetValue(ctx, dht.Key(id))
		if err == nil {
			if err := (dht.Validator{}).Validate(dht.Key(id), val); err != nil {
				t.Fatalf("plain node %s served a record that does not validate: %v", pn.h.ID(), err)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("plain node %s never found the record of %s: %v", pn.h.ID(), id.Short(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
