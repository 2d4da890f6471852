package ice

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// Name is the transport's name: the Transport field of its descriptions
// and the Name in its Info.
const Name = "ice"

const (
	// maxDescLen bounds a description in bytes.
	maxDescLen = 8 << 10
	// maxCandidates bounds the candidates in one description.
	maxCandidates = 32
	// maxLineLen bounds one line.
	maxLineLen = 256
	// ufragBytes and pwdBytes are the random bytes behind a generated ufrag
	// (16 characters, 96 bits) and password (32 characters, 192 bits).
	ufragBytes = 12
	pwdBytes   = 24
	// Lengths RFC 8445 §5.3 allows: ufrag 4 to 256 characters, password
	// 22 to 256 (at least 24 and 128 bits).
	minUfragLen, maxUfragLen = 4, 256
	minPwdLen, maxPwdLen     = 22, 256
	// maxFoundationLen is RFC 8839's bound on a foundation.
	maxFoundationLen = 32
)

// candType is a candidate type a description may carry.
type candType int

// The candidate types. Peer-reflexive candidates are learnt from checks,
// never signalled.
const (
	typeHost candType = iota + 1
	typeSrflx
	typeRelay
)

func (t candType) String() string {
	switch t {
	case typeHost:
		return "host"
	case typeSrflx:
		return "srflx"
	case typeRelay:
		return "relay"
	}
	return "unknown"
}

// typePreference is RFC 8445 §5.1.2.2's recommended type preference.
func (t candType) typePreference() uint32 {
	switch t {
	case typeHost:
		return 126
	case typeSrflx:
		return 100
	}
	return 0
}

// candidate is one candidate line.
type candidate struct {
	foundation string
	priority   uint32
	typ        candType
	addr       netip.AddrPort
	// related is the base (srflx) or the TURN client's address (relay);
	// invalid for host candidates and when not given.
	related netip.AddrPort
}

// String formats the candidate as its description line.
func (c candidate) String() string {
	s := fmt.Sprintf("%s 1 UDP %d %s %d typ %s", c.foundation, c.priority, c.addr.Addr(), c.addr.Port(), c.typ)
	if c.typ != typeHost && c.related.IsValid() {
		s += fmt.Sprintf(" raddr %s rport %d", c.related.Addr(), c.related.Port())
	}
	return s
}

// priorityOf is RFC 8445 §5.1.2.1's priority for component 1.
func priorityOf(t candType, localPref uint16) uint32 {
	return t.typePreference()<<24 | uint32(localPref)<<8 | (256 - 1)
}

// description is what one side tells the other.
type description struct {
	ufrag, pwd string
	cands      []candidate
}

