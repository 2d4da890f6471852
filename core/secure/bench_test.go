package secure

import (
	"context"
	"io"
	"net"
	"testing"
)

// BenchmarkSecureCopy moves 64 MiB per iteration over a secured loopback
// TCP connection; the MB/s column is the encrypted throughput.
func BenchmarkSecureCopy(b *testing.B) {
	const size = 64 << 20
	_, r := handshake(b, tcpPair, handshakeArgs{})
	if r.clientErr != nil || r.serverErr != nil {
		b.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		written := make(chan error, 1)
		go func() {
			var err error
			for left := size; left > 0 && err == nil; left -= len(buf) {
				_, err = r.client.Write(buf[:min(left, len(buf))])
			}
			written <- err
		}()
		if n, err := io.CopyN(io.Discard, r.server, size); err != nil {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		if err := <-written; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshake measures one full handshake on loopback TCP, including
// the TCP connection and both certificates' creation.
func BenchmarkHandshake(b *testing.B) {
	clientID, serverID := newID(b), newID(b)
	protocols := []string{"ferry/test"}
	ctx := context.Background() // no watchdog: -benchtime may be long
	ln, addr := loopback(b)
	for b.Loop() {
		served := make(chan error, 1)
		go func() {
			s, err := ln.AcceptTCP()
			if err != nil {
				served <- err
				return
			}
			c, err := Server(ctx, s, serverID, nil, protocols)
			if err == nil {
				c.Close()
			}
			served <- err
		}()
		raw, err := net.DialTCP("tcp", nil, addr)
		if err != nil {
			b.Fatal(err)
		}
		c, err := Client(ctx, raw, clientID, serverID.ID, protocols)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		if err := <-served; err != nil {
			b.Fatal(err)
		}
	}
}
