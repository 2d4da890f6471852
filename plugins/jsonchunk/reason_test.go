package jsonchunk

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// TestNoSpaceReachesSender: a receiver whose disk fills, when it makes the
// part files or while it writes chunks, answers with CodeNoSpace, and the
// sender's error wraps sdk.ErrNoSpace (so the core waits for room instead
// of retrying at once), as does the receiver's.
func TestNoSpaceReachesSender(t *testing.T) {
	enospc := fmt.Errorf("write /recv/f.part: %w", syscall.ENOSPC)
	cases := []struct {
		name string
		set  func(s *diskSink)
	}{
		{"at create", func(s *diskSink) { s.createErr = enospc }},
		{"at write", func(s *diskSink) { s.writeErr = enospc }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := quietProtocol(t, Config{})
			sink := newDiskSink(t)
			tc.set(sink)
			data := randomBytes(300_000, 3)
			a, b := tcpPair(t)
			sendErr, recvErr := transfer(plugintest.Context(t), p, p, a, b, offerOf(data), &memSource{files: [][]byte{data}}, sink, nil)
			if !errors.Is(sendErr, sdk.ErrNoSpace) || !strings.Contains(sendErr.Error(), "no space left on device") {
				t.Errorf("Send: %v, want an error wrapping sdk.ErrNoSpace that says why", sendErr)
			}
			if errors.Is(sendErr, sdk.ErrRefused) {
				t.Errorf("Send: %v reads as a refusal", sendErr)
			}
			if !errors.Is(recvErr, sdk.ErrNoSpace) {
				t.Errorf("Receive: %v, want an error wrapping sdk.ErrNoSpace", recvErr)
			}
		})
	}
}
