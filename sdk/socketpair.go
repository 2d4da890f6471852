package sdk

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// sendSocketpair hands c to the other side as one end of a fresh kernel
// socketpair, and pumps between c and the other end here. It is the fast
// way to give a plugin a stream that is not itself a socket (the core's
// TLS connection, for a protocol plugin): the plugin reads and writes a
// kernel socket, and the bytes cross the boundary with two copies, not
// through yamux's framing and its single send loop. The returned stop
// function ends the pump and closes c.
func (dc *dataChannel) sendSocketpair(c net.Conn) (uint64, func(), error) {
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
