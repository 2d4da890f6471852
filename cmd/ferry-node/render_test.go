package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestRetryLines: each retry is one line that says what it waits for (the
// connection lost mid-transfer, the peer offline, another failure), when
// it tries again, which attempt that is and until when; the state lines
// of the attempts in between are not printed, and the connection that
// resumes the transfer is.
func TestRetryLines(t *testing.T) {
	until := time.Date(2026, 12, 5, 12, 3, 0, 0, time.Local)
	var out bytes.Buffer
	r := newRenderer(&out, io.Discard, false)
	ev := func(e node.Event) {
		e.PeerName, e.Transfer = "bob", "t1"
		r.event(e)
	}
	ev(node.Event{Kind: node.EventState, State: "connected", Transport: "tcp", Message: "first"})
	ev(node.Event{Kind: node.EventFile, File: "a.bin", Total: 200 << 20})
	r.get("t1").total = 200 << 20
	ev(node.Event{Kind: node.EventProgress, File: "a.bin", Bytes: 80 << 20, Total: 200 << 20})
	steps := []struct {
		e    node.Event
		want string // "" = no line
	}{
		{node.Event{Kind: node.EventRetry, Code: node.CodeOffline, Message: "EOF", Attempt: 2, WaitMS: 500, Until: until}, "[bob] connection to bob lost at 40%; retrying in 500ms (attempt 2, until 12:03:00)"},
		{node.Event{Kind: node.EventState, State: "discovering"}, ""},
		{node.Event{Kind: node.EventRetry, Code: node.CodeOffline, Message: "not found", Attempt: 3, WaitMS: 1000, Until: until}, "[bob] bob offline; retrying in 1s (attempt 3, until 12:03:00)"},
		{node.Event{Kind: node.EventState, State: "signaling"}, ""},
		{node.Event{Kind: node.EventRetry, Code: node.CodeFailed, Message: "no route", Attempt: 4, WaitMS: 4000, Until: until}, "[bob] could not reach bob (no route); retrying in 4s (attempt 4, until 12:03:00)"},
		{node.Event{Kind: node.EventState, State: "connected", Transport: "tcp", Message: "again"}, "[bob] connected over tcp (again)"},
	}
	for _, st := range steps {
		out.Reset()
		ev(st.e)
		got := strings.TrimSuffix(out.String(), "\n")
		if got != st.want {
			t.Errorf("%s %s: printed %q, want %q", st.e.Kind, st.e.State, got, st.want)
		}
	}
}

// TestPausedLine: an interrupted transfer is said in one line, with the
// part held and how it goes on, on either side; a second report of the
// same interruption prints nothing.
func TestPausedLine(t *testing.T) {
	cases := []struct {
		name    string
		offered bool
		want    string
	}{
		{"receiver", true, "[alice] paused at 19% (38.0 of 200.0 MiB received); resumes when alice sends again\n"},
		{"sender", false, "[alice] paused at 19% (38.0 of 200.0 MiB sent); run `ferry resume 3f9a1c2e` or send again\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			r := newRenderer(&out, io.Discard, false)
			id := "3f9a1c2e00000000000000000000000f"
			if tc.offered {
				r.event(node.Event{Kind: node.EventOffer, PeerName: "alice", Transfer: id, Files: 1, Total: 200 << 20})
			} else {
				r.event(node.Event{Kind: node.EventAccepted, PeerName: "alice", Transfer: id, Files: 1, Total: 200 << 20})
			}
			r.event(node.Event{Kind: node.EventFile, PeerName: "alice", Transfer: id, File: "f", Total: 200 << 20})
			r.event(node.Event{Kind: node.EventProgress, PeerName: "alice", Transfer: id, File: "f", Bytes: 38 << 20, Total: 200 << 20})
			out.Reset()
			r.event(node.Event{Kind: node.EventError, PeerName: "alice", Transfer: id, Code: node.CodeCancelled, Message: "context canceled"})
			if !r.interrupted(id, "alice") {
				t.Error("interrupted: the output does not say it")
			}
			if out.String() != tc.want {
				t.Errorf("printed %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// TestRateAfterResume: the rate counts only the bytes moved in this run,
// not the part a resumed transfer held before, both in the percent lines
// and in the receiver's closing line.
func TestRateAfterResume(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := newRenderer(&out, io.Discard, false)
	id := "3f9a1c2e00000000000000000000000f"
	ev := func(e node.Event) {
		e.PeerName, e.Transfer = "alice", id
		r.event(e)
	}
	ev(node.Event{Kind: node.EventOffer, Time: t0, Files: 1, Total: 200 << 20})
	ev(node.Event{Kind: node.EventFile, Time: t0, File: "f", Offset: 100 << 20, Total: 200 << 20})
	ev(node.Event{Kind: node.EventProgress, Time: t0.Add(5 * time.Second), File: "f", Bytes: 150 << 20, Total: 200 << 20})
	ev(node.Event{Kind: node.EventVerified, Time: t0.Add(10 * time.Second), File: "f", Total: 200 << 20})
	ev(node.Event{Kind: node.EventDone, Time: t0.Add(10 * time.Second), Files: 1, Total: 200 << 20})
	for _, want := range []string{
		"70% (150.0 MiB of 200.0 MiB), 10.0 MiB/s",
		"every file verified; received 100.0 MiB in 10.0s (10.0 MiB/s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLogsAboveBars: while bars are drawn, a log line written to the
// console and a text line of the renderer are printed above the bars,
// each on a line of its own, and the bars are gone before the done line.
func TestLogsAboveBars(t *testing.T) {
	screen := &syncBuffer{}
	con := &console{w: screen, tty: true}
	r := newRenderer(screen, con, false)
	r.tty, r.outTTY = true, true
	r.bars.opts = []mpb.ContainerOption{mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithWidth(120)}
	ev := func(e node.Event) {
		e.PeerName, e.Transfer, e.Time = "bob", "t1", time.Now()
		r.event(e)
	}
	ev(node.Event{Kind: node.EventAccepted, Files: 1, Total: 64 << 20})
	ev(node.Event{Kind: node.EventFile, File: "f.bin", Total: 64 << 20})
	for i := int64(1); i <= 4; i++ {
		ev(node.Event{Kind: node.EventProgress, File: "f.bin", Bytes: i * 8 << 20, Total: 64 << 20})
		if i == 2 {
			if _, err := con.Write([]byte("time=now level=WARN msg=\"a log line\"\n")); err != nil {
				t.Fatal(err)
			}
			ev(node.Event{Kind: node.EventState, State: "securing"})
		}
		time.Sleep(250 * time.Millisecond) // a frame or so each
	}
	ev(node.Event{Kind: node.EventVerified, File: "f.bin", Total: 64 << 20})
	ev(node.Event{Kind: node.EventDone, Files: 1, Total: 64 << 20})
	lines := screenLines(screen.String())
	var logAt, stateAt, bars, doneAt int
	for i, l := range lines {
		isBar := barLine.MatchString(l) || strings.Contains(l, "% [")
		switch {
		case strings.Contains(l, "a log line"):
			logAt = i
		case strings.Contains(l, "] securing"):
			stateAt = i
		case strings.Contains(l, "] done:"):
			doneAt = i
		case isBar:
			bars++
		}
		if isBar && (strings.Contains(l, "level=") || strings.Contains(l, "[bob]")) {
			t.Errorf("a line drawn through a bar: %q", l)
		}
	}
	if bars == 0 || logAt == 0 || stateAt == 0 || doneAt == 0 {
		t.Fatalf("bars %d, log line at %d, state line at %d, done at %d; the screen:\n%s", bars, logAt, stateAt, doneAt, strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[logAt], "time=") || !strings.HasPrefix(lines[stateAt], "[bob]") {
		t.Errorf("lines not at the start of a line: %q, %q", lines[logAt], lines[stateAt])
	}
	// What the terminal shows at the end: the log and state lines kept,
	// no bar left, the done line last.
	final := finalScreen(screen.String())
	if got := strings.Join(final, "\n"); strings.Contains(got, "% [") || !strings.Contains(got, "a log line") || !strings.Contains(got, "[bob] securing") {
		t.Errorf("the screen at the end:\n%s\nwant the log and state lines and no bar", got)
	}
	if last := final[len(final)-1]; !strings.Contains(last, "] done:") {
		t.Errorf("last line %q, want the done line after the bars are gone", last)
	}
	// Once the bars are down, the console writes straight through.
	if _, err := con.Write([]byte("after\n")); err != nil || !strings.HasSuffix(screen.String(), "after\n") {
		t.Errorf("console after the bars: %v, screen ends %q", err, screen.String()[max(0, len(screen.String())-20):])
	}
}
