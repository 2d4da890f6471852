package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ttyProc is a ferry process on a pseudo-terminal of its own, with all it
// wrote recorded.
type ttyProc struct {
	t    *testing.T
	tty  *os.File // the terminal's master side
	out  *syncBuffer
	done chan error // the process's exit
}

// startTTY runs ferry with args on a 120×40 pseudo-terminal (stdin,
// stdout and stderr); the test's cleanup stops it and closes the terminal.
func (n *testPeer) startTTY(args ...string) *ttyProc {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := n.cmd(ctx, args...)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		cancel()
		n.t.Fatalf("start ferry %v on a terminal: %v", args, err)
	}
	p := &ttyProc{t: n.t, tty: f, out: &syncBuffer{}, done: make(chan error, 1)}
	copied := make(chan struct{})
	go func() {
		// Ends when the terminal closes (EIO once the process is gone).
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			k, err := f.Read(buf)
			_, _ = p.out.Write(buf[:k])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := c.Wait()
		<-copied
		p.done <- err
	}()
	n.t.Cleanup(func() {
		cancel()
		select {
		case err := <-p.done:
			p.done <- err
		case <-time.After(15 * time.Second):
			n.t.Errorf("ferry %v did not stop", args)
		}
		_ = f.Close()
	})
	return p
}

// waitFor waits until the screen output so far matches re.
func (p *ttyProc) waitFor(what string, re *regexp.Regexp, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !re.MatchString(p.out.String()) {
		select {
		case err := <-p.done:
			p.done <- err
			p.t.Fatalf("ferry exited (%v) before %s; it wrote:\n%s", err, what, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s within %s; the terminal shows:\n%s", what, timeout, p.out.String())
		}
	}
}

// wait waits for the process to exit and returns its error.
func (p *ttyProc) wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(timeout):
		p.t.Fatalf("ferry did not exit within %s; the terminal shows:\n%s", timeout, p.out.String())
		return nil
	}
}

