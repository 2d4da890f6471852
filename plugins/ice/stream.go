package ice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/quic-go/quic-go"

	"github.com/ferry-p2p/ferry/sdk"
)

// packetConn makes an *ice.Conn a net.PacketConn for quic-go. The peer's
// address is fixed when the pair is first selected: ICE may switch pairs
// later, which must not look like a migration to QUIC.
type packetConn struct {
	conn          *ice.Conn
	local, remote net.Addr
	// sockets are the UDP sockets of the local candidates, whose buffers
	// SetReadBuffer and SetWriteBuffer size.
	sockets []*net.UDPConn
}

var _ net.PacketConn = (*packetConn)(nil)

func (p *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := p.conn.Read(b)
	return n, p.remote, err
}

func (p *packetConn) WriteTo(b []byte, _ net.Addr) (int, error) { return p.conn.Write(b) }

// Close does nothing: the ICE agent is closed by its owner, after QUIC.
func (p *packetConn) Close() error                       { return nil }
func (p *packetConn) LocalAddr() net.Addr                { return p.local }
func (p *packetConn) SetDeadline(t time.Time) error      { return p.conn.SetDeadline(t) }
func (p *packetConn) SetReadDeadline(t time.Time) error  { return p.conn.SetReadDeadline(t) }
func (p *packetConn) SetWriteDeadline(t time.Time) error { return p.conn.SetWriteDeadline(t) }

// SetReadBuffer sizes the receive buffers of the candidates' UDP sockets
// (quic-go asks for several MiB; the kernel caps it at rmem_max). Bigger
// buffers drop fewer datagrams when the reader falls behind.
func (p *packetConn) SetReadBuffer(n int) error {
	for _, s := range p.sockets {
		_ = s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer sizes the send buffers of the candidates' UDP sockets.
func (p *packetConn) SetWriteBuffer(n int) error {
	for _, s := range p.sockets {
		_ = s.SetWriteBuffer(n)
	}
	return nil
}

// Control messages, one byte each on a unidirectional QUIC stream, that
// let a closed stream release its connection as soon as nothing more can
// be lost.
const (
	// ctlGotFIN: I have read all you wrote, up to your FIN.
	ctlGotFIN byte = 'F'
	// ctlClosed: I closed the stream; I read nothing more.
	ctlClosed byte = 'C'
)

// QUIC error codes this package sends.
const (
	codeClosed quic.StreamErrorCode      = 0x1
	codeBye    quic.ApplicationErrorCode = 0x0
)

// lingerTimeout bounds how long a closed stream keeps its connection for
// the peer to read what was written.
const lingerTimeout = 10 * time.Second

// ctlTimeout bounds the write of one control byte.
const ctlTimeout = 5 * time.Second

// link is what one connection attempt built: the ICE agent and, once
// connected, the QUIC transport and connection over it.
type link struct {
	agent  *ice.Agent // nil once QUIC owns the socket
	locals []*local
	tr     *quic.Transport
	qc     *quic.Conn
	// stopSTUN ends the STUN answerer beside an owned socket, which
	// closes stunDone when it has returned; both nil otherwise.
	stopSTUN context.CancelFunc
	stunDone chan struct{}
}

// close tears the link down: QUIC first (its reader stops on a read
// deadline of the ICE conn), then the agent with its candidates' sockets
// and TURN allocations.
func (l *link) close() {
	if l.qc != nil {
		_ = l.qc.CloseWithError(codeBye, "closed")
	}
	if l.stopSTUN != nil {
		l.stopSTUN()
	}
	if l.tr != nil {
		_ = l.tr.Close()
	}
	if l.stunDone != nil {
		<-l.stunDone
	}
	if l.agent != nil {
		_ = l.agent.GracefulClose()
	}
	// The agent closed the sockets it was given; this closes any it was
	// not, and the TURN clients.
	releaseAll(l.locals)
}

// stream is the sdk.Stream of one connection: a bidirectional QUIC stream.
type stream struct {
	st   *quic.Stream
	link *link
	ctl  *quic.SendStream
	// owner untracks the stream and runs its teardown.
	owner *Transport

	local, remote net.Addr
	// route names the selected pair's way (routeOf).
	route string
	// trace lists the candidate pairs checked (pairTrace).
	trace []string

	ctlMu      sync.Mutex
	eofOnce    sync.Once
	peerGotFIN chan struct{} // closed when the peer read our FIN
	peerClosed chan struct{} // closed when the peer closed
	readerDone chan struct{} // closed when the control reader returned

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	torn      sync.Once
	gone      chan struct{} // closed once torn down
}

var _ sdk.Stream = (*stream)(nil)

// Route names the way the stream goes: "direct host", "direct srflx",
// "relay via turn:HOST:PORT" (sdk.RoutedStream).
func (s *stream) Route() string { return s.route }

// Trace lists the candidate pairs checked when the stream was made, the
// nominated one first (sdk.TracedStream).
func (s *stream) Trace() []string { return s.trace }

var _ sdk.RoutedStream = (*stream)(nil)

func newStream(owner *Transport, l *link, st *quic.Stream, ctl *quic.SendStream, local, remote net.Addr) *stream {
	s := &stream{
		st: st, link: l, ctl: ctl, owner: owner,
		local: local, remote: remote,
		peerGotFIN: make(chan struct{}),
		peerClosed: make(chan struct{}),
		readerDone: make(chan struct{}),
		closed:     make(chan struct{}),
		gone:       make(chan struct{}),
	}
	go s.readControl()
	return s
}

// readControl reads the peer's control messages until the connection
// ends.
func (s *stream) readControl() {
	defer close(s.readerDone)
	rs, err := s.link.qc.AcceptUniStream(s.link.qc.Context())
	if err != nil {
		return
	}
	var b [1]byte
	var gotFIN, closed bool
	for {
		if _, err := io.ReadFull(rs, b[:]); err != nil {
			rs.CancelRead(codeClosed)
			return
		}
		switch {
		case b[0] == ctlGotFIN && !gotFIN:
			gotFIN = true
			close(s.peerGotFIN)
		case b[0] == ctlClosed && !closed:
			closed = true
			close(s.peerClosed)
		}
	}
}

// sendControl writes one control byte; errors only mean the peer is gone.
func (s *stream) sendControl(b byte) {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	_ = s.ctl.SetWriteDeadline(time.Now().Add(ctlTimeout))
	_, _ = s.ctl.Write([]byte{b})
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.st.Read(p)
	if errors.Is(err, io.EOF) {
		s.eofOnce.Do(func() { s.sendControl(ctlGotFIN) })
	}
	return n, err
}

func (s *stream) Write(p []byte) (int, error) { return s.st.Write(p) }

// CloseWrite sends FIN: the peer reads io.EOF after the data written.
func (s *stream) CloseWrite() error {
	select {
	case <-s.closed:
		return fmt.Errorf("ice: close write: %w", net.ErrClosed)
	default:
	}
	return s.st.Close()
}

// Close stops reading, sends FIN after the data written, and releases the
// connection in the background once the peer has read it all, has closed
// too, or lingerTimeout passed. A second Close returns net.ErrClosed.
func (s *stream) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		close(s.closed)
		s.st.CancelRead(codeClosed)
		_ = s.st.Close()
		s.sendControl(ctlClosed)
		s.owner.linger(s)
	})
	if !first {
		return fmt.Errorf("ice: close: %w", net.ErrClosed)
	}
	return nil
}

