package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ferry-p2p/ferry/core/connect"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// renderer prints node events: human lines and a progress bar per
// transfer, or one JSON object per line with --json.
type renderer struct {
	out  io.Writer // lines and JSON
	bars io.Writer // progress bars (stderr)
	json bool
	tty  bool

	mu        sync.Mutex
	transfers map[string]*shown
	enc       *json.Encoder
	sawError  bool            // an error event was printed
	refused   map[string]bool // transfers whose REFUSE was printed
}

type shown struct {
	total int64
	done  map[int]int64
	bar   *progressbar.ProgressBar
	last  int // last printed tenth, without a terminal
}

func newRenderer(out, bars io.Writer, asJSON bool) *renderer {
	r := &renderer{out: out, bars: bars, json: asJSON, transfers: map[string]*shown{}, refused: map[string]bool{}, enc: json.NewEncoder(out)}
	if f, ok := bars.(*os.File); ok {
		r.tty = term.IsTerminal(int(f.Fd()))
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

func (r *renderer) event(e node.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Kind == node.EventError {
		r.sawError = true
	}
	if r.json {
		_ = r.enc.Encode(e)
		return
	}
	who := e.PeerName
	if who == "" && len(e.Peer) > 7 {
		who = e.Peer[:7]
	}
	switch e.Kind {
	case node.EventPeer:
		fmt.Fprintf(r.out, "peer %s: %s (%s) via %s\n", e.State, e.PeerName, e.Peer, e.Message)
	case node.EventState:
		switch {
		case e.State == connect.Failed.String():
			// The error event that follows says what failed.
		case e.Transport != "" && e.Route != "":
			fmt.Fprintf(r.out, "[%s] %s over %s, %s (%s)\n", who, e.State, e.Transport, e.Route, e.Message)
		case e.Transport != "":
			fmt.Fprintf(r.out, "[%s] %s over %s (%s)\n", who, e.State, e.Transport, e.Message)
		default:
			fmt.Fprintf(r.out, "[%s] %s\n", who, e.State)
		}
	case node.EventOffer:
		r.get(e.Transfer).total = e.Total
		fmt.Fprintf(r.out, "offer from %s (%s): %d file(s), %s\n", e.PeerName, e.Peer, e.Files, size(e.Total))
	case node.EventAccepted:
		if e.Total > 0 {
			r.get(e.Transfer).total = e.Total
		}
		if e.Message == "resume" {
			fmt.Fprintf(r.out, "[%s] resuming transfer %s\n", who, shortID(e.Transfer))
		} else {
			fmt.Fprintf(r.out, "[%s] accepted\n", who)
		}
	case node.EventWithdrawn:
		fmt.Fprintf(r.out, "offer from %s (%s) withdrawn: %s\n", who, e.Peer, e.Message)
	case node.EventRefused:
		r.refused[e.Transfer] = true
		fmt.Fprintf(r.out, "[%s] REFUSE: %s\n", who, e.Message)
	case node.EventFile:
		s := r.get(e.Transfer)
		s.done[e.Index] = e.Offset
		if e.Offset > 0 {
			fmt.Fprintf(r.out, "[%s] %s: resuming at offset %d of %d (SEEK)\n", who, e.File, e.Offset, e.Total)
		}
		r.progress(e.Transfer, s)
	case node.EventProgress:
		s := r.get(e.Transfer)
		s.done[e.Index] = e.Bytes
		r.progress(e.Transfer, s)
	case node.EventVerified:
		fmt.Fprintf(r.out, "[%s] verified %s (%s)", who, e.File, size(e.Total))
		if e.Path != "" {
			fmt.Fprintf(r.out, " -> %s", e.Path)
		}
		fmt.Fprintln(r.out)
	case node.EventRetry:
		fmt.Fprintf(r.out, "[%s] connection lost (%s); resuming\n", who, e.Message)
	case node.EventDone:
		r.finish(e.Transfer)
		fmt.Fprintf(r.out, "[%s] done: %d file(s), %s, every file verified\n", who, e.Files, size(e.Total))
	case node.EventError:
		r.finish(e.Transfer)
		if e.Code == node.CodeRefused && r.refused[e.Transfer] {
			break // the REFUSE line said it
		}
		fmt.Fprintf(r.out, "[%s] error: %s\n", who, e.Message)
	}
}

// progress updates the transfer's bar (on a terminal) or prints a line per
// tenth done (otherwise). Called with r.mu held.
func (r *renderer) progress(id string, s *shown) {
	var done int64
	for _, n := range s.done {
		done += n
	}
	if s.total <= 0 {
		return
	}
	if r.tty {
		if s.bar == nil {
			s.bar = progressbar.NewOptions64(s.total,
				progressbar.OptionSetWriter(r.bars),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetDescription(shortID(id)),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = s.bar.Set64(done)
		return
	}
	if tenth := int(done * 10 / s.total); tenth > s.last {
		s.last = tenth
		fmt.Fprintf(r.out, "progress %s: %3d%% (%s of %s)\n", shortID(id), tenth*10, size(done), size(s.total))
	}
}

func (r *renderer) finish(id string) {
	if s := r.transfers[id]; s != nil && s.bar != nil {
		_ = s.bar.Finish()
	}
	delete(r.transfers, id)
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
