package dht

import (
	"context"
	"errors"
	"log/slog"
	"time"

	record "github.com/libp2p/go-libp2p-record"

	"github.com/ferry-p2p/ferry/sdk/lograte"
)

// Reasons for refusing input, as logged in the "reason" attribute.
const (
	reasonTooLarge     = "too large"
	reasonMalformed    = "malformed"
	reasonWrongKey     = "wrong key"
	reasonForged       = "forged"
	reasonExpired      = "expired"
	reasonFrameLength  = "bad frame length"
	reasonShortFrame   = "short frame"
	reasonBadCert      = "bad certificate"
	reasonKeyMismatch  = "certificate does not match the connection"
	reasonRecipient    = "wrong recipient"
	reasonBusy         = "too many streams"
	reasonNotNeighbour = "not the neighbour's record"
)

// dropLog rate-limits the log lines of refused input: one line per kind
// of input, source and reason every lograte.DefaultEvery.
type dropLog = lograte.Limiter

// refuser logs refused input: one warning per kind of input, source and
// reason every lograte.DefaultEvery.
type refuser struct {
	log   *slog.Logger
	drops *dropLog
}

// refuse logs that input of kind what from src was refused for reason.
// Expired records are logged at debug level: a store holds them until it
// collects them, and a record that merely aged is nobody's fault.
func (r refuser) refuse(what, src, reason string, err error) {
	n, ok := r.drops.Allow(what+"\x00"+src+"\x00"+reason, time.Now())
	if !ok {
		return
	}
	args := []any{"from", src, "reason", reason, "detail", err.Error()}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	level := slog.LevelWarn
	if reason == reasonExpired {
		level = slog.LevelDebug
	}
	r.log.Log(context.Background(), level, "dht: refused "+what+" from "+src+": "+reason, args...)
}

// recordReason names what the validator found wrong.
func recordReason(err error) string {
	switch {
	case errors.Is(err, ErrRecordTooLarge):
		return reasonTooLarge
	case errors.Is(err, ErrRecordWrongKey):
		return reasonWrongKey
	case errors.Is(err, ErrRecordForged):
		return reasonForged
	case errors.Is(err, ErrRecordExpired):
		return reasonExpired
	}
	return reasonMalformed
}

// loggingValidator is the validator the node's DHT uses: Validator, and
// one log line for each record it refuses (a PUT from a peer, a value in
// a lookup's answers).
type loggingValidator struct {
	v Validator
	r refuser
}

var _ record.Validator = loggingValidator{}

// Validate checks value with the Validator and logs a refusal.
func (l loggingValidator) Validate(key string, value []byte) error {
	err := l.v.Validate(key, value)
	if err != nil {
		l.r.refuse("record", "key "+shortKey(key), recordReason(err), err)
	}
	return err
}

// Select picks the freshest record.
func (l loggingValidator) Select(key string, values [][]byte) (int, error) {
	return l.v.Select(key, values)
}

// shortKey cuts a key for logs.
func shortKey(key string) string {
	if len(key) > 80 {
		return key[:80] + "…"
	}
	return key
}
