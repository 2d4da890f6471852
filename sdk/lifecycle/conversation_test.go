package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// tcpPair returns a connected loopback TCP pair, closed when the test
// ends.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// TestConversation: read runs beside talk and is stopped when talk
// returns, even while blocked in a read; Finish flushes and ends the
// write side; the stream stays usable.
func TestConversation(t *testing.T) {
	a, b := tcpPair(t)
	c := Conversation{Name: "demo", Op: "send", Stream: a, Writer: bufio.NewWriter(a)}
	readStopped := false
	err := c.Run(context.Background(), func(quit <-chan struct{}) {
		_, _ = a.Read(make([]byte, 1)) // blocks: the peer says nothing
		<-quit
		readStopped = true
	}, func() error {
		if _, err := c.Writer.WriteString("hello"); err != nil {
			return err
		}
		return c.Finish()
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !readStopped {
		t.Error("Run returned before read did")
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "hello" {
		t.Errorf("the peer read %q, %v; want hello, then EOF", got, err)
	}
	if err := a.SetReadDeadline(time.Time{}); err != nil {
		t.Errorf("stream unusable after Run: %v", err)
	}
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Read(make([]byte, 1)); n != 1 {
		t.Errorf("a read after Run: %d, %v; want the read deadline cleared", n, err)
	}
}

// TestConversationCancel: a ctx that ends closes the stream, so that a
// blocked talk returns, and Run reports the context's cause.
func TestConversationCancel(t *testing.T) {
	a, _ := tcpPair(t)
	c := Conversation{Name: "demo", Op: "send", Stream: a, Writer: bufio.NewWriter(a)}
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(20*time.Millisecond, func() { cancel(sdk.ErrClosed) })
	err := c.Run(ctx, func(quit <-chan struct{}) { <-quit }, func() error {
		_, err := a.Read(make([]byte, 1)) // blocks until the stream closes
		return err
	})
	if !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Run after ctx ended with cause ErrClosed: %v", err)
	}
	if err := c.Finish(); err == nil {
		t.Error("Finish on a closed stream succeeded")
	}
}

// TestFarewell: the peer reads what was buffered, then EOF, and a
// Farewell to a peer that does not read returns within its timeout.
func TestFarewell(t *testing.T) {
	a, b := tcpPair(t)
	c := Conversation{Name: "demo", Op: "send", Stream: a, Writer: bufio.NewWriter(a)}
	_, _ = c.Writer.WriteString("bye")
	c.Farewell(time.Second)
	if got, err := io.ReadAll(b); err != nil || string(got) != "bye" {
		t.Errorf("the peer read %q, %v; want bye, then EOF", got, err)
	}

	a, _ = tcpPair(t)
	c = Conversation{Name: "demo", Op: "send", Stream: a, Writer: bufio.NewWriterSize(a, 32<<20)}
	_, _ = c.Writer.Write(make([]byte, 32<<20)) // more than the socket buffers hold
	start := time.Now()
	c.Farewell(100 * time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Farewell to a peer that does not read took %v", d)
	}
}

// TestPump: every item reaches out in order, the last one included, and
// Pump then returns; a closed quit ends it while out is not read.
func TestPump(t *testing.T) {
	out := make(chan int, 10)
	n := 0
	Pump(out, nil, func() (int, bool) {
		n++
		return n, n == 3
	})
	close(out)
	var got []int
	for v := range out {
		got = append(got, v)
	}
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("Pump sent %v, want [1 2 3]", got)
	}

	quit := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		Pump(make(chan int), quit, func() (int, bool) { return 0, false })
	}()
	close(quit)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("Pump blocked on an unread channel after quit closed")
	}
}

func TestIOErr(t *testing.T) {
	timeout := errors.New("i/o timeout")
	if err := IOErr(context.Background(), timeout); err != timeout {
		t.Errorf("IOErr with a live context = %v, want the error as it is", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := IOErr(ctx, timeout)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, timeout) || err.Error() != "context canceled (i/o timeout)" {
		t.Errorf("IOErr after cancel = %v, want both errors, the context's first", err)
	}
}
