package datachan

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// SocketPair returns a connected pair of Unix sockets of the given type
// (syscall.SOCK_STREAM or syscall.SOCK_SEQPACKET) as files, close-on-exec:
// the two ends of one of the data channel's sockets.
func SocketPair(typ int) (*os.File, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "ferry-data-a"), os.NewFile(uintptr(fds[1]), "ferry-data-b"), nil
}

// fileUnixConn turns a socket file into a *net.UnixConn and closes the file
// (net.FileConn duplicates it).
func fileUnixConn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("data channel socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("data channel socket: %T is not a unix socket", c)
	}
	return uc, nil
}
