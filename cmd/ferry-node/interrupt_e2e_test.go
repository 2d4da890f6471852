package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestInterruptSaysPaused presses Ctrl-C (the terminal's ^C, so the whole
// foreground process group gets SIGINT, as a user's would) on either side
// of a 1 GiB transfer once a tenth has moved, and checks that the side
// interrupted prints one line saying how far it got and how the transfer
// goes on, and no error, no `context canceled` and no log text.
func TestInterruptSaysPaused(t *testing.T) {
	bin := binDir(t)
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, src, 1<<30, 23)
	// A tenth or more on a bar: the transfer is under way.
	underWay := regexp.MustCompile(`\b[1-9]\d % \[`)

	cases := []struct {
		name   string
		run    func(t *testing.T, a, b *testPeer, idB, dst string) *ttyProc
		paused *regexp.Regexp
		exit   int
	}{
		{
			name: "receiver",
			run: func(t *testing.T, a, b *testPeer, idB, dst string) *ttyProc {
				recv := b.startTTY("receive", "--yes", "--dir", dst)
				recv.waitFor("the receiver's start", regexp.MustCompile(`receiving as`), 30*time.Second)
				a.start(nil, "send", src, "--to", idB, "--json", "--retry-for", "2s")
				recv.waitFor("a tenth received", underWay, 60*time.Second)
				return recv
			},
			paused: regexp.MustCompile(`^\[\S+\] paused at \d+% \(\d+\.\d of 1024\.0 MiB received\); resumes when \S+ sends again$`),
			exit:   0,
		},
		{
			name: "sender",
			run: func(t *testing.T, a, b *testPeer, idB, dst string) *ttyProc {
				startReceiver(t, b, dst, "--yes")
				send := a.startTTY("send", src, "--to", idB)
				send.waitFor("a tenth sent", underWay, 60*time.Second)
				return send
			},
			paused: regexp.MustCompile("^\\[\\S+\\] paused at \\d+% \\(\\d+\\.\\d of 1024\\.0 MiB sent\\); run `ferry resume [0-9a-f]{8}` or send again$"),
			exit:   exitInterrupted,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newNode(t, bin), newNode(t, bin)
			idB := b.id()
			p := tc.run(t, a, b, idB, t.TempDir())
			if _, err := p.tty.Write([]byte{0x03}); err != nil { // ^C
				t.Fatal(err)
			}
			err := p.wait(30 * time.Second)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			lines := screenLines(p.out.String())
			t.Logf("the %s's terminal:\n%s", tc.name, strings.Join(lines, "\n"))
			if code != tc.exit {
				t.Errorf("exit status %d, want %d", code, tc.exit)
			}
			paused := 0
			for _, l := range lines {
				if tc.paused.MatchString(l) {
					paused++
				}
				if logLine.MatchString(l) || strings.Contains(l, "context canceled") || strings.Contains(l, "error") {
					t.Errorf("after Ctrl-C: %q", l)
				}
			}
			if paused != 1 {
				t.Errorf("%d lines match %s, want one", paused, tc.paused)
			}
		})
	}
}
