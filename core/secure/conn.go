package secure

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// Conn is a stream secured by [Client] or [Server]: its peer has proven the
// peer ID that [Conn.Peer] returns in a TLS 1.3 handshake, and the bytes
// after the handshake are protected by the record layer of package
// sdk/record, keyed from that handshake through the TLS exporter.
type Conn struct {
	raw      sdk.Stream // the transport's stream
	pb       *pushback  // raw, with the bytes a first Read peeked at
	tc       *tls.Conn  // the handshake; kept to read a refusing alert
	rc       *record.Conn
	peer     sdk.PeerID
	protocol string

	firstMu sync.Mutex
	checked bool // the first Read looked for a TLS alert
}

var _ sdk.Stream = (*Conn)(nil)

// Route names the way the transport's stream goes (sdk.RoutedStream),
// or "" when the transport does not say.
func (c *Conn) Route() string {
	if rs, ok := c.raw.(sdk.RoutedStream); ok {
		return rs.Route()
	}
	return ""
}

// Trace tells how the transport made its stream (sdk.TracedStream), or
// nil when the transport does not say.
func (c *Conn) Trace() []string {
	if ts, ok := c.raw.(sdk.TracedStream); ok {
		return ts.Trace()
	}
	return nil
}

// newConn switches the stream to the record layer once tc's handshake is
// over.
func newConn(raw sdk.Stream, pb *pushback, tc *tls.Conn, peer sdk.PeerID, client bool) (*Conn, error) {
	cs := tc.ConnectionState()
	m, err := cs.ExportKeyingMaterial(record.ExporterLabel, nil, record.ExporterLength)
	if err != nil {
		return nil, fmt.Errorf("export record keys: %w", err)
	}
	st, err := record.NewState(m, client)
	if err != nil {
		return nil, err
	}
	rc, err := record.New(pb, st)
	if err != nil {
		return nil, err
	}
	return &Conn{raw: raw, pb: pb, tc: tc, rc: rc, peer: peer, protocol: cs.NegotiatedProtocol}, nil
}

// Peer returns the peer's proven ID.
func (c *Conn) Peer() sdk.PeerID { return c.peer }

// Protocol returns the protocol ID the two sides agreed on through ALPN.
func (c *Conn) Protocol() string { return c.protocol }

// ConnectionState returns details of the TLS handshake, for logs and
// status output.
func (c *Conn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// Read reads decrypted data from the peer. A server that refused us at the
// end of the handshake (TLS 1.3 lets a client finish first) shows here as
// an error that wraps [ErrPeerRefusedUs] and the server's alert.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.checkFirst(); err != nil {
		return 0, err
	}
	return c.rc.Read(b)
}

// checkFirst looks, before the first record, for a TLS record: the alert of
// a server that refused our certificate.
func (c *Conn) checkFirst() error {
	c.firstMu.Lock()
	defer c.firstMu.Unlock()
	if c.checked {
		return nil
	}
	b, err := c.pb.peek()
	if err != nil {
		return err // a deadline: look again at the next Read
	}
	c.checked = true
	if b < 0x15 || b > 0x17 {
		return nil
	}
	_, err = c.tc.Read(make([]byte, 1))
	if err == nil {
		err = errors.New("application data over TLS")
	}
	return fmt.Errorf("%w: %w", ErrPeerRefusedUs, err)
}

// Write encrypts and sends data to the peer.
func (c *Conn) Write(b []byte) (int, error) { return c.rc.Write(b) }

// CloseWrite sends the record layer's end record: the peer reads io.EOF
// after the data already written, and further writes fail. Reading goes on.
func (c *Conn) CloseWrite() error { return c.rc.CloseWrite() }

// Close sends the end record unless CloseWrite did, and closes the
// underlying stream.
func (c *Conn) Close() error { return c.rc.Close() }

// Handover stops this Conn and returns the transport's stream and the
// record layer's state, for a process that takes the stream over (a
// protocol plugin): [record.New] on that stream with that state goes on
// where this Conn stopped. It fails while a Read is half way through a
// record.
func (c *Conn) Handover() (sdk.Stream, record.State, error) {
	c.firstMu.Lock()
	defer c.firstMu.Unlock()
	if len(c.pb.buf) > 0 {
		return nil, record.State{}, errors.New("secure: handover: a peeked byte is unread")
	}
	st, err := c.rc.State()
	if err != nil {
		return nil, record.State{}, fmt.Errorf("secure: handover: %w", err)
	}
	return c.raw, st, nil
}

// LocalAddr returns the underlying stream's local address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr returns the underlying stream's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline sets the read and write deadlines, as for [net.Conn].
func (c *Conn) SetDeadline(t time.Time) error { return c.raw.SetDeadline(t) }

// SetReadDeadline sets the read deadline, as for [net.Conn].
func (c *Conn) SetReadDeadline(t time.Time) error { return c.raw.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline, as for [net.Conn]. A write that
// times out leaves the connection unusable for further writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }

// pushback is a stream with bytes read ahead of its reader: those the TLS
// handshake read past its last record, or the byte a first Read peeked at.
type pushback struct {
	sdk.Stream
	buf []byte
}

func (p *pushback) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.Stream.Read(b)
}

// peek returns the next byte without consuming it.
func (p *pushback) peek() (byte, error) {
	if len(p.buf) > 0 {
		return p.buf[0], nil
	}
	var one [1]byte
	for {
		n, err := p.Stream.Read(one[:])
		if n == 1 {
			p.buf = one[:]
			return one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// tlsRecords is the stream the TLS handshake reads: it never returns bytes
// past the end of the TLS record being read, so that when the handshake is
// over, the record layer's first bytes are still there for it. It reads
// the stream in large pieces (a synchronous stream such as net.Pipe blocks
// a writer until its whole flight is read) and keeps what is past the
// record in the pushback.
type tlsRecords struct {
	*pushback
	hdr   [5]byte
	hn    int // header bytes read
	body  int // body bytes still to read
	spare []byte
}

func (t *tlsRecords) Read(b []byte) (int, error) {
	if t.hn == len(t.hdr) && t.body == 0 {
		t.hn = 0
	}
	if len(b) == 0 {
		return 0, nil
	}
	if len(t.buf) == 0 {
		if t.spare == nil {
			t.spare = make([]byte, 17<<10)
		}
		n, err := t.Stream.Read(t.spare)
		t.buf = t.spare[:n]
		if n == 0 {
			return 0, err
		}
	}
	if t.hn < len(t.hdr) {
		n, _ := t.pushback.Read(b[:min(len(b), len(t.hdr)-t.hn)])
		copy(t.hdr[t.hn:], b[:n])
		t.hn += n
		if t.hn == len(t.hdr) {
			t.body = int(t.hdr[3])<<8 | int(t.hdr[4])
		}
		return n, nil
	}
	n, _ := t.pushback.Read(b[:min(len(b), t.body)])
	t.body -= n
	return n, nil
}

// WriteMeta sends p as a record-layer meta record (see [record.Conn.WriteMeta]).
// It fails once the stream was handed over.
func (c *Conn) WriteMeta(p []byte) error { return c.rc.WriteMeta(p) }

// OnMeta sets the function that receives the peer's meta records as Read
// meets them (see [record.Conn.OnMeta]).
func (c *Conn) OnMeta(f func([]byte) error) { c.rc.OnMeta(f) }
