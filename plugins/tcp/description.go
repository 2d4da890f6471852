package tcp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// Name is the transport's name: the Transport field of its descriptions
// and the Name in its Info.
const Name = "tcp"

const (
	// descVersion is the version of the description's JSON encoding.
	descVersion = 1
	// tokenLen is the length of a session token in bytes.
	tokenLen = 16
	// maxDescLen bounds the encoded description a decoder looks at.
	maxDescLen = 16 << 10
	// maxAddrs bounds the addresses in one description.
	maxAddrs = 64
	// maxAddrLen bounds one address: a 253-byte DNS name, brackets, port.
	maxAddrLen = 300
)

// description is what one side tells the other: where it listens and the
// token that an inbound connection must present to be matched to the
// session.
type description struct {
	addrs []string
	token [tokenLen]byte
}

// wireDescription is the JSON form: {"v":1,"addrs":[...],"token":"..."},
// the token in unpadded base64url.
type wireDescription struct {
	V     int      `json:"v"`
	Addrs []string `json:"addrs"`
	Token string   `json:"token"`
}

func encodeDescription(d description) (sdk.Description, error) {
	data, err := json.Marshal(wireDescription{
		V:     descVersion,
		Addrs: d.addrs,
		Token: base64.RawURLEncoding.EncodeToString(d.token[:]),
	})
	if err != nil {
		return sdk.Description{}, fmt.Errorf("tcp description: encode: %w", err)
	}
	return sdk.Description{Transport: Name, Data: data}, nil
}

// decodeDescription decodes a peer's description strictly. Every error
// wraps sdk.ErrInvalidDescription and says what is wrong.
func decodeDescription(d sdk.Description) (description, error) {
	if d.Transport != Name {
		return description{}, fmt.Errorf("tcp description: made by transport %q, want %q: %w", d.Transport, Name, sdk.ErrInvalidDescription)
	}
	return decodeData(d.Data)
}

func decodeData(b []byte) (description, error) {
	var d description
	invalid := func(format string, args ...any) (description, error) {
		return description{}, fmt.Errorf("tcp description: %s: %w", fmt.Sprintf(format, args...), sdk.ErrInvalidDescription)
	}
	switch {
	case len(b) == 0:
		return invalid("empty")
	case len(b) > maxDescLen:
		return invalid("%d bytes, at most %d", len(b), maxDescLen)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireDescription
	if err := dec.Decode(&w); err != nil {
		return description{}, fmt.Errorf("tcp description: decode: %w: %w", sdk.ErrInvalidDescription, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("data after the JSON object")
	}
	if w.V != descVersion {
		return invalid("version %d, want %d", w.V, descVersion)
	}
	switch {
	case len(w.Addrs) == 0:
		return invalid("no addresses")
	case len(w.Addrs) > maxAddrs:
		return invalid("%d addresses, at most %d", len(w.Addrs), maxAddrs)
	}
	for i, a := range w.Addrs {
		if err := checkAddr(a); err != nil {
			return description{}, fmt.Errorf("tcp description: address %d: %w: %w", i, sdk.ErrInvalidDescription, err)
		}
	}
	tok, err := base64.RawURLEncoding.Strict().DecodeString(w.Token)
	if err != nil {
		return description{}, fmt.Errorf("tcp description: token: %w: %w", sdk.ErrInvalidDescription, err)
	}
	if len(tok) != tokenLen {
		return invalid("token of %d bytes, want %d", len(tok), tokenLen)
	}
	d.addrs = w.Addrs
	copy(d.token[:], tok)
	return d, nil
}

// checkAddr checks that s is a dialable host:port in canonical form: an IP
// address (IPv6 in brackets) or a DNS name, and a port from 1 to 65535.
func checkAddr(s string) error {
	if len(s) > maxAddrLen {
		return fmt.Errorf("address of %d bytes, at most %d", len(s), maxAddrLen)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	if net.JoinHostPort(host, port) != s {
		return fmt.Errorf("address %q: not in host:port form ([host]:port for IPv6)", s)
	}
	if _, err := parsePort(port, false); err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Errorf("address %q: %v cannot be dialled", s, ip)
		}
		return nil
	}
	if err := checkHostname(host); err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	return nil
}

// checkHostname checks a DNS name: dot-separated labels of letters, digits
// and inner hyphens, the last not all digits (which would be a bad IP).
func checkHostname(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("host name of %d bytes, want 1 to 253", len(h))
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("host %q: bad label %q", h, l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q: bad character %q", h, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
	}
	return nil
}

// family classifies an address for the dial order.
type family int

const (
	familyName family = iota // a DNS name: the resolver decides
	family4
	family6
)

func addrFamily(s string) family {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return familyName
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return familyName
	case ip.Unmap().Is4():
		return family4
	default:
		return family6
	}
}

// boundAddr is a bound listener as the description sees it: the network
// it listens on ("tcp4", "tcp6", or "tcp" for both) and its address.
type boundAddr struct {
	network string
	addr    netip.AddrPort
}

// localAddrs lists the addresses to advertise for the bound listeners. A
// listener on a specific IP gives that address; one on an unspecified IP
// gives each interface address of its family with its port, loopback last.
// Link-local addresses are listed, without zone, only when nothing else is.
func localAddrs(bound []boundAddr, ifaddrs []netip.Addr) []string {
	var primary, loopback, linkLocal []string
	seen := map[string]bool{}
	add := func(list *[]string, ap netip.AddrPort) {
		s := ap.String()
		if !seen[s] {
			seen[s] = true
			*list = append(*list, s)
		}
	}
	for _, b := range bound {
		if !b.addr.Addr().IsUnspecified() {
			add(&primary, b.addr)
			continue
		}
		for _, ip := range ifaddrs {
			ip = ip.Unmap().WithZone("")
			if b.network == "tcp4" && !ip.Is4() || b.network == "tcp6" && !ip.Is6() {
				continue
			}
			ap := netip.AddrPortFrom(ip, b.addr.Port())
			switch {
			case !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast():
			case ip.IsLoopback():
				add(&loopback, ap)
			case ip.IsLinkLocalUnicast():
				add(&linkLocal, ap)
			default:
				add(&primary, ap)
			}
		}
	}
	out := append(primary, loopback...)
	if len(out) == 0 {
		out = linkLocal
	}
	if len(out) > maxAddrs {
		out = out[:maxAddrs]
	}
	return out
}

// interfaceAddrs returns the machine's interface addresses.
func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("interface addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range as {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}
