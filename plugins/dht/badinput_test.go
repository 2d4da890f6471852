package dht_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/ferry-p2p/ferry/plugins/dht"
	"github.com/ferry-p2p/ferry/plugins/dht/dhtsim"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// testDevice is a device the test signs records and frames for.
type testDevice struct {
	id  sdk.PeerID
	del *sdk.Delegation
}

func newTestDevice(t testing.TB) testDevice {
	t.Helper()
	id, _, del := dhtsim.NewIdentity(t)
	return testDevice{id: id, del: del}
}

// libp2pKey returns the device's delegated key as a libp2p identity.
func (d testDevice) libp2pKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, err := crypto.UnmarshalEd25519PrivateKey(d.del.Key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// record returns a record of d signed with d's delegation, after f
// changed it.
func (d testDevice) record(t testing.TB, name string, seq uint64, f func(*dht.Record)) []byte {
	t.Helper()
	pk, err := crypto.UnmarshalEd25519PublicKey(d.del.Cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	r := dht.Record{V: 1, ID: d.id, Seq: seq, ExpiresMs: time.Now().Add(time.Hour).UnixMilli(), Name: name,
		P2PAddrs: []string{"/ip4/127.0.0.1/tcp/9/p2p/" + pid.String()}}
	if f != nil {
		f(&r)
	}
	b, err := dht.SignRecord(r, d.del)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withRecordField returns b with a field of the signed part changed,
// without signing again.
func withRecordField(t testing.TB, b []byte, key string, val any) []byte {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	w["record"].(map[string]any)[key] = val
	out, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// frame returns a signaling frame: length prefix, version, sender,
// certificate, recipient, payload.
func frame(t testing.TB, from sdk.PeerID, cert sdk.Certificate, to sdk.PeerID, payload []byte) []byte {
	t.Helper()
	cb, err := cert.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{1}, from[:]...)
	body = append(body, cb...)
	body = append(body, to[:]...)
	body = append(body, payload...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// streamTo opens a stream of proto from the plain node to the Ferry node
// f, writes b, closes its side and returns what f answered.
func streamTo(t testing.TB, from *plainNode, f *testNode, proto protocol.ID, b []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	ai, err := peer.AddrInfoFromString(f.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := from.h.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	st, err := from.h.NewStream(ctx, ai.ID, proto)
	if err != nil {
		t.Fatalf("open %s: %v", proto, err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(eventually))
	if _, err := st.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = st.CloseWrite()
	got, _ := io.ReadAll(st) // a reset ends the read; either way, what came is the answer
	return got
}

// onlyOne checks that exactly one line reports input refused for reason
// with detail, and no more appear.
func onlyOne(t *testing.T, n *testNode, what, reason, detail string) {
	t.Helper()
	n.log.awaitRefused(t, reason, detail)
	var got []plugintest.LogRecord
	for _, r := range n.log.refused(reason) {
		if strings.Contains(r.Message, "refused "+what+" ") && (strings.Contains(r.Attrs["detail"], detail) || strings.Contains(r.Message, detail)) {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Errorf("%d lines about a %s refused for %q (%q), want 1: %v", len(got), what, reason, detail, got)
	}
}

// TestBadRecords has a plain kad-dht node PUT bad records to a Ferry
// node: each is refused with one log line naming the reason, is not
// stored (a lookup does not return it), and the node keeps serving.
func TestBadRecords(t *testing.T) {
	f := newNode(t, "f", nil, nil)
	p := newPlainNode(t, nil, f.Addrs()...)
	awaitRT(t, p.kad, 1)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	put := func(key string, val []byte) {
		t.Helper()
		if err := p.kad.PutValue(ctx, key, val); err != nil {
			t.Fatalf("plain PutValue(%s): %v", key, err)
		}
	}

	forged, expired, wrong, other, huge, garbage := newTestDevice(t), newTestDevice(t), newTestDevice(t), newTestDevice(t), newTestDevice(t), newTestDevice(t)
	put(dht.Key(forged.id), withRecordField(t, forged.record(t, "honest", 1, nil), "name", "forged"))
	onlyOne(t, f, "record", "forged", forged.id.Short())

	put(dht.Key(expired.id), expired.record(t, "old", 1, func(r *dht.Record) { r.ExpiresMs = time.Now().Add(-time.Minute).UnixMilli() }))
	onlyOne(t, f, "record", "expired", expired.id.Short())

	put(dht.Key(other.id), wrong.record(t, "misfiled", 1, nil))
	onlyOne(t, f, "record", "wrong key", other.id.String())

	put(dht.Key(huge.id), withRecordField(t, huge.record(t, "huge", 1, nil), "name", strings.Repeat("h", dht.MaxRecordSize)))
	onlyOne(t, f, "record", "too large", "at most")

	put(dht.Key(garbage.id), []byte("\x00not a record at all\xff"))
	onlyOne(t, f, "record", "malformed", "invalid character")

	// None was stored: lookups find nothing valid (the plain node hands
	// them out again, and f refuses them again, without a new line).
	for _, d := range []testDevice{forged, expired, other, huge, garbage} {
		if _, err := f.Lookup(ctx, d.id); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Lookup(%s) after a bad PUT: %v, want sdk.ErrNotFound", d.id.Short(), err)
		}
	}
	onlyOne(t, f, "record", "forged", forged.id.Short())

	// An older record of a device does not replace its newer one.
	announceSelf(t, f, f.id, "current name")
	g := newNode(t, "g", f.Addrs(), nil)
	awaitLookup(t, g, f.id, "current name")
	stale := testDevice{id: f.id, del: f.del}.record(t, "stale name", 1, func(r *dht.Record) {
		r.P2PAddrs = []string{f.Addrs()[0]}
	})
	put(dht.Key(f.id), stale)
	if info := awaitLookup(t, g, f.id, "current name"); info.Name != "current name" {
		t.Fatalf("g found %q", info.Name)
	}

	// f still serves: it looks g up and gets g's envelope.
	announceSelf(t, g, g.id, "g")
	awaitLookup(t, f, g.id, "g")
	in := receive(t, f)
	if err := g.Send(ctx, sdk.Envelope{To: f.id, Payload: []byte("still there?")}); err != nil {
		t.Fatalf("Send after bad records: %v", err)
	}
	awaitEnvelope(t, in, []byte("still there?"))
}

// TestBadFrames sends broken and forged signaling frames and hello
// records to a Ferry node from a plain libp2p host: each is refused with
// one log line naming the reason, without an ack, and a real envelope
// still arrives afterwards.
func TestBadFrames(t *testing.T) {
	f := newNode(t, "f", nil, nil)
	in := receive(t, f)
	signal := protocol.ID("/ferry/signal/1.0.0")
	hello := protocol.ID("/ferry/hello/1.0.0")
	x, y := newTestDevice(t), newTestDevice(t)
	stranger := newPlainNode(t, nil)       // a random libp2p key
	asX := newPlainNode(t, x.libp2pKey(t)) // X's delegated key as its identity

	noAck := func(name string, got []byte) {
		t.Helper()
		if len(got) != 0 {
			t.Errorf("%s: answered %x, want no ack", name, got)
		}
	}
	garbage := make([]byte, 300)
	_, _ = rand.Read(garbage)
	garbage[0] = 0x99 // not version 1
	noAck("garbage", streamTo(t, stranger, f, signal, append(binary.BigEndian.AppendUint32(nil, 300), garbage...)))
	onlyOne(t, f, "signaling frame", "malformed", "frame version")

	noAck("oversized length", streamTo(t, stranger, f, signal, []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}))
	onlyOne(t, f, "signaling frame", "bad frame length", "4294967295")

	noAck("short frame", streamTo(t, stranger, f, signal, append(binary.BigEndian.AppendUint32(nil, 1000), make([]byte, 400)...)))
	onlyOne(t, f, "signaling frame", "short frame", "1000-byte body")

	noAck("certificate of another issuer", streamTo(t, asX, f, signal, frame(t, x.id, y.del.Cert, f.id, []byte("spoofed"))))
	onlyOne(t, f, "signaling frame", "bad certificate", "issued by "+y.id.Short())

	noAck("certificate of another key", streamTo(t, stranger, f, signal, frame(t, x.id, x.del.Cert, f.id, []byte("stolen cert"))))
	onlyOne(t, f, "signaling frame", "certificate does not match the connection", x.id.Short())

	someone := newTestDevice(t)
	noAck("another recipient", streamTo(t, asX, f, signal, frame(t, x.id, x.del.Cert, someone.id, []byte("not for you"))))
	onlyOne(t, f, "signaling frame", "wrong recipient", someone.id.Short())

	// Hello with bad records.
	helloFrame := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	streamTo(t, stranger, f, hello, helloFrame(withRecordField(t, y.record(t, "y", 1, nil), "seq", 7)))
	onlyOne(t, f, "hello record", "forged", y.id.Short())
	streamTo(t, stranger, f, hello, helloFrame(y.record(t, "y", 2, nil)))
	onlyOne(t, f, "hello record", "not the neighbour's record", y.id.Short())
	streamTo(t, stranger, f, hello, []byte{0, 1, 0, 0})
	onlyOne(t, f, "hello", "bad frame length", "65536")

	// Nothing of that arrived; a real envelope from X does, with an ack.
	got := streamTo(t, asX, f, signal, frame(t, x.id, x.del.Cert, f.id, []byte("real")))
	if string(got) != "\x06" {
		t.Fatalf("real frame answered %x, want the ack 06", got)
	}
	env := awaitEnvelope(t, in, []byte("real"))
	if env.From != x.id || env.To != f.id {
		t.Fatalf("envelope From %s To %s", env.From.Short(), env.To.Short())
	}
	select {
	case env := <-in:
		t.Fatalf("an unexpected envelope arrived: %q", env.Payload)
	default:
	}
}
