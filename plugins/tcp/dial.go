package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// dialOrder orders a peer's addresses for the staggered race: IPv6 and
// IPv4 interleaved, IPv6 first, each family in its given order, then DNS
// names; duplicates are dropped.
func dialOrder(addrs []string) []string {
	var v6, v4, names []string
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		switch addrFamily(a) {
		case family6:
			v6 = append(v6, a)
		case family4:
			v4 = append(v4, a)
		default:
			names = append(names, a)
		}
	}
	out := make([]string, 0, len(seen))
	for i := 0; i < max(len(v6), len(v4)); i++ {
		if i < len(v6) {
			out = append(out, v6[i])
		}
		if i < len(v4) {
			out = append(out, v4[i])
		}
	}
	return append(out, names...)
}

// dial races connection attempts to the peer's addresses in dialOrder: the
// first starts at once, each next one after stagger or as soon as an
// earlier attempt fails. The first acked connection wins and the others are
// cancelled; Connect returns only once every attempt has ended.
func (t *Transport) dial(ctx context.Context, d description, stagger time.Duration) (*net.TCPConn, error) {
	addrs := dialOrder(d.addrs)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends when dctx does, at the latest when dial returns
		select {
		case <-t.done:
			cancel()
		case <-dctx.Done():
		}
	}()

	type result struct {
		i   int
		c   *net.TCPConn
		err error
	}
	results := make(chan result, len(addrs))
	errs := make([]error, len(addrs))
	next, running := 0, 0
	start := func() {
		i := next
		next++
		running++
		go func() {
			c, err := t.attempt(dctx, addrs[i], d.token)
			results <- result{i, c, err}
		}()
	}
	start()
	timer := time.NewTimer(stagger)
	defer timer.Stop()
	var won *net.TCPConn
	for running > 0 {
		more := won == nil && next < len(addrs) && dctx.Err() == nil
		var tick <-chan time.Time
		if more {
			tick = timer.C
		}
		select {
		case r := <-results:
			running--
			switch {
			case r.err != nil:
				errs[r.i] = r.err
				if more {
					start()
					timer.Reset(stagger)
				}
			case won == nil:
				won = r.c
				cancel()
			default:
				_ = r.c.Close() // the responder acks once; never expected
			}
		case <-tick:
			start()
			timer.Reset(stagger)
		}
	}
	if won != nil {
		return won, nil
	}
	select {
	case <-t.done:
		return nil, fmt.Errorf("tcp: connect: %w", sdk.ErrClosed)
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tcp: connect: %w", err)
	}
	de := &dialError{}
	for i, err := range errs {
		if err != nil {
			de.addrs = append(de.addrs, addrs[i])
			de.errs = append(de.errs, err)
		}
	}
	return nil, fmt.Errorf("tcp: connect: %w", de)
}

// attempt dials one address and runs the initiator's side of the
// handshake: send the hello with the responder's token, wait for the ack.
func (t *Transport) attempt(ctx context.Context, addr string, token [tokenLen]byte) (*net.TCPConn, error) {
	dialer := net.Dialer{KeepAlive: keepAlive}
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" && oe.Err != nil {
			err = oe.Err // the address is in dialError already
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	c, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, fmt.Errorf("dial: got %T, want *net.TCPConn", nc)
	}
	deadline := time.Now().Add(helloTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*net.TCPConn, error) {
		stop()
		_ = c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}

	hello := makeHello(token)
	if _, err := c.Write(hello[:]); err != nil {
		return fail(fmt.Errorf("send hello: %w", err))
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(errors.New("refused: closed without ack (token unknown to the listener, or its session already connected)"))
		}
		return fail(fmt.Errorf("wait for ack: %w", err))
	}
	if ack[0] != ackByte {
		return fail(fmt.Errorf("bad ack byte %#02x", ack[0]))
	}
	if !stop() {
		return fail(ctx.Err()) // cancelled as the ack came: deadline is spoilt
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fail(fmt.Errorf("clear deadline: %w", err))
	}
	return c, nil
}

// dialError lists every address an initiator tried and why each failed.
type dialError struct {
	addrs []string
	errs  []error
}

func (e *dialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d addresses failed: ", len(e.addrs))
	for i, a := range e.addrs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a)
		b.WriteString(": ")
		b.WriteString(e.errs[i].Error())
	}
	return b.String()
}

func (e *dialError) Unwrap() []error { return e.errs }
