package lifecycle

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Conversation is the stream of one protocol call, as the side that
// writes through a buffer and reads the peer's answers in a goroutine of
// its own sees it: a Send, typically.
type Conversation struct {
	// Name and Op prefix errors: "ftv2a", "send". REQUIRED.
	Name, Op string
	// Stream is the call's stream. REQUIRED.
	Stream sdk.Stream
	// Writer buffers the writes to Stream. REQUIRED.
	Writer *bufio.Writer
}

// Run runs the conversation: read, the reading half, in a goroutine of
// its own, where it must return once quit is closed or a read fails; and
// talk, the rest, in the caller's. While they run, a ctx that ends closes
// the stream, so that blocked reads and writes return. Once talk
// returned, Run stops read (closes quit and sets the stream's read
// deadline in the past), waits for it and clears the deadline. It
// returns talk's error, or, when ctx ended meanwhile, [Err] of ctx.
func (c Conversation) Run(ctx context.Context, read func(quit <-chan struct{}), talk func() error) error {
	err := c.run(ctx, read, talk)
	if err != nil && ctx.Err() != nil {
		return c.Err(ctx)
	}
	return err
}

// Err is the error of the call once ctx ended: [Err] of ctx, the
// call's name and op, so that a call ended by Close reports
// sdk.ErrClosed.
func (c Conversation) Err(ctx context.Context) error {
	return Err(ctx, c.Name, c.Op)
}

func (c Conversation) run(ctx context.Context, read func(quit <-chan struct{}), talk func() error) error {
	stopClose := context.AfterFunc(ctx, func() { _ = c.Stream.Close() })
	defer stopClose()
	quit := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		read(quit)
	}()
	defer func() {
		close(quit)
		_ = c.Stream.SetReadDeadline(time.Unix(1, 0))
		<-stopped
		_ = c.Stream.SetReadDeadline(time.Time{})
	}()
	return talk()
}

// IOErr is the error of a read or write on a connection whose deadline
// ctx's end set (with context.AfterFunc, say): err, with ctx's error in
// front once ctx has ended, so that the caller sees the cancel and not
// only the timeout it caused.
func IOErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// Pump is the loop of a reading half (see [Conversation.Run]): it sends
// each item next reads on out, until quit is closed or next reports that
// its item, sent like the others, is the last (the read failed).
func Pump[T any](out chan<- T, quit <-chan struct{}, next func() (item T, last bool)) {
	for {
		item, last := next()
		select {
		case out <- item:
		case <-quit:
			return
		}
		if last {
			return
		}
	}
}

// Finish ends the writing side once everything is said: it flushes the
// buffer and closes the stream's write side.
func (c Conversation) Finish() error {
	if err := c.Writer.Flush(); err != nil {
		return fmt.Errorf("%s: %s: %w", c.Name, c.Op, err)
	}
	if err := c.Stream.CloseWrite(); err != nil {
		return fmt.Errorf("%s: %s: close the write side: %w", c.Name, c.Op, err)
	}
	return nil
}

// Farewell ends the writing side of a call that gives up, as well as the
// stream allows within timeout, so that a peer that stopped reading
// cannot hold it: it flushes what the buffer holds and closes the
// stream's write side, ignoring errors. The peer keeps what it has.
func (c Conversation) Farewell(timeout time.Duration) {
	_ = c.Stream.SetWriteDeadline(time.Now().Add(timeout))
	_ = c.Writer.Flush()
	_ = c.Stream.CloseWrite()
	_ = c.Stream.SetWriteDeadline(time.Time{})
}
