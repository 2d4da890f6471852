package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// lineReader reads the answers to prompts. A goroutine reads lines as they
// come, from the start, so that what was typed before a prompt appeared
// has been read already when the prompt is shown, and is thrown away
// rather than taken as its answer.
type lineReader struct {
	lines chan string // closed at the end of input
	flush func()      // discards what the terminal holds unread (a line being typed); nil if not a terminal
}

// typedAheadMax bounds the lines kept between prompts; more are dropped
// (they would be thrown away anyway).
const typedAheadMax = 64

func newLineReader(in io.Reader) *lineReader {
	r := &lineReader{lines: make(chan string, typedAheadMax)}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		r.flush = func() { flushInput(fd) }
	}
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
		close(r.lines)
	}()
	return r
}

// discard throws away everything typed so far.
func (r *lineReader) discard() {
	if r.flush != nil {
		r.flush()
	}
	for {
		select {
		case _, ok := <-r.lines:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// The prompt's answers.
const (
	promptChoices  = "[y/N/a] "
	declined       = "declined by the user"
	noOneToAsk     = "no one to ask on the receiving side (run `ferry receive --yes` or list the sender in transfer.auto_accept)"
	notUnderstood  = "answer not understood: %q; type y to accept, n (or Enter) to refuse, a to accept and always accept this device\n"
	shuttingDown   = "receiver shutting down"
	addedToAuto    = "%s (%s) added to transfer.auto_accept in %s: its offers are accepted without asking from now on\n"
	notAddedToAuto = "accepted, but %s could not be added to transfer.auto_accept: %v\n"
)

// prompt asks on the terminal, one offer at a time. Input typed before
// the question is discarded; an answer not understood is asked again;
// when the offer is withdrawn (the sender gave up, the offer expired) the
// question is dropped and the node reports why. "a" accepts and adds the
// sender to transfer.auto_accept through always (which names the file it
// wrote). With no input left (stdin closed), offers are refused with a
// reason.
// showOffer prints the question's head: counts and size, then the first
// ten files, or for a large offer (a summary) its top-level names.
func showOffer(out io.Writer, ask node.Ask) {
	if sum := ask.Summary; sum != nil {
		fmt.Fprintf(out, "Accept %d file(s), %s, from %s (%s)?\n", sum.Files, size(sum.Size), ask.PeerName, ask.Peer)
		fmt.Fprintf(out, "  in %d top-level name(s): %s", sum.TopCount, strings.Join(sum.Top, ", "))
		if more := sum.TopCount - len(sum.Top); more > 0 {
			fmt.Fprintf(out, " and %d more", more)
		}
		fmt.Fprintln(out)
		return
	}
	var total int64
	for _, f := range ask.Offer.Files {
		total += f.Size
	}
	fmt.Fprintf(out, "Accept %d file(s), %s, from %s (%s)?\n", len(ask.Offer.Files), size(total), ask.PeerName, ask.Peer)
	for i, f := range ask.Offer.Files {
		if i == 10 {
			fmt.Fprintf(out, "  ... and %d more\n", len(ask.Offer.Files)-10)
			break
		}
		fmt.Fprintf(out, "  %s (%s)\n", f.Name, size(f.Size))
	}
}

// probesRefused is the reason a receiver that asks before accepting
// gives for a connection test (`ferry doctor PEER`) from a peer not in
// transfer.auto_accept: a test reveals this device's addresses, and is
// not worth a question.
const probesRefused = "this device answers connection tests only from peers in its transfer.auto_accept (or when it runs with --yes)"

func prompt(lines *lineReader, out io.Writer, always func(sdk.PeerID) (string, error)) node.Decider {
	var mu sync.Mutex
	trusted := map[sdk.PeerID]bool{}
	return func(ctx context.Context, ask node.Ask) string {
		mu.Lock()
		defer mu.Unlock()
		if trusted[ask.Peer] {
			return "" // answered "a" for an earlier offer
		}
		if ask.Probe {
			return probesRefused
		}
		if ctx.Err() != nil {
			return shuttingDown // withdrawn while an earlier question was open
		}
		showOffer(out, ask)
		lines.discard()
		for {
			fmt.Fprint(out, promptChoices)
			select {
			case got, ok := <-lines.lines:
				if !ok {
					fmt.Fprintln(out)
					return noOneToAsk
				}
				switch strings.ToLower(strings.TrimSpace(got)) {
				case "y", "yes":
					return ""
				case "", "n", "no":
					return declined
				case "a", "always":
					trusted[ask.Peer] = true
					if file, err := always(ask.Peer); err != nil {
						fmt.Fprintf(out, notAddedToAuto, ask.Peer, err)
					} else {
						fmt.Fprintf(out, addedToAuto, ask.PeerName, ask.Peer, file)
					}
					return ""
				}
				fmt.Fprintf(out, notUnderstood, got)
			case <-ctx.Done():
				fmt.Fprintln(out) // end the prompt's line; the withdrawn event says why
				return shuttingDown
			}
		}
	}
}
