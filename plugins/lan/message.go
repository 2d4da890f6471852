package lan

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

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
	// Instance is the announcing process's instance nonce (optional; 1..
	// [MaxInstanceLen] characters of [0-9a-f]), which tells two processes
	// running one identity apart. It is not covered by the signature,
	// whose canonical encoding is version 1's: a forged one can cause at
	// most a false warning about a duplicated identity.
	Instance string
	// Account is the device's account credentials (sdk.PeerInfo.Account),
	// opaque here, at most [sdk.MaxAccountLen] bytes; nil for none. Like
	// Instance it is not covered by the signature, whose canonical
	// encoding is version 1's: the credentials are signed by the account
	// key and name the device, and the core checks both, so a forged or
	// borrowed one is refused there, and an older copy of a revocation
	// list never replaces a newer one.
	Account []byte
}

// MaxInstanceLen is the longest "ferry.instance", in characters.
const MaxInstanceLen = 32

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
	Instance   string          `json:"instance,omitempty"`
	Account    string          `json:"account,omitempty"`
}

var b64 = base64.StdEncoding.Strict()

func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}
