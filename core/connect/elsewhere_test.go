package connect

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// refuseMessenger answers every ASK with a REFUSE carrying ferry.
type refuseMessenger struct {
	ferry   Ferry
	answers chan *Message
}

func (m *refuseMessenger) Expect(string) (<-chan *Message, func()) {
	m.answers = make(chan *Message, 1)
	return m.answers, func() {}
}

func (m *refuseMessenger) Send(_ context.Context, _ sdk.PeerID, ask *Message) error {
	f := m.ferry
	f.Attempt = ask.Ferry.Attempt
	m.answers <- &Message{Type: TypeRefuse, ID: ask.ID, Ferry: f}
	return nil
}

// TestElsewhere: a REFUSE marked elsewhere (another instance of the peer's
// identity, which holds nothing of the transfer) is not a refusal: Dial
// returns ErrElsewhere, which the sender retries, and does not report it
// as answered; a plain REFUSE still is one.
func TestElsewhere(t *testing.T) {
	cases := []struct {
		name     string
		ferry    Ferry
		want     error
		answered bool
	}{
		{"held elsewhere", Ferry{V: MessageVersion, Elsewhere: true, Instance: "bb", Reason: "held by another instance"}, ErrElsewhere, false},
		{"refused", Ferry{V: MessageVersion, Reason: "no"}, sdk.ErrRefused, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newID(t), newID(t)
			answered := false
			d := &Dialer{
				Identity: a, Policy: Policy{Answer: 5 * time.Second},
				Directory: fakeDirectory{sdk.PeerInfo{ID: b.ID, Name: "b", Seen: time.Now()}},
				Messenger: &refuseMessenger{ferry: tc.ferry},
				Answered:  func(*Message) { answered = true },
			}
			_, err := d.Dial(context.Background(), b.ID, 2, func(sdk.PeerInfo) *Message {
				return &Message{Type: TypeAsk, ID: strings.Repeat("ab", 16), Ferry: Ferry{V: MessageVersion, Protocols: []string{testProto}, For: "aa"}}
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("Dial: %v, want %v", err, tc.want)
			}
			if tc.want == ErrElsewhere && errors.Is(err, sdk.ErrRefused) {
				t.Errorf("Dial: %v reads as a refusal", err)
			}
			if answered != tc.answered {
				t.Errorf("Answered called: %v, want %v", answered, tc.answered)
			}
		})
	}
}
