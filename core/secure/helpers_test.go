package secure

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

// watchdog bounds every handshake and read in these tests, so that a hang
// fails the test instead of the whole run. It is generous on purpose: no
// test asserts timing beyond it.
const watchdog = 20 * time.Second

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	t.Cleanup(cancel)
	return ctx
}

func newID(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pairFunc returns the two ends of a fresh stream; both are closed at the
// end of the test.
type pairFunc func(t testing.TB) (client, server sdk.Stream)

// transports are the streams every handshake test runs over.
var transports = []struct {
	name string
	pair pairFunc
}{
	{"tcp", tcpPair},
	{"pipe", pipePair},
}

// loopback listens for TCP on 127.0.0.1 and returns the listener and its
// address; the listener is closed at the end of the test.
func loopback(t testing.TB) (*net.TCPListener, *net.TCPAddr) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr, err := net.ResolveTCPAddr("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ln, addr
}

// tcpPair returns the two ends of a TCP connection on 127.0.0.1.
func tcpPair(t testing.TB) (sdk.Stream, sdk.Stream) {
	t.Helper()
	ln, addr := loopback(t)
	type result struct {
		c   *net.TCPConn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.AcceptTCP()
		accepted <- result{c, err}
	}()
	dialed, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		dialed.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		dialed.Close()
		r.c.Close()
	})
	return dialed, r.c
}

// pipeStream makes a net.Pipe end an sdk.Stream. The pipe cannot half-close;
// secure's CloseWrite works at the TLS level and never calls it.
type pipeStream struct{ net.Conn }

func (pipeStream) CloseWrite() error { return errors.New("net.Pipe cannot half-close") }

// pipePair returns the two ends of a synchronous in-memory pipe.
func pipePair(t testing.TB) (sdk.Stream, sdk.Stream) {
	t.Helper()
	c, s := net.Pipe()
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return pipeStream{c}, pipeStream{s}
}

// handshakeArgs describes both sides of one handshake; zero fields take
// defaults: fresh identities, client expecting the server's ID, protocol
// "ferry/test" on both sides.
type handshakeArgs struct {
	clientID, serverID *identity.Identity
	expect             sdk.PeerID
	accept             func(sdk.PeerID) error
	clientProtos       []string
	serverProtos       []string
	// clientReads makes the client read once right after its handshake, as
	// the server may refuse it after the client's handshake is over.
	clientReads bool
}

type handshakeResult struct {
	client, server       *Conn
	clientErr, serverErr error
	clientReadErr        error // with clientReads
}

// handshake runs Client and Server concurrently on the two ends of pair.
func handshake(t testing.TB, pair pairFunc, a handshakeArgs) (handshakeArgs, handshakeResult) {
	t.Helper()
	if a.clientID == nil {
		a.clientID = newID(t)
	}
	if a.serverID == nil {
		a.serverID = newID(t)
	}
	if a.expect.IsZero() {
		a.expect = a.serverID.ID
	}
	if a.clientProtos == nil {
		a.clientProtos = []string{"ferry/test"}
	}
	if a.serverProtos == nil {
		a.serverProtos = []string{"ferry/test"}
	}
	cs, ss := pair(t)
	ctx := testCtx(t)
	var r handshakeResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.server, r.serverErr = Server(ctx, ss, a.serverID, a.accept, a.serverProtos)
	}()
	r.client, r.clientErr = Client(ctx, cs, a.clientID, a.expect, a.clientProtos)
	if r.clientErr == nil && a.clientReads {
		_ = r.client.SetReadDeadline(time.Now().Add(watchdog))
		_, r.clientReadErr = r.client.Read(make([]byte, 1))
	}
	<-done
	t.Cleanup(func() {
		// Close the streams first: a Conn's Close sends close_notify, which
		// on a pipe would wait for the peer to read it.
		cs.Close()
		ss.Close()
		for _, c := range []*Conn{r.client, r.server} {
			if c != nil {
				c.Close()
			}
		}
	})
	return a, r
}
