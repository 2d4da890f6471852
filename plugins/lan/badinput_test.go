package lan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// unicastPort returns the instance's unicast (UDP and TCP) port.
func (p *Plugin) unicastPort() uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.socks.port
}

// rawPeer is the test's own socket, sending crafted datagrams to the
// broadcast address and frames to an instance's TCP port.
type rawPeer struct {
	t     *testing.T
	udp   *net.UDPConn
	bcast netip.AddrPort
}

func newRawPeer(t *testing.T, port uint16) *rawPeer {
	t.Helper()
	c, err := listenUDP("udp4", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawPeer{t: t, udp: c, bcast: netip.AddrPortFrom(netip.MustParseAddr("127.255.255.255"), port)}
}

func (r *rawPeer) port() uint16 { return uint16(r.udp.LocalAddr().(*net.UDPAddr).Port) }

func (r *rawPeer) src() string { return r.udp.LocalAddr().String() }

// broadcast sends b to the announcement port.
func (r *rawPeer) broadcast(b []byte) {
	r.t.Helper()
	if _, err := r.udp.WriteToUDPAddrPort(b, r.bcast); err != nil {
		r.t.Fatalf("send datagram: %v", err)
	}
}

// message returns an encoded message of typ claiming id, signed with d
// whatever d's issuer.
func (r *rawPeer) message(typ Type, id sdk.PeerID, d *sdk.Delegation, seq uint64, to sdk.PeerID, payload []byte) []byte {
	r.t.Helper()
	m := &Message{Type: typ, Ferry: &Header{V: 1, ID: id, Port: r.port(), Seq: seq}}
	if typ == TypeSignal {
		m.To, m.Payload = to, payload
	} else {
		m.User = User{Name: "raw " + string(typ), IP: "127.0.0.1"}
	}
	signWith(r.t, m, d)
	b, err := Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// frame writes one TCP frame (length prefix given, body) to port and
// returns the connection and its local address.
func frameTo(t *testing.T, port uint16, length uint32, body []byte) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, length)); err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		if _, err := c.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	return c, c.LocalAddr().String()
}

// answer reads what the receiver answers on c: the ack byte, or nothing
// (the connection closed).
func answer(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(eventually))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read answer: %v", err)
	}
	return b
}

