package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/secure"
)

// nominateByte is what the initiator writes on a secured stream to choose
// it, and what the responder writes back to confirm. Several transports
// may secure at once; the two sides must agree on one (ICE's nomination
// by the controlling agent): the initiator nominates, the responder
// confirms only the first stream nominated, and the others are closed.
// A version-1 peer neither nominates nor confirms.
const nominateByte = 0x01

// errNotChosen ends a responder leg whose stream was not nominated.
var errNotChosen = errors.New("not nominated: the initiator chose another transport")

// nominate is the initiator's side: write the nomination and wait for the
// confirmation, which also proves that the responder accepted our
// certificate (in TLS 1.3 the client's handshake ends before that).
func nominate(ctx context.Context, c *secure.Conn, timeout time.Duration) error {
	stop := deadline(ctx, c, timeout)
	defer stop()
	if _, err := c.Write([]byte{nominateByte}); err != nil {
		return fmt.Errorf("nominate: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return fmt.Errorf("nominate: no confirmation: %w", err)
	}
	if b[0] != nominateByte {
		return fmt.Errorf("nominate: confirmation byte %#x, want %#x", b[0], nominateByte)
	}
	return nil
}

// claim is shared by a responder's legs: the first to be nominated wins.
type claim struct {
	mu  sync.Mutex
	won bool
}

// confirm is the responder's side: wait for the nomination and, if no other
// stream was chosen first, confirm it.
func (cl *claim) confirm(ctx context.Context, c *secure.Conn, timeout time.Duration) error {
	stop := deadline(ctx, c, timeout)
	defer stop()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return errNotChosen
		}
		return fmt.Errorf("wait for nomination: %w", err)
	}
	if b[0] != nominateByte {
		return fmt.Errorf("nomination byte %#x, want %#x", b[0], nominateByte)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.won {
		return errNotChosen
	}
	if _, err := c.Write([]byte{nominateByte}); err != nil {
		return fmt.Errorf("confirm nomination: %w", err)
	}
	cl.won = true
	return nil
}

// deadline bounds c's I/O by timeout and by ctx, and returns the function
// that lifts both bounds.
func deadline(ctx context.Context, c *secure.Conn, timeout time.Duration) (stop func()) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	undo := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	return func() {
		undo()
		_ = c.SetDeadline(time.Time{})
	}
}
