package connect

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// countingDirectory knows one peer, seen at seen, and counts look-ups.
type countingDirectory struct {
	peer    sdk.PeerInfo
	lookups atomic.Int32
}

func (d *countingDirectory) Wait(context.Context, sdk.PeerID, time.Duration) (sdk.PeerInfo, error) {
	return d.peer, nil
}

func (d *countingDirectory) Lookup(context.Context, sdk.PeerID) (sdk.PeerInfo, error) {
	d.lookups.Add(1)
	return d.peer, nil
}

// refusingMessenger fails every send: the dial stops at Signaling.
type refusingMessenger struct{}

var errStop = errors.New("stop here")

func (refusingMessenger) Expect(string) (<-chan *Message, func()) { return nil, func() {} }
func (refusingMessenger) Send(context.Context, sdk.PeerID, *Message) error {
	return errStop
}

// TestResolvingFresh: Resolving looks the peer up unless its entry is
// fresher than Policy.Fresh on a first attempt; a retry always looks up.
func TestResolvingFresh(t *testing.T) {
	a, b := newID(t), newID(t)
	tests := []struct {
		name    string
		fresh   time.Duration
		seen    time.Duration // how long ago
		attempt int
		want    int32
	}{
		{"no Fresh: every attempt looks up", 0, 0, 1, 1},
		{"a fresh entry, first attempt", 10 * time.Second, time.Second, 1, 0},
		{"a fresh entry, a retry", 10 * time.Second, time.Second, 2, 1},
		{"a stale entry", 10 * time.Second, time.Minute, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := &countingDirectory{peer: sdk.PeerInfo{ID: b.ID, Name: "b", Seen: time.Now().Add(-tt.seen)}}
			d := &Dialer{Identity: a, Directory: dir, Messenger: refusingMessenger{}, Policy: Policy{Fresh: tt.fresh}}
			_, err := d.Dial(context.Background(), b.ID, tt.attempt, func(sdk.PeerInfo) *Message {
				return &Message{Type: TypeAsk, ID: "ab", Ferry: Ferry{V: MessageVersion}}
			})
			if !errors.Is(err, errStop) {
				t.Fatalf("Dial: %v; want it stopped at Signaling", err)
			}
			if got := dir.lookups.Load(); got != tt.want {
				t.Errorf("%d look-ups, want %d", got, tt.want)
			}
		})
	}
}
