package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// renderer prints node events: human lines and a progress bar per
// transfer, or one JSON object per line with --json.
type renderer struct {
	out    io.Writer // lines and JSON
	json   bool
	tty    bool // bars on a terminal; percent lines otherwise
	outTTY bool // out is a terminal too: its lines go above the bars
	bars   barSet

	mu        sync.Mutex
	transfers map[string]*shown
	enc       *json.Encoder
	sawError  bool                  // an error event was printed
	refused   map[string]bool       // transfers whose REFUSE was printed
	paused    map[string]bool       // transfers whose paused line was printed
	groups    map[string]*sendGroup // sends to an account, by label
	memberOf  map[string]*sendGroup // transfer ID -> its account's group
}

// shown is what the renderer keeps of a running transfer.
type shown struct {
	total     int64
	done      map[int]int64 // bytes held per file index
	offered   bool          // this side received the offer
	connected bool          // connected since the last retry
	retrying  bool          // a retry was printed, and no connection since
	m         meter
	bars      *transferBars // on a terminal, once bytes move
	last      int           // last printed tenth, without a terminal
}

// newRenderer renders on out; bars go to the terminal bars is on, if any
// (a *console has its logs printed above the bars while they are up).
func newRenderer(out, bars io.Writer, asJSON bool) *renderer {
	r := &renderer{out: out, json: asJSON, transfers: map[string]*shown{}, refused: map[string]bool{}, paused: map[string]bool{}, enc: json.NewEncoder(out)}
	r.tty = isTerminal(bars)
	r.outTTY = isTerminal(out)
	r.bars.out = bars
	if c, ok := bars.(*console); ok {
		r.bars.out, r.bars.con = c.w, c
	}
	return r
}

func (r *renderer) get(id string) *shown {
	s := r.transfers[id]
	if s == nil {
		s = &shown{done: map[int]int64{}, last: -1}
		r.transfers[id] = s
	}
	return s
}

// printf prints a text line: above the bars while they are up, when the
// lines go to the same terminal.
func (r *renderer) printf(format string, args ...any) {
	w := r.out
	if r.outTTY {
		w = r.bars.writer(w)
	}
	fmt.Fprintf(w, format, args...)
}

