package tcp

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// acceptLoop accepts connections on l until l is closed (by Close or a
// re-Configure) and runs a handshake for each.
func (t *Transport) acceptLoop(l *listener) {
	defer t.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: retry, slower each time.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.log.Warn("tcp: accept failed", "listen", l.bound.addr.String(), "err", err, "retry_in", backoff)
			timer := time.NewTimer(backoff)
			select {
			case <-t.done:
				timer.Stop()
				return
			case <-timer.C:
			}
			continue
		}
		backoff = 0
		t.mu.Lock()
		switch {
		case t.closed:
			t.mu.Unlock()
			_ = c.Close()
			return
		case len(t.handshakes) >= maxHandshakes:
			t.mu.Unlock()
			t.log.Warn("tcp: refused inbound connection", "remote", c.RemoteAddr().String(), "reason", "too many pending handshakes")
			_ = c.Close()
			continue
		}
		t.handshakes[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.handshake(c)
	}
}

// handshake reads an inbound connection's hello, matches its token to a
// responder session, acks it and hands it to the session. Any failure
// closes the connection with a log line.
func (t *Transport) handshake(c *net.TCPConn) {
	defer t.wg.Done()
	handed := false
	defer func() {
		t.mu.Lock()
		delete(t.handshakes, c)
		t.mu.Unlock()
		if !handed {
			_ = c.Close()
		}
	}()
	remote := c.RemoteAddr().String()
	refuse := func(reason string, err error) {
		args := []any{"remote", remote, "reason", reason}
		if err != nil {
			args = append(args, "err", err)
		}
		t.log.Info("tcp: refused inbound connection", args...)
	}

	_ = c.SetDeadline(time.Now().Add(helloTimeout))
	var hello [helloLen]byte
	// Read exactly the hello from the socket itself: no byte beyond it
	// may sit in a buffer when the connection becomes a stream.
	if _, err := io.ReadFull(c, hello[:]); err != nil {
		refuse("reading hello", err)
		return
	}
	token, err := parseHello(hello[:])
	if err != nil {
		refuse("bad hello", err)
		return
	}

	t.mu.Lock()
	s := t.byToken[token]
	reason := ""
	switch {
	case s == nil:
		reason = "unknown token"
	case s.role != sdk.Responder:
		reason = "token of an initiator session"
	case s.fulfilled:
		reason = "session already has its connection"
	default:
		s.fulfilled = true
	}
	t.mu.Unlock()
	if reason != "" {
		refuse(reason, nil)
		return
	}

	if _, err := c.Write([]byte{ackByte}); err != nil {
		t.mu.Lock()
		if t.byToken[token] == s {
			s.fulfilled = false // let another attempt win
		}
		t.mu.Unlock()
		refuse("sending ack", err)
		return
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		refuse("clearing deadline", err)
		return
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.handshakes, c)
	if t.closed || t.byToken[token] != s {
		t.log.Info("tcp: dropped acked connection: session ended meanwhile", "remote", remote)
		return
	}
	s.conn = c
	close(s.arrived)
	handed = true
}
