package ice

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

const (
	goodUfrag = "0d04b932"
	goodPwd   = "7c33834e7cf944bf0e367b47"
)

// broadcast is the limited broadcast address, as text (only parsed here).
var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255}).String()

// desc joins a description's lines.
func desc(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestParseDescription(t *testing.T) {
	host := "H6e6ca382 1 UDP 2130706431 192.0.2.126 42751 typ host"
	srflx := "Sc0a8007e 1 UDP 1694498815 203.0.113.7 42751 typ srflx raddr 192.0.2.126 rport 42751"
	relay := "R12345678 1 UDP 16777215 198.51.100.2 49170 typ relay raddr 0.0.0.0 rport 0"
	v6 := "H1 1 udp 2130706175 2001:db8::5 9 typ host"
	many := make([]string, 0, maxCandidates+1)
	for i := range maxCandidates + 1 {
		many = append(many, fmt.Sprintf("H1 1 UDP 1 198.18.%d.%d 1 typ host", i/250, i%250+1))
	}
	cases := []struct {
		name  string
		data  string
		loop  bool
		cands int    // number of candidates, when valid
		err   string // part of the error, when not
	}{
		{"seed-like", desc(goodUfrag, goodPwd, host, srflx, relay), false, 3, ""},
		{"package doc's example", desc("jHX4wR9xkP1TqL0a", "Yz3V1dVxq0p2rC5y9o8fQbT7aM6uN4eK",
			"Hd1e2f3a4 1 UDP 2130706431 192.0.2.126 42751 typ host",
			"S0b1c2d3e 1 UDP 1694498815 203.0.113.7 42751 typ srflx raddr 0.0.0.0 rport 42751",
			"R5f6a7b8c 1 UDP 16777215 198.51.100.2 49170 typ relay raddr 0.0.0.0 rport 53211"), false, 3, ""},
		{"no final newline", goodUfrag + "\n" + goodPwd + "\n" + host, false, 1, ""},
		{"no candidates", desc(goodUfrag, goodPwd), false, 0, ""},
		{"ipv6 and lower-case transport", desc(goodUfrag, goodPwd, v6), false, 1, ""},
		{"loopback allowed", desc(goodUfrag, goodPwd, "H1 1 UDP 1 127.0.0.1 5000 typ host"), true, 1, ""},
		{"max candidates", desc(append([]string{goodUfrag, goodPwd}, many[:maxCandidates]...)...), false, maxCandidates, ""},
		{"base64 credentials", desc("ab+/", "abcdefghijklmnopqrstuv+/"), false, 0, ""},

		{"empty", "", false, 0, "empty"},
		{"only ufrag", goodUfrag + "\n", false, 0, "password on line 2"},
		{"too big", strings.Repeat("a", maxDescLen+1), false, 0, "at most"},
		{"too many candidates", desc(append([]string{goodUfrag, goodPwd}, many...)...), false, 0, "33 candidates, at most 32"},
		{"short ufrag", desc("abc", goodPwd), false, 0, "line 1: ufrag: 3 characters"},
		{"ufrag with colon", desc("ab:cd", goodPwd), false, 0, "line 1: ufrag: character ':'"},
		{"short password", desc(goodUfrag, "abc"), false, 0, "line 2: password: 3 characters"},
		{"crlf", goodUfrag + "\r\n" + goodPwd + "\r\n", false, 0, "line 1: byte 0x0d"},
		{"empty line", desc(goodUfrag, goodPwd, "", host), false, 0, "line 3: empty line"},
		{"nul byte", desc(goodUfrag, goodPwd, host+"\x00"), false, 0, "line 3: byte 0x00"},
		{"long line", desc(goodUfrag, goodPwd, host+strings.Repeat(" ", maxLineLen)), false, 0, "line 3: 3"},
		{"too few fields", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 5 typ"), false, 0, "line 3: 7 fields"},
		{"double space", desc(goodUfrag, goodPwd, "H1  1 UDP 1 198.51.100.1 5 typ host"), false, 0, "line 3: 9 fields"},
		{"component 2", desc(goodUfrag, goodPwd, "H1 2 UDP 1 198.51.100.1 5 typ host"), false, 0, "line 3: component \"2\""},
		{"tcp", desc(goodUfrag, goodPwd, "H1 1 TCP 1 198.51.100.1 5 typ host"), false, 0, "ICE-TCP is not supported"},
		{"seed's tcptype", desc(goodUfrag, goodPwd, "H6e6ca382 1 TCP 2130706431 192.0.2.126 42751 typ host tcptype passive"), false, 0, "line 3: 10 fields"},
		{"priority 0", desc(goodUfrag, goodPwd, "H1 1 UDP 0 198.51.100.1 5 typ host"), false, 0, "priority \"0\""},
		{"priority too big", desc(goodUfrag, goodPwd, "H1 1 UDP 4294967296 198.51.100.1 5 typ host"), false, 0, "priority"},
		{"priority with sign", desc(goodUfrag, goodPwd, "H1 1 UDP +5 198.51.100.1 5 typ host"), false, 0, "priority"},
		{"host name", desc(goodUfrag, goodPwd, "H1 1 UDP 1 peer.example 5 typ host"), false, 0, "line 3: address: \"peer.example\" is not an IP"},
		{"mdns name", desc(goodUfrag, goodPwd, "H1 1 UDP 1 1f4a.local 5 typ host"), false, 0, "is not an IP"},
		{"unspecified", desc(goodUfrag, goodPwd, "H1 1 UDP 1 0.0.0.0 5 typ host"), false, 0, "line 3: address not allowed: unspecified"},
		{"unspecified v6", desc(goodUfrag, goodPwd, "H1 1 UDP 1 :: 5 typ host"), false, 0, "unspecified"},
		{"multicast", desc(goodUfrag, goodPwd, "H1 1 UDP 1 239.255.0.1 5 typ host"), false, 0, "multicast"},
		{"multicast v6", desc(goodUfrag, goodPwd, "H1 1 UDP 1 ff02::1 5 typ host"), false, 0, "multicast"},
		{"broadcast", desc(goodUfrag, goodPwd, "H1 1 UDP 1 "+broadcast+" 5 typ host"), false, 0, "broadcast"},
		{"this network", desc(goodUfrag, goodPwd, "H1 1 UDP 1 0.1.2.3 5 typ host"), false, 0, "0.0.0.0/8"},
		{"link-local", desc(goodUfrag, goodPwd, "H1 1 UDP 1 169.254.1.1 5 typ host"), false, 0, "link-local"},
		{"link-local v6", desc(goodUfrag, goodPwd, "H1 1 UDP 1 fe80::1 5 typ host"), false, 0, "link-local"},
		{"zone", desc(goodUfrag, goodPwd, "H1 1 UDP 1 fe80::1%eth0 5 typ host"), true, 0, "zone"},
		{"loopback not allowed", desc(goodUfrag, goodPwd, "H1 1 UDP 1 127.0.0.1 5 typ host"), false, 0, "loopback address 127.0.0.1 (include_loopback is off)"},
		{"loopback v6 not allowed", desc(goodUfrag, goodPwd, "H1 1 UDP 1 ::1 5 typ host"), false, 0, "loopback"},
		{"mapped v4", desc(goodUfrag, goodPwd, "H1 1 UDP 1 ::ffff:192.0.2.1 5 typ host"), false, 0, "write IPv4 addresses in dotted form"},
		{"uncanonical v6", desc(goodUfrag, goodPwd, "H1 1 UDP 1 2001:DB8::1 5 typ host"), false, 0, "not in canonical form"},
		{"port 0", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 0 typ host"), false, 0, "port \"0\""},
		{"port too big", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 65536 typ host"), false, 0, "port"},
		{"port leading zero", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 05 typ host"), false, 0, "port"},
		{"no typ", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 5 type host"), false, 0, "want \"typ\""},
		{"prflx", desc(goodUfrag, goodPwd, "P1 1 UDP 1 198.51.100.1 5 typ prflx"), false, 0, "candidate type \"prflx\""},
		{"host with raddr", desc(goodUfrag, goodPwd, "H1 1 UDP 1 198.51.100.1 5 typ host raddr 198.51.100.9 rport 6"), false, 0, "a host candidate has no related address"},
		{"bad raddr keyword", desc(goodUfrag, goodPwd, "S1 1 UDP 1 198.51.100.1 5 typ srflx rad 198.51.100.9 rport 6"), false, 0, "raddr <address> rport <port>"},
		{"bad raddr", desc(goodUfrag, goodPwd, "S1 1 UDP 1 198.51.100.1 5 typ srflx raddr x rport 6"), false, 0, "raddr"},
		{"bad rport", desc(goodUfrag, goodPwd, "S1 1 UDP 1 198.51.100.1 5 typ srflx raddr 198.51.100.9 rport x"), false, 0, "rport"},
		{"bad foundation", desc(goodUfrag, goodPwd, "H-1 1 UDP 1 198.51.100.1 5 typ host"), false, 0, "foundation"},
		{"duplicate address", desc(goodUfrag, goodPwd, host, "Hx 1 UDP 5 192.0.2.126 42751 typ host"), false, 0, "line 4: address 192.0.2.126:42751 already on line 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := parseDescription(sdk.Description{Transport: Name, Data: []byte(c.data)}, addrPolicy{loopback: c.loop})
			if c.err == "" {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if len(d.cands) != c.cands {
					t.Fatalf("%d candidates, want %d", len(d.cands), c.cands)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed %q, want an error containing %q", c.data, c.err)
			}
			if !errors.Is(err, sdk.ErrInvalidDescription) {
				t.Errorf("error %v does not wrap sdk.ErrInvalidDescription", err)
			}
			if !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %q does not contain %q", err, c.err)
			}
		})
	}
}

func TestParseDescriptionOtherTransport(t *testing.T) {
	_, err := parseDescription(sdk.Description{Transport: "tcp", Data: []byte(desc(goodUfrag, goodPwd))}, addrPolicy{})
	if !errors.Is(err, sdk.ErrInvalidDescription) || !strings.Contains(err.Error(), `transport "tcp"`) {
		t.Errorf("a tcp description: %v, want an error naming the transport", err)
	}
}

// TestDescriptionRoundTrip checks the seed's format, field by field.
func TestDescriptionRoundTrip(t *testing.T) {
	in := description{ufrag: goodUfrag, pwd: goodPwd, cands: []candidate{
		{foundation: "H6e6ca382", priority: 2130706431, typ: typeHost, addr: netip.MustParseAddrPort("192.0.2.126:42751")},
		{foundation: "Sc0a8007e", priority: 1694498815, typ: typeSrflx, addr: netip.MustParseAddrPort("203.0.113.7:42751"),
			related: netip.MustParseAddrPort("0.0.0.0:42751")},
		{foundation: "R00000001", priority: 16777215, typ: typeRelay, addr: netip.MustParseAddrPort("[2001:db8::2]:49170"),
			related: netip.MustParseAddrPort("[2001:db8::9]:3478")},
	}}
	want := desc(goodUfrag, goodPwd,
		"H6e6ca382 1 UDP 2130706431 192.0.2.126 42751 typ host",
		"Sc0a8007e 1 UDP 1694498815 203.0.113.7 42751 typ srflx raddr 0.0.0.0 rport 42751",
		"R00000001 1 UDP 16777215 2001:db8::2 49170 typ relay raddr 2001:db8::9 rport 3478")
	enc := in.sdk()
	if enc.Transport != Name || string(enc.Data) != want {
		t.Fatalf("encoded %s %q, want ice %q", enc.Transport, enc.Data, want)
	}
	out, err := parseDescription(enc, addrPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.sdk().Data) != want {
		t.Errorf("round trip gave %q", out.sdk().Data)
	}
}

func TestPriority(t *testing.T) {
	// RFC 8445 §5.1.2.1 with the recommended type preferences.
	for _, c := range []struct {
		t    candType
		pref uint16
		want uint32
	}{
		{typeHost, 65535, 2130706431},
		{typeSrflx, 65535, 1694498815},
		{typeRelay, 65535, 16777215},
		{typeHost, 65534, 2130706175},
	} {
		if got := priorityOf(c.t, c.pref); got != c.want {
			t.Errorf("priority of %v with local preference %d = %d, want %d", c.t, c.pref, got, c.want)
		}
	}
}

func TestInitiatorCredentials(t *testing.T) {
	u1, p1 := initiatorCredentials(goodUfrag, goodPwd)
	u2, p2 := initiatorCredentials(goodUfrag, goodPwd)
	if u1 != u2 || p1 != p2 {
		t.Fatal("derivation is not deterministic")
	}
	if err := checkICEChars(u1, minUfragLen, maxUfragLen); err != nil {
		t.Errorf("derived ufrag %q: %v", u1, err)
	}
	if err := checkICEChars(p1, minPwdLen, maxPwdLen); err != nil {
		t.Errorf("derived password: %v", err)
	}
	if u3, p3 := initiatorCredentials(goodUfrag, goodPwd+"x"); u3 == u1 || p3 == p1 {
		t.Error("another responder password gives the same credentials")
	}
	if u1 == goodUfrag || p1 == goodPwd {
		t.Error("derived credentials equal the responder's")
	}
	u, p := randomCredentials()
	if checkICEChars(u, minUfragLen, maxUfragLen) != nil || checkICEChars(p, minPwdLen, maxPwdLen) != nil {
		t.Errorf("random credentials %q %q are not valid", u, p)
	}
}

// FuzzParseDescription: the parser never panics, every error wraps
// sdk.ErrInvalidDescription, and what parses re-encodes to the same text
// (so the parser accepts only the canonical form).
func FuzzParseDescription(f *testing.F) {
	f.Add([]byte(desc(goodUfrag, goodPwd,
		"H6e6ca382 1 UDP 2130706431 192.0.2.126 42751 typ host",
		"Sc0a8007e 1 UDP 1694498815 203.0.113.7 42751 typ srflx raddr 192.0.2.126 rport 42751",
		"R12345678 1 UDP 16777215 2001:db8::2 49170 typ relay raddr 0.0.0.0 rport 0")))
	f.Add([]byte(desc(goodUfrag, goodPwd)))
	f.Add([]byte(desc(goodUfrag, goodPwd, "H1 1 UDP 1 127.0.0.1 5000 typ host")))
	f.Add([]byte(desc(goodUfrag, goodPwd, "H6e6ca382 1 TCP 2130706431 192.0.2.126 42751 typ host tcptype passive")))
	f.Add([]byte("\x00\xff garbage \xfe"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []addrPolicy{{}, {loopback: true}} {
			d, err := parseData(data, p)
			if err != nil {
				if !errors.Is(err, sdk.ErrInvalidDescription) {
					t.Fatalf("error %v does not wrap sdk.ErrInvalidDescription", err)
				}
				continue
			}
			enc := d.marshal()
			d2, err := parseData(enc, p)
			if err != nil {
				t.Fatalf("re-encoded %q does not parse: %v", enc, err)
			}
			if string(d2.marshal()) != string(enc) {
				t.Fatalf("re-encoding is not stable: %q then %q", enc, d2.marshal())
			}
			for _, c := range d.cands {
				if _, err := c.pionRemote(); err != nil {
					t.Fatalf("pion refuses parsed candidate %q: %v", c, err)
				}
			}
		}
	})
}
