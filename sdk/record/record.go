// Package record is Ferry's bulk record layer: the encryption of a secured
// stream after its TLS 1.3 handshake.
//
// The core proves both peer IDs with a TLS 1.3 handshake and then, instead
// of TLS's 16 KiB records, protects the stream with this layer, keyed from
// the handshake by the TLS exporter (RFC 8446 §7.5). The state of a [Conn]
// can change hands ([Conn.State], [New]), so the process that touches the
// file (a protocol plugin) can encrypt and decrypt the bulk bytes itself: the
// plaintext then crosses no process boundary. Go plugins never call this
// package (the SDK's shims do); it is documented for the core, for tests and
// for plugin authors in other languages, who must implement it to take over
// a stream.
//
// # Construction
//
// It is the record protection of TLS 1.3 (RFC 8446 §5.2, §5.3) with larger
// records and an authenticated end, the shape of the STREAM construction
// (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and
// its Nonce-Reuse Misuse-Resistance", CRYPTO 2015) that age and Tink's
// streaming AEAD use:
//
//   - Keys: the exporter with label [ExporterLabel], empty context, gives
//     [ExporterLength] bytes: the client-to-server key (32) and IV (12), then
//     the server-to-client key (32) and IV (12). Each direction has its own
//     key; the AEAD is AES-256-GCM (crypto/cipher).
//   - Record: a 4-byte header, type (1 byte) and the length of what follows
//     (3 bytes, big endian), then the AEAD ciphertext of the payload with its
//     16-byte tag. The header is the additional data, so type and length are
//     authenticated. A payload is at most [MaxPayload] bytes.
//   - Nonce: the direction's IV XOR the record's sequence number (64 bits,
//     big endian, in the IV's last 8 bytes), counted from 0 per key. A
//     record replayed, dropped or reordered fails to open: [ErrIntegrity].
//   - End: [Conn.CloseWrite] sends an empty record of type end. A stream that
//     stops without it reads as [ErrTruncated], never as io.EOF, so a
//     truncation cannot pass for a complete transfer.
//   - Key update: after [RekeyBytes] payload bytes under one key, both sides
//     replace that direction's key and IV with HKDF-Expand(SHA-256, key,
//     "ferry record key update", 44) and restart its sequence at 0, well
//     within AES-GCM's usage limits (RFC 8446 §5.5).
//   - Types: 1 data, 2 end, 3 meta (a short message from the SDK beside the
//     data, such as a file's hash; see [Conn.WriteMeta]). Any other type is
//     an error. A first byte of 0x15, 0x16 or 0x17 is a TLS record (the peer
//     still speaking TLS, such as an alert refusing us), reported as
//     [ErrTLSRecord].
package record

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Constants of the construction; see the package documentation.
const (
	// ExporterLabel is the TLS exporter label the keys come from.
	ExporterLabel = "EXPORTER-ferry-record-v1"
	// ExporterLength is how many bytes are exported: two keys and two IVs.
	ExporterLength = 2 * (KeySize + IVSize)
	// KeySize is the size of a direction's AES-256-GCM key.
	KeySize = 32
	// IVSize is the size of a direction's IV, the AEAD nonce size.
	IVSize = 12
	// HeaderSize is the size of a record header.
	HeaderSize = 4
	// TagSize is the size of the AEAD tag each record carries.
	TagSize = 16
	// MaxPayload is the largest payload of one record.
	MaxPayload = 256 << 10
	// RekeyBytes is how many payload bytes one key protects before the
	// direction's key update.
	RekeyBytes = 1 << 34
)

// Record types.
const (
	typeData = 1
	typeEnd  = 2
	typeMeta = 3
)

const rekeyInfo = "ferry record key update"

var (
	// ErrIntegrity is returned when a record fails to authenticate: the
	// stream was altered, or records were replayed, dropped or reordered.
	ErrIntegrity = errors.New("record: authentication failed: the stream was altered on the path")
	// ErrTruncated is returned when the stream ends without the peer's end
	// record. It wraps io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("record: the stream ended without its end record: %w", io.ErrUnexpectedEOF)
	// ErrTLSRecord is returned when a TLS record arrives where a Ferry
	// record belongs, as when the peer refuses the handshake with an alert.
	ErrTLSRecord = errors.New("record: a TLS record arrived after the handshake")
)