func (r *renderer) event(e node.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Kind == node.EventError {
		r.sawError = true
	}
	if r.json {
		if g := r.memberOf[e.Transfer]; g != nil && e.Transfer != "" {
			e.Account = g.account
		}
		_ = r.enc.Encode(e)
		return
	}
	who := peerWho(e.PeerName, e.Peer)
	switch e.Kind {
	case node.EventPeer:
		r.printf("peer %s: %s (%s) via %s\n", e.State, e.PeerName, e.Peer, e.Message)
	case node.EventState:
		var s *shown
		if e.Transfer != "" {
			s = r.get(e.Transfer)
		}
		if s != nil && e.State == connect.Connected.String() {
			s.connected, s.retrying = true, false
		}
		switch {
		case s != nil && s.retrying:
			// The retry line said what it waits for.
		case e.State == connect.Failed.String():
			// The error event that follows says what failed.
		case e.Transport != "" && e.Route != "":
			r.printf("[%s] %s over %s, %s (%s)\n", who, e.State, e.Transport, e.Route, e.Message)
		case e.Transport != "":
			r.printf("[%s] %s over %s (%s)\n", who, e.State, e.Transport, e.Message)
		default:
			r.printf("[%s] %s\n", who, e.State)
		}
	case node.EventOffer:
		s := r.get(e.Transfer)
		s.total, s.offered = e.Total, true
		r.printf("offer from %s (%s): %d file(s), %s\n", e.PeerName, e.Peer, e.Files, size(e.Total))
	case node.EventAccepted:
		if e.Total > 0 {
			r.get(e.Transfer).total = e.Total
		}
		if e.Message == "resume" {
			r.printf("[%s] resuming transfer %s\n", who, shortID(e.Transfer))
		} else {
			r.printf("[%s] accepted\n", who)
		}
	case node.EventWithdrawn:
		r.printf("offer from %s (%s) withdrawn: %s\n", who, e.Peer, e.Message)
	case node.EventRefused:
		if e.File != "" {
			// One file refused on its own; the rest goes on.
			fmt.Fprintf(r.out, "[%s] REFUSE %s: %s\n", who, e.File, e.Message)
			break
		}
		r.refused[e.Transfer] = true
		r.printf("[%s] REFUSE: %s\n", who, e.Message)
	case node.EventFile:
		s := r.get(e.Transfer)
		s.m.begin(e.Time)
		s.done[e.Index] = e.Offset // held, not moved in this run
		if e.Offset > 0 {
			r.printf("[%s] %s: resuming at %s of %s (SEEK)\n", who, e.File, size(e.Offset), size(e.Total))
		}
		r.progress(s, e)
	case node.EventProgress:
		s := r.get(e.Transfer)
		s.m.begin(e.Time)
		if moved := e.Bytes - s.done[e.Index]; moved > 0 {
			s.m.add(moved)
		}
		s.done[e.Index] = e.Bytes
		r.progress(s, e)
	case node.EventVerified:
		if s := r.transfers[e.Transfer]; s != nil {
			// The last progress event may come after this one.
			if moved := e.Total - s.done[e.Index]; moved > 0 {
				s.m.add(moved)
				s.done[e.Index] = e.Total
			}
		}
		if e.Path != "" {
			r.printf("[%s] verified %s (%s) -> %s\n", who, e.File, size(e.Total), e.Path)
		} else {
			r.printf("[%s] verified %s (%s)\n", who, e.File, size(e.Total))
		}
	case node.EventRetry:
		if e.Code == node.CodeNoSpace || e.Code == node.CodeIntegrity { // the message names the cause
			r.printf("[%s] %s\n", who, e.Message)
			break
		}
		r.printf("[%s] %s\n", who, r.retryLine(r.get(e.Transfer), who, e))
	case node.EventDone:
		s := r.transfers[e.Transfer]
		r.finish(e.Transfer)
		line := fmt.Sprintf("[%s] done: %d file(s), %s, every file verified", who, e.Files, size(e.Total))
		if s != nil && s.offered {
			// The receiver's closing line: the rate of what moved in this
			// run (the sender's comes from send, after the answer).
			if rate, secs := s.m.rate(e.Time); secs > 0 {
				line += fmt.Sprintf("; received %s in %.1fs (%s/s)", size(s.m.movedBytes()), secs, size(int64(rate)))
			}
		}
		r.printf("%s\n", line)
	case node.EventError:
		if e.Code == node.CodeCancelled && e.Transfer != "" {
			// Interrupted here (Ctrl-C): one line, how far and how
			// it goes on.
			line := r.pausedLine(e.Transfer, who)
			r.paused[e.Transfer] = true
			r.finish(e.Transfer)
			r.printf("[%s] %s\n", who, line)
			break
		}
		r.finish(e.Transfer)
		if e.Code == node.CodeRefused && r.refused[e.Transfer] {
			break // the REFUSE line said it
		}
		r.printf("[%s] error: %s\n", who, e.Message)
	}
}

// held is the number of bytes held in all.
func (s *shown) held() int64 {
	var done int64
	for _, n := range s.done {
		done += n
	}
	return done
}

// progress updates the transfer's bars (on a terminal) or prints a line per
// tenth done (otherwise), after e (a file or progress event). Called with
// r.mu held.
func (r *renderer) progress(s *shown, e node.Event) {
	if s.total <= 0 {
		return
	}
	if g := r.memberOf[e.Transfer]; g != nil {
		r.groupProgress(g, e)
		return
	}
	done := s.held()
	s.m.mu.Lock()
	s.m.done, s.m.total = done, s.total
	s.m.mu.Unlock()
	if r.tty {
		if s.bars == nil {
			label := "total"
			if e.Total == s.total {
				label = e.File
			}
			s.bars = r.bars.add(label, s.total, &s.m)
		}
		s.bars.startFile(e.Index, e.File, e.Total, s.done[e.Index], s.total)
		s.bars.update(e.Index, s.done[e.Index], done)
		return
	}
	if tenth := int(done * 10 / s.total); tenth > s.last {
		s.last = tenth
		line := fmt.Sprintf("progress %s: %3d%% (%s of %s)", shortID(e.Transfer), tenth*10, size(done), size(s.total))
		if rate, secs := s.m.rate(e.Time); secs >= 0.2 {
			line += fmt.Sprintf(", %s/s", size(int64(rate)))
		}
		fmt.Fprintln(r.out, line)
	}
}

