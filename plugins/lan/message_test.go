package lan

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

func testKey(t testing.TB, seed byte) (sdk.PeerID, func([]byte) []byte) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	id, err := sdk.PeerIDFromKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return id, func(b []byte) []byte { return ed25519.Sign(priv, b) }
}

func header(id sdk.PeerID) *Header {
	return &Header{
		V: 1, ID: id, Port: 41771,
		Roles:      []string{"discovery", "signaling"},
		Transports: []string{"tcp"},
		Protocols:  []string{"ftv2a"},
		Seq:        42,
	}
}

func signed(t testing.TB, m *Message, seed byte) *Message {
	t.Helper()
	_, sign := testKey(t, seed)
	if err := Sign(m, sign); err != nil {
		t.Fatal(err)
	}
	return m
}

func sampleMessages(t testing.TB) map[string]*Message {
	a, _ := testKey(t, 1)
	b, _ := testKey(t, 2)
	out := map[string]*Message{}
	for _, typ := range []Type{TypeJoin, TypePing, TypeLeave} {
		out[string(typ)] = signed(t, &Message{Type: typ, User: User{Name: "John Appleseed", IP: "192.0.2.12"}, Ferry: header(a)}, 1)
		out[string(typ)+"/v6-unicode"] = signed(t, &Message{Type: typ, User: User{Name: "Zoë 🚀 <&>", IP: "fe80::1%eth0"}, Ferry: &Header{V: 1, ID: a, Port: 1}}, 1)
		out[string(typ)+"/plain"] = &Message{Type: typ, User: User{Name: "Bob Dole", IP: "75.34.652.13"}}
	}
	out["SIGNAL"] = signed(t, &Message{Type: TypeSignal, Ferry: header(a), To: b, Payload: []byte("sealed\x00bytes")}, 1)
	out["SIGNAL/empty"] = signed(t, &Message{Type: TypeSignal, Ferry: &Header{V: 3, ID: a, Port: 65535}, To: b}, 1)
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, m := range sampleMessages(t) {
		t.Run(name, func(t *testing.T) {
			b, err := Encode(m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
			}
			if m.IsFerry() {
				if err := Verify(got); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else if err := Verify(got); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify of plain message = %v, want ErrBadSignature", err)
			}
		})
	}
}