// marshal formats the description: ufrag, password, one candidate a line.
func (d description) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(d.ufrag)
	b.WriteByte('\n')
	b.WriteString(d.pwd)
	b.WriteByte('\n')
	for _, c := range d.cands {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (d description) sdk() sdk.Description {
	return sdk.Description{Transport: Name, Data: d.marshal()}
}

// addrPolicy says which peer addresses are acceptable as candidates.
type addrPolicy struct {
	// loopback accepts 127.0.0.0/8 and ::1 (include_loopback).
	loopback bool
	// linkLocal accepts 169.254.0.0/16 and fe80::/10 (never set by the
	// plugin: a link-local address needs a zone a description cannot name).
	linkLocal bool
}

// check says why a peer may not offer ip as a candidate address, or nil.
func (p addrPolicy) check(ip netip.Addr) error {
	switch {
	case !ip.IsValid():
		return fmt.Errorf("no address")
	case ip.Zone() != "":
		return fmt.Errorf("address %s has a zone", ip)
	case ip.Is4In6():
		return fmt.Errorf("address %s: write IPv4 addresses in dotted form", ip)
	case ip.IsUnspecified():
		return fmt.Errorf("unspecified address %s", ip)
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("multicast address %s", ip)
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("broadcast address %s", ip)
	case ip.Is4() && ip.As4()[0] == 0:
		return fmt.Errorf("address %s is in 0.0.0.0/8 (this network)", ip)
	case ip.IsLoopback() && !p.loopback:
		return fmt.Errorf("loopback address %s (include_loopback is off)", ip)
	case ip.IsLinkLocalUnicast() && !p.linkLocal:
		return fmt.Errorf("link-local address %s", ip)
	}
	return nil
}

// allows is check as a filter, for pion's remote IP filter.
func (p addrPolicy) allows(ip netip.Addr) bool { return p.check(ip) == nil }

// parseDescription decodes a peer's description strictly: every error
// wraps sdk.ErrInvalidDescription and names the line and what is wrong.
func parseDescription(d sdk.Description, p addrPolicy) (description, error) {
	if d.Transport != Name {
		return description{}, fmt.Errorf("ice description: made by transport %q, want %q: %w", d.Transport, Name, sdk.ErrInvalidDescription)
	}
	return parseData(d.Data, p)
}

func parseData(b []byte, p addrPolicy) (description, error) {
	invalid := func(format string, args ...any) (description, error) {
		return description{}, fmt.Errorf("ice description: %s: %w", fmt.Sprintf(format, args...), sdk.ErrInvalidDescription)
	}
	switch {
	case len(b) == 0:
		return invalid("empty")
	case len(b) > maxDescLen:
		return invalid("%d bytes, at most %d", len(b), maxDescLen)
	}
	text := string(b)
	text, _ = strings.CutSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	if len(lines) < 2 {
		return invalid("want the ufrag on line 1 and the password on line 2")
	}
	if n := len(lines) - 2; n > maxCandidates {
		return invalid("%d candidates, at most %d", n, maxCandidates)
	}
	for i, l := range lines {
		if err := checkLine(l); err != nil {
			return invalid("line %d: %v", i+1, err)
		}
	}
	var d description
	if err := checkICEChars(lines[0], minUfragLen, maxUfragLen); err != nil {
		return invalid("line 1: ufrag: %v", err)
	}
	if err := checkICEChars(lines[1], minPwdLen, maxPwdLen); err != nil {
		return invalid("line 2: password: %v", err)
	}
	d.ufrag, d.pwd = lines[0], lines[1]
	seen := map[netip.AddrPort]int{}
	for i, l := range lines[2:] {
		n := i + 3
		c, err := parseCandidate(l, p)
		if err != nil {
			return invalid("line %d: %v", n, err)
		}
		if prev, dup := seen[c.addr]; dup {
			return invalid("line %d: address %s already on line %d", n, c.addr, prev)
		}
		seen[c.addr] = n
		d.cands = append(d.cands, c)
	}
	return d, nil
}

// checkLine refuses empty lines, over-long lines and bytes outside
// printable ASCII (a carriage return included).
func checkLine(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("empty line")
	case len(l) > maxLineLen:
		return fmt.Errorf("%d bytes, at most %d", len(l), maxLineLen)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %#02x at column %d", c, i+1)
		}
	}
	return nil
}

// checkICEChars checks RFC 8445's ice-char (ALPHA / DIGIT / "+" / "/").
func checkICEChars(s string, lo, hi int) error {
	if len(s) < lo || len(s) > hi {
		return fmt.Errorf("%d characters, want %d to %d", len(s), lo, hi)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return fmt.Errorf("character %q at column %d (want letters, digits, + and /)", c, i+1)
		}
	}
	return nil
}

