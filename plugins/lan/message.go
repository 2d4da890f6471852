package lan

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-p2p/ferry/sdk"
)

// Limits of the wire format.
const (
	// MaxDatagram is the largest announcement (JOIN, PING, LEAVE) Decode
	// accepts and Encode produces, in bytes: what travels in one UDP
	// datagram.
	MaxDatagram = 8 << 10
	// MaxFrame is the largest SIGNAL message Decode accepts and Encode
	// produces, in bytes. SIGNAL messages travel in TCP frames: a payload
	// of [sdk.MaxEnvelopePayload] bytes takes about 86 KiB once in base64
	// with its header. Decode refuses anything longer before parsing.
	MaxFrame = 96 << 10
	// Version is the protocol version this package writes in "ferry.v".
	Version = 1
	// MaxNameRunes is the longest user name, in runes.
	MaxNameRunes = 64
	// MaxIPLen is the longest "user.ip" text, in bytes.
	MaxIPLen = 64
	// MaxListEntries is the most entries a roles, transports or protocols
	// list may hold.
	MaxListEntries = 32
	// MaxListEntryLen is the longest entry of such a list, in bytes.
	MaxListEntryLen = 64
)

// ErrMalformed is wrapped by every error about a datagram or message that
// does not follow the wire format; the message names the offending field.
var ErrMalformed = errors.New("lan: malformed message")

// ErrBadSignature is wrapped by every error of [Verify].
var ErrBadSignature = errors.New("lan: bad signature")

// What [Verify] found wrong, wrapped next to ErrBadSignature so that the
// plugin can log a precise reason.
var (
	errSpoofed = errors.New("spoofed id")
	errBadCert = errors.New("forged or expired certificate")
	errAltered = errors.New("not signed by its delegated key (altered message)")
)

// Type is the "type" field of a message.
type Type string

// The message types. JOIN, PING and LEAVE are the Sent announcements;
// SIGNAL is Ferry's sealed signaling datagram.
const (
	TypeJoin   Type = "JOIN"
	TypePing   Type = "PING"
	TypeLeave  Type = "LEAVE"
	TypeSignal Type = "SIGNAL"
)

// IsAnnouncement reports whether t is JOIN, PING or LEAVE.
func (t Type) IsAnnouncement() bool {
	return t == TypeJoin || t == TypePing || t == TypeLeave
}

func (t Type) known() bool { return t.IsAnnouncement() || t == TypeSignal }

// User is the seed's "user" object of an announcement.
type User struct {
	// Name is the human name of the device: at most [MaxNameRunes] runes,
	// no control or line-separator characters. It may be empty.
	Name string
	// IP is the address the sender says it has, as text. For a Ferry peer
	// it must be a valid IP literal; for a plain Sent peer it is kept as
	// sent (the seed's own examples are not valid addresses). It is
	// informational: [Message.PeerInfo] uses the datagram's source address.
	IP string
}

// Header is the "ferry" object: what a Ferry peer adds to a Sent message.
type Header struct {
	// V is the sender's protocol version, at least 1. Newer versions are
	// accepted; fields this package does not know are ignored.
	V uint64
	// ID is the sender's peer ID, the ed25519 key that signs the message.
	ID sdk.PeerID
	// Port is the sender's unicast port, 1..65535: its UDP socket that
	// takes PING replies, and its TCP listener for SIGNAL frames, which
	// has the same number.
	Port uint16
	// Roles, Transports and Protocols name the sender's plugins: at most
	// [MaxListEntries] entries of 1..[MaxListEntryLen] characters of
	// [a-z0-9./_-] each. Empty lists are nil.
	Roles      []string
	Transports []string
	Protocols  []string
	// Seq is the sender's message counter, for the receiver to drop
	// replays and reordered announcements. Every message a sender signs
	// has a new Seq.
	Seq uint64
	// Cert is the encoded [sdk.Certificate] ([sdk.CertificateSize]
	// bytes) by which the device ID delegated the key that signs the
	// message; see [Sign].
	Cert []byte
	// Sig is the delegated key's ed25519 signature of the canonical
	// encoding; see [Sign].
	Sig []byte
}

