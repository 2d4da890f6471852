package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// linkRun is a running `ferry account link`.
type linkRun struct {
	code     string
	out, err *syncBuffer
	done     chan error
}

// startLink runs `ferry account link` with extra flags on the key holder
// and returns once it printed its code.
func startLink(t *testing.T, holder *testPeer, extra ...string) *linkRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := holder.cmd(ctx, append([]string{"account", "link"}, extra...)...)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	l := &linkRun{out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	c.Stdout, c.Stderr = l.out, l.err
	if err := c.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { l.done <- c.Wait() }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-l.done:
			l.done <- err
		case <-time.After(15 * time.Second):
			t.Error("ferry account link did not stop")
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if line, _, ok := strings.Cut(l.out.String(), "\n"); ok {
			code, found := strings.CutPrefix(line, "link code: ")
			if !found {
				t.Fatalf("account link's first line %q", line)
			}
			l.code = code
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("account link printed no code\nstderr:\n%s", l.err.String())
		}
	}
}

// wait waits for link to exit and returns its error.
func (l *linkRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-l.done:
		l.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("account link did not exit\nstdout:\n%s\nstderr:\n%s", l.out.String(), l.err.String())
		return nil
	}
}

// wrongCode returns code with its secret changed.
func wrongCode(code string) string {
	b := []byte(code)
	i := len(b) - 1
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestLinkOverLAN: a device joins the account with the code the key holder
// shows, found over the LAN. Wrong codes fail with the same message as any
// failure, and after --tries of them the code is burned (link exits 1 and
// the right code no longer works); a code used once fails on a later link
// session; the joined device's certificate is of the holder's account.
func TestLinkOverLAN(t *testing.T) {
	bin := binDir(t)
	holder, phone, tablet := newNode(t, bin), newNode(t, bin), newNode(t, bin)
	if _, errs, err := holder.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s", err, errs)
	}
	acct := holder.accountOf()

	// Two wrong codes burn the code.
	l := startLink(t, holder, "--tries", "2", "--valid-for", "60s")
	for i := range 2 {
		_, errs, err := phone.run("account", "join", wrongCode(l.code), "--name", "phone")
		if err == nil || !strings.Contains(errs, "link failed: wrong, used or expired code") {
			t.Fatalf("wrong code %d: %v\n%s\nlink stderr:\n%s", i+1, err, errs, l.err.String())
		}
	}
	var ee *exec.ExitError
	if err := l.wait(t); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(l.err.String(), "burned") {
		t.Fatalf("link after two wrong codes: %v\nstderr:\n%s", err, l.err.String())
	}
	if _, _, err := phone.run("account", "join", l.code, "--name", "phone", "--find-timeout", "2s"); err == nil {
		t.Fatal("a burned code linked a device")
	}
	if _, _, err := phone.run("account", "show"); err == nil {
		t.Fatal("the phone is in an account after wrong codes")
	}

	// The right code links the phone; the code then cannot be used again.
	l = startLink(t, holder, "--valid-for", "60s")
	if out, errs, err := phone.run("account", "join", l.code, "--name", "phone"); err != nil {
		t.Fatalf("join: %v\n%s%s", err, out, errs)
	}
	if err := l.wait(t); err != nil || !strings.Contains(l.out.String(), `linked "phone"`) {
		t.Fatalf("link: %v\n%s%s", err, l.out.String(), l.err.String())
	}
	if got := phone.accountOf(); got != acct {
		t.Fatalf("the phone joined %s, want %s", got, acct)
	}
	used := l.code
	l = startLink(t, holder, "--valid-for", "60s")
	if _, errs, err := tablet.run("account", "join", used, "--name", "tablet"); err == nil || !strings.Contains(errs, "link failed") {
		t.Fatalf("a used code: %v\n%s", err, errs)
	}
	if _, errs, err := tablet.run("account", "join", l.code, "--name", "tablet"); err != nil {
		t.Fatalf("join with the new code: %v\n%s", err, errs)
	}
	out, _, err := holder.run("account", "devices")
	if err != nil || !contains(out, "desk (this device)", "phone", "tablet") {
		t.Fatalf("account devices: %v\n%s", err, out)
	}
}

// TestLinkOverDHT: the same link with the lan plugin disabled: the joiner
// looks the holder up through the DHT (--via) and the exchange travels as
// DHT signaling.
func TestLinkOverDHT(t *testing.T) {
	bin := binDir(t)
	boot := startBootstrap(t, bin)
	root, _ := filepath.Abs("../..")
	env := []string{"FERRY_CONFIG=" + filepath.Join(root, "configs", "dht-loopback.yaml"), "FERRY_DHT_BOOTSTRAP=" + boot}
	holder, phone := newNode(t, bin, env...), newNode(t, bin, env...)
	if _, errs, err := holder.run("account", "create", "--name", "desk"); err != nil {
		t.Fatalf("account create: %v\n%s", err, errs)
	}
	idHolder := holder.id()
	l := startLink(t, holder, "--tries", "1", "--valid-for", "90s")
	if _, errs, err := phone.run("account", "join", l.code, "--via", idHolder, "--name", "phone", "--find-timeout", "30s"); err != nil {
		t.Fatalf("join over the DHT: %v\n%s", err, errs)
	}
	if err := l.wait(t); err != nil {
		t.Fatalf("link: %v\n%s", err, l.err.String())
	}
	if phone.accountOf() != holder.accountOf() {
		t.Fatal("the phone is not in the holder's account")
	}
}
