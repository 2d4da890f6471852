package api

import (
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// live keeps what the events say of each transfer seen since the daemon
// started: bytes per file, rate, connection route, how it ended. The
// outbox and inbox know only what was saved; this is what moves now.
type live struct {
	mu sync.Mutex
	ts map[string]*liveTransfer
}

type liveTransfer struct {
	Transfer
	bytes    map[int]int64 // per file index, as the latest event said
	lastAt   time.Time     // of the latest progress sample
	lastDone int64
	ended    time.Time // when it finished (done, refused, failed)
}

// liveKeep is how long a finished transfer stays in the list, for a page
// to show it at 100%.
const liveKeep = 10 * time.Minute

// rateWeight is the weight of the newest sample in the rate's moving
// average.
const rateWeight = 0.3

func newLive() *live { return &live{ts: map[string]*liveTransfer{}} }

func (l *live) event(e node.Event) {
	if e.Transfer == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.ts[e.Transfer]
	if t == nil {
		t = &liveTransfer{Transfer: Transfer{Direction: "send", Transfer: e.Transfer, Since: e.Time, State: StateRunning}, bytes: map[int]int64{}}
		l.ts[e.Transfer] = t
	}
	if e.Peer != "" {
		t.Peer = e.Peer
	}
	if e.PeerName != "" {
		t.PeerName = e.PeerName
	}
	if e.Files > 0 {
		t.Files = e.Files
	}
	if e.Total > 0 && e.Kind != node.EventProgress && e.Kind != node.EventFile {
		t.Total = e.Total
	}
	switch e.Kind {
	case node.EventOffer:
		t.Direction = "receive"
	case node.EventAccepted, node.EventRetry:
		t.State, t.ended = StateRunning, time.Time{}
		t.Rate, t.ETASeconds = 0, 0
	case node.EventState:
		// The transport once connected; the route where the transport
		// tells one (ice: "direct host", "relay via turn:...").
		if e.Transport != "" {
			t.Transport = e.Transport
		}
		if e.Route != "" {
			t.Route = e.Route
		}
	case node.EventFile:
		t.bytes[e.Index] = max(t.bytes[e.Index], e.Offset)
		t.State = StateRunning
	case node.EventProgress:
		t.bytes[e.Index] = max(t.bytes[e.Index], e.Bytes)
		t.State = StateRunning
	case node.EventVerified:
		// The file's bytes are all there; its last progress said so.
	case node.EventDone:
		t.State, t.ended = StateDone, e.Time
		t.Done, t.Rate, t.ETASeconds = t.Total, 0, 0
		t.SetPercent()
		return
	case node.EventRefused, node.EventWithdrawn:
		t.State, t.ended, t.LastError = StateFailed, e.Time, e.Message
	case node.EventError:
		t.State, t.ended, t.LastError = StateFailed, e.Time, e.Message
		t.Rate, t.ETASeconds = 0, 0
	case EventEnded:
		switch e.Code {
		case "":
		case CodePaused:
			t.State, t.Rate, t.ETASeconds = StatePaused, 0, 0
		default:
			t.State, t.ended, t.LastError = StateFailed, e.Time, e.Message
			t.Rate, t.ETASeconds = 0, 0
		}
	}
	var done int64
	for _, b := range t.bytes {
		done += b
	}
	if e.Kind == node.EventProgress {
		now := e.Time
		if !t.lastAt.IsZero() && now.After(t.lastAt) && done >= t.lastDone {
			sample := float64(done-t.lastDone) / now.Sub(t.lastAt).Seconds()
			if t.Rate == 0 {
				t.Rate = sample
			} else {
				t.Rate = rateWeight*sample + (1-rateWeight)*t.Rate
			}
		}
		t.lastAt, t.lastDone = now, done
	}
	t.Done = max(t.Done, done)
	if t.Total > 0 {
		t.Done = min(t.Done, t.Total)
	}
	t.SetPercent()
	if t.Rate > 0 && t.Total > t.Done {
		t.ETASeconds = float64(t.Total-t.Done) / t.Rate
	} else {
		t.ETASeconds = 0
	}
}

// merge overlays what the events say on the recorded transfers, and adds
// the ones seen since the start that the records no longer hold (done,
// refused), for liveKeep after they ended.
func (l *live) merge(recorded []Transfer, now time.Time) []Transfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	out := make([]Transfer, 0, len(recorded))
	for _, r := range recorded {
		seen[r.Transfer] = true
		if t := l.ts[r.Transfer]; t != nil && t.State != StateDone {
			t.Direction = r.Direction
			if t.Done > r.Done && (r.Total == 0 || t.Done <= r.Total) {
				r.Done = t.Done
			}
			r.Rate, r.ETASeconds, r.Route, r.Transport = t.Rate, t.ETASeconds, t.Route, t.Transport
			if r.State == "" || r.State == StateWaiting && t.State == StateRunning && t.ended.IsZero() {
				r.State = t.State
			}
			r.SetPercent()
		}
		out = append(out, r)
	}
	for id, t := range l.ts {
		if !t.ended.IsZero() && now.Sub(t.ended) > liveKeep {
			delete(l.ts, id)
			continue
		}
		if seen[id] {
			continue
		}
		out = append(out, t.Transfer)
	}
	return out
}

// direction notes which way transfer id goes, for when its record is gone.
func (l *live) direction(id, dir string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.ts[id]
	if t == nil {
		t = &liveTransfer{Transfer: Transfer{Transfer: id, Since: time.Now().UTC(), State: StateRunning}, bytes: map[int]int64{}}
		l.ts[id] = t
	}
	t.Direction = dir
}
