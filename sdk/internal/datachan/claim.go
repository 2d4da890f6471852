package datachan

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// unclaimedTimeout is how long a stream delivered on the data channel waits
// for the RPC that names it before it is closed.
const unclaimedTimeout = 30 * time.Second

// deliver hands an arrival to whoever waits for its id, or keeps it for
// unclaimedTimeout.
func (dc *Channel) deliver(id uint64, c io.Closer) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if ch, ok := dc.wait[id]; ok {
		delete(dc.wait, id)
		ch <- c
		return
	}
	if _, dup := dc.ready[id]; dup {
		_ = c.Close()
		return
	}
	dc.ready[id] = c
	time.AfterFunc(unclaimedTimeout, func() {
		dc.mu.Lock()
		defer dc.mu.Unlock()
		if r, ok := dc.ready[id]; ok && r == c {
			delete(dc.ready, id)
			_ = c.Close()
		}
	})
}

// claim waits for stream id to arrive.
func (dc *Channel) claim(ctx context.Context, id uint64) (io.Closer, error) {
	dc.mu.Lock()
	if c, ok := dc.ready[id]; ok {
		delete(dc.ready, id)
		dc.mu.Unlock()
		return c, nil
	}
	ch := make(chan io.Closer, 1)
	dc.wait[id] = ch
	dc.mu.Unlock()
	select {
	case c := <-ch:
		return c, nil
	case <-dc.closed:
		return nil, fmt.Errorf("data channel: stream %d: %w", id, sdk.ErrPluginExited)
	case <-ctx.Done():
		dc.mu.Lock()
		delete(dc.wait, id)
		dc.mu.Unlock()
		select {
		case c := <-ch:
			_ = c.Close()
		default:
		}
		return nil, fmt.Errorf("data channel: waiting for stream %d: %w", id, ctx.Err())
	}
}

// ClaimAs waits for what the other side sent under id and checks that it is
// a T (an sdk.Stream, a net.Conn, an *os.File...); anything else is closed.
// It fails with an error wrapping sdk.ErrPluginExited when the channel is
// gone first, and with ctx's error when ctx ends first.
func ClaimAs[T any](ctx context.Context, dc *Channel, id uint64) (T, error) {
	var zero T
	c, err := dc.claim(ctx, id)
	if err != nil {
		return zero, err
	}
	v, ok := c.(T)
	if !ok {
		_ = c.Close()
		return zero, fmt.Errorf("data channel: %d arrived as %T, want %T", id, c, zero)
	}
	return v, nil
}