// The seed's examples, verbatim (including the seed's invalid IPs).
func TestDecodeSeedExamples(t *testing.T) {
	for _, s := range []string{
		"{\"type\": \"JOIN\",\n \"user\": {\n    \"name\": \"John Appleseed\",\n    \"ip\": \"75.34.652.12\"\n }\n}",
		"{\"type\": \"PING\",\n \"user\": {\n    \"name\": \"Bob Dole\",\n    \"ip\": \"75.34.652.13\"\n  }\n}",
		"{\"type\": \"LEAVE\",\n \"user\": {\n    \"name\": \"Bob Dole\",\n    \"ip\": \"75.34.652.13\"\n  }\n}",
	} {
		m, err := Decode([]byte(s))
		if err != nil {
			t.Fatalf("Decode(%s): %v", s, err)
		}
		if m.IsFerry() || m.User.Name == "" || m.User.IP == "" {
			t.Fatalf("Decode(%s) = %+v", s, m)
		}
		p := m.PeerInfo(netip.MustParseAddrPort("192.0.2.1:41771"))
		if !p.ID.IsZero() || len(p.Addrs) != 0 || p.Source != "lan" || p.Name != m.User.Name {
			t.Fatalf("PeerInfo of plain peer = %+v", p)
		}
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	m := sampleMessages(t)["JOIN"]
	b, _ := Encode(m)
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	obj["future"] = []any{1, "x", map[string]any{"y": nil}}
	obj["to"] = "ignored on announcements"
	obj["user"].(map[string]any)["avatar"] = "data:..."
	obj["ferry"].(map[string]any)["v"] = 2
	obj["ferry"].(map[string]any)["sig2"] = "whatever"
	b2, _ := json.Marshal(obj)
	got, err := Decode(b2)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Ferry.V != 2 {
		t.Fatalf("v = %d", got.Ferry.V)
	}
	got.Ferry.V = 1
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("got %+v, want %+v", got, m)
	}
	if err := Verify(got); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// mutate encodes a signed JOIN as a generic object, applies f, re-marshals.
func mutate(t *testing.T, base *Message, f func(obj, ferry map[string]any)) []byte {
	t.Helper()
	b, err := Encode(base)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	ferry, _ := obj["ferry"].(map[string]any)
	f(obj, ferry)
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeMalformed(t *testing.T) {
	msgs := sampleMessages(t)
	join, sig := msgs["JOIN"], msgs["SIGNAL"]
	user := func(o map[string]any) map[string]any { return o["user"].(map[string]any) }
	tooMany := make([]any, MaxListEntries+1)
	for i := range tooMany {
		tooMany[i] = "tcp"
	}
	cases := []struct {
		name, field string
		data        []byte
	}{
		{"oversize", "datagram", []byte(`{"type":"JOIN","user":{"name":"` + strings.Repeat("a", MaxDatagram) + `"}}`)},
		{"not json", "datagram", []byte(`{"type": "JOIN",`)},
		{"trailing", "datagram", []byte(`{"type":"JOIN","user":{}} x`)},
		{"array", "datagram", []byte(`[1,2]`)},
		{"wrong json type", "user", []byte(`{"type":"JOIN","user":"bob"}`)},
		{"unknown type", "type", []byte(`{"type":"HELLO","user":{}}`)},
		{"lower-case type", "type", []byte(`{"type":"join","user":{}}`)},
		{"plain ASK", "type", []byte(`{"type":"ASK","sender":{"name":"a","ip":"1.2.3.4"}}`)},
		{"no type", "type", []byte(`{"user":{}}`)},
		{"no user", "user", []byte(`{"type":"PING"}`)},
		{"plain SIGNAL", "ferry", []byte(`{"type":"SIGNAL","to":"` + join.Ferry.ID.String() + `"}`)},
		{"bad id", "ferry.id", mutate(t, join, func(o, f map[string]any) { f["id"] = "AAAA-BBBB" })},
		{"bad id check", "ferry.id", mutate(t, join, func(o, f map[string]any) {
			s := f["id"].(string)
			f["id"] = s[:len(s)-1] + map[bool]string{true: "B", false: "C"}[s[len(s)-1] != 'B']
		})},
		{"no id", "ferry.id", mutate(t, join, func(o, f map[string]any) { delete(f, "id") })},
		{"port 0", "ferry.port", mutate(t, join, func(o, f map[string]any) { f["port"] = 0 })},
		{"port 65536", "ferry.port", mutate(t, join, func(o, f map[string]any) { f["port"] = 65536 })},
		{"port negative", "ferry.port", mutate(t, join, func(o, f map[string]any) { f["port"] = -1 })},
		{"port string", "ferry.port", mutate(t, join, func(o, f map[string]any) { f["port"] = "80" })},
		{"port fraction", "ferry.port", mutate(t, join, func(o, f map[string]any) { f["port"] = 80.5 })},
		{"no port", "ferry.port", mutate(t, join, func(o, f map[string]any) { delete(f, "port") })},
		{"v 0", "ferry.v", mutate(t, join, func(o, f map[string]any) { f["v"] = 0 })},
		{"no v", "ferry.v", mutate(t, join, func(o, f map[string]any) { delete(f, "v") })},
		{"seq negative", "ferry.seq", mutate(t, join, func(o, f map[string]any) { f["seq"] = -5 })},
		{"too many roles", "ferry.roles", mutate(t, join, func(o, f map[string]any) { f["roles"] = tooMany })},
		{"long transport", "ferry.transports[0]", mutate(t, join, func(o, f map[string]any) {
			f["transports"] = []any{strings.Repeat("t", MaxListEntryLen+1)}
		})},
		{"empty protocol", "ferry.protocols[1]", mutate(t, join, func(o, f map[string]any) { f["protocols"] = []any{"ftv2a", ""} })},
		{"upper-case role", "ferry.roles[0]", mutate(t, join, func(o, f map[string]any) { f["roles"] = []any{"TCP"} })},
		{"space in role", "ferry.roles[0]", mutate(t, join, func(o, f map[string]any) { f["roles"] = []any{"a b"} })},
		{"role not string", "ferry.roles", mutate(t, join, func(o, f map[string]any) { f["roles"] = []any{1} })},
		{"long name", "user.name", mutate(t, join, func(o, f map[string]any) { user(o)["name"] = strings.Repeat("é", MaxNameRunes+1) })},
		{"control in name", "user.name", mutate(t, join, func(o, f map[string]any) { user(o)["name"] = "bob\x1b[31m" })},
		{"newline in name", "user.name", mutate(t, join, func(o, f map[string]any) { user(o)["name"] = "bob\nalice" })},
		{"line separator in name", "user.name", mutate(t, join, func(o, f map[string]any) { user(o)["name"] = "bob\u2028alice" })},
		{"seed ip on ferry peer", "user.ip", mutate(t, join, func(o, f map[string]any) { user(o)["ip"] = "75.34.652.12" })},
		{"hostname ip", "user.ip", mutate(t, join, func(o, f map[string]any) { user(o)["ip"] = "example.com" })},
		{"missing ip", "user.ip", mutate(t, join, func(o, f map[string]any) { delete(user(o), "ip") })},
		{"plain ip control", "user.ip", []byte(`{"type":"JOIN","user":{"name":"a","ip":"1.2\u0007"}}`)},
		{"no sig", "ferry.sig", mutate(t, join, func(o, f map[string]any) { delete(f, "sig") })},
		{"short sig", "ferry.sig", mutate(t, join, func(o, f map[string]any) { f["sig"] = "AAAA" })},
		{"sig not base64", "ferry.sig", mutate(t, join, func(o, f map[string]any) { f["sig"] = "!!!" })},
		{"signal no to", "to", mutate(t, sig, func(o, f map[string]any) { delete(o, "to") })},
		{"signal bad to", "to", mutate(t, sig, func(o, f map[string]any) { o["to"] = "nobody" })},
		{"signal payload not base64", "payload", mutate(t, sig, func(o, f map[string]any) { o["payload"] = "a b" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode(c.data)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%.200s) = %+v, %v; want ErrMalformed", c.data, m, err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %q does not name field %q", err, c.field)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	msgs := sampleMessages(t)
	id, _ := testKey(t, 1)
	cases := []struct {
		name, field string
		m           *Message
	}{
		{"unsigned", "ferry.sig", &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}},
		{"unknown type", "type", &Message{Type: "ASK"}},
		{"payload too big", "payload", signed(t, &Message{Type: TypeSignal, Ferry: header(id), To: id, Payload: make([]byte, sdk.MaxEnvelopePayload+1)}, 1)},
		{"datagram too big", "datagram", signed(t, &Message{Type: TypeSignal, Ferry: header(id), To: id, Payload: make([]byte, MaxDatagram)}, 1)},
		{"user on signal", "user", func() *Message { m := *msgs["SIGNAL"]; m.User.Name = "x"; return &m }()},
		{"payload on join", "to", func() *Message { m := *msgs["JOIN"]; m.Payload = []byte{1}; return &m }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.m)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("Encode = %v; want ErrMalformed naming %q", err, c.field)
			}
		})
	}
}