// finish takes the transfer's bars down, so that the next line starts
// clean. Called with r.mu held.
func (r *renderer) finish(id string) {
	r.groupFinish(id)
	if s := r.transfers[id]; s != nil && s.bars != nil {
		s.bars.end()
	}
	delete(r.transfers, id)
}

// retryLine says what a retry waits for: the connection lost, or the peer
// offline, then when it tries again, which attempt and until when.
func (r *renderer) retryLine(s *shown, who string, e node.Event) string {
	var what string
	switch {
	case s.connected && s.total > 0:
		what = fmt.Sprintf("connection to %s lost at %d%%", who, s.held()*100/s.total)
	case s.connected:
		what = fmt.Sprintf("connection to %s lost", who)
	case e.Code == node.CodeOffline:
		what = who + " offline"
	default:
		what = fmt.Sprintf("could not reach %s (%s)", who, e.Message)
	}
	s.connected, s.retrying = false, true
	line := fmt.Sprintf("%s; retrying in %s", what, time.Duration(e.WaitMS)*time.Millisecond)
	if e.Attempt > 0 && !e.Until.IsZero() {
		line += fmt.Sprintf(" (attempt %d, until %s)", e.Attempt, e.Until.Local().Format("15:04:05"))
	}
	return line
}

// pausedLine says how far an interrupted transfer got and how it goes on:
// on the receiving side when the sender sends again, on the sending side
// with ferry resume or the same send. Called with r.mu held.
func (r *renderer) pausedLine(id, who string) string {
	s := r.transfers[id]
	how := fmt.Sprintf("run `ferry resume %s` or send again", shortID(id))
	verb := "sent"
	if s != nil && s.offered {
		how, verb = fmt.Sprintf("resumes when %s sends again", who), "received"
	}
	if s == nil || s.total <= 0 {
		return "interrupted before any data moved; " + how
	}
	held := s.held()
	return fmt.Sprintf("paused at %d%% (%.1f of %.1f MiB %s); %s", held*100/s.total, float64(held)/(1<<20), float64(s.total)/(1<<20), verb, how)
}

// interrupted prints the paused line of a transfer this side stopped,
// unless its error event printed it, and reports whether the output now
// says it.
func (r *renderer) interrupted(id, who string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.json {
		return false
	}
	if !r.paused[id] {
		r.paused[id] = true
		line := r.pausedLine(id, who)
		r.finish(id)
		r.printf("[%s] %s\n", who, line)
	}
	return true
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// size formats n bytes in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fail ends --json output of a command that failed with an error event,
// unless the node already printed one: every failure's last line is an
// error event with a stable code. Text output gets the error on stderr
// from main, as before.
func (r *renderer) fail(err error) {
	r.mu.Lock()
	saw := r.sawError
	r.mu.Unlock()
	if err == nil || !r.json || saw {
		return
	}
	r.failJSON(err)
}

// shownRefusal reports whether err is a refusal whose REFUSE line the
// text output already printed, so that it need not be said again.
func (r *renderer) shownRefusal(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.json && len(r.refused) > 0 && errors.Is(err, sdk.ErrRefused)
}

func (r *renderer) failJSON(err error) {
	code := node.ErrorCode(err)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == exitSkipped {
		code = codeSkipped
	}
	r.event(node.Event{Time: time.Now().UTC(), Kind: node.EventError, Message: err.Error(), Code: code})
}

// codeSkipped is the error code of a send that delivered what it sent but
// skipped some paths (exit status 3).
const codeSkipped = "skipped"