// waitPeer blocks until the closed stream may release its connection, or
// abort is closed.
func (s *stream) waitPeer(abort <-chan struct{}) {
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-s.peerGotFIN:
	case <-s.peerClosed:
	case <-s.link.qc.Context().Done():
	case <-t.C:
	case <-abort:
	}
}

// teardown releases the connection, the agent and the control reader.
func (s *stream) teardown() {
	s.torn.Do(func() {
		s.st.CancelRead(codeClosed)
		s.st.CancelWrite(codeClosed)
		s.link.close()
		<-s.readerDone
		close(s.gone)
	})
}

func (s *stream) LocalAddr() net.Addr                { return s.local }
func (s *stream) RemoteAddr() net.Addr               { return s.remote }
func (s *stream) SetDeadline(t time.Time) error      { return s.st.SetDeadline(t) }
func (s *stream) SetReadDeadline(t time.Time) error  { return s.st.SetReadDeadline(t) }
func (s *stream) SetWriteDeadline(t time.Time) error { return s.st.SetWriteDeadline(t) }

// ctxDeadline applies ctx's deadline and cancellation to a blocking read
// or write on st until the returned stop is called.
func ctxDeadline(ctx context.Context, set func(time.Time) error) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = set(d)
	}
	after := context.AfterFunc(ctx, func() { _ = set(time.Now()) })
	return func() {
		after()
		_ = set(time.Time{})
	}
}