// Message is one datagram of the lan protocol.
type Message struct {
	// Type is the message type.
	Type Type
	// User is the sender's name and address; announcements only.
	User User
	// Ferry is the Ferry header; nil for a plain Sent peer, which may only
	// send announcements.
	Ferry *Header
	// To is the recipient of a SIGNAL message.
	To sdk.PeerID
	// Payload is the sealed content of a SIGNAL message, at most
	// [sdk.MaxEnvelopePayload] bytes. Empty is nil.
	Payload []byte
}

// IsFerry reports whether m comes from a Ferry peer (has a "ferry" object)
// rather than a plain Sent peer.
func (m *Message) IsFerry() bool { return m.Ferry != nil }

// wire shapes: numbers are kept raw so that range errors name the field.
type wireMsg struct {
	Type    string     `json:"type"`
	User    *wireUser  `json:"user,omitempty"`
	Ferry   *wireFerry `json:"ferry,omitempty"`
	To      string     `json:"to,omitempty"`
	Payload string     `json:"payload,omitempty"`
}

type wireUser struct {
	Name string `json:"name,omitempty"`
	IP   string `json:"ip,omitempty"`
}

type wireFerry struct {
	V          json.RawMessage `json:"v"`
	ID         string          `json:"id"`
	Port       json.RawMessage `json:"port"`
	Roles      []string        `json:"roles,omitempty"`
	Transports []string        `json:"transports,omitempty"`
	Protocols  []string        `json:"protocols,omitempty"`
	Seq        json.RawMessage `json:"seq,omitempty"`
	Cert       string          `json:"cert"`
	Sig        string          `json:"sig"`
}

var b64 = base64.StdEncoding.Strict()

func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}

// Decode parses and checks one message: a UDP datagram or the body of a
// TCP frame. Input over [MaxFrame] bytes is refused before parsing, and an
// announcement over [MaxDatagram] bytes as soon as its type is known.
// Unknown fields are ignored, and so are fields that do not belong to the
// message's type ("user" on SIGNAL, "to" and "payload" on announcements).
// Errors wrap [ErrMalformed]. Decode does not check the signature: call
// [Verify].
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxFrame {
		return nil, malformed("message", "%d bytes exceeds %d", len(b), MaxFrame)
	}
	var w wireMsg
	if err := json.Unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "message"
			}
			return nil, malformed(field, "JSON %s where %s expected", te.Value, jsonKind(te.Type))
		}
		return nil, malformed("message", "not a JSON object: %v", err)
	}
	m := &Message{Type: Type(w.Type)}
	if !m.Type.known() {
		return nil, malformed("type", "%q is not JOIN, PING, LEAVE or SIGNAL", w.Type)
	}
	if m.Type.IsAnnouncement() && len(b) > MaxDatagram {
		return nil, malformed("message", "%s of %d bytes exceeds %d", m.Type, len(b), MaxDatagram)
	}
	if m.Type.IsAnnouncement() {
		if w.User == nil {
			return nil, malformed("user", "missing")
		}
		m.User = User{Name: w.User.Name, IP: w.User.IP}
	} else {
		to, err := sdk.ParsePeerID(w.To)
		if err != nil {
			return nil, malformed("to", "%v", err)
		}
		m.To = to
		if m.Payload, err = b64.DecodeString(w.Payload); err != nil {
			return nil, malformed("payload", "not base64: %v", err)
		}
		if len(m.Payload) == 0 {
			m.Payload = nil
		}
	}
	if w.Ferry != nil {
		h, err := decodeHeader(w.Ferry)
		if err != nil {
			return nil, err
		}
		m.Ferry = h
	}
	if err := check(m); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonKind names the JSON kind a Go type decodes from, for error messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	}
	return t.Kind().String()
}