// parseCandidate parses "foundation 1 UDP priority address port typ type
// [raddr address rport port]".
func parseCandidate(l string, p addrPolicy) (candidate, error) {
	var c candidate
	f := strings.Split(l, " ")
	if len(f) != 8 && len(f) != 12 {
		return c, fmt.Errorf("%d fields, want 8 (foundation 1 UDP priority address port typ type) or 12 (then raddr address rport port)", len(f))
	}
	if err := checkICEChars(f[0], 1, maxFoundationLen); err != nil {
		return c, fmt.Errorf("foundation: %v", err)
	}
	c.foundation = f[0]
	if f[1] != "1" {
		return c, fmt.Errorf("component %q, want 1", f[1])
	}
	if !strings.EqualFold(f[2], "UDP") {
		return c, fmt.Errorf("transport %q, want UDP (ICE-TCP is not supported)", f[2])
	}
	prio, err := parseUint(f[3], 32)
	if err != nil || prio == 0 {
		return c, fmt.Errorf("priority %q is not a number from 1 to 4294967295", f[3])
	}
	c.priority = uint32(prio)
	ip, err := parseIP(f[4])
	if err != nil {
		return c, fmt.Errorf("address: %v", err)
	}
	if err := p.check(ip); err != nil {
		return c, fmt.Errorf("address not allowed: %v", err)
	}
	port, err := parseUint(f[5], 16)
	if err != nil || port == 0 {
		return c, fmt.Errorf("port %q is not a number from 1 to 65535", f[5])
	}
	c.addr = netip.AddrPortFrom(ip, uint16(port))
	if f[6] != "typ" {
		return c, fmt.Errorf("field 7 is %q, want \"typ\"", f[6])
	}
	switch f[7] {
	case "host":
		c.typ = typeHost
	case "srflx":
		c.typ = typeSrflx
	case "relay":
		c.typ = typeRelay
	default:
		return c, fmt.Errorf("candidate type %q, want host, srflx or relay", f[7])
	}
	if len(f) == 12 {
		if c.typ == typeHost {
			return c, fmt.Errorf("a host candidate has no related address")
		}
		if f[8] != "raddr" || f[10] != "rport" {
			return c, fmt.Errorf("after the type, want \"raddr <address> rport <port>\", got %q", strings.Join(f[8:], " "))
		}
		rip, err := parseIP(f[9])
		if err != nil {
			return c, fmt.Errorf("raddr: %v", err)
		}
		rport, err := parseUint(f[11], 16)
		if err != nil {
			return c, fmt.Errorf("rport %q is not a number from 0 to 65535", f[11])
		}
		c.related = netip.AddrPortFrom(rip, uint16(rport))
	}
	return c, nil
}

// parseUint parses a decimal number in canonical form.
func parseUint(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not in canonical form", s)
	}
	return n, nil
}

// parseIP parses an IP literal in canonical form (no host names: the
// seed's candidates carry addresses).
func parseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if ip.String() != s {
		return netip.Addr{}, fmt.Errorf("%q is not in canonical form (%s)", s, ip)
	}
	return ip, nil
}

// randomCredentials returns a fresh ufrag and password.
func randomCredentials() (ufrag, pwd string) {
	u := make([]byte, ufragBytes)
	p := make([]byte, pwdBytes)
	_, _ = rand.Read(u) // crypto/rand.Read never returns an error
	_, _ = rand.Read(p)
	return iceChars(u), iceChars(p)
}

// initiatorCredentials derives the initiator's ufrag and password from
// the responder's: HKDF-SHA256 with the responder's password as the
// secret, its ufrag as the salt, and the info strings
// "ferry-ice/1 initiator ufrag" and "ferry-ice/1 initiator password",
// giving 12 and 24 bytes, written as unpadded standard base64 (ice-chars).
// The responder's password is secret (it travels sealed), so only the two
// peers can compute them.
func initiatorCredentials(responderUfrag, responderPwd string) (ufrag, pwd string) {
	derive := func(info string, n int) string {
		b, err := hkdf.Key(sha256.New, []byte(responderPwd), []byte(responderUfrag), info, n)
		if err != nil {
			panic(fmt.Sprintf("ice: hkdf: %v", err)) // only for n beyond 255*32
		}
		return iceChars(b)
	}
	return derive("ferry-ice/1 initiator ufrag", ufragBytes), derive("ferry-ice/1 initiator password", pwdBytes)
}

// iceChars writes b as ice-chars: unpadded standard base64.
func iceChars(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
