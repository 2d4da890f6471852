package main

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// console is standard error as the logs (the core's and the plugins') and
// the progress bars share it: while bars are drawn, a write is printed
// above them instead of through them.
type console struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	above io.Writer // the bars' container while bars are drawn
}

func newConsole(f *os.File) *console {
	return &console{w: f, tty: term.IsTerminal(int(f.Fd()))}
}

// Write prints p above the bars when bars are drawn, else as is.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	above := c.above
	c.mu.Unlock()
	if above != nil {
		if n, err := above.Write(p); err == nil {
			return n, nil
		}
		// The bars were just taken down: write directly.
	}
	return c.w.Write(p)
}

// divert sends writes to w (printing above the bars) until it is called
// with nil.
func (c *console) divert(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.above = w
}

// isTerminal reports whether w is a terminal (a console on one, a
// terminal's file, or a terminal at the ferry front).
func isTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case *console:
		return w.tty
	case *os.File:
		return term.IsTerminal(int(w.Fd()))
	case interface{ IsTerminal() bool }:
		return w.IsTerminal()
	}
	return false
}
