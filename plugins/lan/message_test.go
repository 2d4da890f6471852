package lan

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// testNow is the clock of the codec tests; delegations are valid around it.
var testNow = time.Unix(1_800_000_000, 0)

var (
	delegationsMu sync.Mutex
	delegations   = map[byte]*sdk.Delegation{}
)

// testKey returns the peer ID of the device key made from seed and a
// delegation of that key valid for a day around testNow (the same one for
// the same seed).
func testKey(t testing.TB, seed byte) (sdk.PeerID, *sdk.Delegation) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	id, err := sdk.PeerIDFromKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	delegationsMu.Lock()
	defer delegationsMu.Unlock()
	d := delegations[seed]
	if d == nil {
		if d, err = sdk.NewDelegation(priv, 24*time.Hour, testNow.Add(-12*time.Hour)); err != nil {
			t.Fatal(err)
		}
		delegations[seed] = d
	}
	return id, d
}

// signWith signs m with d whatever ID m claims: what an attacker holding
// its own delegation can do.
func signWith(t testing.TB, m *Message, d *sdk.Delegation) *Message {
	t.Helper()
	cert, err := d.Cert.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m.Ferry.Cert = cert
	m.Ferry.Sig = d.Sign(SigningBytes(m))
	return m
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
	_, d := testKey(t, seed)
	if err := Sign(m, d); err != nil {
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
	// An instance nonce travels beside the signature, which still checks.
	out["PING/instance"] = signed(t, &Message{Type: TypePing, User: User{Name: "twin", IP: "192.0.2.7"}, Ferry: &Header{V: 1, ID: a, Port: 7, Instance: "0123456789abcdef"}}, 1)
	// Account credentials travel beside the signature too, opaque here.
	out["PING/account"] = signed(t, &Message{Type: TypePing, User: User{Name: "phone", IP: "192.0.2.8"}, Ferry: &Header{V: 1, ID: a, Port: 8, Account: []byte{3, 1, 0, 0, 0, 0}}}, 1)
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
				if err := Verify(got, testNow); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else if err := Verify(got, testNow); !errors.Is(err, ErrBadSignature) {
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
	obj["ferry"].(map[string]any)["certs"] = []any{"more", "later"}
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
	if err := Verify(got, testNow); err != nil {
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
		{"oversize announcement", "message", []byte(`{"type":"JOIN","user":{"name":"` + strings.Repeat("a", MaxDatagram) + `"}}`)},
		{"oversize frame", "message", []byte(`{"type":"SIGNAL","payload":"` + strings.Repeat("A", MaxFrame) + `"}`)},
		{"oversize garbage", "message", bytes.Repeat([]byte{0xff}, MaxFrame+1)},
		{"not json", "message", []byte(`{"type": "JOIN",`)},
		{"trailing", "message", []byte(`{"type":"JOIN","user":{}} x`)},
		{"array", "message", []byte(`[1,2]`)},
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
		{"account not base64", "ferry.account", mutate(t, join, func(o, f map[string]any) { f["account"] = "!!" })},
		{"account too long", "ferry.account", mutate(t, join, func(o, f map[string]any) {
			f["account"] = base64.StdEncoding.EncodeToString(make([]byte, sdk.MaxAccountLen+1))
		})},
		{"instance not hex", "ferry.instance", mutate(t, join, func(o, f map[string]any) { f["instance"] = "XYZ" })},
		{"instance too long", "ferry.instance", mutate(t, join, func(o, f map[string]any) { f["instance"] = strings.Repeat("a", MaxInstanceLen+1) })},
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
		{"no cert", "ferry.cert", mutate(t, join, func(o, f map[string]any) { delete(f, "cert") })},
		{"short cert", "ferry.cert", mutate(t, join, func(o, f map[string]any) { f["cert"] = "AAAA" })},
		{"cert not base64", "ferry.cert", mutate(t, join, func(o, f map[string]any) { f["cert"] = "!!!" })},
		{"cert expiry out of range", "ferry.cert", mutate(t, join, func(o, f map[string]any) {
			c := append([]byte(nil), join.Ferry.Cert...)
			binary.BigEndian.PutUint64(c[64:72], 1<<62)
			f["cert"] = base64.StdEncoding.EncodeToString(c)
		})},
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
		{"unsigned", "ferry.cert", &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}},
		{"unknown type", "type", &Message{Type: "ASK"}},
		{"payload too big", "payload", signed(t, &Message{Type: TypeSignal, Ferry: header(id), To: id, Payload: make([]byte, sdk.MaxEnvelopePayload+1)}, 1)},
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

// TestEncodeSizes checks the two limits: a SIGNAL with the largest
// payload fits a frame (and not a datagram), and an announcement with every
// field at its limit fits a datagram.
func TestEncodeSizes(t *testing.T) {
	a, _ := testKey(t, 1)
	b, _ := testKey(t, 2)
	sig := signed(t, &Message{Type: TypeSignal, Ferry: header(a), To: b, Payload: bytes.Repeat([]byte{0xfe}, sdk.MaxEnvelopePayload)}, 1)
	enc, err := Encode(sig)
	if err != nil {
		t.Fatalf("Encode of a SIGNAL with a %d-byte payload: %v", sdk.MaxEnvelopePayload, err)
	}
	if len(enc) <= MaxDatagram || len(enc) > MaxFrame {
		t.Fatalf("SIGNAL of %d bytes, want between %d and %d", len(enc), MaxDatagram, MaxFrame)
	}
	got, err := Decode(enc)
	if err != nil || !reflect.DeepEqual(got, sig) {
		t.Fatalf("Decode of the largest SIGNAL: %v", err)
	}
	long := make([]string, MaxListEntries)
	for i := range long {
		long[i] = strings.Repeat("x", MaxListEntryLen)
	}
	h := header(a)
	h.Roles, h.Transports, h.Protocols = long, long, long
	h.Seq = ^uint64(0)
	join := signed(t, &Message{Type: TypeJoin, User: User{Name: strings.Repeat("\U0001F680", MaxNameRunes), IP: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, Ferry: h}, 1)
	if enc, err := Encode(join); err != nil {
		t.Fatalf("Encode of the largest JOIN: %v", err)
	} else if _, err := Decode(enc); err != nil {
		t.Fatalf("Decode of the largest JOIN (%d bytes): %v", len(enc), err)
	}
}

// roundTrip encodes and decodes m, as a receiver sees it.
func roundTrip(t *testing.T, m *Message) *Message {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return got
}

func TestVerifySpoofedID(t *testing.T) {
	victim, _ := testKey(t, 2)
	_, attacker := testKey(t, 1)
	// The attacker signs with its own delegation but claims the victim's ID.
	m := signWith(t, &Message{Type: TypeJoin, User: User{Name: "victim", IP: "192.0.2.66"}, Ferry: header(victim)}, attacker)
	err := Verify(roundTrip(t, m), testNow)
	if !errors.Is(err, ErrBadSignature) || !errors.Is(err, sdk.ErrBadCertificate) || !strings.Contains(err.Error(), "spoofed") {
		t.Fatalf("Verify = %v; want ErrBadSignature wrapping sdk.ErrBadCertificate, saying spoofed", err)
	}
	// Sign refuses to make such a message.
	m.Ferry.Sig, m.Ferry.Cert = nil, nil
	if err := Sign(m, attacker); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Sign with another device's delegation = %v, want ErrBadSignature", err)
	}
}

func TestVerifyCertificate(t *testing.T) {
	devPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	id, _ := sdk.PeerIDFromKey(devPriv.Public().(ed25519.PublicKey))
	expired, err := sdk.NewDelegation(devPriv, time.Hour, testNow.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	valid, err := sdk.NewDelegation(devPriv, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	_, other := testKey(t, 3)

	cases := map[string]struct {
		m    func() *Message
		want string
	}{
		"expired": {func() *Message {
			m := &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}
			if err := Sign(m, expired); err != nil {
				t.Fatal(err)
			}
			return m
		}, "expired"},
		"forged certificate": {func() *Message {
			// A certificate that claims the device delegated another
			// key, without the device's signature.
			forged := *valid
			forged.Key, forged.Cert.Key = other.Key, other.Key.Public().(ed25519.PublicKey)
			return signWith(t, &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}, &forged)
		}, "forged"},
		"signed by another key": {func() *Message {
			// The device's real certificate, but the message signed by
			// a key it did not delegate.
			m := &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}
			if err := Sign(m, valid); err != nil {
				t.Fatal(err)
			}
			m.Ferry.Sig = other.Sign(SigningBytes(m))
			return m
		}, "altered"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := Verify(roundTrip(t, c.m()), testNow)
			if !errors.Is(err, ErrBadSignature) || !errors.Is(err, sdk.ErrBadCertificate) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v; want ErrBadSignature wrapping sdk.ErrBadCertificate, saying %q", err, c.want)
			}
		})
	}
	m := &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}
	if err := Sign(m, valid); err != nil {
		t.Fatal(err)
	}
	if err := Verify(roundTrip(t, m), testNow); err != nil {
		t.Fatalf("Verify of a valid delegation: %v", err)
	}
	if err := Verify(m, testNow.Add(2*time.Hour)); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Verify after the certificate expired = %v", err)
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
		"seq":       func(m *Message) { m.Ferry.Seq++ },
		"sig":       func(m *Message) { m.Ferry.Sig[0] ^= 1 },
		"cert key":  func(m *Message) { m.Ferry.Cert[40] ^= 1 },
		"cert sig":  func(m *Message) { m.Ferry.Cert[100] ^= 1 },
		"cert time": func(m *Message) { m.Ferry.Cert[70] ^= 1 },
		"id": func(m *Message) {
			m.Ferry.ID[0] ^= 1
		},
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			m := sampleMessages(t)["JOIN"]
			f(m)
			if err := Verify(m, testNow); !errors.Is(err, ErrBadSignature) {
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
			if err := Verify(m, testNow); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify after tampering %s = %v", name, err)
			}
		})
	}
}

