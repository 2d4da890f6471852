package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve listens on a Unix socket in a temporary folder and serves run on
// it until the test ends; it returns the socket's path.
func serve(t *testing.T, run Runner) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cli.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, run) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func request(args ...string) Request {
	return Request{Args: args, Dir: "/", Env: []string{"A=1"}}
}

// TestRun: output arrives in the order written, on the stream it was
// written to, with the command's exit status; the request arrives whole.
func TestRun(t *testing.T) {
	var got Request
	sock := serve(t, func(_ context.Context, req Request, stdout, stderr io.Writer) int {
		got = req
		fmt.Fprint(stdout, "one ")
		fmt.Fprint(stderr, "warning\n")
		fmt.Fprint(stdout, "two\n")
		return 3
	})
	var out, errb bytes.Buffer
	req := request("status", "--json")
	req.Stdout = Terminal{TTY: true, Width: 120, Height: 40}
	code, err := Run(context.Background(), sock, req, &out, &errb, nil)
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want 3, nil", code, err)
	}
	if out.String() != "one two\n" || errb.String() != "warning\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
	if strings.Join(got.Args, " ") != "status --json" || got.Dir != "/" || got.V != Version || got.Stdout.Width != 120 || !got.Stdout.TTY {
		t.Errorf("the daemon got %+v", got)
	}
}

// TestInterrupt: Ctrl-C at the front cancels the command's context; what
// the command prints then still arrives, and so does its exit status.
func TestInterrupt(t *testing.T) {
	started := make(chan struct{})
	sock := serve(t, func(ctx context.Context, _ Request, stdout, _ io.Writer) int {
		close(started)
		<-ctx.Done()
		fmt.Fprintln(stdout, "interrupted; the transfer goes on")
		return 130
	})
	interrupts := make(chan struct{}, 1)
	go func() {
		<-started
		interrupts <- struct{}{}
	}()
	var out bytes.Buffer
	code, err := Run(context.Background(), sock, request("peers", "--watch"), &out, io.Discard, interrupts)
	if err != nil || code != 130 || !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("Run = %d, %v, output %q; want 130 and the interrupt's line", code, err, out.String())
	}
}

// TestFrontGone: a front that goes away cancels its command.
func TestFrontGone(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	sock := serve(t, func(ctx context.Context, _ Request, stdout, _ io.Writer) int {
		fmt.Fprintln(stdout, "running")
		close(started)
		<-ctx.Done()
		close(cancelled)
		return 1
	})
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := Run(ctx, sock, request("send", "x", "--to", "y"), &syncWriter{}, io.Discard, nil)
		res <- err
	}()
	<-started
	cancel() // the front's context: Run closes the connection
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the command was not cancelled when its front went away")
	}
	<-res
}

// TestNotServed: nothing runs, and the error says so (ErrNotServed), when
// no daemon listens or the daemon refuses the request.
func TestNotServed(t *testing.T) {
	ran := false
	var mu sync.Mutex
	sock := serve(t, func(context.Context, Request, io.Writer, io.Writer) int {
		mu.Lock()
		ran = true
		mu.Unlock()
		return 0
	})
	cases := []struct {
		name   string
		socket string
		req    Request
		want   string
	}{
		{"no socket", filepath.Join(t.TempDir(), "none.sock"), request("status"), "no such file"},
		{"not a forwarded command", sock, request("receive"), "not a command the daemon runs"},
		{"a relative working folder", sock, Request{Args: []string{"status"}, Dir: "home/me"}, "not absolute"},
		{"no command", sock, request(), "not a command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.socket, c.req, io.Discard, io.Discard, nil)
			if !errors.Is(err, ErrNotServed) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run: %v; want ErrNotServed saying %q", err, c.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if ran {
		t.Error("a refused command line ran")
	}
}

// TestBadRequests: a connection that sends garbage, another version or
// nothing at all gets a refusal (or is dropped), and the daemon goes on
// serving.
func TestBadRequests(t *testing.T) {
	sock := serve(t, func(_ context.Context, _ Request, stdout, _ io.Writer) int {
		fmt.Fprint(stdout, "ok")
		return 0
	})
	for _, raw := range []string{"not json\n", `{"v":99,"args":["status"],"dir":"/"}` + "\n", `{"v":1,"args":"status"}` + "\n", ""} {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte(raw))
		if raw == "" {
			_ = c.(*net.UnixConn).CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(requestWait + 5*time.Second))
		reply, _ := io.ReadAll(c)
		_ = c.Close()
		if !strings.Contains(string(reply), `"refused"`) {
			t.Errorf("request %q: reply %q, want a refusal", raw, reply)
		}
	}
	var out bytes.Buffer
	if code, err := Run(context.Background(), sock, request("status"), &out, io.Discard, nil); err != nil || code != 0 || out.String() != "ok" {
		t.Errorf("after bad requests: %d, %v, %q", code, err, out.String())
	}
}

// TestForwardable: only the commands that talk to the daemon are
// forwarded; global flags before them are understood, anything else is
// left to the full program.
func TestForwardable(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"send", "a.txt", "--to", "laptop"}, true},
		{[]string{"--config", "f.yaml", "status"}, true},
		{[]string{"--config=f.yaml", "--log-level", "debug", "peers", "--watch"}, true},
		{[]string{"config", "reload"}, true},
		{[]string{"accept"}, true},
		{[]string{"refuse", "--reason", "later"}, true},
		{[]string{"resume", "abc"}, true},
		{[]string{"cancel", "abc"}, true},
		{[]string{"config", "check"}, false},
		{[]string{"config"}, false},
		{[]string{"config", "--config", "x", "reload"}, false},
		{[]string{"receive"}, false},
		{[]string{"daemon"}, false},
		{[]string{"id"}, false},
		{[]string{"--help"}, false},
		{[]string{"-v", "send"}, false},
		{[]string{"--", "send"}, false},
		{[]string{"--config"}, false},
		{nil, false},
	}
	for _, c := range cases {
		if got := Forwardable(c.args); got != c.want {
			t.Errorf("Forwardable(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// FuzzRequest: whatever a connection begins with, the daemon either
// refuses it with a reason or takes a request it may run (a forwarded
// command, an absolute working folder, this wire version), and never
// panics.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"v":1,"args":["status"],"dir":"/"}` + "\n"))
	f.Add([]byte(`{"v":1,"args":["send","x","--to","y"],"dir":"/tmp","env":["A=1"],"stdout":{"tty":true,"width":80}}` + "\n{\"interrupt\":true}\n"))
	f.Add([]byte(`{"v":1,"args":["--config","c","receive"],"dir":"/"}`))
	f.Add([]byte("{}\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, why := readRequest(json.NewDecoder(bytes.NewReader(data)))
		if why == "" && (!Forwardable(req.Args) || !filepath.IsAbs(req.Dir) || req.V != Version) {
			t.Errorf("would run %+v", req)
		}
	})
}

// syncWriter is a writer safe for concurrent use that keeps nothing.
type syncWriter struct{ mu sync.Mutex }

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(p), nil
}
