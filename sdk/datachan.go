package sdk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
)

// unclaimedTimeout is how long a stream delivered on the data channel waits
// for the RPC that names it before it is closed.
const unclaimedTimeout = 30 * time.Second

// dataChannel is one end of the raw byte path between host and plugin: a
// yamux session on a stream socket, and a seqpacket socket that carries
// socket descriptors. It delivers streams by id; the RPC that announces a
// stream carries only the id.
type dataChannel struct {
	sess   *yamux.Session
	fds    *net.UnixConn
	odd    bool // this side numbers its streams with odd ids
	mu     sync.Mutex
	next   uint64
	ready  map[uint64]io.Closer
	wait   map[uint64]chan io.Closer
	closed chan struct{}
	once   sync.Once
}

// newDataChannel starts the receive loops on the two sockets. The plugin
// side is the yamux server and numbers its streams with odd ids.
func newDataChannel(stream, fds *net.UnixConn, plugin bool) (*dataChannel, error) {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.MaxStreamWindowSize = 4 << 20
	cfg.StreamOpenTimeout = 10 * time.Second
	var sess *yamux.Session
	var err error
	if plugin {
		sess, err = yamux.Server(stream, cfg)
	} else {
		sess, err = yamux.Client(stream, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("data channel: yamux: %w", err)
	}
	dc := &dataChannel{
		sess:   sess,
		fds:    fds,
		odd:    plugin,
		ready:  map[uint64]io.Closer{},
		wait:   map[uint64]chan io.Closer{},
		closed: make(chan struct{}),
	}
	go dc.acceptStreams()
	go dc.acceptFDs()
	go func() {
		<-sess.CloseChan()
		dc.close()
	}()
	return dc, nil
}

// Done is closed when the channel is gone: the other process exited or
// closed it. For a plugin this is the lifeline to its host.
func (dc *dataChannel) Done() <-chan struct{} { return dc.closed }

func (dc *dataChannel) close() {
	dc.once.Do(func() {
		close(dc.closed)
		_ = dc.sess.Close()
		_ = dc.fds.Close()
		dc.mu.Lock()
		for id, c := range dc.ready {
			_ = c.Close()
			delete(dc.ready, id)
		}
		dc.mu.Unlock()
	})
}

func (dc *dataChannel) newID() uint64 {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.next++
	id := dc.next * 2
	if dc.odd {
		id--
	}
	return id
}

// send hands c to the other side and returns the id and how it travelled.
// A kernel socket travels as a descriptor, and this side's copy is closed;
// anything else is pumped through a yamux stream until both directions end.
func (dc *dataChannel) send(c net.Conn) (uint64, streamKind, error) {
	id := dc.newID()
	if f, ok := socketFile(c); ok {
		err := dc.sendFD(id, f, fdSocket)
		_ = f.Close()
		if err != nil {
			return 0, 0, err
		}
		_ = c.Close()
		return id, kindFD, nil
	}
	s, err := dc.openWithID(id)
	if err != nil {
		return 0, 0, err
	}
	go pump(c, s)
	return id, kindMux, nil
}

// openStream opens a stream to the other side with nothing behind it here:
// the returned conn is this side's end.
func (dc *dataChannel) openStream() (uint64, net.Conn, error) {
	id := dc.newID()
	s, err := dc.openWithID(id)
	if err != nil {
		return 0, nil, err
	}
	return id, &muxStream{Stream: s}, nil
}

// sendFile hands a regular file's descriptor to the other side; the caller
// keeps (and closes) its own.
func (dc *dataChannel) sendFile(f *os.File) (uint64, error) {
	id := dc.newID()
	if err := dc.sendFD(id, f, fdFile); err != nil {
		return 0, err
	}
	return id, nil
}

func (dc *dataChannel) openWithID(id uint64) (*yamux.Stream, error) {
	s, err := dc.sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("data channel: open stream: %w", err)
	}
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], id)
	if _, err := s.Write(hdr[:]); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("data channel: stream header: %w", err)
	}
	return s, nil
}

// Descriptor kinds, the ninth byte of a descriptor message.
const (
	fdSocket byte = 0
	fdFile   byte = 1
)

