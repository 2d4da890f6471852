package ice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

const (
	turnUser  = "ferry"
	turnPass  = "s3cret-turn-password"
	turnRealm = "ferry.test"
)

// turnServer is a pion/turn server on 127.0.0.1 with long-term
// credentials, relaying on 127.0.0.1, listening on UDP and TCP.
type turnServer struct {
	port int
}

func (s turnServer) url(transport string) string {
	return fmt.Sprintf("turn:127.0.0.1:%d?transport=%s", s.port, transport)
}

func (s turnServer) stunURL() string { return fmt.Sprintf("stun:127.0.0.1:%d", s.port) }

// startTURN starts an in-process TURN server; the test's cleanup stops it.
func startTURN(t testing.TB) turnServer {
	t.Helper()
	// One port number for UDP and TCP: a free UDP port's TCP twin may be
	// taken by another test's connection, so try a few.
	var (
		udp  net.PacketConn
		tcp  net.Listener
		port int
		err  error
	)
	for try := 0; try < 20; try++ {
		if udp, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port = udp.LocalAddr().(*net.UDPAddr).Port
		if tcp, err = net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		_ = udp.Close()
	}
	if err != nil {
		t.Fatalf("no port free for both UDP and TCP: %v", err)
	}
	key := turn.GenerateAuthKey(turnUser, turnRealm, turnPass)
	relay := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: turnRealm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != turnUser {
				return "", nil, false
			}
			return ra.Username, key, true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: relay()}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: relay()}},
		LoggerFactory:     quietLogs{},
	})
	if err != nil {
		t.Fatalf("TURN server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return turnServer{port: port}
}

// quietLogs drops the TURN server's logs.
type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger { return pionLogger{log: discardLog} }

// relayOptions are relayed candidates only, through url.
func relayOptions(url string) map[string]any {
	return with(loopbackOptions(), map[string]any{
		"relay_only":    true,
		"turn_servers":  []string{url},
		"turn_username": turnUser,
		"turn_password": turnPass,
	})
}

// closedPort returns a loopback UDP port where nothing listens.
func closedPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	_ = c.Close()
	return port
}

// exchange sends size bytes each way at once and checks them by SHA-256.
func exchange(t testing.TB, sa, sb sdk.Stream, size int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(name string, w sdk.Stream, seed uint64) []byte {
		h := sha256.New()
		data := make([]byte, size)
		r := rand.New(rand.NewPCG(seed, seed))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		h.Write(data)
		wg.Go(func() {
			if _, err := w.Write(data); err != nil {
				errs <- fmt.Errorf("%s: write: %w", name, err)
				return
			}
			if err := w.CloseWrite(); err != nil {
				errs <- fmt.Errorf("%s: close write: %w", name, err)
			}
		})
		return h.Sum(nil)
	}
	recv := func(name string, r sdk.Stream, want []byte) {
		wg.Go(func() {
			h := sha256.New()
			n, err := io.Copy(h, r)
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s: read after %d bytes: %w", name, n, err)
			case n != int64(size):
				errs <- fmt.Errorf("%s: read %d bytes, want %d", name, n, size)
			case !bytes.Equal(h.Sum(nil), want):
				errs <- fmt.Errorf("%s: data differs", name)
			}
		})
	}
	ab := send("initiator", sa, 1)
	ba := send("responder", sb, 2)
	recv("responder", sb, ab)
	recv("initiator", sa, ba)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkRoute checks the route a stream names (sdk.RoutedStream).
func checkRoute(t testing.TB, side string, s sdk.Stream, want string) {
	t.Helper()
	rs, ok := s.(sdk.RoutedStream)
	if !ok {
		t.Errorf("%s's stream %T names no route", side, s)
		return
	}
	if got := rs.Route(); got != want {
		t.Errorf("%s's route = %q, want %q", side, got, want)
	}
}

// checkRelayed checks the log of a side that connected over relays only.
func checkRelayed(t testing.TB, side string, logs *plugintest.LogBuffer) {
	t.Helper()
	if !strings.Contains(logs.String(), `pair="relay 127.0.0.1:`) {
		t.Errorf("%s did not connect from a relayed candidate:\n%s", side, logs.String())
	}
}

