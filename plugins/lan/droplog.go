package lan

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ferry-p2p/ferry/sdk/lograte"
)

// Reasons for dropping input, as logged in the "reason" attribute.
const (
	reasonOversize     = "oversized"
	reasonMalformed    = "malformed"
	reasonSignalUDP    = "SIGNAL over UDP"
	reasonBadSignature = "bad signature"
	reasonSpoofed      = "spoofed id"
	reasonBadCert      = "bad certificate"
	reasonReplay       = "replay"
	reasonTableFull    = "peer table full"
	reasonFrameLength  = "bad frame length"
	reasonShortFrame   = "short frame"
	reasonNotSignal    = "not a SIGNAL"
	reasonRecipient    = "wrong recipient"
	reasonEvicted      = "closed while pending"
)

// dropLog rate-limits the log lines of refused input: one line per kind
// of input, source and reason every lograte.DefaultEvery.
type dropLog = lograte.Limiter

// drop logs, at warn level and at most once per lograte.DefaultEvery for each
// kind of input (what), source IP and reason, that input from src was
// dropped.
func (p *Plugin) drop(what string, src netip.AddrPort, reason string, detail any) {
	n, ok := p.drops.Allow(what+"\x00"+src.Addr().String()+"\x00"+reason, time.Now())
	if !ok {
		return
	}
	args := []any{"from", src.String(), "reason", reason, "detail", fmt.Sprint(detail)}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	p.log.Warn("lan: dropped "+what+" from "+src.String()+": "+reason, args...)
}

// verifyReason names what Verify found wrong.
func verifyReason(err error) string {
	switch {
	case errors.Is(err, errSpoofed):
		return reasonSpoofed
	case errors.Is(err, errBadCert):
		return reasonBadCert
	}
	return reasonBadSignature
}
