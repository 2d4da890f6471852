package plugintest

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestTCPSocketsAndFlood(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	f := StartFlood(t, FloodConfig{Addr: addr.String(), Idle: 2, Slow: 1, Partial: []byte("x"), Sources: []netip.Addr{netip.MustParseAddr("127.0.0.2")}})
	var server []net.Conn
	for range 3 {
		select {
		case c := <-accepted:
			server = append(server, c)
		case <-time.After(CallTimeout):
			t.Fatal("the flood's connections were not accepted")
		}
	}
	socks, err := TCPSockets(0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(socks, TCPSocket{Local: addr, Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), State: TCPListen}) {
		t.Fatalf("listener %v not among this process's sockets %v", addr, socks)
	}
	if n := ServerConns(socks, addr.Port()); n != 3 {
		t.Fatalf("ServerConns = %d, want 3", n)
	}
	for _, s := range socks {
		if s.Remote == addr && s.Local.Addr() != netip.MustParseAddr("127.0.0.2") {
			t.Errorf("flood connection from %v, want from 127.0.0.2", s.Local)
		}
	}
	_ = server[0].Close()
	for deadline := time.Now().Add(CallTimeout); f.Stats().Closed != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the flood did not notice a closed connection: %+v", f.Stats())
		}
	}
	if st := f.Stats(); st.Open != 2 || st.Dialled != 3 {
		t.Fatalf("Stats = %+v, want 2 open of 3 dialled", st)
	}
	f.Stop()
	if st := f.Stats(); st.Open != 0 {
		t.Fatalf("after Stop: %+v", st)
	}
	for _, c := range server {
		_ = c.Close()
	}
	if n, err := OpenFDs(0); err != nil || n < 3 {
		t.Fatalf("OpenFDs = %d, %v", n, err)
	}
}