func TestVerifySpoofedID(t *testing.T) {
	victim, _ := testKey(t, 2)
	// The attacker signs with its own key (seed 1) but claims the victim's ID.
	m := signed(t, &Message{Type: TypeJoin, User: User{Name: "victim", IP: "192.0.2.66"}, Ferry: header(victim)}, 1)
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	err = Verify(got)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "spoofed") {
		t.Fatalf("Verify = %v; want ErrBadSignature saying spoofed", err)
	}
}

func TestVerifyTampered(t *testing.T) {
	other, _ := testKey(t, 3)
	tamper := map[string]func(m *Message){
		"type":       func(m *Message) { m.Type = TypeLeave },
		"name":       func(m *Message) { m.User.Name = "Mallory" },
		"ip":         func(m *Message) { m.User.IP = "192.0.2.99" },
		"v":          func(m *Message) { m.Ferry.V = 2 },
		"port":       func(m *Message) { m.Ferry.Port++ },
		"roles":      func(m *Message) { m.Ferry.Roles = m.Ferry.Roles[:1] },
		"transports": func(m *Message) { m.Ferry.Transports = append(m.Ferry.Transports, "ice") },
		"protocols":  func(m *Message) { m.Ferry.Protocols = nil },
		"list shift": func(m *Message) {
			m.Ferry.Roles, m.Ferry.Transports = []string{"discovery"}, []string{"signaling", "tcp"}
		},
		"seq": func(m *Message) { m.Ferry.Seq++ },
		"sig": func(m *Message) { m.Ferry.Sig[0] ^= 1 },
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			m := sampleMessages(t)["JOIN"]
			f(m)
			if err := Verify(m); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify after tampering %s = %v", name, err)
			}
		})
	}
	signalTamper := map[string]func(m *Message){
		"to":      func(m *Message) { m.To = other },
		"payload": func(m *Message) { m.Payload = []byte("sealed\x00bytez") },
	}
	for name, f := range signalTamper {
		t.Run("SIGNAL/"+name, func(t *testing.T) {
			m := sampleMessages(t)["SIGNAL"]
			f(m)
			if err := Verify(m); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify after tampering %s = %v", name, err)
			}
		})
	}
}

