package connlimit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventually bounds every wait for something that should happen; no test
// asserts how fast it happens.
const eventually = 20 * time.Second

// loopback is a listener on 127.0.0.1 that hands out connected pairs.
type loopback struct {
	t  *testing.T
	ln *net.TCPListener
}

func newLoopback(t *testing.T) *loopback {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return &loopback{t: t, ln: ln}
}

// pair dials the listener from src (any 127.0.0.0/8 address works on
// Linux loopback) and returns the client end and the accepted end.
func (l *loopback) pair(src string) (client, server net.Conn) {
	l.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: eventually}
	c, err := d.Dial("tcp", l.ln.Addr().String())
	if err != nil {
		l.t.Fatalf("dial from %s: %v", src, err)
	}
	_ = l.ln.SetDeadline(time.Now().Add(eventually))
	s, err := l.ln.Accept()
	if err != nil {
		l.t.Fatalf("accept: %v", err)
	}
	l.t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c, s
}

// closedByServer reports whether the server closed the client's
// connection: a read sees EOF or a reset. It waits up to wait.
func closedByServer(t *testing.T, c net.Conn, wait time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), err != nil && strings.Contains(err.Error(), "reset"):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return false
	}
	t.Fatalf("read: got %v, want EOF or a timeout", err)
	return false
}

func newGate(t *testing.T, l Limits) *Gate {
	t.Helper()
	g, err := NewGate(l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func admit(t *testing.T, g *Gate, c net.Conn) *Pending {
	t.Helper()
	p, err := g.Admit(c)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	return p
}

func TestLimitsCheck(t *testing.T) {
	for _, c := range []struct {
		l    Limits
		want string // "" = valid
	}{
		{DefaultLimits(), ""},
		{Limits{HandshakeTimeout: time.Nanosecond, MaxPending: 1, MaxPendingPerSource: 1}, ""},
		{Limits{HandshakeTimeout: 0, MaxPending: 1, MaxPendingPerSource: 1}, "handshake timeout"},
		{Limits{HandshakeTimeout: -time.Second, MaxPending: 1, MaxPendingPerSource: 1}, "handshake timeout"},
		{Limits{HandshakeTimeout: time.Second, MaxPending: 0, MaxPendingPerSource: 1}, "max pending 0"},
		{Limits{HandshakeTimeout: time.Second, MaxPending: 4, MaxPendingPerSource: 0}, "per source 0"},
		{Limits{HandshakeTimeout: time.Second, MaxPending: 4, MaxPendingPerSource: 5}, "exceeds"},
	} {
		err := c.l.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v.Check() = %v, want %q", c.l, err, c.want)
		}
		if _, gerr := NewGate(c.l); (gerr == nil) != (err == nil) {
			t.Errorf("NewGate(%+v) = %v, Check says %v", c.l, gerr, err)
		}
	}
}

func TestSource(t *testing.T) {
	tcp := func(s string) net.Conn {
		ap := netip.MustParseAddrPort(s)
		return fakeConn{&net.TCPAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port()), Zone: ap.Addr().Zone()}}
	}
	for _, c := range []struct {
		conn net.Conn
		want string
	}{
		{tcp("127.0.0.1:1"), "127.0.0.1/32"},
		{tcp("[::ffff:192.0.2.7]:1"), "192.0.2.7/32"},
		{tcp("[2001:db8:1:2:3:4:5:6]:1"), "2001:db8:1:2::/64"},
		{tcp("[2001:db8:1:2:ffff::1]:9"), "2001:db8:1:2::/64"},
		{tcp("[fe80::1%lo]:1"), "fe80::/64"},
		{fakeConn{&net.UnixAddr{Name: "x", Net: "unix"}}, "invalid Prefix"},
	} {
		if got := Source(c.conn.RemoteAddr()).String(); got != c.want {
			t.Errorf("Source(%v) = %s, want %s", c.conn.RemoteAddr(), got, c.want)
		}
	}
}

// fakeConn is a net.Conn with only a remote address.
type fakeConn struct{ remote net.Addr }

