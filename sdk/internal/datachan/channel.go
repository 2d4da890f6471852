// Package datachan is the raw byte path between a Ferry host and a plugin
// process: a yamux session on a stream socket (fd 3 in the plugin) and a
// seqpacket socket that carries descriptors (fd 4). Bulk bytes travel here,
// never in RPC messages; an RPC names a stream or file by the id it was sent
// under, and the receiving side claims it by that id.
package datachan

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Channel is one end of the data channel. It delivers streams and files by
// id; the RPC that announces one carries only the id.
type Channel struct {
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

// FromFiles makes this side's end of a data channel from its two sockets:
// stream (SOCK_STREAM, for yamux) and fds (SOCK_SEQPACKET, for
// descriptors). The plugin side is the yamux server and numbers its streams
// with odd ids. The files are closed (the channel holds duplicates), also
// when FromFiles fails.
func FromFiles(stream, fds *os.File, plugin bool) (*Channel, error) {
	s, err := fileUnixConn(stream)
	if err != nil {
		_ = fds.Close()
		return nil, err
	}
	f, err := fileUnixConn(fds)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	dc, err := newChannel(s, f, plugin)
	if err != nil {
		_ = s.Close()
		_ = f.Close()
		return nil, err
	}
	return dc, nil
}

// newChannel starts the receive loops on the two sockets.
func newChannel(stream, fds *net.UnixConn, plugin bool) (*Channel, error) {
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
	dc := &Channel{
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
		dc.Close()
	}()
	return dc, nil
}

// Done is closed when the channel is gone: the other process exited or
// closed it. For a plugin this is the lifeline to its host.
func (dc *Channel) Done() <-chan struct{} { return dc.closed }

// Close ends the channel and closes what arrived but was never claimed. It
// is safe to call more than once.
func (dc *Channel) Close() {
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

// newID returns a fresh id on this side's half of the number space.
func (dc *Channel) newID() uint64 {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.next++
	id := dc.next * 2
	if dc.odd {
		id--
	}
	return id
}
