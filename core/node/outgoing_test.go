package node

import (
	"crypto/ed25519"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestTrackerKeepsConfirmed: an outbox record counts what the receiver
// confirmed (a resume offset, the protocol's confirmations), never bytes
// only written to the stream: a file written whole and then discarded by
// the receiver does not show as sent (issue 18, item 6).
func TestTrackerKeepsConfirmed(t *testing.T) {
	box, err := transfer.OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &transfer.Outgoing{ID: transfer.NewID(), Files: []sdk.FileInfo{{Name: "a", Size: 100}, {Name: "b", Size: 50}}, Sent: make([]int64, 2)}
	tr := newTracker(box, rec, slog.New(slog.DiscardHandler))
	defer tr.stop(false)
	steps := []struct {
		name string
		do   func()
		want []int64
	}{
		{"written, not confirmed", func() { tr.event(Event{Kind: EventProgress, Transfer: rec.ID, Index: 0, Bytes: 100}) }, []int64{0, 0}},
		{"resumed at the receiver's offset", func() { tr.event(Event{Kind: EventFile, Transfer: rec.ID, Index: 0, Offset: 40}) }, []int64{40, 0}},
		{"confirmed by the protocol", func() { tr.confirmed(0, 70) }, []int64{70, 0}},
		{"a smaller figure changes nothing", func() { tr.confirmed(0, 10) }, []int64{70, 0}},
		{"never beyond the size", func() { tr.confirmed(1, 80) }, []int64{70, 50}},
		{"another transfer's event", func() { tr.event(Event{Kind: EventFile, Transfer: "other", Index: 0, Offset: 99}) }, []int64{70, 50}},
	}
	for _, s := range steps {
		s.do()
		if rec.Sent[0] != s.want[0] || rec.Sent[1] != s.want[1] {
			t.Errorf("%s: sent %v, want %v", s.name, rec.Sent, s.want)
		}
	}
}

// TestTrackerSaves: the tracker's saves are written by its saver, the
// latest state at a time; stop(true) leaves the latest state on disk,
// stop(false) drops a pending save (the record is about to be removed) and
// nothing is written after stop, so a removed record never comes back.
func TestTrackerSaves(t *testing.T) {
	box, err := transfer.OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	newRec := func() *transfer.Outgoing {
		rec := &transfer.Outgoing{ID: transfer.NewID(), Peer: peer, Files: []sdk.FileInfo{{Name: "a", Size: 100}}, Sent: make([]int64, 1)}
		if err := box.Save(rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	saved := func(id string) *transfer.Outgoing {
		t.Helper()
		o, err := box.Find(id)
		if err != nil {
			t.Logf("find %s: %v", id, err)
			return nil
		}
		return o
	}

	rec := newRec()
	tr := newTracker(box, rec, slog.New(slog.DiscardHandler))
	tr.accepted("instance-1")
	// The receiver instance is written without waiting for stop (a
	// sender killed mid-transfer resumes to it).
	deadline := time.Now().Add(10 * time.Second)
	for got := saved(rec.ID); got == nil || got.Instance != "instance-1"; got = saved(rec.ID) {
		if time.Now().After(deadline) {
			t.Fatal("the receiver instance was not saved within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, n := range []int64{10, 20, 30} {
		tr.confirmed(0, n)
	}
	tr.fail(errors.New("connection lost"))
	tr.stop(true)
	got := saved(rec.ID)
	if got == nil || got.Instance != "instance-1" || got.Sent[0] != 30 || got.LastError != "connection lost" {
		t.Fatalf("after stop(true) the outbox holds %+v; want instance-1, 30 bytes sent and the error", got)
	}
	tr.confirmed(0, 90) // after stop: kept in memory only
	if got := saved(rec.ID); got.Sent[0] != 30 {
		t.Errorf("a confirmation after stop was written: sent %d", got.Sent[0])
	}

	rec = newRec()
	tr = newTracker(box, rec, slog.New(slog.DiscardHandler))
	tr.accepted("instance-2")
	tr.stop(false)
	if err := box.Remove(rec.ID); err != nil {
		t.Fatal(err)
	}
	tr.accepted("instance-3")
	if got := saved(rec.ID); got != nil {
		t.Errorf("a removed record came back: %+v", got)
	}
}
