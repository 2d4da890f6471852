package node

import (
	"log/slog"
	"testing"

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
	tr := &tracker{box: box, rec: rec, log: slog.New(slog.DiscardHandler)}
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