func TestPeerInfo(t *testing.T) {
	m := sampleMessages(t)["PING"]
	for src, want := range map[string]string{
		"192.0.2.7:5000":            "192.0.2.7:41771",
		"[::ffff:192.0.2.7]:5000":   "192.0.2.7:41771",
		"[fe80::2%eth0]:5000":       "[fe80::2%eth0]:41771",
		"[2001:db8::1]:41771":       "[2001:db8::1]:41771",
		"198.18.0.2:" + "1":         "198.18.0.2:41771",
		"[2001:db8::1%wlan0]:41771": "[2001:db8::1%wlan0]:41771",
	} {
		p := m.PeerInfo(netip.MustParseAddrPort(src))
		if len(p.Addrs) != 1 || p.Addrs[0] != want {
			t.Errorf("PeerInfo(%s).Addrs = %v, want [%s]", src, p.Addrs, want)
		}
		if p.ID != m.Ferry.ID || p.Name != "John Appleseed" || p.Source != "lan" ||
			!reflect.DeepEqual(p.Roles, m.Ferry.Roles) || !reflect.DeepEqual(p.Transports, m.Ferry.Transports) ||
			!reflect.DeepEqual(p.Protocols, m.Ferry.Protocols) {
			t.Errorf("PeerInfo = %+v", p)
		}
	}
	p := m.PeerInfo(netip.MustParseAddrPort("192.0.2.7:1"))
	p.Roles[0] = "changed"
	if m.Ferry.Roles[0] == "changed" {
		t.Error("PeerInfo shares the roles slice with the message")
	}
}

func TestSignRefusesPlain(t *testing.T) {
	err := Sign(&Message{Type: TypeJoin}, func([]byte) []byte { return nil })
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Sign of a plain message: %v, want an error wrapping ErrMalformed", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages(f) {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"type\": \"JOIN\",\n \"user\": {\n    \"name\": \"John Appleseed\",\n    \"ip\": \"75.34.652.12\"\n }\n}"))
	f.Add([]byte(`{"type":"SIGNAL","ferry":{"v":1e0,"port":"1"},"to":null,"payload":"QR=="}`))
	f.Add([]byte(`{"TYPE":"PING","user":{"name":"a\u2029"},"type":"LEAVE"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_ = Verify(m)
		_ = m.PeerInfo(netip.MustParseAddrPort("192.0.2.1:1"))
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of decoded %q: %v", data, err)
		}
		m2, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode of re-encoded %q: %v", b, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode differs:\n%+v\n%+v", m, m2)
		}
	})
}
