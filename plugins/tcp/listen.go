package tcp

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
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
		// Admitting may close the oldest pending connections; it never
		// refuses this one unless the transport is closing.
		p, err := t.gate.Admit(c)
		if err != nil {
			return // closed: the gate closed c
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			p.Release()
			_ = c.Close()
			return
		}
		t.handshakes[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.handshake(c, p)
	}
}

// refused logs an inbound connection closed before it was handed to a
// session: at most one line per reason and source address every
// lograte.DefaultEvery, with the count of those left out.
func (t *Transport) refused(remote net.Addr, reason string, err error) {
	src := connlimit.Source(remote)
	n, ok := t.drops.Allow(reason+"\x00"+src.String(), time.Now())
	if !ok {
		return
	}
	args := []any{"remote", remote.String(), "reason", reason}
	if err != nil {
		args = append(args, "err", err)
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	t.log.Info("tcp: refused inbound connection", args...)
}

// handshake reads an inbound connection's hello, matches its token to a
// responder session, acks it and hands it to the session. Any failure
// closes the connection with a log line.
func (t *Transport) handshake(c *net.TCPConn, p *connlimit.Pending) {
	defer t.wg.Done()
	handed := false
	defer func() {
		p.Release()
		t.mu.Lock()
		delete(t.handshakes, c)
		t.mu.Unlock()
		if !handed {
			_ = c.Close()
		}
	}()
	remote := c.RemoteAddr().String()
	refuse := func(reason string, err error) {
		if gerr := p.Err(); gerr != nil {
			reason, err = "closed while pending", gerr // evicted or out of time
		}
		t.refused(c.RemoteAddr(), reason, err)
	}

	// The gate closes c at the handshake deadline; the read deadline
	// makes the read fail then too, with a clearer error.
	_ = c.SetDeadline(time.Now().Add(t.handshakeTimeout()))
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
	// A valid token of a waiting session: no longer counted as pending.
	if !p.Authenticate() {
		t.mu.Lock()
		if t.byToken[token] == s {
			s.fulfilled = false // let another attempt win
		}
		t.mu.Unlock()
		refuse("closed while pending", p.Err())
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

// handshakeTimeout returns the handshake_timeout option.
func (t *Transport) handshakeTimeout() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg.limits.HandshakeTimeout
}