func (dc *dataChannel) sendFD(id uint64, f *os.File, kind byte) error {
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

// claim waits for stream id to arrive.
func (dc *dataChannel) claim(ctx context.Context, id uint64) (io.Closer, error) {
	dc.mu.Lock()
	if c, ok := dc.ready[id]; ok {
		delete(dc.ready, id)
		dc.mu.Unlock()
		return c, nil
	}
	ch := make(chan io.Closer, 1)
	dc.wait[id] = ch
	dc.mu.Unlock()
	select {
	case c := <-ch:
		return c, nil
	case <-dc.closed:
		return nil, fmt.Errorf("data channel: stream %d: %w", id, ErrPluginExited)
	case <-ctx.Done():
		dc.mu.Lock()
		delete(dc.wait, id)
		dc.mu.Unlock()
		select {
		case c := <-ch:
			_ = c.Close()
		default:
		}
		return nil, fmt.Errorf("data channel: waiting for stream %d: %w", id, ctx.Err())
	}
}

// claimAs waits for id like claim and checks that what arrived is a T (a
// Stream, a net.Conn, an *os.File...); anything else is closed.
func claimAs[T any](ctx context.Context, dc *dataChannel, id uint64) (T, error) {
	var zero T
	c, err := dc.claim(ctx, id)
	if err != nil {
		return zero, err
	}
	v, ok := c.(T)
	if !ok {
		_ = c.Close()
		return zero, fmt.Errorf("data channel: %d arrived as %T, want %T", id, c, zero)
	}
	return v, nil
}

func (dc *dataChannel) deliver(id uint64, c io.Closer) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if ch, ok := dc.wait[id]; ok {
		delete(dc.wait, id)
		ch <- c
		return
	}
	if _, dup := dc.ready[id]; dup {
		_ = c.Close()
		return
	}
	dc.ready[id] = c
	time.AfterFunc(unclaimedTimeout, func() {
		dc.mu.Lock()
		defer dc.mu.Unlock()
		if r, ok := dc.ready[id]; ok && r == c {
			delete(dc.ready, id)
			_ = c.Close()
		}
	})
}

func (dc *dataChannel) acceptStreams() {
	for {
		s, err := dc.sess.AcceptStream()
		if err != nil {
			dc.close()
			return
		}
		go func() {
			var hdr [8]byte
			_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(s, hdr[:]); err != nil {
				_ = s.Close()
				return
			}
			_ = s.SetReadDeadline(time.Time{})
			dc.deliver(binary.BigEndian.Uint64(hdr[:]), &muxStream{Stream: s})
		}()
	}
}

func (dc *dataChannel) acceptFDs() {
	buf := make([]byte, 64)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := dc.fds.ReadMsgUnix(buf, oob)
		if err != nil {
			dc.close()
			return
		}
		c, id, err := parseFDMessage(buf[:n], oob[:oobn])
		if err != nil {
			continue // a malformed message carries nothing we can use
		}
		dc.deliver(id, c)
	}
}

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

// muxStream adapts a yamux stream to Stream: yamux's Close is a half-close,
// so CloseWrite maps to it and Close also stops reading.
type muxStream struct {
	*yamux.Stream
	once sync.Once
	mu   sync.Mutex
	wdl  time.Time // write deadline; yamux only checks it when it must wait
}

// Write honours a past write deadline even when the window has room.
func (m *muxStream) Write(b []byte) (int, error) {
	m.mu.Lock()
	dl := m.wdl
	m.mu.Unlock()
	if !dl.IsZero() && !time.Now().Before(dl) {
		return 0, os.ErrDeadlineExceeded
	}
	return m.Stream.Write(b)
}

// SetWriteDeadline sets the write deadline.
func (m *muxStream) SetWriteDeadline(t time.Time) error {
	m.mu.Lock()
	m.wdl = t
	m.mu.Unlock()
	return m.Stream.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (m *muxStream) SetDeadline(t time.Time) error {
	if err := m.SetWriteDeadline(t); err != nil {
		return err
	}
	return m.Stream.SetReadDeadline(t)
}

// CloseWrite sends FIN; reading goes on.
func (m *muxStream) CloseWrite() error { return m.Stream.Close() }

// Close ends both directions.
func (m *muxStream) Close() error {
	var err error
	m.once.Do(func() {
		err = m.Stream.Close()
		// Unblock readers: yamux keeps the read side open after FIN.
		_ = m.Stream.SetReadDeadline(time.Unix(1, 0))
	})
	return err
}

type streamKind int

const (
	kindMux streamKind = 1
	kindFD  streamKind = 2
)

// socketPair returns a connected pair of Unix sockets of the given type
// (syscall.SOCK_STREAM or syscall.SOCK_SEQPACKET) as files, close-on-exec.
func socketPair(typ int) (*os.File, *os.File, error) {
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
