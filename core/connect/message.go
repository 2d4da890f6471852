package connect

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// The consent messages of seed 003, carried sealed over signaling, and
// Ferry's CANDIDATES: the sender's transport descriptions that the
// receiver's ACCEPT asked for (a candidate with remote set), sent after it.
const (
	TypeAsk        = "ASK"
	TypeAccept     = "ACCEPT"
	TypeRefuse     = "REFUSE"
	TypeCandidates = "CANDIDATES"
)

// MessageVersion is the "ferry.v" this package writes. Version 2 adds
// ACCEPT's candidates (every shared transport, raced by the sender, which
// nominates the winner) and the attempt number an answer echoes; a
// version-1 peer gets and gives a single transport.
const MessageVersion = 2

// maxCandidates bounds an ACCEPT's candidate list.
const maxCandidates = 16

// TimeLayout is the seed's "time" format.
const TimeLayout = "2006-01-02 15:04:05"

// ErrBadMessage is wrapped by every error of [DecodeMessage].
var ErrBadMessage = errors.New("bad signaling message")

// User is the seed's user object, with the peer ID Ferry needs.
type User struct {
	Name string `json:"name"`
	IP   string `json:"ip,omitempty"`
	ID   string `json:"id"`
}

// File is one entry of an ASK: the seed's file object (size as a string,
// as in the seed; hash as hex SHA-256). Mode and MTime are Ferry's
// additions, both optional so that older peers neither send nor need
// them: the permission bits in octal ("755"; left out for the usual
// "644"), and the modification time in Unix milliseconds.
type File struct {
	Name  string `json:"name"`
	Size  string `json:"size"`
	Type  string `json:"type,omitempty"`
	Hash  string `json:"hash,omitempty"`
	Mode  string `json:"mode,omitempty"`
	MTime int64  `json:"mtime,omitempty"`
}

// defaultMode is the permission bits an ASK leaves out, and what a file
// whose entry has none is given (under the receiver's umask).
const defaultMode = 0o644

// Ferry is what Ferry adds to the seed's messages: how to connect.
type Ferry struct {
	V int `json:"v"`
	// Transports and Protocols the sender can use, in its priority order
	// (ASK).
	Transports []string `json:"transports,omitempty"`
	Protocols  []string `json:"protocols,omitempty"`
	// Transport, Description and Protocol are the receiver's choice and
	// its transport description (ACCEPT). From version 2 on, Transport and
	// Description repeat the first of Candidates, for version-1 senders.
	Transport   string `json:"transport,omitempty"`
	Description string `json:"description,omitempty"` // base64
	Protocol    string `json:"protocol,omitempty"`
	// Candidates are every transport the receiver shares with the ASK, in
	// the receiver's priority order, each with its description (ACCEPT,
	// version 2).
	Candidates []Candidate `json:"candidates,omitempty"`
	// AnswerWithin is how many seconds the sender waits for an answer to
	// this ASK; the receiver withdraws its question when they are over.
	// 0 (an older sender) means unknown.
	AnswerWithin int `json:"answer_within,omitempty"`
	// Attempt numbers the sender's attempts at one transfer (ASK, from 1);
	// an answer echoes it, so that a late answer to an earlier attempt is
	// recognised as stale.
	Attempt int `json:"attempt,omitempty"`
	// Reason says why a transfer was refused (REFUSE).
	Reason string `json:"reason,omitempty"`
	// Resume is set on an ACCEPT of a transfer the receiver already knows.
	Resume bool `json:"resume,omitempty"`
	// Token is the receiver's transfer token (ACCEPT): a JWT the sender
	// presents on the connection, and on any later one that resumes.
	Token string `json:"token,omitempty"`
	// Manifest, in an ASK with no files, summarises the file list that
	// follows on the secure stream (see [Summary]): an offer too large to
	// list in one signaling message.
	Manifest *Summary `json:"manifest,omitempty"`
	// Folders, in an ASK that lists its files, are the empty folders of
	// the offer, by name (with a manifest they are in it instead).
	Folders []string `json:"folders,omitempty"`
	// Refused, in an ACCEPT, lists the files the receiver refuses on their
	// own (names its file system cannot hold); the rest is accepted.
	Refused []Refusal `json:"refused,omitempty"`
	// Instance is the writing process's instance nonce (every message;
	// optional), which tells two processes running one identity apart.
	Instance string `json:"instance,omitempty"`
	// For, in the ASK of a transfer under way, is the receiver instance
	// that accepted it and holds its journal (optional).
	For string `json:"for,omitempty"`
	// Elsewhere marks a REFUSE from an instance that is not For and
	// holds nothing of the transfer: not a refusal, but "try again, the
	// holder may answer" (sent only to a sender that set For).
	Elsewhere bool `json:"elsewhere,omitempty"`
	// Probe marks an ASK (and its ACCEPT) that offers no files: a test of
	// the connection (`ferry doctor PEER`). Its protocol is [ProbeProtocol];
	// the receiver echoes what comes over the secured stream, then closes.
	Probe bool `json:"probe,omitempty"`
}

