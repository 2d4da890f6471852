package forward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// ErrNotServed is returned by [Run] when the command line was not taken:
// no daemon listens on the socket (its file is missing, or left behind by a
// daemon that was killed), or the daemon refused the request. Nothing ran;
// the front runs the command itself.
var ErrNotServed = errors.New("no daemon took the command line")

// Run sends req to the daemon listening on the Unix socket at socket,
// copies the command's output to stdout and stderr as it comes, and
// returns its exit status. Each value received on interrupts asks the
// daemon to interrupt the command (Ctrl-C); its output then goes on until
// it ends. An error wrapping [ErrNotServed] means nothing ran.
func Run(ctx context.Context, socket string, req Request, stdout, stderr io.Writer, interrupts <-chan struct{}) (int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotServed, err)
	}
	defer conn.Close()
	// The front's end (its context) is the connection's: the daemon then
	// cancels the command.
	defer context.AfterFunc(ctx, func() { _ = conn.Close() })()
	req.V = Version
	var mu sync.Mutex // one writer of lines at a time
	enc := json.NewEncoder(conn)
	if err := enc.Encode(req); err != nil {
		return 0, fmt.Errorf("%w: send the command line: %w", ErrNotServed, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-interrupts:
				mu.Lock()
				_ = enc.Encode(Control{Interrupt: true})
				mu.Unlock()
			}
		}
	}()
	dec := json.NewDecoder(conn)
	for {
		var f Frame
		if err := dec.Decode(&f); err != nil {
			// The command may have started (a send may be under way in
			// the daemon): running it again here could do it twice.
			return 0, fmt.Errorf("the daemon went away before the command ended: %w", err)
		}
		switch {
		case f.Refused != "":
			return 0, fmt.Errorf("%w: the daemon refused it: %s", ErrNotServed, f.Refused)
		case f.Exit != nil:
			return *f.Exit, nil
		case f.Stdout != nil:
			if _, err := stdout.Write(f.Stdout); err != nil {
				return 0, fmt.Errorf("write output: %w", err)
			}
		case f.Stderr != nil:
			_, _ = stderr.Write(f.Stderr)
		}
	}
}
