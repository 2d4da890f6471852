package datachan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// Descriptor kinds, the ninth byte of a descriptor message.
const (
	fdSocket byte = 0
	fdFile   byte = 1
)

// SendFile hands a regular file's descriptor to the other side; the caller
// keeps (and closes) its own.
func (dc *Channel) SendFile(f *os.File) (uint64, error) {
	id := dc.newID()
	if err := dc.sendFD(id, f, fdFile); err != nil {
		return 0, err
	}
	return id, nil
}

// sendFD sends one descriptor message: the 8-byte id, the kind byte, and
// f's descriptor (SCM_RIGHTS).
func (dc *Channel) sendFD(id uint64, f *os.File, kind byte) error {
	var body [9]byte
	binary.BigEndian.PutUint64(body[:], id)
	body[8] = kind
	rights := syscall.UnixRights(int(f.Fd()))
	n, oobn, err := dc.fds.WriteMsgUnix(body[:], rights, nil)
	if err != nil {
		return fmt.Errorf("data channel: pass descriptor: %w", err)
	}
	if n != len(body) || oobn != len(rights) {
		return fmt.Errorf("data channel: pass descriptor: short write %d/%d", n, oobn)
	}
	return nil
}

// acceptFDs delivers each descriptor the other side sends, until the
// socket ends.
func (dc *Channel) acceptFDs() {
	buf := make([]byte, 64)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := dc.fds.ReadMsgUnix(buf, oob)
		if err != nil {
			dc.Close()
			return
		}
		c, id, err := parseFDMessage(buf[:n], oob[:oobn])
		if err != nil {
			continue // a malformed message carries nothing we can use
		}
		dc.deliver(id, c)
	}
}

// parseFDMessage turns a descriptor message into what it carries: a
// net.Conn for a socket, an *os.File for a file. It closes every
// descriptor of a message it refuses.
func parseFDMessage(body, oob []byte) (io.Closer, uint64, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, 0, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		r, err := syscall.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, r...)
		}
	}
	if len(body) != 9 || len(fds) != 1 || body[8] > fdFile {
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
		return nil, 0, errors.New("descriptor message: want 8-byte id, kind and one descriptor")
	}
	id := binary.BigEndian.Uint64(body)
	if body[8] == fdFile {
		return os.NewFile(uintptr(fds[0]), "ferry-file"), id, nil
	}
	f := os.NewFile(uintptr(fds[0]), "ferry-stream")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, 0, fmt.Errorf("descriptor message: %w", err)
	}
	return c, id, nil
}
