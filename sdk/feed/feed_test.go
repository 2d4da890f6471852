package feed

import (
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// peer returns a peer ID whose first byte is b.
func peer(b byte) sdk.PeerID {
	var id sdk.PeerID
	id[0] = b
	return id
}

func TestPeerEventsCoalesce(t *testing.T) {
	a, b := peer(1), peer(2)
	ev := func(k sdk.PeerEventKind, id sdk.PeerID, name string) sdk.PeerEvent {
		return sdk.PeerEvent{Kind: k, Peer: sdk.PeerInfo{ID: id, Name: name}}
	}
	var q PeerEvents
	pushes := []sdk.PeerEvent{ev(sdk.PeerJoined, a, "a1"), ev(sdk.PeerSeen, b, "b1")}
	for range 100 {
		pushes = append(pushes, ev(sdk.PeerSeen, a, "a-mid"))
	}
	pushes = append(pushes, ev(sdk.PeerSeen, a, "a-last"), ev(sdk.PeerLeft, b, "b1"))
	for _, e := range pushes {
		if q.Push(e) {
			t.Fatalf("Push(%v) reported a drop: PeerEvents coalesces, it never drops", e.Kind)
		}
	}
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want one event per peer (2)", q.Len())
	}
	if e, _ := q.Pop(); e.Kind != sdk.PeerJoined || e.Peer.Name != "a-last" {
		t.Errorf("first = %v %q, want joined with the newest info", e.Kind, e.Peer.Name)
	}
	if e, _ := q.Pop(); e.Kind != sdk.PeerLeft || e.Peer.ID != b {
		t.Errorf("second = %v, want b left", e.Kind)
	}
	q.Push(ev(sdk.PeerJoined, a, "a"))
	q.Push(ev(sdk.PeerLeft, a, "a"))
	if e, ok := q.Pop(); ok {
		t.Errorf("joined then left, unread, left %v queued", e.Kind)
	}
}

func TestBoundedDropsOldest(t *testing.T) {
	q := Bounded[int]{Limit: 3}
	var reported int
	for i := range 5 {
		if q.Push(i) {
			reported++
		}
	}
	if q.Dropped != 2 || reported != 2 {
		t.Errorf("Dropped = %d, Push reported %d drops; want 2 and 2", q.Dropped, reported)
	}
	for want := 2; want < 5; want++ {
		if got, ok := q.Pop(); !ok || got != want {
			t.Fatalf("Pop = %d, %v; want %d", got, ok, want)
		}
	}
	if _, ok := q.Pop(); ok {
		t.Error("Pop on an empty queue succeeded")
	}
}

func TestKnown(t *testing.T) {
	now := time.Now()
	type entry struct{ info sdk.PeerInfo }
	table := map[sdk.PeerID]*entry{
		peer(1): {sdk.PeerInfo{ID: peer(1), Seen: now.Add(2 * time.Second), Addrs: []string{"a"}}},
		peer(2): {sdk.PeerInfo{ID: peer(2), Seen: now}},
		peer(3): {sdk.PeerInfo{ID: peer(3), Seen: now.Add(time.Second)}},
	}
	evs := Known(table, func(e *entry) sdk.PeerInfo { return e.info })
	want := []sdk.PeerID{peer(2), peer(3), peer(1)}
	if len(evs) != len(want) {
		t.Fatalf("Known gave %d events, want %d", len(evs), len(want))
	}
	for i, ev := range evs {
		if ev.Kind != sdk.PeerJoined || ev.Peer.ID != want[i] {
			t.Errorf("event %d = %v %v, want joined %v (oldest Seen first)", i, ev.Kind, ev.Peer.ID.Short(), want[i].Short())
		}
	}
	evs[2].Peer.Addrs[0] = "changed"
	if table[peer(1)].info.Addrs[0] != "a" {
		t.Error("Known's events share memory with the table")
	}
}

func TestCloneInfo(t *testing.T) {
	orig := sdk.PeerInfo{ID: peer(1), Name: "a", Addrs: []string{"x"}, Roles: []string{"r"}, Transports: []string{"tcp"}, Protocols: []string{"p"}}
	c := CloneInfo(orig)
	c.Addrs[0], c.Roles[0], c.Transports[0], c.Protocols[0] = "changed", "changed", "changed", "changed"
	if orig.Addrs[0] != "x" || orig.Roles[0] != "r" || orig.Transports[0] != "tcp" || orig.Protocols[0] != "p" {
		t.Errorf("changing the clone changed the original: %+v", orig)
	}
	if c.ID != orig.ID || c.Name != orig.Name {
		t.Errorf("clone %+v lost the original's fields", c)
	}
}
