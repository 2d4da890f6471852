package plugintest

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// FloodConfig describes a flood of connections that never complete a
// handshake, for tests of a listener's limits (see package
// sdk/connlimit).
type FloodConfig struct {
	// Addr is the listener to flood, as host:port.
	Addr string
	// Idle connections connect and send nothing.
	Idle int
	// Slow connections send Partial, the first bytes of a handshake, and
	// then nothing more.
	Slow    int
	Partial []byte
	// Sources are the local addresses the connections are made from, in
	// turn (any 127.0.0.0/8 address works on Linux loopback); none means
	// the system's choice.
	Sources []netip.Addr
	// Redial is how long a connection the listener closed waits before
	// connecting again, so that the flood is held for as long as it runs;
	// 0 means never.
	Redial time.Duration
}

// FloodStats counts what a flood did.
type FloodStats struct {
	Open     int    // connections open now
	Dialled  uint64 // connections made
	Closed   uint64 // connections the listener closed
	DialFail uint64 // connection attempts that failed
}

// Flood holds connections open against a listener until stopped. Make it
// with [StartFlood].
type Flood struct {
	cfg     FloodConfig
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool
	dialled atomic.Uint64
	closed  atomic.Uint64
	failed  atomic.Uint64
}

// StartFlood starts cfg.Idle+cfg.Slow goroutines, each holding one
// connection to cfg.Addr, and returns once each has connected (or failed
// to) once. The flood stops, and its connections close, at [Flood.Stop]
// or when the test ends.
func StartFlood(t testing.TB, cfg FloodConfig) *Flood {
	t.Helper()
	f := &Flood{cfg: cfg, stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	var first sync.WaitGroup
	n := cfg.Idle + cfg.Slow
	first.Add(n)
	for i := range n {
		var partial []byte
		if i >= cfg.Idle {
			partial = cfg.Partial
		}
		var src netip.Addr
		if len(cfg.Sources) > 0 {
			src = cfg.Sources[i%len(cfg.Sources)]
		}
		f.wg.Add(1)
		go f.hold(src, partial, &first)
	}
	t.Cleanup(f.Stop)
	first.Wait()
	return f
}

// Goroutines is the number of goroutines the flood runs.
func (f *Flood) Goroutines() int { return f.cfg.Idle + f.cfg.Slow }

// hold keeps one connection open, connecting again when the listener
// closes it if cfg.Redial is set.
func (f *Flood) hold(src netip.Addr, partial []byte, first *sync.WaitGroup) {
	defer f.wg.Done()
	once := sync.OnceFunc(first.Done)
	defer once()
	d := net.Dialer{Timeout: 5 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	for {
		c, err := d.Dial("tcp", f.cfg.Addr)
		once()
		if err == nil && f.track(c) {
			f.dialled.Add(1)
			if len(partial) > 0 {
				_, _ = c.Write(partial)
			}
			var b [256]byte
			for err == nil {
				_, err = c.Read(b[:]) // ends when either side closes
			}
			if f.untrack(c) {
				f.closed.Add(1)
			}
		} else if err != nil {
			f.failed.Add(1)
		}
		if f.cfg.Redial <= 0 {
			<-f.stop
			return
		}
		timer := time.NewTimer(f.cfg.Redial)
		select {
		case <-f.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// track records c, or closes it and returns false if the flood stopped.
func (f *Flood) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		_ = c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

// untrack forgets and closes c; it reports whether the flood was still
// running (so the listener, not Stop, ended c).
func (f *Flood) untrack(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	_ = c.Close()
	return !f.stopped
}

// Stats returns the flood's counters.
func (f *Flood) Stats() FloodStats {
	f.mu.Lock()
	open := len(f.conns)
	f.mu.Unlock()
	return FloodStats{Open: open, Dialled: f.dialled.Load(), Closed: f.closed.Load(), DialFail: f.failed.Load()}
}

// Stop closes the flood's connections and waits for its goroutines.
// Calling it again does nothing.
func (f *Flood) Stop() {
	f.mu.Lock()
	if !f.stopped {
		f.stopped = true
		close(f.stop)
		for c := range f.conns {
			_ = c.Close()
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// RaiseFDLimit makes sure this process may open n descriptors, raising
// the soft RLIMIT_NOFILE up to the hard one (restored when the test
// ends), and skips the test, saying why, when the hard limit is lower.
func RaiseFDLimit(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read RLIMIT_NOFILE (%v): this test needs %d descriptors", err, n)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("this test needs %d descriptors; RLIMIT_NOFILE allows at most %d (raise the hard limit, e.g. ulimit -Hn)", n, lim.Max)
	}
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("this test needs %d descriptors; raising RLIMIT_NOFILE from %d failed: %v", n, old.Cur, err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// OpenFDs returns the number of descriptors process pid has open (0 for
// this process), from /proc.
func OpenFDs(pid int) (int, error) {
	dir := "/proc/self/fd"
	if pid != 0 {
		dir = fmt.Sprintf("/proc/%d/fd", pid)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("count descriptors: %w", err)
	}
	return len(es), nil
}

// TCP socket states in /proc/net/tcp.
const (
	TCPEstablished = 0x01
	TCPListen      = 0x0A
)

// TCPSocket is one TCP socket of a process, as /proc/net/tcp{,6} shows it.
type TCPSocket struct {
	Local, Remote netip.AddrPort
	State         int // TCPListen, TCPEstablished, ...
}

// TCPSockets returns the TCP sockets that process pid (0 for this
// process) holds a descriptor of, in its network namespace. Linux only.
func TCPSockets(pid int) ([]TCPSocket, error) {
	proc := "/proc/self"
	if pid != 0 {
		proc = fmt.Sprintf("/proc/%d", pid)
	}
	es, err := os.ReadDir(filepath.Join(proc, "fd"))
	if err != nil {
		return nil, fmt.Errorf("list descriptors: %w", err)
	}
	inodes := map[string]bool{}
	for _, e := range es {
		l, err := os.Readlink(filepath.Join(proc, "fd", e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []TCPSocket
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(proc, "net", table))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && table == "tcp6" {
				continue // no IPv6
			}
			return nil, fmt.Errorf("read TCP sockets: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			local, err1 := parseProcAddr(fs[1])
			remote, err2 := parseProcAddr(fs[2])
			st, err3 := strconv.ParseUint(fs[3], 16, 8)
			if err := errors.Join(err1, err2, err3); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("%s line %q: %w", table, sc.Text(), err)
			}
			out = append(out, TCPSocket{Local: local, Remote: remote, State: int(st)})
		}
		err = sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
	}
	return out, nil
}

// parseProcAddr parses an address of /proc/net/tcp: the IP as 32-bit
// words in host byte order, in hex, a colon, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", s)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad IP", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	ip, _ := netip.AddrFromSlice(raw)
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port", s)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// ServerConns counts the connected sockets in socks whose local port is
// port: a listener's accepted connections still open.
func ServerConns(socks []TCPSocket, port uint16) int {
	n := 0
	for _, s := range socks {
		if s.State != TCPListen && s.Local.Port() == port {
			n++
		}
	}
	return n
}