// ansi matches terminal control sequences (cursor moves, line clears).
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// screenLines splits terminal output into the lines and redrawn frames it
// showed: control sequences removed, split at \n and \r.
func screenLines(out string) []string {
	out = ansi.ReplaceAllString(out, "\n")
	var lines []string
	for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimRight(l, " "); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// csi matches the control sequences the bars use: cursor up (A) and
// erase to the end of the screen (J), with anything else ignored.
var csi = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

// finalScreen plays terminal output the way a terminal shows it (lines,
// carriage returns, cursor up, erase below) and returns the lines left on
// the screen at the end: what the user sees once the command is done.
func finalScreen(out string) []string {
	lines := []string{""}
	row := 0
	for i := 0; i < len(out); {
		if m := csi.FindStringSubmatch(out[i:]); m != nil {
			switch m[2] {
			case "A":
				n, _ := strconv.Atoi(m[1])
				row = max(row-max(n, 1), 0)
				lines[row] = ""
			case "J":
				lines = lines[:row+1]
				lines[row] = ""
			}
			i += len(m[0])
			continue
		}
		switch c := out[i]; c {
		case '\n':
			row++
			if row == len(lines) {
				lines = append(lines, "")
			}
		case '\r':
			// The next text overwrites the line; bars redraw whole lines.
			if i+1 < len(out) && out[i+1] != '\n' {
				lines[row] = ""
			}
		default:
			lines[row] += string(c)
		}
		i++
	}
	var shown []string
	for _, l := range lines {
		if l = strings.TrimRight(l, " "); l != "" {
			shown = append(shown, l)
		}
	}
	return shown
}

var (
	// logLine matches a line of log text, in either log format.
	logLine = regexp.MustCompile(`level=|"level":|\[(DEBUG|INFO|WARN|ERROR)\]|^time=`)
	// barLine matches a progress bar frame with a rate.
	barLine = regexp.MustCompile(`\d+ % \[[=>-]+\] .*MiB / .*MiB +\d+\.\d [KMG]iB/s`)
	// sentLine matches the sender's closing line.
	sentLine = regexp.MustCompile(`sent 150\.0 MiB in (\d+\.\d)s \((\d+\.\d) MiB/s\); (\d+\.\d)s waiting for the receiver to accept`)
)

// TestTerminalProgress records both sides of a 150 MiB transfer on
// pseudo-terminals with the real binaries. The receiver answers the
// prompt 2 s after it appears. Both sides must draw bars with MiB and a
// rate, print no log text, start every text line on a line of its own (no
// line glued to a bar), and the sender's closing line must give a rate that
// leaves out the 2 s of waiting, which it names apart.
func TestTerminalProgress(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src, dst := t.TempDir(), t.TempDir()
	writeRandom(t, filepath.Join(src, "big.bin"), 150<<20, 17)

	recv := b.startTTY("receive", "--dir", dst)
	recv.waitFor("the receiver's start", regexp.MustCompile(`receiving as`), 30*time.Second)

	const wait = 2 * time.Second
	began := time.Now()
	send := a.startTTY("send", filepath.Join(src, "big.bin"), "--to", idB)
	recv.waitFor("the question", regexp.MustCompile(`\[y/N/a\] `), 30*time.Second)
	time.Sleep(wait) // the time the sender waits for an answer
	if _, err := recv.tty.Write([]byte("y\r")); err != nil {
		t.Fatal(err)
	}
	if err := send.wait(60 * time.Second); err != nil {
		t.Fatalf("send: %v; the terminal shows:\n%s", err, send.out.String())
	}
	whole := time.Since(began)
	recv.waitFor("the receiver's done line", regexp.MustCompile(`done: 1 file\(s\)`), 10*time.Second)

	for _, side := range []struct {
		name string
		p    *ttyProc
	}{{"sender", send}, {"receiver", recv}} {
		lines := screenLines(side.p.out.String())
		t.Logf("%s's terminal:\n%s", side.name, strings.Join(lines, "\n"))
		bars := 0
		for _, l := range lines {
			if logLine.MatchString(l) {
				t.Errorf("%s: log text on the terminal: %q", side.name, l)
			}
			if barLine.MatchString(l) {
				bars++
			}
			if i := strings.Index(l, "["); i > 0 && strings.Contains(l, "%") && regexp.MustCompile(`\] (verified|done)`).MatchString(l[i:]) {
				t.Errorf("%s: a text line glued to a bar: %q", side.name, l)
			}
		}
		if bars == 0 {
			t.Errorf("%s: no progress bar with MiB and a rate; the terminal shows:\n%s", side.name, strings.Join(lines, "\n"))
		}
		// Cleared properly: once done, no bar is left on the screen.
		if final := strings.Join(finalScreen(side.p.out.String()), "\n"); strings.Contains(final, "% [") {
			t.Errorf("%s: a bar left on the screen at the end:\n%s", side.name, final)
		}
	}

	final := finalScreen(send.out.String())
	last := final[len(final)-1]
	m := sentLine.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the sender's last line %q is not the closing line with rate and waiting time", last)
	}
	secs, _ := strconv.ParseFloat(m[1], 64)
	rate, _ := strconv.ParseFloat(m[2], 64)
	waited, _ := strconv.ParseFloat(m[3], 64)
	if waited < wait.Seconds() {
		t.Errorf("waiting time %.1fs, but the receiver answered after %s", waited, wait)
	}
	if secs+waited > whole.Seconds()+0.1 {
		t.Errorf("%.1fs sending + %.1fs waiting is more than the whole command's %.1fs", secs, waited, whole.Seconds())
	}
	// The rate is the bytes over the sending time alone (to the rounding of
	// the printed seconds), not over sending plus waiting.
	lo, hi := 150/(secs+0.05), 150/max(secs-0.05, 0.001)
	if rate < lo*0.99 || rate > hi*1.01 {
		t.Errorf("rate %.1f MiB/s is not 150 MiB over %.1fs", rate, secs)
	}
	if withWait := 150 / (secs + waited); rate <= withWait {
		t.Errorf("rate %.1f MiB/s counts the waiting (150 MiB over %.1fs is %.1f)", rate, secs+waited, withWait)
	}

	if rl := screenLines(recv.out.String()); !regexp.MustCompile(`every file verified; received 150\.0 MiB in \d+\.\ds \(\d+\.\d MiB/s\)`).MatchString(strings.Join(rl, "\n")) {
		t.Errorf("the receiver's done line gives no rate; the terminal shows:\n%s", strings.Join(rl, "\n"))
	}
	if got := treeHashes(t, dst); len(got) != 1 {
		t.Errorf("received %v, want big.bin alone", got)
	}
}