func TestPeerInfo(t *testing.T) {
	m := sampleMessages(t)["PING"]
	for src, want := range map[string]string{
		"192.0.2.7:5000":            "udp4:192.0.2.7:41771",
		"[::ffff:192.0.2.7]:5000":   "udp4:192.0.2.7:41771",
		"[fe80::2%eth0]:5000":       "udp6:[fe80::2%eth0]:41771",
		"[2001:db8::1]:41771":       "udp6:[2001:db8::1]:41771",
		"198.18.0.2:" + "1":         "udp4:198.18.0.2:41771",
		"[2001:db8::1%wlan0]:41771": "udp6:[2001:db8::1%wlan0]:41771",
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
	acct := sampleMessages(t)["PING/account"]
	if p := acct.PeerInfo(netip.MustParseAddrPort("192.0.2.8:1")); !bytes.Equal(p.Account, acct.Ferry.Account) {
		t.Errorf("PeerInfo.Account = %x, want %x", p.Account, acct.Ferry.Account)
	}
	p := m.PeerInfo(netip.MustParseAddrPort("192.0.2.7:1"))
	p.Roles[0] = "changed"
	if m.Ferry.Roles[0] == "changed" {
		t.Error("PeerInfo shares the roles slice with the message")
	}
}

func TestSignRefuses(t *testing.T) {
	id, d := testKey(t, 1)
	if err := Sign(&Message{Type: TypeJoin}, d); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Sign of a plain message: %v, want an error wrapping ErrMalformed", err)
	}
	m := &Message{Type: TypeJoin, User: User{IP: "192.0.2.1"}, Ferry: header(id)}
	if err := Sign(m, nil); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Sign without a delegation: %v, want ErrBadSignature", err)
	}
	_, other := testKey(t, 2)
	mismatched := &sdk.Delegation{Key: other.Key, Cert: d.Cert}
	if err := Sign(m, mismatched); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Sign with a key its certificate does not name: %v, want ErrBadSignature", err)
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
		_ = Verify(m, testNow)
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