func (f fakeConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (f fakeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (f fakeConn) Close() error                     { return nil }
func (f fakeConn) LocalAddr() net.Addr              { return f.remote }
func (f fakeConn) RemoteAddr() net.Addr             { return f.remote }
func (f fakeConn) SetDeadline(time.Time) error      { return nil }
func (f fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f fakeConn) SetWriteDeadline(time.Time) error { return nil }

// TestEvictionOrder admits connections one by one over the global limit
// and checks that each admission closes exactly the oldest pending one,
// whatever its source, and that an authenticated one is never chosen.
func TestEvictionOrder(t *testing.T) {
	lb := newLoopback(t)
	g := newGate(t, Limits{HandshakeTimeout: time.Hour, MaxPending: 3, MaxPendingPerSource: 3})
	type conn struct {
		client net.Conn
		p      *Pending
	}
	var cs []conn
	add := func(src string) {
		c, s := lb.pair(src)
		cs = append(cs, conn{c, admit(t, g, s)})
	}
	for _, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2"} {
		add(src)
	}
	if !cs[1].p.Authenticate() {
		t.Fatalf("Authenticate of a pending connection = false (%v)", cs[1].p.Err())
	}
	// Pending now, oldest first: 0, 2. Each admission below is one over
	// the limit once the set holds 3.
	wantEvicted := map[int]int{ // admission index → evicted index
		4: 0, 5: 2, 6: 3,
	}
	add("127.0.0.4") // 3: pending 0, 2, 3
	for i := 4; i <= 6; i++ {
		add(fmt.Sprintf("127.0.0.%d", 2+i%3))
		v := wantEvicted[i]
		if err := cs[v].p.Err(); !errors.Is(err, ErrEvicted) {
			t.Fatalf("after admission %d: connection %d Err = %v, want ErrEvicted", i, v, err)
		}
		if !closedByServer(t, cs[v].client, eventually) {
			t.Fatalf("after admission %d: connection %d still open", i, v)
		}
		for j := range cs {
			if _, gone := evictedBy(wantEvicted, j, i); !gone && cs[j].p.Err() != nil {
				t.Fatalf("after admission %d: connection %d closed too (%v)", i, j, cs[j].p.Err())
			}
		}
	}
	if cs[1].p.Err() != nil || closedByServer(t, cs[1].client, 50*time.Millisecond) {
		t.Fatal("the authenticated connection was closed")
	}
	if cs[0].p.Authenticate() {
		t.Fatal("Authenticate of an evicted connection = true")
	}
	st := g.Stats()
	if st.Pending != 3 || st.Admitted != 7 || st.Authenticated != 1 || st.Evicted != 3 || st.TimedOut != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

// evictedBy reports the admission that evicted connection j, if one up to
// admission i did.
func evictedBy(want map[int]int, j, i int) (int, bool) {
	for a, v := range want {
		if v == j && a <= i {
			return a, true
		}
	}
	return 0, false
}

// TestPerSourceLimit checks that a source over its limit loses its own
// oldest connection, and only that.
func TestPerSourceLimit(t *testing.T) {
	lb := newLoopback(t)
	g := newGate(t, Limits{HandshakeTimeout: time.Hour, MaxPending: 10, MaxPendingPerSource: 2})
	other, os := lb.pair("127.0.0.9")
	po := admit(t, g, os)
	var clients []net.Conn
	var ps []*Pending
	for range 4 {
		c, s := lb.pair("127.0.0.2")
		clients = append(clients, c)
		ps = append(ps, admit(t, g, s))
	}
	for i, p := range ps {
		wantGone := i < 2
		if gone := errors.Is(p.Err(), ErrEvictedSource); gone != wantGone {
			t.Errorf("connection %d from the flooding source: Err = %v, want evicted %v", i, p.Err(), wantGone)
		}
		if wantGone && !closedByServer(t, clients[i], eventually) {
			t.Errorf("connection %d was evicted but is open", i)
		}
	}
	if po.Err() != nil || closedByServer(t, other, 50*time.Millisecond) {
		t.Fatalf("the other source's connection was closed (%v)", po.Err())
	}
	if st := g.Stats(); st.Pending != 3 || st.Evicted != 2 {
		t.Fatalf("Stats = %+v, want 3 pending, 2 evicted", st)
	}
}

// TestHandshakeTimeout checks that a connection that stays pending is
// closed at its deadline and one that authenticated is not.
func TestHandshakeTimeout(t *testing.T) {
	lb := newLoopback(t)
	const timeout = 20 * time.Millisecond
	g := newGate(t, Limits{HandshakeTimeout: timeout, MaxPending: 10, MaxPendingPerSource: 10})
	idle, s1 := lb.pair("127.0.0.2")
	p1 := admit(t, g, s1)
	good, s2 := lb.pair("127.0.0.2")
	p2 := admit(t, g, s2)
	if !p2.Authenticate() {
		t.Fatalf("Authenticate = false (%v)", p2.Err())
	}
	if !closedByServer(t, idle, eventually) {
		t.Fatal("the idle connection was not closed")
	}
	if err := p1.Err(); !errors.Is(err, ErrHandshakeTimeout) {
		t.Fatalf("Err = %v, want ErrHandshakeTimeout", err)
	}
	// Well past the deadline, the authenticated connection still works.
	time.Sleep(5 * timeout)
	if _, err := good.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = s2.SetReadDeadline(time.Now().Add(eventually))
	var b [1]byte
	if _, err := io.ReadFull(s2, b[:]); err != nil {
		t.Fatalf("the authenticated connection: %v", err)
	}
	if st := g.Stats(); st.TimedOut != 1 || st.Pending != 0 || st.Authenticated != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestReleaseAndClose checks that Release frees a slot without closing,
// and that Close closes what is pending and refuses later admissions.
func TestReleaseAndClose(t *testing.T) {
	lb := newLoopback(t)
	g, err := NewGate(Limits{HandshakeTimeout: time.Hour, MaxPending: 1, MaxPendingPerSource: 1})
	if err != nil {
		t.Fatal(err)
	}
	released, s1 := lb.pair("127.0.0.2")
	p1 := admit(t, g, s1)
	p1.Release()
	p1.Release()
	pending, s2 := lb.pair("127.0.0.2")
	p2 := admit(t, g, s2)
	if p1.Err() != nil || closedByServer(t, released, 50*time.Millisecond) {
		t.Fatalf("a released connection was closed (%v)", p1.Err())
	}
	if p1.Authenticate() {
		t.Fatal("Authenticate after Release = true")
	}
	g.Close()
	g.Close()
	if !errors.Is(p2.Err(), ErrClosed) || !closedByServer(t, pending, eventually) {
		t.Fatalf("pending connection after Close: Err = %v", p2.Err())
	}
	late, s3 := lb.pair("127.0.0.2")
	if _, err := g.Admit(s3); !errors.Is(err, ErrClosed) {
		t.Fatalf("Admit after Close = %v, want ErrClosed", err)
	}
	if !closedByServer(t, late, eventually) {
		t.Fatal("a connection refused by a closed gate is open")
	}
}

// TestSetLimits checks that lowering the limits evicts at once and that a
// bad value changes nothing.
func TestSetLimits(t *testing.T) {
	lb := newLoopback(t)
	g := newGate(t, Limits{HandshakeTimeout: time.Hour, MaxPending: 8, MaxPendingPerSource: 8})
	var ps []*Pending
	for _, src := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		_, s := lb.pair(src)
		ps = append(ps, admit(t, g, s))
	}
	if err := g.SetLimits(Limits{HandshakeTimeout: time.Hour, MaxPending: 1, MaxPendingPerSource: 2}); err == nil {
		t.Fatal("SetLimits accepted a per-source limit over the total")
	}
	if st := g.Stats(); st.Pending != 5 {
		t.Fatalf("a refused SetLimits evicted: %+v", st)
	}
	if err := g.SetLimits(Limits{HandshakeTimeout: time.Hour, MaxPending: 2, MaxPendingPerSource: 2}); err != nil {
		t.Fatal(err)
	}
	// 127.0.0.2 keeps its newest two (1, 2); then the oldest of 1, 2, 3, 4
	// go until two are left: 3 and 4.
	for i, want := range []error{ErrEvictedSource, ErrEvicted, ErrEvicted, nil, nil} {
		if got := ps[i].Err(); !errors.Is(got, want) && !(want == nil && got == nil) {
			t.Errorf("connection %d: Err = %v, want %v", i, got, want)
		}
	}
}

// TestConcurrentUse admits, authenticates, releases and times out
// connections from many goroutines; run with -race. At the end nothing is
// pending and every admission is accounted for.
func TestConcurrentUse(t *testing.T) {
	lb := newLoopback(t)
	g, err := NewGate(Limits{HandshakeTimeout: time.Millisecond, MaxPending: 4, MaxPendingPerSource: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	servers := make([]net.Conn, n)
	for i := range servers {
		_, servers[i] = lb.pair(fmt.Sprintf("127.0.0.%d", 2+i%5))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	released := 0
	for i, s := range servers {
		wg.Go(func() {
			p, err := g.Admit(s)
			if err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 && p.Authenticate() {
				return
			}
			_ = p.Err()
			p.Release()
			mu.Lock()
			released++
			mu.Unlock()
		})
	}
	wg.Wait()
	g.Close()
	st := g.Stats()
	if st.Pending != 0 || st.Admitted != n || st.Authenticated > n/2 {
		t.Fatalf("Stats = %+v", st)
	}
	if st.Authenticated+uint64(released) != n {
		t.Fatalf("%d authenticated + %d released, want %d admitted", st.Authenticated, released, n)
	}
}
