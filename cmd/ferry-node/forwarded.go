package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"

	"github.com/ferry-p2p/ferry/core/api/forward"
)

// forwardedRunner runs the command lines the ferry front sends to this
// daemon (package forward), for the Ferry home home: each in an app of its
// own whose output goes back to the front, whose relative paths are taken
// from the front's working folder, and whose environment is the front's
// with FERRY_HOME set to this daemon's home. These commands reach the node
// through the daemon's API, as they do from a process of their own
// (forward.Serve refuses any other command line). A command that panics
// fails alone, as its own process would, and the daemon goes on.
func (a *app) forwardedRunner(home string) forward.Runner {
	return func(ctx context.Context, req forward.Request, stdout, stderr io.Writer) (code int) {
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("a command line from the ferry front panicked", "args", strings.Join(req.Args, " "), "panic", v, "stack", string(debug.Stack()))
				fmt.Fprintf(stderr, "ferry: internal error running %q in the daemon: %v (the daemon's log has the details)\n", strings.Join(req.Args, " "), v)
				code = 2
			}
		}()
		env := make([]string, 0, len(req.Env)+1)
		for _, kv := range req.Env {
			if !strings.HasPrefix(kv, "FERRY_HOME=") {
				env = append(env, kv)
			}
		}
		sub := &app{
			stdout:   &remoteTerminal{Writer: stdout, term: req.Stdout},
			stderr:   &console{w: &remoteTerminal{Writer: stderr, term: req.Stderr}, tty: req.Stderr.TTY},
			env:      append(env, "FERRY_HOME="+home),
			dir:      req.Dir,
			inDaemon: true,
		}
		a.log.Debug("command line from the ferry front", "args", strings.Join(req.Args, " "), "dir", req.Dir)
		root := sub.rootCommand()
		root.SetArgs(req.Args)
		return exitStatus(root.ExecuteContext(ctx), sub.stderr)
	}
}

// remoteTerminal is an output stream of the front: a terminal there when
// term says so.
type remoteTerminal struct {
	io.Writer
	term forward.Terminal
}

// IsTerminal reports whether the stream is a terminal at the front.
func (r *remoteTerminal) IsTerminal() bool { return r.term.TTY }

// barWriter is the progress bars' console writer for a terminal at the
// front: mpb's own, made to draw as on a terminal of the front's size
// (mpb asks the size of the terminal behind a file; this one has no file).
type barWriter struct {
	*cupwriter.Writer
	width, height int
}

func (b *barWriter) IsTerminal() bool { return true }

func (b *barWriter) GetTermSize() (int, int, error) { return b.width, b.height, nil }

// barOptions are the container options that draw bars on out: none for a
// terminal of this process; for a terminal at the front, its size.
func barOptions(out io.Writer) []mpb.ContainerOption {
	r, ok := out.(*remoteTerminal)
	if !ok || !r.term.TTY {
		return nil
	}
	w, h := r.term.Width, r.term.Height
	if w <= 0 {
		w = 80
	}
	if h <= 0 {
		h = 24
	}
	return []mpb.ContainerOption{mpb.WithConsoleWriter(&barWriter{Writer: cupwriter.New(out, true), width: w, height: h})}
}
