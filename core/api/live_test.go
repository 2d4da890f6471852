package api

import (
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestLive: events make a transfer's live view (bytes, rate, ETA,
// transport and route); merged over its record it keeps the record's
// direction and state, and once done it stays listed at 100%.
func TestLive(t *testing.T) {
	l := newLive()
	id := "0123456789abcdef0123456789abcdef"
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l.event(node.Event{Time: at(0), Kind: node.EventOffer, Transfer: id, Peer: "P", PeerName: "alice", Files: 2, Total: 2000})
	l.event(node.Event{Time: at(10), Kind: node.EventState, Transfer: id, State: "connected", Transport: "ice", Route: "relay via turn:127.0.0.1:3478"})
	l.event(node.Event{Time: at(100), Kind: node.EventProgress, Transfer: id, Index: 0, Bytes: 100, Total: 1000})
	l.event(node.Event{Time: at(200), Kind: node.EventProgress, Transfer: id, Index: 0, Bytes: 600, Total: 1000})
	recorded := []Transfer{{Direction: "receive", Transfer: id, Done: 300, Total: 2000, State: StateWaiting}}
	got := l.merge(recorded, at(300))
	if len(got) != 1 {
		t.Fatalf("merged %d transfers: %+v", len(got), got)
	}
	g := got[0]
	if g.Direction != "receive" || g.Done != 600 || g.Percent != 30 || g.State != StateRunning ||
		g.Transport != "ice" || g.Route != "relay via turn:127.0.0.1:3478" {
		t.Errorf("merged view %+v", g)
	}
	if g.Rate != 5000 || g.ETASeconds != 1400.0/5000 {
		t.Errorf("rate %v B/s, ETA %v s; want 5000 and 0.28", g.Rate, g.ETASeconds)
	}
	l.event(node.Event{Time: at(400), Kind: node.EventDone, Transfer: id, Files: 2, Total: 2000})
	got = l.merge(nil, at(500))
	if len(got) != 1 || got[0].State != StateDone || got[0].Percent != 100 || got[0].Done != 2000 {
		t.Errorf("after done: %+v", got)
	}
	if got := l.merge(nil, at(400).Add(liveKeep+time.Second)); len(got) != 0 {
		t.Errorf("a transfer done long ago is still listed: %+v", got)
	}
}