// Direction is one direction's cryptographic state.
type Direction struct {
	// Key is the AES-256-GCM key, KeySize bytes.
	Key []byte
	// IV is XORed with the sequence number to make each nonce, IVSize bytes.
	IV []byte
	// Seq is the sequence number of the next record under Key.
	Seq uint64
	// Bytes is how many payload bytes Key has protected so far.
	Bytes int64
}

// State is a Conn's cryptographic state: what the side handing a stream
// over gives the side taking it.
type State struct {
	// Write protects what this side sends; Read what it receives.
	Write, Read Direction
	// Pending is plaintext already opened and not yet read.
	Pending []byte
	// ReadEnded and WriteEnded say whether the peer's end record arrived
	// and whether this side sent its own.
	ReadEnded, WriteEnded bool
}

// NewState splits exported keying material (ExporterLength bytes, from the
// TLS exporter with ExporterLabel) into the state of a fresh Conn for the
// client side (client true) or the server side.
func NewState(material []byte, client bool) (State, error) {
	if len(material) != ExporterLength {
		return State{}, fmt.Errorf("record: %d bytes of keying material, want %d", len(material), ExporterLength)
	}
	c2s := Direction{Key: clone(material[:KeySize]), IV: clone(material[KeySize : KeySize+IVSize])}
	s2c := Direction{Key: clone(material[KeySize+IVSize : 2*KeySize+IVSize]), IV: clone(material[2*KeySize+IVSize:])}
	if client {
		return State{Write: c2s, Read: s2c}, nil
	}
	return State{Write: s2c, Read: c2s}, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// half is one direction of a Conn.
type half struct {
	aead  cipher.AEAD
	key   []byte
	iv    [IVSize]byte
	seq   uint64
	bytes int64
	nonce [IVSize]byte
}

func newHalf(d Direction) (*half, error) {
	if len(d.Key) != KeySize || len(d.IV) != IVSize {
		return nil, fmt.Errorf("record: key of %d bytes and IV of %d, want %d and %d", len(d.Key), len(d.IV), KeySize, IVSize)
	}
	h := &half{key: clone(d.Key), seq: d.Seq, bytes: d.Bytes}
	copy(h.iv[:], d.IV)
	if err := h.setKey(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *half) setKey() error {
	b, err := aes.NewCipher(h.key)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	h.aead, err = cipher.NewGCM(b)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

func (h *half) direction() Direction {
	return Direction{Key: clone(h.key), IV: clone(h.iv[:]), Seq: h.seq, Bytes: h.bytes}
}

// next returns the nonce of the next record and counts it.
func (h *half) next() []byte {
	h.nonce = h.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], h.seq)
	for i := range s {
		h.nonce[IVSize-8+i] ^= s[i]
	}
	h.seq++
	return h.nonce[:]
}

// counted adds n payload bytes and updates the key once RekeyBytes is
// reached.
func (h *half) counted(n int, limit int64) error {
	h.bytes += int64(n)
	if h.bytes < limit {
		return nil
	}
	okm, err := hkdf.Expand(sha256.New, h.key, rekeyInfo, KeySize+IVSize)
	if err != nil {
		return fmt.Errorf("record: key update: %w", err)
	}
	h.key = okm[:KeySize]
	copy(h.iv[:], okm[KeySize:])
	h.seq, h.bytes = 0, 0
	return h.setKey()
}

// Conn is a stream protected by the record layer. Read and Write may be
// called from different goroutines at once, as for a net.Conn.
type Conn struct {
	conn  net.Conn
	limit int64 // RekeyBytes; smaller in tests

	rmu     sync.Mutex
	r       *half
	rbuf    []byte // the record being read: header, then ciphertext
	rn      int    // bytes of rbuf read so far
	pending []byte // opened plaintext not yet returned
	rerr    error  // sticky read error (io.EOF after the end record)
	onMeta  func([]byte) error

	wmu    sync.Mutex
	w      *half
	wbuf   []byte
	werr   error
	wended bool
}

var _ net.Conn = (*Conn)(nil)

// New protects conn with the record layer in state st. The Conn owns conn
// from then on.
func New(conn net.Conn, st State) (*Conn, error) {
	r, err := newHalf(st.Read)
	if err != nil {
		return nil, fmt.Errorf("read side: %w", err)
	}
	w, err := newHalf(st.Write)
	if err != nil {
		return nil, fmt.Errorf("write side: %w", err)
	}
	c := &Conn{conn: conn, limit: RekeyBytes, r: r, w: w, pending: clone(st.Pending), wended: st.WriteEnded}
	if st.ReadEnded {
		c.rerr = io.EOF
	}
	return c, nil
}

// OnMeta sets the function that receives each meta record's payload as
// Read meets it. An error from f ends reading with that error. Without f,
// meta records are dropped.
func (c *Conn) OnMeta(f func([]byte) error) {
	c.rmu.Lock()
	c.onMeta = f
	c.rmu.Unlock()
}

// Write encrypts b into records of at most MaxPayload bytes and sends them.
func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.wended {
		return 0, errors.New("record: write after CloseWrite")
	}
	n := 0
	for len(b) > 0 {
		k := min(len(b), MaxPayload)
		if err := c.writeRecord(typeData, b[:k]); err != nil {
			return n, err
		}
		n += k
		b = b[k:]
	}
	return n, nil
}