// relayCases connects two relay-only transports through srv, over UDP
// and TCP to it, with both descriptions exchanged (the suite's way) and
// in the core's flow, moves data both ways, and checks that both sides
// connected from relayed candidates.
func relayCases(t *testing.T, srv turnServer) {
	t.Helper()
	for _, c := range []struct {
		name, transport string
		core            bool
	}{
		{"udp both descriptions", "udp", false},
		{"udp core flow", "udp", true},
		{"tcp core flow", "tcp", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, la := configuredLog(t, relayOptions(srv.url(c.transport)))
			b, lb := configuredLog(t, relayOptions(srv.url(c.transport)))
			var sa, sb sdk.Stream
			if c.core {
				var err error
				if sa, sb, err = connectCore(plugintest.Context(t), t, a, b); err != nil {
					t.Fatal(err)
				}
				defer sa.Close()
				defer sb.Close()
			} else {
				sa, sb = connectPair(t, a, b)
			}
			exchange(t, sa, sb, 1<<20)
			checkRelayed(t, "initiator", la)
			checkRelayed(t, "responder", lb)
			server, _, _ := strings.Cut(srv.url(c.transport), "?")
			checkRoute(t, "initiator", sa, "relay via "+server)
			checkRoute(t, "responder", sb, "relay via "+server)
		})
	}
}

// TestTURNRelay connects two relay-only transports through an in-process
// pion/turn server, with both descriptions exchanged (the suite's way)
// and with only the responder's (the core's way), over UDP and TCP to the
// server, and moves data both ways.
func TestTURNRelay(t *testing.T) {
	checkNoLeaks(t)
	srv := startTURN(t)
	relayCases(t, srv)
	// A relay-only initiator reaches a responder with host candidates
	// only, which learns the relayed address from the checks.
	t.Run("relay to host core flow", func(t *testing.T) {
		a, la := configuredLog(t, relayOptions(srv.url("udp")))
		b := configured(t, loopbackOptions())
		sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
		if err != nil {
			t.Fatal(err)
		}
		defer sa.Close()
		defer sb.Close()
		exchange(t, sa, sb, 256<<10)
		if !strings.Contains(la.String(), `pair="relay 127.0.0.1:`) || !strings.Contains(la.String(), `<-> host 127.0.0.1:`) {
			t.Errorf("initiator did not connect relay to host:\n%s", la.String())
		}
	})
}

// TestRelayDescription: a relay-only description lists relayed candidates
// only, with the TURN client's address as the related one, and reveals
// no interface address.
func TestRelayDescription(t *testing.T) {
	srv := startTURN(t)
	tr := configured(t, relayOptions(srv.url("udp")))
	p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDescription(p.Local, addrPolicy{loopback: true})
	if err != nil {
		t.Fatalf("own description %q: %v", p.Local.Data, err)
	}
	if len(d.cands) != 1 || d.cands[0].typ != typeRelay || !d.cands[0].related.IsValid() {
		t.Fatalf("relay-only description:\n%s", p.Local.Data)
	}
	t.Logf("relay-only description:\n%s", p.Local.Data)
}

// TestSTUNServerReflexive gathers server-reflexive candidates from the
// server's STUN side and connects over them.
func TestSTUNServerReflexive(t *testing.T) {
	srv := startTURN(t)
	opts := with(loopbackOptions(), map[string]any{"candidate_types": []string{"srflx"}, "stun_servers": []string{srv.stunURL()}})
	a, la := configuredLog(t, opts)
	b := configured(t, opts)
	p, err := b.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p.Local.Data, []byte(" typ srflx raddr 0.0.0.0 rport ")) {
		t.Errorf("description has no server-reflexive candidate:\n%s", p.Local.Data)
	}
	sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	plugintest.RoundTrip(t, sa, sb)
	if !strings.Contains(la.String(), `pair="srflx 127.0.0.1:`) {
		t.Errorf("initiator did not connect from its srflx candidate:\n%s", la.String())
	}
}

// TestTURNWrongPassword: a wrong password is an error naming the server
// and saying it refused the credentials; the password is not shown.
func TestTURNWrongPassword(t *testing.T) {
	srv := startTURN(t)
	tr := configured(t, with(relayOptions(srv.url("udp")), map[string]any{"turn_password": "wrong-password"}))
	_, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err == nil {
		t.Fatal("Prepare with a wrong TURN password succeeded")
	}
	t.Logf("error: %v", err)
	msg := err.Error()
	if !strings.Contains(msg, "TURN server "+srv.url("udp")) || !strings.Contains(msg, "401") {
		t.Errorf("error does not name the server and the refusal (401): %v", err)
	}
	if strings.Contains(msg, "wrong-password") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestTURNUnreachable: a TURN server that does not answer (a closed port)
// is named in the error of a relay-only Prepare, which returns after the
// gather timeout; with host candidates as well, Prepare goes on without
// it, logs it, and the transport still connects.
func TestTURNUnreachable(t *testing.T) {
	checkNoLeaks(t)
	url := fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", closedPort(t))
	opts := with(relayOptions(url), map[string]any{"gather_timeout": "700ms"})
	tr := configured(t, opts)
	start := time.Now()
	_, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err == nil {
		t.Fatal("relay-only Prepare with an unreachable TURN server succeeded")
	}
	t.Logf("error after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !strings.Contains(err.Error(), "TURN server "+url) || !strings.Contains(err.Error(), "gather timeout") {
		t.Errorf("error does not name the server and the timeout: %v", err)
	}
	if _, err := tr.Info(plugintest.Context(t)); err != nil {
		t.Errorf("Info after a failed Prepare: %v", err)
	}

	// The TCP transport to a closed port fails at once.
	tcpURL := strings.Replace(url, "udp", "tcp", 1)
	ttcp := configured(t, with(relayOptions(tcpURL), map[string]any{"gather_timeout": "5s"}))
	start = time.Now()
	_, err = ttcp.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err == nil || !strings.Contains(err.Error(), "TURN server "+tcpURL) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("relay-only over TCP to a closed port: %v, want an error naming the server and the refusal", err)
	}
	t.Logf("TCP to a closed port failed after %v: %v", time.Since(start).Round(time.Millisecond), err)

	mixed := with(opts, map[string]any{"relay_only": false, "candidate_types": []string{"host", "relay"}})
	a, la := configuredLog(t, mixed)
	b, lb := configuredLog(t, mixed)
	sa, sb, err := connectCore(plugintest.Context(t), t, a, b)
	if err != nil {
		t.Fatalf("host candidates beside an unreachable TURN server: %v", err)
	}
	defer sa.Close()
	defer sb.Close()
	plugintest.RoundTrip(t, sa, sb)
	for side, l := range map[string]*plugintest.LogBuffer{"initiator": la, "responder": lb} {
		if !strings.Contains(l.String(), "candidate left out") || !strings.Contains(l.String(), url) {
			t.Errorf("%s's log does not name the unreachable TURN server:\n%s", side, l.String())
		}
	}
}

// TestTURNClosedConnect: Connect through a relay that is gone by then
// fails when its context ends.
func TestTURNClosedConnect(t *testing.T) {
	srv := startTURN(t)
	b := configured(t, relayOptions(srv.url("udp")))
	pb, err := b.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(plugintest.Context(t), 300*time.Millisecond)
	defer cancel()
	_, err = b.Connect(ctx, sdk.ConnectRequest{Session: pb.Session})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Connect with no peer: %v, want DeadlineExceeded", err)
	}
}

// TestTURNFamilies: with both families configured, an IPv4 and an IPv6
// allocation are requested (RFC 6156); the server here relays IPv4 only,
// so Prepare keeps the IPv4 relay and logs the IPv6 refusal.
func TestTURNFamilies(t *testing.T) {
	srv := startTURN(t)
	tr, logs := configuredLog(t, with(relayOptions(srv.url("udp")), map[string]any{"network_types": []string{"udp4", "udp6"}}))
	p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDescription(p.Local, addrPolicy{loopback: true})
	if err != nil || len(d.cands) != 1 || !d.cands[0].addr.Addr().Is4() {
		t.Fatalf("description %q (%v), want one IPv4 relay", p.Local.Data, err)
	}
	if !strings.Contains(logs.String(), "IPv6 relay") {
		t.Errorf("the IPv6 allocation's failure is not logged:\n%s", logs.String())
	}
}