func decodeHeader(w *wireFerry) (*Header, error) {
	h := &Header{}
	var err error
	if h.V, err = parseUint("ferry.v", w.V, 64, true); err != nil {
		return nil, err
	}
	if h.ID, err = sdk.ParsePeerID(w.ID); err != nil {
		return nil, malformed("ferry.id", "%v", err)
	}
	port, err := parseUint("ferry.port", w.Port, 64, true)
	if err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, malformed("ferry.port", "%d out of range 1..65535", port)
	}
	h.Port = uint16(port)
	if h.Seq, err = parseUint("ferry.seq", w.Seq, 64, false); err != nil {
		return nil, err
	}
	if h.Cert, err = b64.DecodeString(w.Cert); err != nil {
		return nil, malformed("ferry.cert", "not base64: %v", err)
	}
	if h.Sig, err = b64.DecodeString(w.Sig); err != nil {
		return nil, malformed("ferry.sig", "not base64: %v", err)
	}
	h.Roles, h.Transports, h.Protocols = nilIfEmpty(w.Roles), nilIfEmpty(w.Transports), nilIfEmpty(w.Protocols)
	return h, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// parseUint parses a raw JSON number as a decimal integer: no sign,
// fraction, exponent or quotes.
func parseUint(field string, raw json.RawMessage, bits int, required bool) (uint64, error) {
	if len(raw) == 0 {
		if required {
			return 0, malformed(field, "missing")
		}
		return 0, nil
	}
	v, err := strconv.ParseUint(string(raw), 10, bits)
	if err != nil {
		return 0, malformed(field, "%.32s is not an unsigned integer", raw)
	}
	return v, nil
}

// check enforces the rules shared by Encode and Decode.
func check(m *Message) error {
	if !m.Type.known() {
		return malformed("type", "%q is not JOIN, PING, LEAVE or SIGNAL", m.Type)
	}
	if m.Type.IsAnnouncement() {
		if !m.To.IsZero() || len(m.Payload) != 0 {
			return malformed("to", "%s carries no recipient or payload", m.Type)
		}
		if err := checkName(m.User.Name); err != nil {
			return err
		}
		if err := checkIP(m.User.IP, m.Ferry != nil); err != nil {
			return err
		}
	} else {
		if m.Ferry == nil {
			return malformed("ferry", "missing: SIGNAL is for Ferry peers only")
		}
		if m.User != (User{}) {
			return malformed("user", "SIGNAL carries no user")
		}
		if m.To.IsZero() {
			return malformed("to", "missing")
		}
		if len(m.Payload) > sdk.MaxEnvelopePayload {
			return malformed("payload", "%d bytes exceeds %d", len(m.Payload), sdk.MaxEnvelopePayload)
		}
	}
	h := m.Ferry
	if h == nil {
		return nil
	}
	if h.V < 1 {
		return malformed("ferry.v", "%d, want at least 1", h.V)
	}
	if h.ID.IsZero() {
		return malformed("ferry.id", "missing")
	}
	if h.Port == 0 {
		return malformed("ferry.port", "0 out of range 1..65535")
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"ferry.roles", h.Roles}, {"ferry.transports", h.Transports}, {"ferry.protocols", h.Protocols}} {
		if err := checkList(l.name, l.list); err != nil {
			return err
		}
	}
	if len(h.Cert) != sdk.CertificateSize {
		return malformed("ferry.cert", "%d bytes, want %d (unsigned?)", len(h.Cert), sdk.CertificateSize)
	}
	if _, err := sdk.ParseCertificate(h.Cert); err != nil {
		return malformed("ferry.cert", "%v", err)
	}
	if len(h.Sig) != ed25519.SignatureSize {
		return malformed("ferry.sig", "%d bytes, want %d (unsigned?)", len(h.Sig), ed25519.SignatureSize)
	}
	return nil
}

func checkName(s string) error {
	if !utf8.ValidString(s) {
		return malformed("user.name", "not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return malformed("user.name", "%d runes exceeds %d", n, MaxNameRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return malformed("user.name", "control character %U", r)
		}
	}
	return nil
}

func checkIP(s string, ferry bool) error {
	if len(s) > MaxIPLen {
		return malformed("user.ip", "%d bytes exceeds %d", len(s), MaxIPLen)
	}
	if ferry {
		if _, err := netip.ParseAddr(s); err != nil {
			return malformed("user.ip", "%q is not an IP address", s)
		}
		return nil
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return malformed("user.ip", "control character %U", r)
		}
	}
	return nil
}