// ProbeProtocol is the protocol (TLS ALPN value) of a probe's connection.
const ProbeProtocol = "ferry-probe/1"

// Refusal is one file a receiver refuses on its own: its index in the
// offer, and why.
type Refusal struct {
	File   int    `json:"file"`
	Reason string `json:"reason"`
}

// Candidate is one transport a receiver offers in its ACCEPT, with the
// description the sender needs to connect over it.
type Candidate struct {
	Transport   string `json:"transport"`
	Description string `json:"description"` // base64
	// Remote, in an ACCEPT, asks the sender for its own description of
	// this transport in a CANDIDATES message: the receiver's side of the
	// transport needs it to connect (sdk.CapRemoteDescription).
	Remote bool `json:"remote,omitempty"`
}

// Message is one consent message: ASK (sender → each receiver), ACCEPT or
// REFUSE (receiver → sender). One ASK may name several receivers; each
// answers for itself.
type Message struct {
	Type      string `json:"type"`
	ID        string `json:"id"` // the transfer ID
	Sender    User   `json:"sender"`
	Receivers []User `json:"receivers,omitempty"` // ASK
	Receiver  *User  `json:"receiver,omitempty"`  // ACCEPT, REFUSE
	Files     []File `json:"files,omitempty"`     // ASK
	Time      string `json:"time"`
	Ferry     Ferry  `json:"ferry"`
}

// Limits on what a message may hold.
const (
	maxFiles   = 100000
	maxNameLen = 4096
)

// EncodeMessage returns m as JSON.
func EncodeMessage(m *Message) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// DecodeMessage parses and checks a message. Unknown fields are ignored,
// so newer peers may add some.
func DecodeMessage(b []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
}

