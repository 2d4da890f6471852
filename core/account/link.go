package account

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/schollz/pake/v3"

	"github.com/ferry-p2p/ferry/sdk"
)

// Linking: the device holding the account key (the linker) shows a short
// one-time code; the new device (the joiner) types it and gets its
// certificate. The exchange runs over any channel (Ferry sends it in
// sealed signaling messages, over the LAN or the DHT) and is protected by
// PAKE2 (Boneh-Shoup; github.com/schollz/pake/v3, croc's, on P-256) with
// the code as the password: whoever sees or relays the messages learns
// nothing that lets them test guesses offline; each guess needs a
// confirmation the linker counts, and the code burns after the configured
// number of wrong ones. Both sides then prove the key with an HMAC bound
// to both device IDs and the session, so a relay cannot swap devices.
//
// Messages are JSON objects with a step:
//
//	hello   joiner -> linker: session (random), pake (the joiner's X), name
//	pake    linker -> joiner: session, pake (the linker's Y)
//	confirm joiner -> linker: session, mac = HMAC(K, "join" | joiner | linker | session)
//	cert    linker -> joiner: session, cert, revocations, mac = HMAC(K, "cert" | ... | cert | revocations)
//	fail    linker -> joiner: session, reason (the same for every wrong code)

// Link errors.
var (
	// ErrLinkFailed is returned to the joiner for a wrong, used or expired
	// code, all alike.
	ErrLinkFailed = errors.New("link failed: wrong, used or expired code")
	// ErrCodeBurned is returned by the linker once the code's tries are
	// used up.
	ErrCodeBurned = errors.New("link code burned: too many wrong attempts")
	// ErrBadLinkCode is returned when a typed code does not parse.
	ErrBadLinkCode = errors.New("not a link code")
)

const (
	pakeCurve      = "p256"
	linkSecretLen  = 8 // base32 characters: 40 bits
	maxLinkMsg     = 4 << 10
	maxLinkPending = 16
)

var linkB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// LinkCode is what the linker shows: the first group of its peer ID, for
// the joiner to find it, and the secret.
type LinkCode struct {
	// Linker is the first 7 characters of the linker's printed peer ID.
	Linker string
	// Secret is 8 base32 characters.
	Secret string
}

// NewLinkCode returns a fresh code for the linker device.
func NewLinkCode(linker sdk.PeerID) (LinkCode, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return LinkCode{}, err
	}
	return LinkCode{Linker: linker.Short(), Secret: linkB32.EncodeToString(b)}, nil
}

// String returns the code as shown: "KXQ3Z7M-ABCD-EFGH".
func (c LinkCode) String() string {
	return c.Linker + "-" + c.Secret[:4] + "-" + c.Secret[4:]
}

// ParseLinkCode parses a typed code: any case, dashes or spaces, and the
// typos 0, 1, 8 for O, I, B.
func ParseLinkCode(s string) (LinkCode, error) {
	norm := strings.NewReplacer("-", "", " ", "", "0", "O", "1", "I", "8", "B").Replace(strings.ToUpper(strings.TrimSpace(s)))
	if len(norm) != 7+linkSecretLen {
		return LinkCode{}, fmt.Errorf("%w: %q has %d characters without dashes, want %d", ErrBadLinkCode, s, len(norm), 7+linkSecretLen)
	}
	for _, r := range norm {
		if !strings.ContainsRune(b32Alphabet, r) {
			return LinkCode{}, fmt.Errorf("%w: %q: character %q", ErrBadLinkCode, s, r)
		}
	}
	return LinkCode{Linker: norm[:7], Secret: norm[7:]}, nil
}

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// password derives the PAKE password from the code and the linker's ID.
func (c LinkCode) password(linker sdk.PeerID) []byte {
	h := sha256.New()
	h.Write([]byte("ferry account link v1\x00"))
	h.Write(linker[:])
	h.Write([]byte(c.Secret))
	return h.Sum(nil)
}

type linkMsg struct {
	Step        string `json:"step"`
	Session     string `json:"session"`
	Pake        []byte `json:"pake,omitempty"`
	Name        string `json:"name,omitempty"`
	MAC         []byte `json:"mac,omitempty"`
	Cert        []byte `json:"cert,omitempty"`
	Revocations []byte `json:"revocations,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func decodeLinkMsg(b []byte) (*linkMsg, error) {
	if len(b) > maxLinkMsg {
		return nil, fmt.Errorf("%w: link message of %d bytes", ErrMalformed, len(b))
	}
	var m linkMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: link message: %w", ErrMalformed, err)
	}
	if len(m.Session) != 32 {
		return nil, fmt.Errorf("%w: link message: session %.40q", ErrMalformed, m.Session)
	}
	return &m, nil
}

func encodeLinkMsg(m *linkMsg) []byte {
	b, _ := json.Marshal(m) // only strings and byte slices: cannot fail
	return b
}

// pakeUpdate feeds the peer's PAKE message to p after checking that it
// carries the point it must (the library would dereference a missing one).
func pakeUpdate(p *pake.Pake, msg []byte, wantRole int) (err error) {
	var q pake.Pake
	if err := json.Unmarshal(msg, &q); err != nil {
		return fmt.Errorf("%w: pake: %w", ErrMalformed, err)
	}
	x, y := q.Xᵤ, q.Xᵥ
	if wantRole == 1 {
		x, y = q.Yᵤ, q.Yᵥ
	}
	if q.Role != wantRole || x == nil || y == nil {
		return fmt.Errorf("%w: pake message without its point", ErrMalformed)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: pake: %v", ErrMalformed, r)
		}
	}()
	if err := p.Update(msg); err != nil {
		return fmt.Errorf("%w: pake: %w", ErrMalformed, err)
	}
	return nil
}

func linkMAC(k []byte, label string, joiner, linker sdk.PeerID, session string, extra ...[]byte) []byte {
	h := hmac.New(sha256.New, k)
	h.Write([]byte("ferry account link " + label + "\x00"))
	h.Write(joiner[:])
	h.Write(linker[:])
	h.Write([]byte(session))
	for _, e := range extra {
		h.Write([]byte{byte(len(e) >> 8), byte(len(e))})
		h.Write(e)
	}
	return h.Sum(nil)
}

// Linker is the key holder's side of one link code. It is safe for
// concurrent use.
type Linker struct {
	key      ed25519.PrivateKey
	self     sdk.PeerID
	code     LinkCode
	rev      *Revocations
	validity time.Duration
	expires  time.Time
	now      func() time.Time

	mu       sync.Mutex
	tries    int // wrong confirmations left
	used     bool
	sessions map[string]*linkerSession
	order    []string
}

type linkerSession struct {
	joiner sdk.PeerID
	name   string
	key    []byte
}

// LinkerOptions configure a Linker.
type LinkerOptions struct {
	// Key is the account key. REQUIRED.
	Key ed25519.PrivateKey
	// Self is the linker's device ID. REQUIRED.
	Self sdk.PeerID
	// Code is the code shown. REQUIRED.
	Code LinkCode
	// Tries is how many wrong codes burn it (at least 1).
	Tries int
	// Expires is when the code stops working.
	Expires time.Time
	// Validity is how long the certificates issued are valid.
	Validity time.Duration
	// Revocations is the account's list, handed to the new device.
	Revocations *Revocations
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// NewLinker returns the linker side of opts.Code.
func NewLinker(opts LinkerOptions) *Linker {
	if opts.Tries < 1 {
		opts.Tries = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Linker{key: opts.Key, self: opts.Self, code: opts.Code, rev: opts.Revocations, validity: opts.Validity,
		expires: opts.Expires, now: opts.Now, tries: opts.Tries, sessions: map[string]*linkerSession{}}
}

// Used reports whether a device was linked with the code.
func (l *Linker) Used() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

// Handle processes one message from device from. It returns the reply to
// send (nil for none), the certificate issued when this message completed
// a link, and an error saying why a message was refused; [ErrCodeBurned]
// once no try is left, after which every message is answered "fail".
func (l *Linker) Handle(from sdk.PeerID, b []byte) (reply []byte, issued *Certificate, err error) {
	m, err := decodeLinkMsg(b)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) ([]byte, *Certificate, error) {
		return encodeLinkMsg(&linkMsg{Step: "fail", Session: m.Session, Reason: ErrLinkFailed.Error()}), nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.used:
		return fail(fmt.Errorf("a link attempt from %s: the code was used already", from.Short()))
	case l.tries <= 0:
		return fail(ErrCodeBurned)
	case !l.now().Before(l.expires):
		return fail(fmt.Errorf("a link attempt from %s: the code expired at %s", from.Short(), l.expires.UTC().Format(time.RFC3339)))
	}
	switch m.Step {
	case "hello":
		if err := checkName(m.Name); err != nil || m.Name == "" {
			return fail(fmt.Errorf("%w: link hello from %s: device name %.80q", ErrMalformed, from.Short(), m.Name))
		}
		p, err := pake.InitCurve(l.code.password(l.self), 1, pakeCurve)
		if err != nil {
			return nil, nil, fmt.Errorf("pake: %w", err)
		}
		if err := pakeUpdate(p, m.Pake, 0); err != nil {
			return fail(err)
		}
		k, err := p.SessionKey()
		if err != nil {
			return fail(fmt.Errorf("%w: pake: %w", ErrMalformed, err))
		}
		if len(l.order) >= maxLinkPending {
			delete(l.sessions, l.order[0])
			l.order = l.order[1:]
		}
		l.sessions[m.Session] = &linkerSession{joiner: from, name: m.Name, key: k}
		l.order = append(l.order, m.Session)
		return encodeLinkMsg(&linkMsg{Step: "pake", Session: m.Session, Pake: p.Bytes()}), nil, nil
	case "confirm":
		s := l.sessions[m.Session]
		if s == nil || s.joiner != from {
			return fail(fmt.Errorf("a link confirmation from %s for no session of its own", from.Short()))
		}
		delete(l.sessions, m.Session)
		if !hmac.Equal(m.MAC, linkMAC(s.key, "join", from, l.self, m.Session)) {
			l.tries--
			if l.tries <= 0 {
				return fail(fmt.Errorf("%s typed a wrong code: %w", from.Short(), ErrCodeBurned))
			}
			return fail(fmt.Errorf("%s typed a wrong code (%d tries left)", from.Short(), l.tries))
		}
		c, err := Issue(l.key, from, s.name, l.now(), l.validity)
		if err != nil {
			return fail(err)
		}
		cert, err := c.MarshalBinary()
		if err != nil {
			return fail(err)
		}
		var rev []byte
		if l.rev != nil {
			if rev, err = l.rev.MarshalBinary(); err != nil {
				return fail(err)
			}
		}
		l.used = true
		return encodeLinkMsg(&linkMsg{Step: "cert", Session: m.Session, Cert: cert, Revocations: rev,
			MAC: linkMAC(s.key, "cert", from, l.self, m.Session, cert, rev)}), c, nil
	}
	return fail(fmt.Errorf("%w: link step %.20q", ErrMalformed, m.Step))
}

// Joiner is the new device's side of a link.
type Joiner struct {
	self, linker sdk.PeerID
	session      string
	p            *pake.Pake
	key          []byte
}

// NewJoiner starts a link of device self, named name, with the linker
// device found for code; it returns the first message to send.
func NewJoiner(self, linker sdk.PeerID, code LinkCode, name string) (*Joiner, []byte, error) {
	if err := checkName(name); err != nil || name == "" {
		return nil, nil, fmt.Errorf("join: device name %q: want 1 to %d bytes", name, MaxNameLen)
	}
	p, err := pake.InitCurve(code.password(linker), 0, pakeCurve)
	if err != nil {
		return nil, nil, fmt.Errorf("pake: %w", err)
	}
	s := make([]byte, 16)
	if _, err := rand.Read(s); err != nil {
		return nil, nil, err
	}
	j := &Joiner{self: self, linker: linker, session: hex.EncodeToString(s), p: p}
	return j, encodeLinkMsg(&linkMsg{Step: "hello", Session: j.session, Pake: p.Bytes(), Name: name}), nil
}

// Handle processes one message from the linker: it returns the next
// message to send, or, at the end, the certificate (checked: for this
// device, signed by the account it names, from the holder of the code)
// and the account's revocation list, if any. A "fail" answer is
// [ErrLinkFailed]; a message of another session is ignored (nil, nil).
func (j *Joiner) Handle(b []byte, now time.Time) (reply []byte, cert *Certificate, rev *Revocations, err error) {
	m, err := decodeLinkMsg(b)
	if err != nil {
		return nil, nil, nil, err
	}
	if m.Session != j.session {
		return nil, nil, nil, nil
	}
	switch m.Step {
	case "fail":
		return nil, nil, nil, ErrLinkFailed
	case "pake":
		if j.key != nil {
			return nil, nil, nil, nil // a repeat
		}
		if err := pakeUpdate(j.p, m.Pake, 1); err != nil {
			return nil, nil, nil, err
		}
		if j.key, err = j.p.SessionKey(); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: pake: %w", ErrMalformed, err)
		}
		return encodeLinkMsg(&linkMsg{Step: "confirm", Session: j.session, MAC: linkMAC(j.key, "join", j.self, j.linker, j.session)}), nil, nil, nil
	case "cert":
		if j.key == nil || !hmac.Equal(m.MAC, linkMAC(j.key, "cert", j.self, j.linker, j.session, m.Cert, m.Revocations)) {
			return nil, nil, nil, fmt.Errorf("%w: the certificate is not from the holder of the code", ErrForged)
		}
		c, err := ParseCertificate(m.Cert)
		if err != nil {
			return nil, nil, nil, err
		}
		if c.Device != j.self {
			return nil, nil, nil, fmt.Errorf("%w: certifies %s", ErrWrongDevice, c.Device.Short())
		}
		if err := c.VerifySelf(now); err != nil {
			return nil, nil, nil, err
		}
		if len(m.Revocations) > 0 {
			if rev, err = ParseRevocations(m.Revocations); err != nil {
				return nil, nil, nil, err
			}
			if err := rev.Verify(c.Account); err != nil {
				return nil, nil, nil, err
			}
		}
		return nil, c, rev, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: link step %.20q", ErrMalformed, m.Step)
}
