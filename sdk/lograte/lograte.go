// Package lograte limits repeated log lines, for plugins that log input
// they refuse: a peer that sends garbage a thousand times a second must
// not fill the log, yet the first line of each kind must show at once.
//
// A [Limiter] keys lines by what they are about (a kind of input, its
// source and the reason, say). The first line of a key is logged; the
// next ones within the interval are only counted, and the count is
// reported with the next line that is logged.
package lograte

import (
	"sync"
	"time"
)

// Defaults of a zero [Limiter].
const (
	// DefaultEvery is how often one key may log a line.
	DefaultEvery = 10 * time.Second
	// DefaultMaxKeys bounds the keys remembered; when full, the limiter
	// starts afresh (so a flood of distinct keys costs bounded memory).
	DefaultMaxKeys = 4096
)

// Limiter rate-limits log lines by key. The zero value uses the defaults;
// it is safe for concurrent use.
type Limiter struct {
	// Every is how often one key may log; zero means DefaultEvery.
	Every time.Duration
	// MaxKeys bounds the keys remembered; zero means DefaultMaxKeys.
	MaxKeys int

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	next       time.Time
	suppressed int
}

// Allow reports whether a line for key may be logged at now and, if so,
// how many lines of the key were suppressed since the last one logged.
func (l *Limiter) Allow(key string, now time.Time) (suppressed int, ok bool) {
	every, maxKeys := l.Every, l.MaxKeys
	if every <= 0 {
		every = DefaultEvery
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil || len(l.entries) >= maxKeys {
		l.entries = map[string]*entry{}
	}
	e := l.entries[key]
	if e == nil {
		e = &entry{}
		l.entries[key] = e
	}
	if now.Before(e.next) {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.next, e.suppressed = now.Add(every), 0
	return n, true
}