// TestBadInput sends broken, forged and replayed input to an instance on
// real sockets. Each is dropped with one warning naming the reason and the
// source, causes no event, and the instance keeps serving real peers.
func TestBadInput(t *testing.T) {
	port := freePort(t)
	cfg := loConfig(port, time.Minute, 2*time.Minute)
	n := newNode(t, "n", cfg)
	w := watch(t, n)
	announceSelf(t, n, n.id, "target")
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	in, err := n.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every event n reports, to check afterwards that bad input made none.
	var events []sdk.PeerEvent
	await := func(t *testing.T, id sdk.PeerID) sdk.PeerEvent {
		t.Helper()
		ev, before := awaitEvent(t, w, sdk.PeerJoined, id)
		events = append(append(events, before...), ev)
		return ev
	}
	raw := newRawPeer(t, port)
	tid, tpriv, tdel := newIdentity(t) // a real device the test speaks for
	victim := plugintest.RandomPeerID(t)

	t.Run("malformed JSON", func(t *testing.T) {
		raw.broadcast([]byte(`{"type": "JOIN", "user": {`))
		n.log.awaitDropped(t, reasonMalformed, raw.src())
	})
	t.Run("spoofed ID", func(t *testing.T) {
		raw.broadcast(raw.message(TypeJoin, victim, tdel, 1, sdk.PeerID{}, nil))
		r := n.log.awaitDropped(t, reasonSpoofed, raw.src())
		if !strings.Contains(r.Attrs["detail"], "spoofed") {
			t.Errorf("detail %q does not say spoofed", r.Attrs["detail"])
		}
	})
	t.Run("valid JOIN gets a PING", func(t *testing.T) {
		raw.broadcast(raw.message(TypeJoin, tid, tdel, 5, sdk.PeerID{}, nil))
		ev := await(t, tid)
		if ev.Peer.Name != "raw JOIN" || ev.Peer.Addrs[0] != Addr(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), raw.port())) {
			t.Errorf("joined: %+v", ev.Peer)
		}
		// The unicast PING reply comes to the port the JOIN announced.
		_ = raw.udp.SetReadDeadline(time.Now().Add(eventually))
		buf := make([]byte, MaxDatagram)
		k, _, err := raw.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no PING reply: %v", err)
		}
		m, err := Decode(buf[:k])
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(m, time.Now()); err != nil || m.Type != TypePing || m.Ferry.ID != n.id || m.User.Name != "target" || m.User.IP != "127.0.0.1" {
			t.Fatalf("reply %+v (%v), want a signed PING from the target", m, err)
		}
	})
	t.Run("replayed JOIN", func(t *testing.T) {
		raw.broadcast(raw.message(TypeJoin, tid, tdel, 5, sdk.PeerID{}, nil))
		n.log.awaitDropped(t, reasonReplay, raw.src())
	})
	t.Run("expired certificate", func(t *testing.T) {
		expired, err := sdk.NewDelegation(tpriv, time.Hour, time.Now().Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		raw.broadcast(raw.message(TypePing, tid, expired, 1, sdk.PeerID{}, nil))
		r := n.log.awaitDropped(t, reasonBadCert, raw.src())
		if !strings.Contains(r.Attrs["detail"], "expired") {
			t.Errorf("detail %q does not say expired", r.Attrs["detail"])
		}
	})
	t.Run("altered message", func(t *testing.T) {
		b := raw.message(TypePing, tid, tdel, 11, sdk.PeerID{}, nil)
		b = bytes.Replace(b, []byte("raw PING"), []byte("raw PONG"), 1)
		raw.broadcast(b)
		r := n.log.awaitDropped(t, reasonBadSignature, raw.src())
		if !strings.Contains(r.Attrs["detail"], "altered") {
			t.Errorf("detail %q does not say altered", r.Attrs["detail"])
		}
	})
	t.Run("oversized datagram", func(t *testing.T) {
		raw.broadcast(bytes.Repeat([]byte{'{'}, MaxDatagram+100))
		n.log.awaitDropped(t, reasonOversize, raw.src())
	})
	t.Run("SIGNAL over UDP", func(t *testing.T) {
		raw.broadcast(raw.message(TypeSignal, tid, tdel, 6, n.id, []byte("sealed")))
		n.log.awaitDropped(t, reasonSignalUDP, raw.src())
	})
	t.Run("plain Sent peer", func(t *testing.T) {
		raw.broadcast([]byte("{\"type\": \"JOIN\",\n \"user\": {\n    \"name\": \"John Appleseed\",\n    \"ip\": \"75.34.652.12\"\n }\n}"))
		waitFor(t, func() bool {
			return len(n.log.Records(func(r plugintest.LogRecord) bool {
				return r.Level == slog.LevelDebug && strings.Contains(r.Message, "plain Sent peer") && r.Attrs["name"] == "John Appleseed"
			})) > 0
		}, "a debug line about the plain Sent peer")
	})
	t.Run("flood is logged once", func(t *testing.T) {
		for range 100 {
			raw.broadcast([]byte("not json"))
		}
		// A marker from another device: once it is processed, so is the
		// flood before it (one socket, read in order).
		mid, _, mdel := newIdentity(t)
		raw.broadcast(raw.message(TypeJoin, mid, mdel, 1, sdk.PeerID{}, nil))
		await(t, mid)
		if got := n.log.dropped(reasonMalformed); len(got) != 1 {
			t.Fatalf("%d warnings about malformed datagrams, want 1 (rate-limited): %v", len(got), got)
		}
	})

	t.Run("garbage frame", func(t *testing.T) {
		c, src := frameTo(t, n.unicastPort(), 10, []byte("not json!!"))
		if a := answer(t, c); len(a) != 0 {
			t.Errorf("answer %x to a garbage frame, want none", a)
		}
		n.log.awaitDropped(t, reasonMalformed, src)
	})
	t.Run("huge length prefix", func(t *testing.T) {
		c, src := frameTo(t, n.unicastPort(), 0xfffffff0, nil)
		if a := answer(t, c); len(a) != 0 {
			t.Errorf("answer %x to a huge length prefix, want none", a)
		}
		r := n.log.awaitDropped(t, reasonFrameLength, src)
		if !strings.Contains(r.Attrs["detail"], "4294967280") {
			t.Errorf("detail %q does not name the length", r.Attrs["detail"])
		}
	})
	t.Run("short frame", func(t *testing.T) {
		c, src := frameTo(t, n.unicastPort(), 100, []byte("0123456789"))
		_ = c.(*net.TCPConn).CloseWrite()
		answer(t, c)
		n.log.awaitDropped(t, reasonShortFrame, src)
	})
	t.Run("SIGNAL for another recipient", func(t *testing.T) {
		body := raw.message(TypeSignal, tid, tdel, 7, plugintest.RandomPeerID(t), []byte("not for you"))
		c, src := frameTo(t, n.unicastPort(), uint32(len(body)), body)
		if a := answer(t, c); len(a) != 0 {
			t.Errorf("answer %x to a SIGNAL for someone else, want none", a)
		}
		n.log.awaitDropped(t, reasonRecipient, src)
	})
	t.Run("announcement over TCP", func(t *testing.T) {
		body := raw.message(TypePing, tid, tdel, 8, sdk.PeerID{}, nil)
		c, src := frameTo(t, n.unicastPort(), uint32(len(body)), body)
		answer(t, c)
		n.log.awaitDropped(t, reasonNotSignal, src)
	})
	t.Run("forged SIGNAL", func(t *testing.T) {
		body := raw.message(TypeSignal, victim, tdel, 9, n.id, []byte("forged"))
		c, src := frameTo(t, n.unicastPort(), uint32(len(body)), body)
		answer(t, c)
		n.log.awaitDropped(t, reasonSpoofed, src)
	})
	t.Run("valid then replayed SIGNAL", func(t *testing.T) {
		body := raw.message(TypeSignal, tid, tdel, 10, n.id, []byte("for you"))
		c, _ := frameTo(t, n.unicastPort(), uint32(len(body)), body)
		if a := answer(t, c); !bytes.Equal(a, []byte{ackByte}) {
			t.Fatalf("answer %x to a valid SIGNAL, want the ack", a)
		}
		env := awaitEnvelope(t, in, []byte("for you"))
		if env.From != tid || env.To != n.id {
			t.Fatalf("envelope %+v", env)
		}
		c, src := frameTo(t, n.unicastPort(), uint32(len(body)), body)
		if a := answer(t, c); len(a) != 0 {
			t.Errorf("answer %x to a replayed SIGNAL, want none", a)
		}
		n.log.awaitDropped(t, reasonReplay, src)
	})

	// The instance still serves a real peer.
	r := newNode(t, "r", cfg)
	announceSelf(t, r, r.id, "real")
	await(t, r.id)
	fromTest := 0
	for _, ev := range events {
		switch ev.Peer.ID {
		case victim:
			t.Errorf("event for a spoofed ID: %s %+v", ev.Kind, ev.Peer)
		case tid:
			fromTest++
		}
	}
	if fromTest != 1 {
		t.Errorf("%d events for the test's device, want 1 (its one valid JOIN): %+v", fromTest, events)
	}
	awaitLookup(ctx, t, r, n.id, "target")
	if err := r.Send(ctx, sdk.Envelope{To: n.id, Payload: []byte("after the storm")}); err != nil {
		t.Fatalf("Send from a real peer after the bad input: %v", err)
	}
	awaitEnvelope(t, in, []byte("after the storm"))
	select {
	case env := <-in:
		t.Errorf("unexpected envelope %+v", env)
	default:
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, eventually)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