func (m *Message) check() error {
	switch m.Type {
	case TypeAsk, TypeAccept, TypeRefuse, TypeCandidates:
	default:
		return bad("unknown type %q", m.Type)
	}
	if m.Ferry.V < 1 {
		return bad("ferry.v %d, want >= 1", m.Ferry.V)
	}
	if len(m.ID) != 32 {
		return bad("transfer id %q is not 32 hex digits", m.ID)
	}
	if _, err := hex.DecodeString(m.ID); err != nil {
		return bad("transfer id %q is not 32 hex digits", m.ID)
	}
	if _, err := sdk.ParsePeerID(m.Sender.ID); err != nil {
		return bad("sender id: %v", err)
	}
	if _, err := time.Parse(TimeLayout, m.Time); err != nil {
		return bad("time %q: want %q", m.Time, TimeLayout)
	}
	switch m.Type {
	case TypeAsk:
		if len(m.Receivers) == 0 {
			return bad("ASK names no receiver")
		}
		for i, r := range m.Receivers {
			if _, err := sdk.ParsePeerID(r.ID); err != nil {
				return bad("receivers[%d].id: %v", i, err)
			}
		}
		if len(m.Ferry.Folders) > maxFiles {
			return bad("ASK has %d folders, want at most %d", len(m.Ferry.Folders), maxFiles)
		}
		for i, d := range m.Ferry.Folders {
			if d == "" || len(d) > maxNameLen {
				return bad("ferry.folders[%d]: name of %d bytes", i, len(d))
			}
		}
		if m.Ferry.Probe {
			if len(m.Files) != 0 || m.Ferry.Manifest != nil || len(m.Ferry.Folders) != 0 {
				return bad("a probe ASK offers files")
			}
			if !slices.Equal(m.Ferry.Protocols, []string{ProbeProtocol}) {
				return bad("a probe ASK names protocols %v, want [%s]", m.Ferry.Protocols, ProbeProtocol)
			}
		} else if s := m.Ferry.Manifest; s != nil {
			if len(m.Files) != 0 || len(m.Ferry.Folders) != 0 {
				return bad("ASK has both files and a manifest")
			}
			if err := s.check(); err != nil {
				return bad("ferry.manifest: %v", err)
			}
		} else if len(m.Files) == 0 || len(m.Files) > maxFiles {
			return bad("ASK has %d files, want 1..%d", len(m.Files), maxFiles)
		}
		for i, f := range m.Files {
			if _, err := f.info(); err != nil {
				return bad("files[%d]: %v", i, err)
			}
		}
		if len(m.Ferry.Protocols) == 0 || len(m.Ferry.Transports) == 0 {
			return bad("ASK names no transport or protocol")
		}
	default:
		if m.Receiver == nil {
			return bad("%s has no receiver", m.Type)
		}
		if _, err := sdk.ParsePeerID(m.Receiver.ID); err != nil {
			return bad("receiver.id: %v", err)
		}
		switch m.Type {
		case TypeAccept:
			if m.Ferry.Transport == "" || m.Ferry.Protocol == "" {
				return bad("ACCEPT names no transport or protocol")
			}
			if _, err := base64.StdEncoding.DecodeString(m.Ferry.Description); err != nil {
				return bad("ferry.description: %v", err)
			}
		case TypeCandidates:
			if len(m.Ferry.Candidates) == 0 {
				return bad("CANDIDATES carries no candidate")
			}
		}
		if len(m.Ferry.Candidates) > maxCandidates {
			return bad("%s has %d candidates, want at most %d", m.Type, len(m.Ferry.Candidates), maxCandidates)
		}
		for i, c := range m.Ferry.Candidates {
			if c.Transport == "" {
				return bad("ferry.candidates[%d] names no transport", i)
			}
			if _, err := base64.StdEncoding.DecodeString(c.Description); err != nil {
				return bad("ferry.candidates[%d].description: %v", i, err)
			}
		}
	}
	return nil
}

// info converts a wire file to the SDK's FileInfo. The name is checked
// for length only; the receiver's store sanitises it.
func (f File) info() (sdk.FileInfo, error) {
	if f.Name == "" || len(f.Name) > maxNameLen {
		return sdk.FileInfo{}, fmt.Errorf("name of %d bytes", len(f.Name))
	}
	size, err := strconv.ParseInt(f.Size, 10, 64)
	if err != nil || size < 0 {
		return sdk.FileInfo{}, fmt.Errorf("size %q is not a non-negative integer", f.Size)
	}
	var sum []byte
	if f.Hash != "" {
		if sum, err = hex.DecodeString(f.Hash); err != nil || len(sum) != 32 {
			return sdk.FileInfo{}, fmt.Errorf("hash %q is not a hex SHA-256", f.Hash)
		}
	}
	mode := os.FileMode(defaultMode)
	if f.Mode != "" {
		m, err := strconv.ParseUint(f.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return sdk.FileInfo{}, fmt.Errorf("mode %q is not octal permission bits", f.Mode)
		}
		mode = os.FileMode(m)
	}
	var mtime time.Time
	if f.MTime > 0 {
		mtime = time.UnixMilli(f.MTime).UTC()
	}
	return sdk.FileInfo{Name: f.Name, Size: size, MediaType: f.Type, SHA256: sum, Mode: mode, ModTime: mtime}, nil
}

