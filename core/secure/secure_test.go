package secure

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

func TestHandshake(t *testing.T) {
	protoCases := []struct {
		name                       string
		clientProtos, serverProtos []string
		want                       string
	}{
		{"one", []string{"ferry/ftv2a/1"}, []string{"ferry/ftv2a/1"}, "ferry/ftv2a/1"},
		{"server preference wins", []string{"b", "a"}, []string{"a", "b"}, "a"},
		{"first mutual", []string{"x", "b"}, []string{"a", "b", "x"}, "b"},
	}
	for _, tr := range transports {
		for _, pc := range protoCases {
			t.Run(tr.name+"/"+pc.name, func(t *testing.T) {
				a, r := handshake(t, tr.pair, handshakeArgs{clientProtos: pc.clientProtos, serverProtos: pc.serverProtos})
				if r.clientErr != nil || r.serverErr != nil {
					t.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
				}
				if got := r.client.Peer(); got != a.serverID.ID {
					t.Errorf("client sees peer %v, want %v", got, a.serverID.ID)
				}
				if got := r.server.Peer(); got != a.clientID.ID {
					t.Errorf("server sees peer %v, want %v", got, a.clientID.ID)
				}
				for side, c := range map[string]*Conn{"client": r.client, "server": r.server} {
					if got := c.Protocol(); got != pc.want {
						t.Errorf("%s protocol = %q, want %q", side, got, pc.want)
					}
					cs := c.ConnectionState()
					if cs.Version != tls.VersionTLS13 {
						t.Errorf("%s TLS version = %#x, want TLS 1.3", side, cs.Version)
					}
					if cs.DidResume {
						t.Errorf("%s resumed a session", side)
					}
				}
			})
		}
	}
}

// TestRoundTrip checks data both ways and half-close: the client writes and
// half-closes, the server reads to EOF and then answers, and the client reads
// the answer to EOF.
func TestRoundTrip(t *testing.T) {
	request := bytes.Repeat([]byte("ferry request "), 100_000) // 1.4 MB: many TLS records
	response := []byte("ferry response")
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			_, r := handshake(t, tr.pair, handshakeArgs{})
			if r.clientErr != nil || r.serverErr != nil {
				t.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
			}
			deadline := time.Now().Add(watchdog)
			for _, c := range []*Conn{r.client, r.server} {
				if err := c.SetDeadline(deadline); err != nil {
					t.Fatal(err)
				}
			}
			serverDone := make(chan error, 1)
			go func() {
				got, err := io.ReadAll(r.server)
				if err != nil {
					serverDone <- err
					return
				}
				if !bytes.Equal(got, request) {
					serverDone <- errors.New("server read a different request")
					return
				}
				if _, err := r.server.Write(response); err != nil {
					serverDone <- err
					return
				}
				serverDone <- r.server.CloseWrite()
			}()
			if _, err := r.client.Write(request); err != nil {
				t.Fatal(err)
			}
			if err := r.client.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.client.Write([]byte("x")); err == nil {
				t.Error("Write after CloseWrite succeeded")
			}
			got, err := io.ReadAll(r.client)
			if err != nil {
				t.Fatalf("client read: %v", err)
			}
			if !bytes.Equal(got, response) {
				t.Errorf("client read %q, want %q", got, response)
			}
			if err := <-serverDone; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

// TestManInTheMiddle: the client wants B, but the stream leads to C.
func TestManInTheMiddle(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			b, c := newID(t), newID(t)
			_, r := handshake(t, tr.pair, handshakeArgs{serverID: c, expect: b.ID})
			if r.client != nil {
				t.Fatal("client accepted the wrong peer")
			}
			var mismatch *PeerMismatchError
			if !errors.As(r.clientErr, &mismatch) {
				t.Fatalf("client err = %v, want a *PeerMismatchError", r.clientErr)
			}
			if mismatch.Expected != b.ID || mismatch.Actual != c.ID {
				t.Errorf("mismatch = %v/%v, want %v/%v", mismatch.Expected, mismatch.Actual, b.ID, c.ID)
			}
			msg := r.clientErr.Error()
			want := "peer id mismatch: expected " + b.ID.String() + ", saw " + c.ID.String()
			if !strings.Contains(msg, want) {
				t.Errorf("client err = %q, want it to contain %q", msg, want)
			}
			if r.serverErr == nil {
				t.Error("server handshake succeeded after the client rejected it")
			}
		})
	}
}

func TestServerAccept(t *testing.T) {
	errUnknown := errors.New("unknown peer")
	tests := []struct {
		name    string
		verdict error
	}{
		{"accepted", nil},
		{"refused", errUnknown},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				var asked []sdk.PeerID
				a, r := handshake(t, tr.pair, handshakeArgs{
					accept: func(p sdk.PeerID) error {
						asked = append(asked, p)
						return tt.verdict
					},
					clientReads: tt.verdict != nil,
				})
				if len(asked) != 1 || asked[0] != a.clientID.ID {
					t.Errorf("accept asked about %v, want [%v]", asked, a.clientID.ID)
				}
				if tt.verdict == nil {
					if r.clientErr != nil || r.serverErr != nil {
						t.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
					}
					return
				}
				if r.server != nil {
					t.Fatal("server returned a connection for a refused peer")
				}
				if !errors.Is(r.serverErr, ErrPeerRefused) || !errors.Is(r.serverErr, errUnknown) {
					t.Errorf("server err = %v, want ErrPeerRefused and the accept error", r.serverErr)
				}
				if !strings.Contains(r.serverErr.Error(), a.clientID.ID.String()) {
					t.Errorf("server err = %v, want it to name the client", r.serverErr)
				}
				// TLS 1.3: the client's handshake is over before the server
				// refuses; its first read must fail, and not with a clean EOF.
				if r.clientErr == nil {
					if err := r.clientReadErr; err == nil || errors.Is(err, io.EOF) {
						t.Errorf("client read after refusal: err = %v, want the server's alert", err)
					}
				}
			})
		}
	}
}

