package datachan

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Kind says how a stream handed over by Send travelled.
type Kind int

// The ways a stream travels; the values are the wire's StreamKind.
const (
	KindMux Kind = 1 // a yamux stream on the data channel
	KindFD  Kind = 2 // a socket descriptor passed with SCM_RIGHTS
)

// Send hands c to the other side and returns the id and how it travelled.
// A kernel socket travels as a descriptor, and this side's copy is closed;
// anything else is pumped through a yamux stream until both directions end.
func (dc *Channel) Send(c net.Conn) (uint64, Kind, error) {
	id := dc.newID()
	if f, ok := socketFile(c); ok {
		err := dc.sendFD(id, f, fdSocket)
		_ = f.Close()
		if err != nil {
			return 0, 0, err
		}
		_ = c.Close()
		return id, KindFD, nil
	}
	s, err := dc.openWithID(id)
	if err != nil {
		return 0, 0, err
	}
	go pump(c, s)
	return id, KindMux, nil
}

// SendSocketpair hands c to the other side as one end of a fresh kernel
// socketpair, and pumps between c and the other end here. It is the fast
// way to give a plugin a stream that is not itself a socket (the core's
// TLS connection, for a protocol plugin): the plugin reads and writes a
// kernel socket, and the bytes cross the boundary with two copies, not
// through yamux's framing and its single send loop. The returned stop
// function ends the pump and closes c.
func (dc *Channel) SendSocketpair(c net.Conn) (uint64, func(), error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("data channel: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "ferry-stream-host")
	theirs := os.NewFile(uintptr(fds[1]), "ferry-stream-plugin")
	local, err := net.FileConn(mine)
	_ = mine.Close()
	if err != nil {
		_ = theirs.Close()
		return 0, nil, fmt.Errorf("data channel: socketpair: %w", err)
	}
	id := dc.newID()
	err = dc.sendFD(id, theirs, fdSocket)
	_ = theirs.Close()
	if err != nil {
		_ = local.Close()
		return 0, nil, err
	}
	done := make(chan struct{})
	go func() {
		pump(c, local)
		close(done)
	}()
	stop := func() {
		_ = local.SetReadDeadline(time.Unix(1, 0))
		_ = c.SetReadDeadline(time.Unix(1, 0))
		<-done
	}
	return id, stop, nil
}

// socketFile returns a duplicate descriptor of c when c is a kernel socket
// that can change hands.
func socketFile(c net.Conn) (*os.File, bool) {
	type filer interface{ File() (*os.File, error) }
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil, false
	}
	f, err := c.(filer).File()
	if err != nil {
		return nil, false
	}
	return f, true
}
