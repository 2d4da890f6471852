package secure

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Conn is a stream secured by [Client] or [Server]: a TLS 1.3 connection
// whose peer has proven the peer ID that [Conn.Peer] returns.
type Conn struct {
	tc       *tls.Conn
	peer     sdk.PeerID
	protocol string
}

var _ sdk.Stream = (*Conn)(nil)

// Peer returns the peer's proven ID.
func (c *Conn) Peer() sdk.PeerID { return c.peer }

// Protocol returns the protocol ID the two sides agreed on through ALPN.
func (c *Conn) Protocol() string { return c.protocol }

// ConnectionState returns details of the TLS connection, for logs and
// status output.
func (c *Conn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// Read reads decrypted data from the peer.
func (c *Conn) Read(b []byte) (int, error) { return c.tc.Read(b) }

// Write encrypts and sends data to the peer.
func (c *Conn) Write(b []byte) (int, error) { return c.tc.Write(b) }

// CloseWrite sends the TLS close_notify alert: the peer reads io.EOF after
// the data already written, and further writes fail. Reading goes on.
func (c *Conn) CloseWrite() error { return c.tc.CloseWrite() }

// Close sends close_notify unless CloseWrite did, and closes the underlying
// stream.
func (c *Conn) Close() error { return c.tc.Close() }

// LocalAddr returns the underlying stream's local address.
func (c *Conn) LocalAddr() net.Addr { return c.tc.LocalAddr() }

// RemoteAddr returns the underlying stream's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.tc.RemoteAddr() }

// SetDeadline sets the read and write deadlines, as for [net.Conn].
func (c *Conn) SetDeadline(t time.Time) error { return c.tc.SetDeadline(t) }

// SetReadDeadline sets the read deadline, as for [net.Conn].
func (c *Conn) SetReadDeadline(t time.Time) error { return c.tc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline, as for [net.Conn]. A write that
// times out leaves the TLS connection unusable for further writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.tc.SetWriteDeadline(t) }
