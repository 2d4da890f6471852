package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestSendSummary checks that the closing line's rate counts only the time
// after the receiver accepted, and names the waiting time apart.
func TestSendSummary(t *testing.T) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		accepted time.Duration // after start; <0: no accepted event
		end      time.Duration
		moved    int64
		want     []string
		wantNot  []string
	}{
		{"waited 5s, moved 100 MiB in 2s", 5 * time.Second, 7 * time.Second, 100 << 20, []string{"sent 100.0 MiB in 2.0s (50.0 MiB/s)", "5.0s waiting for the receiver"}, nil},
		{"accepted at once", 10 * time.Millisecond, 2 * time.Second, 10 << 20, []string{"sent 10.0 MiB in 2.0s"}, []string{"waiting"}},
		{"no accepted event seen", -1, 4 * time.Second, 8 << 20, []string{"sent 8.0 MiB in 4.0s (2.0 MiB/s)"}, []string{"waiting"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &sendClock{}
			c.event(node.Event{Kind: node.EventState, Time: start.Add(time.Second)})
			if tc.accepted >= 0 {
				c.event(node.Event{Kind: node.EventAccepted, Time: start.Add(tc.accepted)})
				c.event(node.Event{Kind: node.EventAccepted, Time: start.Add(tc.end)}) // a resume's: the first counts
			}
			got := c.summary(start, start.Add(tc.end), tc.moved)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("%q has %q", got, w)
				}
			}
		})
	}
}

// TestJSONFailureEndsWithError checks that a failed command's --json
// output ends with one error event with a stable code, and that a failure
// the node already reported is not reported twice.
func TestJSONFailureEndsWithError(t *testing.T) {
	offline := fmt.Errorf("peer %q not found: %w", "bob", sdk.ErrOffline)
	cases := []struct {
		name     string
		before   []node.Event
		err      error
		wantLast string // code of the last line's error event
		lines    int
	}{
		{"offline before any transfer", nil, offline, node.CodeOffline, 1},
		{"skipped paths", nil, &exitError{code: exitSkipped, err: errors.New("sent 1 file(s), but skipped 1 path(s)")}, codeSkipped, 1},
		{"the node reported it", []node.Event{{Kind: node.EventError, Code: node.CodeRefused, Message: "REFUSE"}}, fmt.Errorf("x: %w", sdk.ErrRefused), node.CodeRefused, 1},
		{"success", []node.Event{{Kind: node.EventDone}}, nil, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			r := newRenderer(&out, io.Discard, true)
			for _, e := range tc.before {
				r.event(e)
			}
			r.fail(tc.err)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != tc.lines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tc.lines, out.String())
			}
			var last node.Event
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatal(err)
			}
			if tc.wantLast == "" {
				if last.Kind == node.EventError {
					t.Errorf("a success ends with an error event: %s", out.String())
				}
				return
			}
			if last.Kind != node.EventError || last.Code != tc.wantLast {
				t.Errorf("last line %s, want an error event with code %q", lines[len(lines)-1], tc.wantLast)
			}
		})
	}
}

// TestRefusalSaidOnce: in text output a refusal is one "REFUSE" line; the
// error event that follows and the command's error add nothing.
func TestRefusalSaidOnce(t *testing.T) {
	var out bytes.Buffer
	r := newRenderer(&out, io.Discard, false)
	r.event(node.Event{Kind: node.EventRefused, PeerName: "bob", Transfer: "t1", Message: "declined by the user"})
	err := fmt.Errorf("bob sent REFUSE: declined by the user: %w", sdk.ErrRefused)
	r.event(node.Event{Kind: node.EventError, PeerName: "bob", Transfer: "t1", Code: node.CodeRefused, Message: err.Error()})
	if n := strings.Count(out.String(), "REFUSE"); n != 1 {
		t.Errorf("REFUSE said %d times:\n%s", n, out.String())
	}
	if !r.shownRefusal(err) {
		t.Error("the command's error would be printed again")
	}
	if r.shownRefusal(errors.New("disk on fire")) {
		t.Error("another error would be silenced")
	}
}

// TestUnusableHome: a FERRY_HOME that cannot hold the device key is named
// as such, at once, with how to choose another.
func TestUnusableHome(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(bad, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(bad, "home") // under a file: never a folder
	a := &app{env: []string{"FERRY_HOME=" + home}}
	start := time.Now()
	_, err := a.identity(nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s, want at most 1s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "FERRY_HOME") || !strings.Contains(err.Error(), home) {
		t.Errorf("error %v, want one naming FERRY_HOME and %s", err, home)
	}
}
