package forward

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// requestWait bounds how long a connection may take to send its request.
const requestWait = 10 * time.Second

// Runner runs one command line and returns its exit status. It writes the
// command's output to stdout and stderr, each safe for concurrent use.
// ctx is cancelled when the front interrupts the command (Ctrl-C) or goes
// away.
type Runner func(ctx context.Context, req Request, stdout, stderr io.Writer) int

// Serve runs the command lines of the fronts that connect to l, each with
// run, until ctx ends: then it closes l, cancels the commands still
// running and returns once they have returned. l must be the Unix socket
// in the Ferry home (mode 0600), never a network listener: a command line
// names local files.
func Serve(ctx context.Context, l net.Listener, run Runner) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("command line socket: %w", err)
		}
		wg.Go(func() { serveConn(ctx, conn, run) })
	}
}

// serveConn runs the command line of one connection.
func serveConn(ctx context.Context, conn net.Conn, run Runner) {
	defer conn.Close()
	fw := &frameWriter{enc: json.NewEncoder(conn)}
	dec := json.NewDecoder(conn)
	_ = conn.SetReadDeadline(time.Now().Add(requestWait))
	req, why := readRequest(dec)
	if why != "" {
		fw.write(Frame{Refused: why})
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The front's control lines; the end of its side (it went away, or
	// this side closed the connection) cancels the command too.
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		for {
			var c Control
			if err := dec.Decode(&c); err != nil {
				cancel()
				return
			}
			if c.Interrupt {
				cancel()
			}
		}
	}()
	code := run(cctx, req, stream{fw, false}, stream{fw, true})
	fw.write(Frame{Exit: &code})
	fw.close()
	_ = conn.Close()
	<-watching
}

// readRequest decodes the request a connection begins with, and says why
// it is not run here, or "" to run it.
func readRequest(dec *json.Decoder) (Request, string) {
	var req Request
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Sprintf("bad command line request: %v", err)
	}
	return req, check(req)
}

// check says why req is not run here, or "" to run it.
func check(req Request) string {
	switch {
	case req.V != Version:
		return fmt.Sprintf("wire version %d, this daemon speaks %d", req.V, Version)
	case !filepath.IsAbs(req.Dir):
		return fmt.Sprintf("working folder %q is not absolute", req.Dir)
	case !Forwardable(req.Args):
		return fmt.Sprintf("%q is not a command the daemon runs", strings.Join(req.Args, " "))
	}
	return ""
}

// frameWriter writes frames to the connection, one at a time, until it is
// closed: output written after the command returned (a goroutine's late
// log line) is dropped.
type frameWriter struct {
	mu     sync.Mutex
	enc    *json.Encoder
	closed bool
	failed error
}

func (f *frameWriter) write(fr Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.failed != nil {
		return
	}
	if err := f.enc.Encode(fr); err != nil {
		// The front went away: the command's context is cancelled by
		// the reader, and the rest of its output has no reader.
		f.failed = err
	}
}

func (f *frameWriter) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// stream is the command's standard output or standard error.
type stream struct {
	f      *frameWriter
	stderr bool
}

// Write sends p as a frame; it is encoded before Write returns, so p is
// not kept.
func (s stream) Write(p []byte) (int, error) {
	if s.stderr {
		s.f.write(Frame{Stderr: p})
	} else {
		s.f.write(Frame{Stdout: p})
	}
	return len(p), nil
}
