package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/home"
)

// TestFrontForwards: with a daemon running, the ferry front runs the
// commands that talk to it inside the daemon, without ferry-node: a front
// copied alone into a folder sends a file named relative to its working
// folder, lists transfers and watches peers until Ctrl-C, while a command
// it does not forward (ferry id) and any command for a home without a
// daemon fail to find ferry-node there, naming it. The command line socket
// is 0600 like the API's.
func TestFrontForwards(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	dst := t.TempDir()
	b.start(nil, "receive", "--yes", "--dir", dst)
	a.startDaemon()

	st, err := os.Stat(filepath.Join(a.home, home.CLISocketName))
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Errorf("command line socket: %v; want a socket of mode 0600", err)
	}

	lonely := filepath.Join(t.TempDir(), "ferry")
	copyFile(t, filepath.Join(bin, "ferry"), lonely)
	wd := t.TempDir()
	writeRandom(t, filepath.Join(wd, "note.txt"), 4096, 5)
	front := func(ctx context.Context, h string, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, lonely, args...)
		c.Env = append(append([]string{}, a.env...), "FERRY_HOME="+h)
		c.Dir = wd
		return c
	}
	run := func(h string, args ...string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		c := front(ctx, h, args...)
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		return out.String(), errb.String(), err
	}

	out, errs, err := run(a.home, "send", "note.txt", "--to", idB)
	if err != nil || !strings.Contains(out, "through the daemon") {
		t.Fatalf("front send of a relative path: %v\n%s%s", err, out, errs)
	}
	if got, want := treeHashes(t, dst)["note.txt"], treeHashes(t, wd)["note.txt"]; got == "" || got != want {
		t.Errorf("received %q, want %q", got, want)
	}
	if out, errs, err := run(a.home, "status"); err != nil || !strings.Contains(out, "no unfinished transfers") {
		t.Errorf("front status: %v\n%s%s", err, out, errs)
	}
	if _, errs, err := run(a.home, "send", "missing.txt", "--to", idB); err == nil || !strings.Contains(errs, "missing.txt") {
		t.Errorf("front send of a missing file: %v\n%s; want a failure naming it", err, errs)
	}

	// Ctrl-C reaches the command in the daemon, which ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watch := front(ctx, a.home, "peers", "--watch")
	var wout syncBuffer
	watch.Stdout, watch.Stderr = &wout, &wout
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := watch.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- watch.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Errorf("peers --watch after Ctrl-C: %v\n%s", err, wout.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("peers --watch went on for 20s after Ctrl-C\n%s", wout.String())
	}

	// What the daemon does not run, the front hands to ferry-node, which
	// is not beside this copy.
	for _, c := range []struct {
		home string
		args []string
	}{
		{a.home, []string{"id"}},
		{b.home, []string{"status"}}, // b runs no daemon
	} {
		if _, errs, err := run(c.home, c.args...); err == nil || !strings.Contains(errs, "ferry-node") {
			t.Errorf("front %v in a folder without ferry-node: %v\n%s; want a failure naming ferry-node", c.args, err, errs)
		}
	}
}

// copyFile copies the file src to dst (which must not exist), executable.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFrontTerminal: a send through the daemon from a terminal draws the
// same progress bars a send of its own draws, sized to the front's
// terminal (the daemon's process has none), and clears them at the end.
func TestFrontTerminal(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src, dst := t.TempDir(), t.TempDir()
	writeRandom(t, filepath.Join(src, "big.bin"), 150<<20, 19)
	b.start(nil, "receive", "--yes", "--dir", dst)
	a.startDaemon()

	send := a.startTTY("send", filepath.Join(src, "big.bin"), "--to", idB)
	if err := send.wait(120 * time.Second); err != nil {
		t.Fatalf("send: %v; the terminal shows:\n%s", err, send.out.String())
	}
	lines := screenLines(send.out.String())
	t.Logf("the front's terminal:\n%s", strings.Join(lines, "\n"))
	bars := 0
	for _, l := range lines {
		if barLine.MatchString(l) {
			bars++
		}
		if len([]rune(l)) > 120 {
			t.Errorf("a line wider than the front's 120-column terminal: %q", l)
		}
	}
	if bars == 0 {
		t.Error("no progress bar with MiB and a rate on the front's terminal")
	}
	final := finalScreen(send.out.String())
	if strings.Contains(strings.Join(final, "\n"), "% [") {
		t.Errorf("a bar left on the screen at the end:\n%s", strings.Join(final, "\n"))
	}
	if last := final[len(final)-1]; !regexp.MustCompile(`^sent 150\.0 MiB in \d+\.\ds \(\d+\.\d MiB/s\)`).MatchString(last) {
		t.Errorf("the last line %q is not the closing line", last)
	}
	if got, want := treeHashes(t, dst)["big.bin"], treeHashes(t, src)["big.bin"]; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
}
