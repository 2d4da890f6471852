package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// promptRig is a prompt fed through a pipe, its output collected.
type promptRig struct {
	t      *testing.T
	in     *io.PipeWriter
	lines  *lineReader
	out    *syncBuffer
	saved  []sdk.PeerID
	decide node.Decider
}

func newPromptRig(t *testing.T) *promptRig {
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	r := &promptRig{t: t, in: pw, lines: newLineReader(pr), out: &syncBuffer{}}
	r.decide = prompt(r.lines, r.out, func(id sdk.PeerID) (string, error) {
		r.saved = append(r.saved, id)
		return "/home/me/.config/ferry/ferry.yaml", nil
	})
	return r
}

func (r *promptRig) typeLine(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.in, s+"\n"); err != nil {
		r.t.Fatal(err)
	}
}

// waitOutput waits until the output holds n copies of s.
func (r *promptRig) waitOutput(s string, n int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(r.out.String(), s) < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("output never held %d × %q:\n%s", n, s, r.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ask runs the decider in the background and returns its answer's channel.
func (r *promptRig) ask(ctx context.Context, peer sdk.PeerID) <-chan string {
	ch := make(chan string, 1)
	go func() {
		ch <- r.decide(ctx, node.Ask{Peer: peer, PeerName: "alice", Offer: sdk.Offer{Files: []sdk.FileInfo{{Name: "a.txt", Size: 3}}}})
	}()
	return ch
}

func answer(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt did not answer")
		return ""
	}
}

func testPeerID(b byte) sdk.PeerID {
	var id sdk.PeerID
	for i := range id {
		id[i] = b
	}
	return id
}

// TestPromptTypedAhead: a "y" typed before the question is thrown away,
// not taken as its answer; an answer not understood is asked again.
func TestPromptTypedAhead(t *testing.T) {
	r := newPromptRig(t)
	r.typeLine("y")
	for len(r.lines.lines) == 0 { // read, as a key pressed early would be
		time.Sleep(time.Millisecond)
	}
	ch := r.ask(t.Context(), testPeerID(1))
	r.waitOutput(promptChoices, 1)
	r.typeLine("maybe")
	r.waitOutput(promptChoices, 2)
	if !strings.Contains(r.out.String(), `answer not understood: "maybe"`) {
		t.Errorf("no \"answer not understood\":\n%s", r.out.String())
	}
	r.typeLine("n")
	if got := answer(t, ch); got != declined {
		t.Errorf("answer %q, want %q (the typed-ahead y must not count)", got, declined)
	}
}

// TestPromptWithdrawn: when the offer's context ends (it expired, the
// sender gave up), the question stops waiting, and the next offer is asked
// afresh.
func TestPromptWithdrawn(t *testing.T) {
	r := newPromptRig(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	ch := r.ask(ctx, testPeerID(1))
	r.waitOutput(promptChoices, 1)
	cancel(node.ErrOfferExpired)
	if got := answer(t, ch); got == "" {
		t.Error("a withdrawn offer was accepted")
	}
	if !strings.HasSuffix(r.out.String(), promptChoices+"\n") {
		t.Errorf("the prompt's line was not ended:\n%q", r.out.String())
	}
	ch = r.ask(t.Context(), testPeerID(1))
	r.waitOutput(promptChoices, 2)
	r.typeLine("y")
	if got := answer(t, ch); got != "" {
		t.Errorf("answer %q, want accept", got)
	}
}

// TestPromptAlways: "a" accepts, saves the peer once, and its next offers
// are accepted without a question; other peers are still asked; at the end
// of input offers are refused with a reason.
func TestPromptAlways(t *testing.T) {
	r := newPromptRig(t)
	alice, bob := testPeerID(1), testPeerID(2)
	ch := r.ask(t.Context(), alice)
	r.waitOutput(promptChoices, 1)
	r.typeLine("A")
	if got := answer(t, ch); got != "" {
		t.Fatalf("answer %q, want accept", got)
	}
	if len(r.saved) != 1 || r.saved[0] != alice {
		t.Fatalf("saved %v, want [alice]", r.saved)
	}
	if !strings.Contains(r.out.String(), "added to transfer.auto_accept in /home/me/.config/ferry/ferry.yaml") {
		t.Errorf("no word of where it was saved:\n%s", r.out.String())
	}
	if got := answer(t, r.ask(t.Context(), alice)); got != "" || strings.Count(r.out.String(), promptChoices) != 1 {
		t.Errorf("second offer from alice: answer %q, asked %d times; want accepted without asking", got, strings.Count(r.out.String(), promptChoices))
	}
	ch = r.ask(t.Context(), bob)
	r.waitOutput(promptChoices, 2)
	_ = r.in.Close()
	if got := answer(t, ch); got != noOneToAsk {
		t.Errorf("at the end of input: %q, want %q", got, noOneToAsk)
	}
	if len(r.saved) != 1 {
		t.Errorf("saved %v, want alice only", r.saved)
	}
}

// TestPromptShowsSummary: a large offer's question shows its counts, size
// and top-level names, not a list of files.
func TestPromptShowsSummary(t *testing.T) {
	cases := []struct {
		name string
		sum  connect.Summary
		want []string
	}{
		{"few top-level names", connect.Summary{Files: 3002, Size: 3 << 30, Top: []string{"DCIM", "notes.txt"}, TopCount: 2},
			[]string{"Accept 3002 file(s), 3.0 GiB, from alice", "in 2 top-level name(s): DCIM, notes.txt\n"}},
		{"more than listed", connect.Summary{Files: 100000, Size: 1 << 20, Top: []string{"a", "b"}, TopCount: 40},
			[]string{"Accept 100000 file(s)", "in 40 top-level name(s): a, b and 38 more\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sum := tc.sum
			showOffer(&out, node.Ask{Peer: testPeerID(3), PeerName: "alice", Summary: &sum})
			if !contains(out.String(), tc.want...) {
				t.Errorf("question:\n%s\nwant it to hold %q", out.String(), tc.want)
			}
		})
	}
}
