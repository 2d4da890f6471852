package connect

import "time"

// Policy holds the time each state may take and the rules that say when
// what a state learned has gone stale. The zero value of a field means
// its default, given in parentheses.
type Policy struct {
	// Discover bounds Discovering: how long to wait for the peer to be
	// seen by discovery, or found by a look-up (10s).
	Discover time.Duration
	// Resolve bounds one look-up in Resolving (10s).
	Resolve time.Duration
	// Fresh is how recent a discovery entry must be for Resolving to trust
	// it without a look-up on a first attempt; an older entry is stale and
	// looked up again, and a look-up that fails then keeps the stale entry.
	// A later attempt always looks up, as the peer's addresses may be why
	// the earlier one failed (0: every attempt looks up).
	Fresh time.Duration
	// Answer bounds Signaling: the wait for ACCEPT or REFUSE (5m). An
	// answer to an earlier attempt (another attempt number) is stale and
	// ignored.
	Answer time.Duration
	// Connect bounds Connecting and Securing together (30s): a prepared
	// transport session not connected by then is stale and released.
	Connect time.Duration
	// Secure bounds one TLS handshake and its nomination (10s).
	Secure time.Duration
	// Stagger is the delay between the starts of transports of the same
	// priority, which otherwise race (250ms).
	Stagger time.Duration
	// Fallback is how long the transports of one priority have before the
	// next lower priority starts too; it starts at once when all of them
	// have failed (1s).
	Fallback time.Duration
}

// The defaults of [Policy].
const (
	DefaultDiscover = 10 * time.Second
	DefaultResolve  = 10 * time.Second
	DefaultAnswer   = 5 * time.Minute
	DefaultConnect  = 30 * time.Second
	DefaultSecure   = 10 * time.Second
	DefaultStagger  = 250 * time.Millisecond
	DefaultFallback = time.Second
)

// withDefaults returns p with every zero duration replaced by its default.
func (p Policy) withDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.Discover, DefaultDiscover)
	def(&p.Resolve, DefaultResolve)
	def(&p.Answer, DefaultAnswer)
	def(&p.Connect, DefaultConnect)
	def(&p.Secure, DefaultSecure)
	def(&p.Stagger, DefaultStagger)
	def(&p.Fallback, DefaultFallback)
	return p
}
