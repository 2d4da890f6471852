package lan

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
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
	reasonBusy         = "too many handshakes"
)

const (
	// dropLogEvery is how often one source may log one reason.
	dropLogEvery = 10 * time.Second
	// dropLogKeys bounds the rate limiter's memory; when full it starts
	// afresh.
	dropLogKeys = 4096
)

// dropLog rate-limits log lines by key: the first line of a key is
// logged, the next ones within dropLogEvery are only counted, and the
// count is reported with the next line logged.
type dropLog struct {
	mu      sync.Mutex
	entries map[string]*dropEntry
}

type dropEntry struct {
	next       time.Time
	suppressed int
}

// allow reports whether a line for key may be logged now and how many
// were suppressed since the last one.
func (d *dropLog) allow(key string, now time.Time) (suppressed int, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.entries == nil || len(d.entries) >= dropLogKeys {
		d.entries = map[string]*dropEntry{}
	}
	e := d.entries[key]
	if e == nil {
		e = &dropEntry{}
		d.entries[key] = e
	}
	if now.Before(e.next) {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.next, e.suppressed = now.Add(dropLogEvery), 0
	return n, true
}

// drop logs, at warn level and at most once per dropLogEvery for each
// kind of input (what), source IP and reason, that input from src was
// dropped.
func (p *Plugin) drop(what string, src netip.AddrPort, reason string, detail any) {
	n, ok := p.drops.allow(what+"\x00"+src.Addr().String()+"\x00"+reason, time.Now())
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
