// Package connlimit guards a listener against floods of connections that
// never complete their handshake.
//
// A [Gate] sits between Accept and the code that reads a connection's
// first bytes. Every accepted connection is [Gate.Admit]ted and is then
// pending: it has until [Limits.HandshakeTimeout] to prove itself, after
// which the gate closes it. The handler calls [Pending.Authenticate] once
// the connection has done so (a complete, valid first message, a known
// token); it then leaves the pending set, no longer counts against any
// limit and is the handler's alone. Whatever happens, the handler calls
// [Pending.Release] when it is done with the handshake.
//
// Pending connections are bounded twice. A source, an IPv4 address or an
// IPv6 /64, may hold at most [Limits.MaxPendingPerSource] of them, and the
// listener at most [Limits.MaxPending]. Neither limit refuses the new
// connection: going over a limit closes the oldest pending connection of
// that source, or of all sources. A flood of idle or slow connections
// thus churns through the pending set and cannot keep out a peer that
// completes its handshake promptly, and a flood from one source cannot
// evict another source's handshakes at all until the whole set is full.
// Since evicted connections are closed at once, the descriptors and
// goroutines a listener spends on unauthenticated peers stay bounded by
// MaxPending.
//
// A Gate is safe for concurrent use. It starts no goroutine of its own;
// the timers that enforce the handshake deadline are stopped, and their
// functions waited for, by [Gate.Close].
package connlimit

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults suggested for a listener whose handshake is a few small
// messages exchanged right after connecting.
const (
	// DefaultHandshakeTimeout is how long a connection may stay pending.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultMaxPending bounds the pending connections of a listener.
	DefaultMaxPending = 128
	// DefaultMaxPendingPerSource bounds the pending connections of one
	// source address.
	DefaultMaxPendingPerSource = 16
)

// Errors that say why a gate closed a connection, as returned by
// [Pending.Err] and [Gate.Admit].
var (
	// ErrHandshakeTimeout: the connection stayed pending past
	// Limits.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("connlimit: handshake not completed in time")
	// ErrEvictedSource: a newer connection from the same source took the
	// place of this one (Limits.MaxPendingPerSource).
	ErrEvictedSource = errors.New("connlimit: evicted by a newer connection from the same source")
	// ErrEvicted: a newer connection took the place of this one, the
	// oldest pending (Limits.MaxPending).
	ErrEvicted = errors.New("connlimit: evicted by a newer connection (too many pending)")
	// ErrClosed: the gate was closed.
	ErrClosed = errors.New("connlimit: gate closed")
)

// Limits are the bounds a [Gate] enforces. All three must be positive,
// and MaxPendingPerSource at most MaxPending; see [Limits.Check].
type Limits struct {
	// HandshakeTimeout is how long an admitted connection may stay
	// pending before the gate closes it.
	HandshakeTimeout time.Duration
	// MaxPending is the number of pending connections over which the
	// oldest one is closed.
	MaxPending int
	// MaxPendingPerSource is the number of pending connections from one
	// source (IPv4 address, IPv6 /64) over which that source's oldest one
	// is closed.
	MaxPendingPerSource int
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		HandshakeTimeout:    DefaultHandshakeTimeout,
		MaxPending:          DefaultMaxPending,
		MaxPendingPerSource: DefaultMaxPendingPerSource,
	}
}

// Check reports whether l can be used, and if not, why.
func (l Limits) Check() error {
	switch {
	case l.HandshakeTimeout <= 0:
		return fmt.Errorf("connlimit: handshake timeout %v: want a positive duration", l.HandshakeTimeout)
	case l.MaxPending < 1:
		return fmt.Errorf("connlimit: max pending %d: want at least 1", l.MaxPending)
	case l.MaxPendingPerSource < 1:
		return fmt.Errorf("connlimit: max pending per source %d: want at least 1", l.MaxPendingPerSource)
	case l.MaxPendingPerSource > l.MaxPending:
		return fmt.Errorf("connlimit: max pending per source %d exceeds max pending %d", l.MaxPendingPerSource, l.MaxPending)
	}
	return nil
}

// Stats counts what a gate did since it was made.
type Stats struct {
	Pending       int    // connections pending now
	Admitted      uint64 // connections admitted
	Authenticated uint64 // connections that authenticated in time
	Evicted       uint64 // closed to make room (either limit)
	TimedOut      uint64 // closed at their handshake deadline
}

// Gate bounds the pending connections of one listener, or of several
// that share the limits. Make it with [NewGate].
type Gate struct {
	mu       sync.Mutex
	limits   Limits
	closed   bool
	order    *list.List // of *Pending, oldest first
	bySource map[netip.Prefix][]*Pending
	stats    Stats
	timers   sync.WaitGroup // deadline functions armed and not yet done
}

// NewGate returns a gate enforcing l, or an error if l fails [Limits.Check].
func NewGate(l Limits) (*Gate, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	return &Gate{limits: l, order: list.New(), bySource: map[netip.Prefix][]*Pending{}}, nil
}

// Pending is a connection admitted by a [Gate] and not yet released.
type Pending struct {
	g      *Gate
	conn   net.Conn
	source netip.Prefix
	elem   *list.Element // in g.order while pending; nil after
	timer  *time.Timer
	err    error // why the gate closed it; guarded by g.mu
	auth   bool  // guarded by g.mu
}