// Offer returns an ASK's transfer as an SDK offer.
func (m *Message) Offer() (sdk.Offer, error) {
	o := sdk.Offer{TransferID: m.ID}
	for i, f := range m.Files {
		fi, err := f.info()
		if err != nil {
			return sdk.Offer{}, bad("files[%d]: %v", i, err)
		}
		o.Files = append(o.Files, fi)
	}
	return o, nil
}

// FilesOf turns an offer's files into ASK entries.
func FilesOf(o sdk.Offer) []File {
	out := make([]File, len(o.Files))
	for i, f := range o.Files {
		out[i] = File{Name: f.Name, Size: strconv.FormatInt(f.Size, 10), Type: f.MediaType}
		if m := f.Mode.Perm(); m != 0 && m != defaultMode {
			out[i].Mode = strconv.FormatUint(uint64(m), 8)
		}
		if !f.ModTime.IsZero() && f.ModTime.UnixMilli() > 0 {
			out[i].MTime = f.ModTime.UnixMilli()
		}
		if len(f.SHA256) > 0 {
			out[i].Hash = hex.EncodeToString(f.SHA256)
		}
	}
	return out
}

// SenderID returns the sender's parsed peer ID.
func (m *Message) SenderID() sdk.PeerID {
	id, _ := sdk.ParsePeerID(m.Sender.ID) // checked by DecodeMessage
	return id
}

// SentAt returns the message's time.
func (m *Message) SentAt() time.Time {
	t, _ := time.ParseInLocation(TimeLayout, m.Time, time.UTC)
	return t
}

// Now formats t in the seed's layout, in UTC.
func Now(t time.Time) string { return t.UTC().Format(TimeLayout) }

// DescriptionBytes decodes an ACCEPT's transport description.
func (m *Message) DescriptionBytes() []byte {
	b, _ := base64.StdEncoding.DecodeString(m.Ferry.Description)
	return b
}

// Offered returns an ACCEPT's transports with their decoded descriptions:
// its candidates, or for a version-1 receiver its single transport.
func (m *Message) Offered() []sdk.Description {
	if len(m.Ferry.Candidates) == 0 {
		return []sdk.Description{{Transport: m.Ferry.Transport, Data: m.DescriptionBytes()}}
	}
	out := make([]sdk.Description, len(m.Ferry.Candidates))
	for i, c := range m.Ferry.Candidates {
		out[i] = c.Decode()
	}
	return out
}

// SetCandidates fills an ACCEPT's candidates from descriptions, first
// preferred, and repeats the first in Transport and Description for
// version-1 senders.
func (m *Message) SetCandidates(ds []sdk.Description) {
	cs := make([]Candidate, len(ds))
	for i, d := range ds {
		cs[i] = NewCandidate(d)
	}
	m.SetCandidateList(cs)
}

// SetCandidateList fills an ACCEPT's candidates, first preferred, and
// repeats the first in Transport and Description for version-1 senders.
func (m *Message) SetCandidateList(cs []Candidate) {
	m.Ferry.Candidates = cs
	if len(cs) > 0 {
		m.Ferry.Transport, m.Ferry.Description = cs[0].Transport, cs[0].Description
	}
}

// NewCandidate returns the candidate carrying description d.
func NewCandidate(d sdk.Description) Candidate {
	return Candidate{Transport: d.Transport, Description: base64.StdEncoding.EncodeToString(d.Data)}
}

// Decode returns the candidate's description.
func (c Candidate) Decode() sdk.Description {
	b, _ := base64.StdEncoding.DecodeString(c.Description) // checked by DecodeMessage
	return sdk.Description{Transport: c.Transport, Data: b}
}
