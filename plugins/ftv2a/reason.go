package ftv2a

import (
	"fmt"
	"unicode/utf8"

	"github.com/ferry-p2p/ferry/sdk/reason"
)

// reasonNames maps a KILL's reason byte to the SDK's reason; the index is
// the byte.
var reasonNames = [...]string{
	ReasonNone:          "",
	ReasonRefused:       reason.Refused,
	ReasonNoSpace:       reason.NoSpace,
	ReasonIntegrity:     reason.Integrity,
	ReasonHashMismatch:  reason.HashMismatch,
	ReasonSourceChanged: reason.SourceChanged,
	ReasonFailed:        reason.Failed,
}

// killFor is the KILL about file fn that says why err stopped it: a
// reason byte and err's text, cut to MaxReasonText bytes on a rune
// boundary.
func killFor(fn uint8, err error) Control {
	c := Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Kill, Reason: ReasonFailed}
	name := reason.Of(err)
	for b, n := range reasonNames {
		if n == name && b != int(ReasonNone) {
			c.Reason = uint8(b)
		}
	}
	text := err.Error()
	for len(text) > MaxReasonText {
		_, size := utf8.DecodeLastRuneInString(text)
		text = text[:len(text)-size]
	}
	c.Text = text
	return c
}

// killError is the sender's error for a KILL with a reason about file
// name: it wraps the sentinel of the reason, so the core can tell a full
// disk from a refusal.
func killError(name string, c Control) error {
	what := fmt.Sprintf("ftv2a: file %q: the receiver stopped it", name)
	if int(c.Reason) >= len(reasonNames) {
		return reason.FromPeer(what, reason.Failed, c.Text)
	}
	return reason.FromPeer(what, reasonNames[c.Reason], c.Text)
}