func checkList(field string, list []string) error {
	if len(list) > MaxListEntries {
		return malformed(field, "%d entries exceeds %d", len(list), MaxListEntries)
	}
	for i, e := range list {
		if e == "" || len(e) > MaxListEntryLen {
			return malformed(fmt.Sprintf("%s[%d]", field, i), "length %d, want 1..%d", len(e), MaxListEntryLen)
		}
		for j := 0; j < len(e); j++ {
			c := e[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '/' || c == '_' || c == '-') {
				return malformed(fmt.Sprintf("%s[%d]", field, i), "%q: character %q not in [a-z0-9./_-]", e, c)
			}
		}
	}
	return nil
}

// Encode checks m by the rules of [Decode] and returns its encoding: a
// datagram of at most [MaxDatagram] bytes for an announcement, a frame body
// of at most [MaxFrame] bytes for SIGNAL. A Ferry message must be signed
// first (see [Sign]); the encoding is compact JSON with fields in a fixed
// order.
func Encode(m *Message) ([]byte, error) {
	if err := check(m); err != nil {
		return nil, err
	}
	w := wireMsg{Type: string(m.Type)}
	if m.Type.IsAnnouncement() {
		w.User = &wireUser{Name: m.User.Name, IP: m.User.IP}
	} else {
		w.To = m.To.String()
		w.Payload = b64.EncodeToString(m.Payload)
	}
	if h := m.Ferry; h != nil {
		w.Ferry = &wireFerry{
			V:          strconv.AppendUint(nil, h.V, 10),
			ID:         h.ID.String(),
			Port:       strconv.AppendUint(nil, uint64(h.Port), 10),
			Roles:      h.Roles,
			Transports: h.Transports,
			Protocols:  h.Protocols,
			Cert:       b64.EncodeToString(h.Cert),
			Sig:        b64.EncodeToString(h.Sig),
		}
		if h.Seq != 0 {
			w.Ferry.Seq = strconv.AppendUint(nil, h.Seq, 10)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("lan: encode: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	limit := MaxFrame
	if m.Type.IsAnnouncement() {
		limit = MaxDatagram
	}
	if len(b) > limit {
		return nil, malformed("message", "%s of %d bytes exceeds %d", m.Type, len(b), limit)
	}
	return b, nil
}

// sigContext separates these signatures from any other use of the key.
const sigContext = "ferry/lan/v1 message\x00"

// SigningBytes returns the canonical encoding that [Sign] signs and
// [Verify] checks. It is binary, in this fixed order, with every string
// and byte string preceded by its length as a 4-byte big-endian integer,
// every list by its entry count (4 bytes), integers big-endian:
//
//	"ferry/lan/v1 message\x00" (no length)
//	type
//	announcements: user.name, user.ip
//	v (8 bytes), id (32 raw key bytes), port (2 bytes),
//	roles, transports, protocols, seq (8 bytes), cert
//	SIGNAL: to (32 raw key bytes), payload
//
// The encoding does not depend on the JSON text, so re-encoding or
// reordering fields keeps the signature valid; it covers exactly the
// fields of version 1. It returns nil when m.Ferry is nil.
func SigningBytes(m *Message) []byte {
	h := m.Ferry
	if h == nil {
		return nil // plain Sent messages are not signed
	}
	b := make([]byte, 0, 400+len(m.Payload))
	b = append(b, sigContext...)
	b = appendString(b, string(m.Type))
	if m.Type != TypeSignal {
		b = appendString(b, m.User.Name)
		b = appendString(b, m.User.IP)
	}
	b = binary.BigEndian.AppendUint64(b, h.V)
	b = append(b, h.ID[:]...)
	b = binary.BigEndian.AppendUint16(b, h.Port)
	for _, l := range [][]string{h.Roles, h.Transports, h.Protocols} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
		for _, e := range l {
			b = appendString(b, e)
		}
	}
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = appendString(b, string(h.Cert))
	if m.Type == TypeSignal {
		b = append(b, m.To[:]...)
		b = appendString(b, string(m.Payload))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Sign sets m.Ferry.Cert to d's certificate and m.Ferry.Sig to d's
// signature of [SigningBytes](m). d is the delegated key the host gave the
// plugin at Configure: the device key never reaches the plugin, and peers
// check the certificate against m.Ferry.ID. Sign any change to m before
// encoding it.
//
// Sign fails, wrapping [ErrMalformed], for a plain Sent message (m.Ferry
// is nil), and, wrapping [ErrBadSignature], when d is incomplete or was not
// issued by m.Ferry.ID: peers would reject the message as spoofed.
func Sign(m *Message, d *sdk.Delegation) error {
	if m == nil || m.Ferry == nil {
		return fmt.Errorf("sign: message has no ferry header: %w", ErrMalformed)
	}
	if d == nil || len(d.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: sign: no delegated key", ErrBadSignature)
	}
	if d.Cert.Issuer != m.Ferry.ID {
		return fmt.Errorf("%w: sign: the delegation was issued by %s and cannot sign for %s", ErrBadSignature, d.Cert.Issuer.Short(), m.Ferry.ID.Short())
	}
	if pub, ok := d.Key.Public().(ed25519.PublicKey); !ok || !pub.Equal(d.Cert.Key) {
		return fmt.Errorf("%w: sign: the delegated key does not match its certificate", ErrBadSignature)
	}
	cert, err := d.Cert.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: sign: %w", ErrBadSignature, err)
	}
	m.Ferry.Cert = cert
	m.Ferry.Sig = d.Sign(SigningBytes(m))
	return nil
}

// Verify checks m's certificate and signature at time now: the certificate
// must be issued by m.Ferry.ID, signed by that ID's key and not expired,
// and m.Ferry.Sig must be the certified key's signature of
// [SigningBytes](m). Every error wraps [ErrBadSignature], and the SDK's
// error (wrapping [sdk.ErrBadCertificate]) when there is one; its text says
// which check failed: a spoofed id (the certificate names another issuer),
// a bad or expired certificate, or a signature that does not verify (an
// altered message). A plain Sent message, which is unsigned, fails too.
// Verify does not look at Seq: dropping replays is the caller's job.
func Verify(m *Message, now time.Time) error {
	h := m.Ferry
	if h == nil {
		return fmt.Errorf("%w: %s from a plain Sent peer is unsigned", ErrBadSignature, m.Type)
	}
	if h.ID.IsZero() {
		return fmt.Errorf("%w: %s has no peer id", ErrBadSignature, m.Type)
	}
	cert, err := sdk.ParseCertificate(h.Cert)
	if err != nil {
		return fmt.Errorf("%w: %s claiming id %s: %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errBadCert, err)
	}
	err = sdk.VerifyDelegated(h.ID, cert, SigningBytes(m), h.Sig, now)
	switch {
	case err == nil:
		return nil
	case cert.Issuer != h.ID:
		return fmt.Errorf("%w: %s claiming id %s carries a certificate of %s (%w): %w", ErrBadSignature, m.Type, h.ID.Short(), cert.Issuer.Short(), errSpoofed, err)
	case cert.Verify(now) != nil:
		return fmt.Errorf("%w: %s claiming id %s: %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errBadCert, err)
	}
	return fmt.Errorf("%w: %s claiming id %s is %w: %w", ErrBadSignature, m.Type, h.ID.Short(), errAltered, err)
}

// Addr returns the text form of a lan address in [sdk.PeerInfo.Addrs]:
// "udp4:IP:PORT" or "udp6:[IP%zone]:PORT", an IPv4-mapped IPv6 address
// unmapped. The port is the peer's unicast port (see [Header.Port]).
func Addr(ap netip.AddrPort) string {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().Is4() {
		return "udp4:" + ap.String()
	}
	return "udp6:" + ap.String()
}

// PeerInfo returns the discovery record m announces, as heard from the
// datagram source address src: the address is [Addr] of src's IP (an
// IPv6 zone kept) with the announced port, not the self-reported user.ip.
// Source is "lan". Seen and Expires are left zero for the caller, which
// owns the clock and the peer timeout. For a plain Sent peer ID is zero
// and Addrs is empty: it cannot be reached by Ferry.
func (m *Message) PeerInfo(src netip.AddrPort) sdk.PeerInfo {
	p := sdk.PeerInfo{Name: m.User.Name, Source: "lan"}
	h := m.Ferry
	if h == nil {
		return p
	}
	p.ID = h.ID
	p.Addrs = []string{Addr(netip.AddrPortFrom(src.Addr(), h.Port))}
	p.Roles = slices.Clone(h.Roles)
	p.Transports = slices.Clone(h.Transports)
	p.Protocols = slices.Clone(h.Protocols)
	return p
}
