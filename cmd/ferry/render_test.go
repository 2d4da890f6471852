package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

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
