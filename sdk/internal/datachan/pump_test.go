package datachan

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// unixPair returns the two ends of a fresh stream socketpair.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fa, fb, err := SocketPair(syscall.SOCK_STREAM)
	if err != nil {
		t.Fatal(err)
	}
	a, err := fileUnixConn(fa)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fileUnixConn(fb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a, b
}

// yamuxPair returns the two ends of one stream of a fresh yamux session.
func yamuxPair(t *testing.T) (*yamux.Stream, *yamux.Stream) {
	t.Helper()
	ca, cb := unixPair(t)
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	client, err := yamux.Client(ca, cfg)
	if err != nil {
		t.Fatal(err)
	}
	server, err := yamux.Server(cb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	accepted := make(chan *yamux.Stream, 1)
	go func() {
		s, err := server.AcceptStream()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- s
	}()
	a, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	// yamux announces a stream with its first data frame.
	if _, err := a.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	b, ok := <-accepted
	if !ok {
		t.Fatal("accept stream failed")
	}
	if _, err := io.ReadFull(b, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// pumpDone runs pump(a, b) and returns a channel closed when it returns.
func pumpDone(a, b net.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		pump(a, b)
		close(done)
	}()
	return done
}

func waitPump(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pump did not return")
	}
}

// TestPumpHalfClose checks that bytes and half-closes cross the pump both
// ways, between two kernel sockets and between a socket and a yamux stream
// (whose Close is its half-close).
func TestPumpHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		pair func(t *testing.T) (net.Conn, net.Conn)
	}{
		{"socket", func(t *testing.T) (net.Conn, net.Conn) { a, b := unixPair(t); return a, b }},
		{"yamux", func(t *testing.T) (net.Conn, net.Conn) { a, b := yamuxPair(t); return a, b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			left, a := unixPair(t)
			b, right := tc.pair(t)
			done := pumpDone(a, b)
			halfClose := func(c net.Conn) error {
				if cw, ok := c.(interface{ CloseWrite() error }); ok {
					return cw.CloseWrite()
				}
				return c.Close()
			}
			if _, err := left.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := halfClose(left); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(right)
			if err != nil || string(got) != "hello" {
				t.Fatalf("right read %q, %v; want hello and EOF", got, err)
			}
			if _, err := right.Write([]byte("world")); err != nil {
				t.Fatalf("right could not write after its peer's half-close: %v", err)
			}
			if err := halfClose(right); err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(left)
			if err != nil || string(got) != "world" {
				t.Fatalf("left read %q, %v; want world and EOF", got, err)
			}
			waitPump(t, done)
		})
	}
}

// TestPumpDrainsAfterBreak checks that when one side breaks, a writer on
// the other side does not block on a full yamux window: the pump keeps
// reading the yamux stream to its end.
func TestPumpDrainsAfterBreak(t *testing.T) {
	left, a := unixPair(t)
	b, right := yamuxPair(t)
	done := pumpDone(a, b)
	_ = left.Close() // the socket's peer is gone: writes into a fail
	wrote := make(chan error, 1)
	go func() {
		// Far more than yamux's 256 KiB window and the socket buffers.
		_, err := right.Write(bytes.Repeat([]byte{'x'}, 16<<20))
		if err == nil {
			err = right.Close()
		}
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatalf("write into the yamux stream: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer into the yamux stream blocked after the other side broke")
	}
	waitPump(t, done)
}
