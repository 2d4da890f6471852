package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestAccountProgress: the transfers of a send to an account show one
// progress, that of the most advanced device (seed 001's most optimistic
// view): a line per tenth of the best device's bytes, naming it, never
// going back when the leader finishes or another device is behind; a
// refusing device changes nothing.
func TestAccountProgress(t *testing.T) {
	var out bytes.Buffer
	r := newRenderer(&out, io.Discard, false)
	const total = 100 << 20
	r.joinGroup("acct-KB5YJCR-full", "acct-KB5YJCR", "t-desk", "desk")
	r.joinGroup("acct-KB5YJCR-full", "acct-KB5YJCR", "t-laptop", "laptop")
	r.joinGroup("acct-KB5YJCR-full", "acct-KB5YJCR", "t-phone", "phone")
	ev := func(transfer, who string, e node.Event) {
		e.Transfer, e.PeerName, e.File, e.Total = transfer, who, "a.bin", total
		r.event(e)
	}
	for _, d := range []struct{ t, who string }{{"t-desk", "desk"}, {"t-laptop", "laptop"}} {
		ev(d.t, d.who, node.Event{Kind: node.EventAccepted})
		ev(d.t, d.who, node.Event{Kind: node.EventFile})
	}
	ev("t-phone", "phone", node.Event{Kind: node.EventRefused, Message: "declined"})
	ev("t-desk", "desk", node.Event{Kind: node.EventProgress, Bytes: 25 << 20})
	ev("t-laptop", "laptop", node.Event{Kind: node.EventProgress, Bytes: 55 << 20})
	ev("t-desk", "desk", node.Event{Kind: node.EventProgress, Bytes: 40 << 20}) // behind: no line
	ev("t-laptop", "laptop", node.Event{Kind: node.EventProgress, Bytes: total})
	ev("t-laptop", "laptop", node.Event{Kind: node.EventDone, Files: 1})
	ev("t-desk", "desk", node.Event{Kind: node.EventProgress, Bytes: 70 << 20}) // the leader is gone: still 100%
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "progress ") {
			lines = append(lines, l)
		}
	}
	want := []string{
		"progress acct-KB5YJCR:   0% (0 B of 100.0 MiB), most advanced: desk",
		"progress acct-KB5YJCR:  20% (25.0 MiB of 100.0 MiB), most advanced: desk",
		"progress acct-KB5YJCR:  50% (55.0 MiB of 100.0 MiB), most advanced: laptop",
		"progress acct-KB5YJCR: 100% (100.0 MiB of 100.0 MiB), most advanced: laptop",
	}
	if len(lines) != len(want) {
		t.Fatalf("progress lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}
