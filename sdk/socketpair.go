package sdk

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
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
		pumpConns(c, local)
		close(done)
	}()
	stop := func() {
		_ = local.SetReadDeadline(time.Unix(1, 0))
		_ = c.SetReadDeadline(time.Unix(1, 0))
		<-done
	}
	return id, stop, nil
}

// pumpBuffer is each direction's copy buffer: large, so that a plugin
// writing 256 KiB at a time is read in one call and TLS gets full records.
const pumpBuffer = 256 << 10

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }

// pumpConns copies both ways between a and b until both directions end,
// passing half-closes on. When a write fails (that side broke), the other
// side is still read to its end, so that its writer never blocks.
func pumpConns(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	one := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, pumpBuffer)
		if _, err := io.CopyBuffer(dst, onlyReader{src}, buf); err != nil {
			// Unblock the other direction's writer into src, then drain.
			_ = dst.Close()
			_, _ = io.Copy(io.Discard, src)
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go one(a, b)
	go one(b, a)
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}
