package ftv2a

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestKillReasons runs both sides of the protocol with a receiving sink
// that fails in each way a file can stop, and checks that the sender's
// error names the receiver's cause (the reason addon): a full disk, a hash
// mismatch and a refusal wrap their sentinels, so the core can wait,
// stop or retry, and none reads as "peer offline".
func TestKillReasons(t *testing.T) {
	enospc := fmt.Errorf("write /recv/f.part: %w", syscall.ENOSPC)
	cases := []struct {
		name string
		sink *memSink
		want error  // sentinel the sender's error wraps; nil: none below
		text string // the sender's error says this
	}{
		{"refused", &memSink{refuse: fmt.Errorf("not from you: %w", sdk.ErrRefused)}, sdk.ErrRefused, "not from you"},
		{"disk full at create", &memSink{createErr: enospc}, sdk.ErrNoSpace, "no space left on device"},
		{"disk full at write", &memSink{writeErr: enospc}, sdk.ErrNoSpace, "no space left on device"},
		{"hash mismatch", &memSink{closeErr: fmt.Errorf("f.bin: %w", sdk.ErrHashMismatch)}, sdk.ErrHashMismatch, "sha-256 mismatch"},
		{"other failure", &memSink{closeErr: errors.New("rename failed")}, nil, "rename failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProtocol(t, Config{})
			a, b := tcpPair(t)
			offer, src := oneFile("f.bin", randomBytes(200_000, 7))
			errc := runAsync(func() error {
				return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: tc.sink})
			})
			sendErr := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src})
			_ = a.Close()
			<-errc
			if sendErr == nil {
				t.Fatal("Send succeeded, want the receiver's cause")
			}
			if tc.want != nil && !errors.Is(sendErr, tc.want) {
				t.Errorf("Send: %v, want an error wrapping %v", sendErr, tc.want)
			}
			for _, not := range []error{sdk.ErrOffline, sdk.ErrRefused, sdk.ErrNoSpace, sdk.ErrHashMismatch} {
				if not != tc.want && errors.Is(sendErr, not) {
					t.Errorf("Send: %v wraps %v too", sendErr, not)
				}
			}
			if !strings.Contains(sendErr.Error(), tc.text) {
				t.Errorf("Send: %q does not say %q", sendErr, tc.text)
			}
		})
	}
}

// TestKillReasonOnlyAfterHello: a sender without the reason addon (no
// hello) gets toxcore's plain 3-byte KILL for a refusal, which its decoder
// knows; one that said hello gets the reason.
func TestKillReasonOnlyAfterHello(t *testing.T) {
	for _, said := range []bool{false, true} {
		t.Run(fmt.Sprintf("hello=%v", said), func(t *testing.T) {
			p, _ := newProtocol(t, Config{})
			a, b := tcpPair(t)
			sink := &memSink{refuse: fmt.Errorf("no thanks: %w", sdk.ErrRefused)}
			errc := runAsync(func() error { return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: sink}) })
			pr := newPeer(t, a)
			req := SendRequest{FileNumber: 0, Kind: KindData, Size: 10, Name: "x"}
			tid, err := parseTransferID(testTID)
			if err != nil {
				t.Fatal(err)
			}
			copy(req.FileID[:], tid[:])
			frames := []Frame{req}
			if said {
				frames = []Frame{hello(), req}
			}
			if err := pr.write(frames...); err != nil {
				t.Fatal(err)
			}
			f, err := pr.r.Next()
			if err != nil {
				t.Fatal(err)
			}
			want := kill(0)
			if said {
				want = killWhy(0, ReasonRefused, "no thanks: refused by receiver")
			}
			if f != Frame(want) {
				t.Errorf("answer %#v, want %#v", f, want)
			}
			_ = a.Close()
			<-errc
		})
	}
}