// WriteMeta sends p, at most MaxPayload bytes, as a meta record: the peer's
// OnMeta function receives it, in order with the data around it.
func (c *Conn) WriteMeta(p []byte) error {
	if len(p) > MaxPayload {
		return fmt.Errorf("record: meta of %d bytes, at most %d", len(p), MaxPayload)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.wended {
		return errors.New("record: write after CloseWrite")
	}
	return c.writeRecord(typeMeta, p)
}

// writeRecord seals p as one record of type t and writes it. c.wmu is held.
// An error is sticky: a record half written leaves the stream unusable.
func (c *Conn) writeRecord(t byte, p []byte) error {
	need := HeaderSize + len(p) + TagSize
	if cap(c.wbuf) < need {
		c.wbuf = make([]byte, need, max(need, 64<<10))
	}
	buf := c.wbuf[:need]
	buf[0] = t
	putUint24(buf[1:HeaderSize], len(p)+TagSize)
	c.w.aead.Seal(buf[HeaderSize:HeaderSize], c.w.next(), p, buf[:HeaderSize])
	if err := c.w.counted(len(p), c.limit); err != nil {
		c.werr = err
		return err
	}
	if _, err := c.conn.Write(buf); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// Read reads decrypted data from the peer. After the peer's end record it
// returns io.EOF; a stream cut before it returns ErrTruncated.
func (c *Conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if len(c.pending) > 0 {
			n := copy(b, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(b) == 0 {
			return 0, nil
		}
		n, err := c.readRecord(b)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// readRecord reads one record. A data record's payload goes into b when it
// fits (n is its length), else into c.pending. c.rmu is held.
func (c *Conn) readRecord(b []byte) (int, error) {
	if cap(c.rbuf) < HeaderSize {
		c.rbuf = make([]byte, HeaderSize, 64<<10)
	}
	if err := c.fill(HeaderSize); err != nil {
		return 0, err
	}
	hdr := c.rbuf[:HeaderSize]
	t, size := hdr[0], uint24(hdr[1:])
	switch {
	case t == 0x15 || t == 0x16 || t == 0x17:
		c.rerr = ErrTLSRecord
		return 0, c.rerr
	case t < typeData || t > typeMeta:
		c.rerr = fmt.Errorf("record: unknown record type %d: %w", t, ErrIntegrity)
		return 0, c.rerr
	case size < TagSize || size > MaxPayload+TagSize:
		c.rerr = fmt.Errorf("record: record of %d bytes, want %d to %d: %w", size, TagSize, MaxPayload+TagSize, ErrIntegrity)
		return 0, c.rerr
	}
	if cap(c.rbuf) < HeaderSize+size {
		nb := make([]byte, HeaderSize, HeaderSize+max(size, MaxPayload+TagSize))
		copy(nb, c.rbuf[:HeaderSize])
		c.rbuf = nb
	}
	if err := c.fill(HeaderSize + size); err != nil {
		return 0, err
	}
	c.rn = 0 // the record is whole; the next starts afresh
	hdr, ct := c.rbuf[:HeaderSize], c.rbuf[HeaderSize:HeaderSize+size]
	plain := size - TagSize
	dst := c.rbuf[HeaderSize:HeaderSize] // in place
	direct := t == typeData && len(b) >= plain
	if direct {
		dst = b[:0]
	}
	p, err := c.r.aead.Open(dst, c.r.next(), ct, hdr)
	if err != nil {
		c.rerr = ErrIntegrity
		return 0, c.rerr
	}
	if err := c.r.counted(plain, c.limit); err != nil {
		c.rerr = err
		return 0, err
	}
	switch t {
	case typeEnd:
		if plain != 0 {
			c.rerr = fmt.Errorf("record: end record with %d bytes of payload: %w", plain, ErrIntegrity)
			return 0, c.rerr
		}
		c.rerr = io.EOF
		return 0, io.EOF
	case typeMeta:
		if c.onMeta != nil {
			if err := c.onMeta(p); err != nil {
				c.rerr = fmt.Errorf("record: meta: %w", err)
				return 0, c.rerr
			}
		}
		return 0, nil
	}
	if direct {
		return len(p), nil
	}
	c.pending = p
	return 0, nil
}

// fill reads until c.rbuf holds n bytes. A deadline that passes keeps what
// was read, so the next Read goes on where this one stopped.
func (c *Conn) fill(n int) error {
	buf := c.rbuf[:n]
	for c.rn < n {
		k, err := c.conn.Read(buf[c.rn:])
		c.rn += k
		if err == nil {
			continue
		}
		if c.rn >= n {
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		c.rerr = err
		return err
	}
	c.rbuf = c.rbuf[:max(len(c.rbuf), n)]
	return nil
}

// CloseWrite sends the end record: the peer reads io.EOF after the data
// already written, and further writes fail. Reading goes on. As with TLS's
// close_notify, the underlying stream is not half-closed.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.endLocked()
}

func (c *Conn) endLocked() error {
	if c.wended {
		return nil
	}
	if c.werr != nil {
		return c.werr
	}
	c.wended = true
	return c.writeRecord(typeEnd, nil)
}

// closeTimeout bounds the end record Close sends.
const closeTimeout = 2 * time.Second

// Close sends the end record unless CloseWrite did (waiting for it at most
// a short while), and closes the underlying stream.
func (c *Conn) Close() error {
	if c.wmu.TryLock() {
		_ = c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		_ = c.endLocked()
		c.wmu.Unlock()
	}
	return c.conn.Close()
}

// State returns the Conn's state for handing the stream over, and stops
// the Conn from being used: it fails while a record is half read. The
// caller hands on the underlying stream (from [Conn.NetConn]) with it.
func (c *Conn) State() (State, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.rn != 0 {
		return State{}, errors.New("record: a record is half read")
	}
	if c.werr != nil {
		return State{}, c.werr
	}
	st := State{Write: c.w.direction(), Read: c.r.direction(), Pending: clone(c.pending), WriteEnded: c.wended}
	if c.rerr == io.EOF {
		st.ReadEnded = true
	} else if c.rerr != nil {
		return State{}, c.rerr
	}
	c.rerr = errors.New("record: the stream was handed over")
	c.werr = c.rerr
	return st, nil
}

// NetConn returns the underlying stream.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the underlying stream's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the underlying stream's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines, as for net.Conn.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline, as for net.Conn. A Read that
// times out in the middle of a record goes on with it at the next Read.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline, as for net.Conn. A write that
// times out leaves the Conn unusable for further writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

func putUint24(b []byte, v int) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }

func uint24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }
