package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/core/secure"
)

// leg is one transport's attempt in a race: connect, secure, nominate.
type leg struct {
	t   Transport
	run func(ctx context.Context) (*secure.Conn, error)
}

// outcome is what one leg ended with.
type outcome struct {
	i    int
	conn *secure.Conn
	err  error
}

// race runs legs, grouped in priority buckets: within a bucket a leg
// starts stagger after the one before it; the next bucket starts fallback
// after this one did, or at once when every leg started so far has
// failed. The first leg to return a connection wins; the others are
// cancelled, any connection they still produce is closed, and race
// returns only once every leg has ended, so nothing outlives it. why
// says how the winner won, for the user.
func race(ctx context.Context, groups [][]leg, stagger, fallback time.Duration) (*secure.Conn, Transport, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var legs []leg
	results := make(chan outcome)
	started, ended, next := 0, 0, 0
	var errs legErrors
	start := func() {
		for j, l := range groups[next] {
			i := len(legs)
			legs = append(legs, l)
			delay := time.Duration(j) * stagger
			go func() {
				if delay > 0 {
					t := time.NewTimer(delay)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						results <- outcome{i: i, err: ctx.Err()}
						return
					}
				}
				c, err := l.run(ctx)
				results <- outcome{i: i, conn: c, err: err}
			}()
			started++
		}
		next++
	}
	if len(groups) == 0 {
		return nil, Transport{}, "", errors.New("no transport to connect over")
	}
	start()
	fb := time.NewTimer(fallback)
	defer fb.Stop()
	var (
		win    *secure.Conn
		winner = -1
	)
	for ended < started || (winner < 0 && next < len(groups) && ctx.Err() == nil) {
		var fbC <-chan time.Time
		if winner < 0 && next < len(groups) {
			fbC = fb.C
		}
		select {
		case <-fbC:
			start()
			fb.Reset(fallback)
		case o := <-results:
			ended++
			switch {
			case o.err == nil && winner < 0:
				winner, win = o.i, o.conn
				cancel()
			case o.err == nil:
				_ = o.conn.Close() // a loser that secured too late
			case winner < 0:
				errs = append(errs, fmt.Errorf("%s: %w", legs[o.i].t.Name, o.err))
				if ended == started && next < len(groups) && ctx.Err() == nil {
					start()
					fb.Reset(fallback)
				}
			}
		case <-ctx.Done():
			// Wait for the legs, which see the same context.
			for ended < started {
				o := <-results
				ended++
				switch {
				case o.err == nil:
					_ = o.conn.Close()
				case winner < 0:
					// What each leg was doing when time ran out.
					errs = append(errs, fmt.Errorf("%s: %w", legs[o.i].t.Name, o.err))
				}
			}
		}
	}
	if winner < 0 {
		if err := ctx.Err(); err != nil {
			if len(errs) == 0 {
				return nil, Transport{}, "", err
			}
			return nil, Transport{}, "", fmt.Errorf("%w (%w)", err, errs)
		}
		return nil, Transport{}, "", fmt.Errorf("every transport failed: %w", errs)
	}
	w := legs[winner].t
	why := fmt.Sprintf("priority %d, first to connect and secure of %d started", w.Priority, started)
	if len(errs) > 0 {
		why += ", after " + errs.Error()
	}
	return win, w, why, nil
}

// legErrors are the failures of a race's legs, one per transport; errors.Is
// and errors.As see each of them.
type legErrors []error

func (e legErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e legErrors) Unwrap() []error { return e }