func TestSelfConnect(t *testing.T) {
	t.Run("client expects itself", func(t *testing.T) {
		self := newID(t)
		cs, _ := pipePair(t)
		_, err := Client(testCtx(t), cs, self, self.ID, []string{"p"})
		if !errors.Is(err, ErrSelfConnect) {
			t.Fatalf("err = %v, want ErrSelfConnect", err)
		}
		assertClosed(t, cs)
	})
	for _, tr := range transports {
		t.Run("stream loops back/"+tr.name, func(t *testing.T) {
			self := newID(t)
			_, r := handshake(t, tr.pair, handshakeArgs{clientID: self, serverID: self, expect: newID(t).ID})
			if !errors.Is(r.clientErr, ErrSelfConnect) {
				t.Errorf("client err = %v, want ErrSelfConnect", r.clientErr)
			}
			if r.serverErr == nil {
				t.Error("server accepted itself")
			}
		})
	}
}

func TestNoCommonProtocol(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			_, r := handshake(t, tr.pair, handshakeArgs{
				clientProtos: []string{"ferry/a", "ferry/b"},
				serverProtos: []string{"ferry/c"},
			})
			for side, err := range map[string]error{"client": r.clientErr, "server": r.serverErr} {
				if !errors.Is(err, ErrNoProtocol) {
					t.Errorf("%s err = %v, want ErrNoProtocol", side, err)
				}
			}
			if r.serverErr != nil {
				msg := r.serverErr.Error()
				for _, want := range []string{`["ferry/a" "ferry/b"]`, `["ferry/c"]`} {
					if !strings.Contains(msg, want) {
						t.Errorf("server err %q does not name %s", msg, want)
					}
				}
			}
			if r.clientErr != nil && !strings.Contains(r.clientErr.Error(), `["ferry/a" "ferry/b"]`) {
				t.Errorf("client err %q does not name its offer", r.clientErr)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	id, peer := newID(t), newID(t)
	tests := []struct {
		name      string
		stream    bool
		id        *identity.Identity
		expect    sdk.PeerID
		protocols []string
		want      error // nil: any error
	}{
		{"nil stream", false, id, peer.ID, []string{"p"}, nil},
		{"nil identity", true, nil, peer.ID, []string{"p"}, nil},
		{"identity without key", true, &identity.Identity{ID: id.ID}, peer.ID, []string{"p"}, nil},
		{"no protocols", true, id, peer.ID, nil, ErrNoProtocol},
		{"empty protocol id", true, id, peer.ID, []string{"p", ""}, nil},
		{"long protocol id", true, id, peer.ID, []string{strings.Repeat("p", 256)}, nil},
		{"zero expected id", true, id, sdk.PeerID{}, []string{"p"}, sdk.ErrInvalidPeerID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs, ss sdk.Stream
			if tt.stream {
				cs, ss = pipePair(t)
			}
			_, cerr := Client(testCtx(t), cs, tt.id, tt.expect, tt.protocols)
			errs := []error{cerr}
			if tt.want != sdk.ErrInvalidPeerID { // the server has no expected id
				_, serr := Server(testCtx(t), ss, tt.id, nil, tt.protocols)
				errs = append(errs, serr)
			}
			for _, err := range errs {
				if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			}
			if tt.stream {
				assertClosed(t, cs)
				assertClosed(t, ss)
			}
		})
	}
}

// TestContextCancel runs each side against a peer that never answers, and
// cancels the context.
func TestContextCancel(t *testing.T) {
	for _, tr := range transports {
		for _, side := range []string{"client", "server"} {
			t.Run(tr.name+"/"+side, func(t *testing.T) {
				ours, _ := tr.pair(t) // the other end stays silent
				id := newID(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() {
					var err error
					if side == "client" {
						_, err = Client(ctx, ours, id, newID(t).ID, []string{"p"})
					} else {
						_, err = Server(ctx, ours, id, nil, []string{"p"})
					}
					done <- err
				}()
				time.Sleep(20 * time.Millisecond) // let the handshake start
				cancel()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("err = %v, want context.Canceled", err)
					}
				case <-time.After(watchdog):
					t.Fatal("handshake did not end after cancel")
				}
				assertClosed(t, ours)
			})
		}
	}
}

// assertClosed checks that s was closed by the code under test.
func assertClosed(t *testing.T, s sdk.Stream) {
	t.Helper()
	_ = s.SetWriteDeadline(time.Now().Add(time.Second)) // an open pipe would block
	if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("stream not closed: Write error = %v", err)
	}
}
