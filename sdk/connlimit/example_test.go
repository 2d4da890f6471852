package connlimit_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ferry-p2p/ferry/sdk/connlimit"
)

// A listener whose handshake is one line "HELLO\n". Peers that send it in
// time are served; idle and slow ones are closed by the gate, oldest
// first when too many wait at once.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	gate, err := connlimit.NewGate(connlimit.DefaultLimits())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gate.Close()

	served := make(chan string)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			p, err := gate.Admit(c)
			if err != nil {
				return // the gate is closed; c is too
			}
			go func() {
				defer p.Release()
				hello := make([]byte, 6)
				_, err := io.ReadFull(c, hello)
				if err != nil || string(hello) != "HELLO\n" || !p.Authenticate() {
					// p.Err says whether the gate closed c, and why:
					// evicted, or out of time.
					served <- fmt.Sprintf("refused: %v, gate: %v", err, p.Err())
					_ = c.Close()
					return
				}
				_, _ = c.Write([]byte("WELCOME\n"))
				_ = c.Close()
				served <- "served"
			}()
		}
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte("HELLO\n"))
	reply, _ := io.ReadAll(c)
	fmt.Printf("%q, %s\n", reply, <-served)
	// Output: "WELCOME\n", served
}