// Source returns the source that the per-source limit counts a
// connection from remote (its RemoteAddr) against: the IPv4 address (an
// IPv4-mapped IPv6 address counts as IPv4), or the /64 an IPv6 address is
// in. Addresses that are not IP addresses share the zero prefix.
func Source(remote net.Addr) netip.Prefix {
	var ap netip.AddrPort
	switch a := remote.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// SetLimits changes the limits for connections admitted from now on, and
// closes the oldest pending connections now over them. Deadlines already
// running keep their length. It returns an error, and changes nothing, if
// l fails [Limits.Check].
func (g *Gate) SetLimits(l Limits) error {
	if err := l.Check(); err != nil {
		return err
	}
	g.mu.Lock()
	g.limits = l
	victims := g.trimLocked(netip.Prefix{}, false)
	g.mu.Unlock()
	closeAll(victims)
	return nil
}

// Admit makes c pending and starts its handshake deadline. Admitting it
// may close older pending connections, as the package documentation
// describes; it never refuses c, unless the gate is closed: then it closes
// c and returns an error wrapping [ErrClosed].
func (g *Gate) Admit(c net.Conn) (*Pending, error) {
	p := &Pending{g: g, conn: c, source: Source(c.RemoteAddr())}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = c.Close()
		return nil, fmt.Errorf("connlimit: admit %s: %w", c.RemoteAddr(), ErrClosed)
	}
	p.elem = g.order.PushBack(p)
	g.bySource[p.source] = append(g.bySource[p.source], p)
	g.stats.Admitted++
	g.timers.Add(1)
	p.timer = time.AfterFunc(g.limits.HandshakeTimeout, p.expire)
	victims := g.trimLocked(p.source, true)
	g.mu.Unlock()
	closeAll(victims)
	return p, nil
}

// trimLocked evicts the oldest pending connections over the limits: of
// source first if bySource, then of the whole gate. It returns the
// connections to close once g.mu is released.
func (g *Gate) trimLocked(source netip.Prefix, bySource bool) []net.Conn {
	var victims []net.Conn
	if bySource {
		for len(g.bySource[source]) > g.limits.MaxPendingPerSource {
			victims = append(victims, g.evictLocked(g.bySource[source][0], ErrEvictedSource))
		}
	} else {
		for _, ps := range g.bySource {
			for len(ps) > g.limits.MaxPendingPerSource {
				victims = append(victims, g.evictLocked(ps[0], ErrEvictedSource))
				ps = ps[1:]
			}
		}
	}
	for g.order.Len() > g.limits.MaxPending {
		victims = append(victims, g.evictLocked(g.order.Front().Value.(*Pending), ErrEvicted))
	}
	return victims
}

// evictLocked removes p for reason and returns its connection to close.
func (g *Gate) evictLocked(p *Pending, reason error) net.Conn {
	g.removeLocked(p)
	p.err = reason
	if reason == ErrHandshakeTimeout {
		g.stats.TimedOut++
	} else {
		g.stats.Evicted++
	}
	return p.conn
}

// removeLocked takes p out of the pending set and stops its deadline. It
// is a no-op if p is no longer pending.
func (g *Gate) removeLocked(p *Pending) {
	if p.elem == nil {
		return
	}
	g.order.Remove(p.elem)
	p.elem = nil
	ps := g.bySource[p.source]
	for i, q := range ps {
		if q == p {
			ps = append(ps[:i:i], ps[i+1:]...)
			break
		}
	}
	if len(ps) == 0 {
		delete(g.bySource, p.source)
	} else {
		g.bySource[p.source] = ps
	}
	if p.timer.Stop() {
		g.timers.Done() // the deadline function will not run
	}
}

// expire is the deadline function of p.
func (p *Pending) expire() {
	g := p.g
	defer g.timers.Done()
	g.mu.Lock()
	if p.elem == nil {
		g.mu.Unlock()
		return
	}
	c := g.evictLocked(p, ErrHandshakeTimeout)
	g.mu.Unlock()
	_ = c.Close()
}

// Authenticate takes the connection out of the pending set: its deadline
// stops and it no longer counts against the limits. It reports false if
// the gate closed the connection already (see [Pending.Err]); the
// handshake must then be abandoned.
func (p *Pending) Authenticate() bool {
	g := p.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.elem == nil {
		return p.auth
	}
	g.removeLocked(p)
	p.auth = true
	g.stats.Authenticated++
	return true
}

// Release takes the connection out of the pending set if it is still
// there, without closing it. Call it when the handshake ends, however it
// ends; calling it more than once is harmless.
func (p *Pending) Release() {
	p.g.mu.Lock()
	p.g.removeLocked(p)
	p.g.mu.Unlock()
}

// Err returns why the gate closed the connection: an error that is
// [ErrHandshakeTimeout], [ErrEvictedSource], [ErrEvicted] or [ErrClosed],
// or nil if the gate did not close it.
func (p *Pending) Err() error {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	return p.err
}

// Stats returns the gate's counters.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Pending = g.order.Len()
	return s
}

// Close closes every pending connection (their Err is [ErrClosed]), makes
// later Admit calls fail, and returns once no deadline function of the
// gate is running. Connections already authenticated are left alone.
// Closing a closed gate does nothing.
func (g *Gate) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	var victims []net.Conn
	for e := g.order.Front(); e != nil; e = g.order.Front() {
		p := e.Value.(*Pending)
		g.removeLocked(p)
		p.err = ErrClosed
		victims = append(victims, p.conn)
	}
	g.mu.Unlock()
	closeAll(victims)
	g.timers.Wait()
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		_ = c.Close()
	}
}
