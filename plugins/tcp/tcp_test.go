package tcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// testTimeout bounds each test's calls, so a bug fails instead of hanging.
const testTimeout = plugintest.CallTimeout

// logBuffer collects log lines and echoes them to t.Log.
type logBuffer = plugintest.LogBuffer

// configuredLog returns a configured transport listening on listen, and its
// log. It is closed when the test ends.
func configuredLog(t testing.TB, config map[string]any) (*Transport, *logBuffer) {
	t.Helper()
	logs := plugintest.NewLogBuffer(t)
	tr := New(WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Configure(plugintest.Context(t), sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: raw}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil && !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return tr, logs
}

func configured(t testing.TB, listen ...string) *Transport {
	t.Helper()
	tr, _ := configuredLog(t, map[string]any{"listen": listen})
	return tr
}

func TestConformance(t *testing.T) {
	plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
		return configured(t, "127.0.0.1:0"), configured(t, "127.0.0.1:0")
	})
}

// connectPair connects a to b and closes the streams when the test ends.
func connectPair(t *testing.T, a, b sdk.Transport) (sa, sb sdk.Stream) {
	t.Helper()
	sa, sb, err := plugintest.ConnectPair(plugintest.Context(t), a, b, plugintest.RandomPeerID(t), plugintest.RandomPeerID(t))
	if err != nil {
		t.Fatalf("ConnectPair: %v", err)
	}
	t.Cleanup(func() {
		_ = sa.Close()
		_ = sb.Close()
	})
	return sa, sb
}

func TestStreamIsRawTCPConn(t *testing.T) {
	sa, sb := connectPair(t, configured(t, "127.0.0.1:0"), configured(t, "127.0.0.1:0"))
	for _, s := range []sdk.Stream{sa, sb} {
		if _, ok := s.(*net.TCPConn); !ok {
			t.Errorf("stream is a %T, want *net.TCPConn", s)
		}
		if _, ok := s.(syscall.Conn); !ok {
			t.Errorf("stream %T does not implement syscall.Conn", s)
		}
	}
	plugintest.RoundTrip(t, sa, sb)
}

func TestIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("skipping: IPv6 loopback [::1] is unavailable here: %v", err)
	}
	_ = ln.Close()
	a, b := configured(t, "[::1]:0"), configured(t, "[::1]:0")
	pb, err := b.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: sdk.Responder})
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeDescription(pb.Local)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.addrs) != 1 || !strings.HasPrefix(d.addrs[0], "[::1]:") {
		t.Errorf("description addresses %q, want one [::1]:port", d.addrs)
	}
	sa, sb := connectPair(t, a, b)
	plugintest.RoundTrip(t, sa, sb)
}

func TestParseHello(t *testing.T) {
	token := [tokenLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	good := makeHello(token)
	if want := append([]byte("FRY1\x01"), token[:]...); !bytes.Equal(good[:], want) {
		t.Fatalf("makeHello = %q, want %q", good, want)
	}
	withByte := func(i int, b byte) []byte {
		h := good
		h[i] = b
		return h[:]
	}
	cases := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"valid", good[:], true},
		{"empty", nil, false},
		{"short", good[:helloLen-1], false},
		{"long", append(good[:], 0), false},
		{"bad magic", withByte(0, 'G'), false},
		{"lower-case magic", withByte(1, 'r'), false},
		{"version 0", withByte(4, 0), false},
		{"version 2", withByte(4, 2), false},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n"), false},
	}
	for _, c := range cases {
		got, err := parseHello(c.in)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: parseHello: %v", c.name, err)
		case c.ok && got != token:
			t.Errorf("%s: token %x, want %x", c.name, got, token)
		case !c.ok && err == nil:
			t.Errorf("%s: parseHello(%q) succeeded, want an error", c.name, c.in)
		}
	}
}

const goodToken = "AAECAwQFBgcICQoLDA0ODw" // bytes 0..15

func TestDecodeDescription(t *testing.T) {
	desc := func(addrs string, token string) string {
		return `{"v":1,"addrs":[` + addrs + `],"token":"` + token + `"}`
	}
	many := strings.TrimSuffix(strings.Repeat(`"10.0.0.1:1",`, maxAddrs+1), ",")
	cases := []struct {
		name  string
		data  string
		addrs []string // nil: want an error
	}{
		{"ipv4", desc(`"127.0.0.1:4000"`, goodToken), []string{"127.0.0.1:4000"}},
		{"ipv6", desc(`"[::1]:4000"`, goodToken), []string{"[::1]:4000"}},
		{"ipv6 with zone", desc(`"[fe80::1%eth0]:4000"`, goodToken), []string{"[fe80::1%eth0]:4000"}},
		{"dns name", desc(`"host.example.org:80"`, goodToken), []string{"host.example.org:80"}},
		{"several", desc(`"10.0.0.1:1","[2001:db8::1]:2","a-b.c:3"`, goodToken), []string{"10.0.0.1:1", "[2001:db8::1]:2", "a-b.c:3"}},
		{"max addresses", desc(strings.TrimSuffix(strings.Repeat(`"10.0.0.1:1",`, maxAddrs), ","), goodToken), slices.Repeat([]string{"10.0.0.1:1"}, maxAddrs)},
		{"keys in another order", `{"token":"` + goodToken + `","addrs":["1.2.3.4:5"],"v":1}`, []string{"1.2.3.4:5"}},

		{"empty", ``, nil},
		{"not json", `addrs=1.2.3.4:5`, nil},
		{"json null", `null`, nil},
		{"json array", `[1]`, nil},
		{"trailing data", desc(`"1.2.3.4:5"`, goodToken) + ` {}`, nil},
		{"unknown field", `{"v":1,"addrs":["1.2.3.4:5"],"token":"` + goodToken + `","x":1}`, nil},
		{"no version", `{"addrs":["1.2.3.4:5"],"token":"` + goodToken + `"}`, nil},
		{"version 2", `{"v":2,"addrs":["1.2.3.4:5"],"token":"` + goodToken + `"}`, nil},
		{"version as string", `{"v":"1","addrs":["1.2.3.4:5"],"token":"` + goodToken + `"}`, nil},
		{"no addrs", `{"v":1,"token":"` + goodToken + `"}`, nil},
		{"empty addrs", desc(``, goodToken), nil},
		{"too many addrs", desc(many, goodToken), nil},
		{"addr not a string", desc(`5`, goodToken), nil},
		{"no port", desc(`"1.2.3.4"`, goodToken), nil},
		{"port 0", desc(`"1.2.3.4:0"`, goodToken), nil},
		{"port too big", desc(`"1.2.3.4:65536"`, goodToken), nil},
		{"port with leading zero", desc(`"1.2.3.4:080"`, goodToken), nil},
		{"port with sign", desc(`"1.2.3.4:+80"`, goodToken), nil},
		{"named port", desc(`"1.2.3.4:http"`, goodToken), nil},
		{"no host", desc(`":80"`, goodToken), nil},
		{"bracketed ipv4", desc(`"[1.2.3.4]:80"`, goodToken), nil},
		{"unbracketed ipv6", desc(`"::1:80"`, goodToken), nil},
		{"unspecified ipv4", desc(`"0.0.0.0:80"`, goodToken), nil},
		{"unspecified ipv6", desc(`"[::]:80"`, goodToken), nil},
		{"multicast", desc(`"224.0.0.1:80"`, goodToken), nil},
		{"underscore in name", desc(`"a_b.example:80"`, goodToken), nil},
		{"label starting with hyphen", desc(`"-a.example:80"`, goodToken), nil},
		{"empty label", desc(`"a..example:80"`, goodToken), nil},
		{"numeric name", desc(`"01.2.3.4:80"`, goodToken), nil},
		{"space in address", desc(`"1.2.3.4 :80"`, goodToken), nil},
		{"no token", `{"v":1,"addrs":["1.2.3.4:5"]}`, nil},
		{"short token", desc(`"1.2.3.4:5"`, "AAECAwQFBgcICQoLDA0O"), nil},
		{"long token", desc(`"1.2.3.4:5"`, "AAECAwQFBgcICQoLDA0ODxA"), nil},
		{"padded token", desc(`"1.2.3.4:5"`, goodToken+"=="), nil},
		{"standard base64 token", desc(`"1.2.3.4:5"`, "+/ECAwQFBgcICQoLDA0ODw"), nil},
		{"token with stray bits", desc(`"1.2.3.4:5"`, "AAECAwQFBgcICQoLDA0ODx"), nil},
	}
	for _, c := range cases {
		d, err := decodeDescription(sdk.Description{Transport: Name, Data: []byte(c.data)})
		if c.addrs == nil {
			if err == nil {
				t.Errorf("%s: decoded %q, want an error", c.name, c.data)
			} else if !errors.Is(err, sdk.ErrInvalidDescription) {
				t.Errorf("%s: %v, want an error wrapping sdk.ErrInvalidDescription", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(d.addrs, c.addrs) {
			t.Errorf("%s: addrs %q, want %q", c.name, d.addrs, c.addrs)
		}
		if want := [tokenLen]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; d.token != want {
			t.Errorf("%s: token %x, want %x", c.name, d.token, want)
		}
	}

	_, err := decodeDescription(sdk.Description{Transport: "ice", Data: []byte(desc(`"1.2.3.4:5"`, goodToken))})
	if !errors.Is(err, sdk.ErrInvalidDescription) {
		t.Errorf("description of transport ice: %v, want an error wrapping sdk.ErrInvalidDescription", err)
	}
}

func TestDescriptionRoundTrip(t *testing.T) {
	in := description{addrs: []string{"10.1.2.3:4", "[2001:db8::5]:6", "example.org:7"}, token: [tokenLen]byte{9, 8, 7}}
	enc, err := encodeDescription(in)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Transport != Name {
		t.Errorf("Transport = %q, want %q", enc.Transport, Name)
	}
	out, err := decodeDescription(enc)
	if err != nil {
		t.Fatalf("decode %s: %v", enc.Data, err)
	}
	if !slices.Equal(out.addrs, in.addrs) || out.token != in.token {
		t.Errorf("round trip gave %+v, want %+v", out, in)
	}
}

func FuzzDecodeDescription(f *testing.F) {
	good, err := encodeDescription(description{addrs: []string{"127.0.0.1:1", "[::1]:2", "a.example:3"}, token: [tokenLen]byte{1}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Data)
	f.Add([]byte(`{"v":1,"addrs":["[fe80::1%eth0]:4000"],"token":"` + goodToken + `"}`))
	f.Add([]byte(`{"v":1,"addrs":[],"token":""}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeData(data)
		if err != nil {
			if !errors.Is(err, sdk.ErrInvalidDescription) {
				t.Fatalf("error %v does not wrap sdk.ErrInvalidDescription", err)
			}
			return
		}
		// What decodes must re-encode to something that decodes the same.
		enc, err := encodeDescription(d)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d2, err := decodeDescription(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded %s: %v", enc.Data, err)
		}
		if !slices.Equal(d.addrs, d2.addrs) || d.token != d2.token {
			t.Fatalf("re-encoding changed %+v to %+v", d, d2)
		}
		_ = dialOrder(d.addrs)
	})
}

func TestDialOrder(t *testing.T) {
	cases := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"1.1.1.1:1"}, []string{"1.1.1.1:1"}},
		{
			[]string{"1.1.1.1:1", "2.2.2.2:2", "[::1]:3", "name.example:4", "[::2]:5", "3.3.3.3:6"},
			[]string{"[::1]:3", "1.1.1.1:1", "[::2]:5", "2.2.2.2:2", "3.3.3.3:6", "name.example:4"},
		},
		{
			[]string{"[::1]:1", "[::2]:2", "[::3]:3", "4.4.4.4:4"},
			[]string{"[::1]:1", "4.4.4.4:4", "[::2]:2", "[::3]:3"},
		},
		{ // IPv4-mapped IPv6 counts as IPv4; duplicates are dropped.
			[]string{"[::ffff:1.2.3.4]:1", "5.5.5.5:5", "[::9]:9", "5.5.5.5:5"},
			[]string{"[::9]:9", "[::ffff:1.2.3.4]:1", "5.5.5.5:5"},
		},
	}
	for _, c := range cases {
		if got := dialOrder(c.in); !slices.Equal(got, c.want) {
			t.Errorf("dialOrder(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLocalAddrs(t *testing.T) {
	ifaddrs := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("192.168.1.5"),
		netip.MustParseAddr("::1"),
		netip.MustParseAddr("fe80::1"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("169.254.3.4"),
		netip.MustParseAddr("::ffff:10.0.0.7"),
	}
	ap := netip.MustParseAddrPort
	cases := []struct {
		name    string
		bound   []boundAddr
		ifaddrs []netip.Addr
		want    []string
	}{
		{"specific address", []boundAddr{{"tcp4", ap("127.0.0.1:5")}}, ifaddrs, []string{"127.0.0.1:5"}},
		{
			"unspecified of each family", []boundAddr{{"tcp4", ap("0.0.0.0:1000")}, {"tcp6", ap("[::]:2000")}}, ifaddrs,
			[]string{"192.168.1.5:1000", "10.0.0.7:1000", "[2001:db8::1]:2000", "127.0.0.1:1000", "[::1]:2000"},
		},
		{
			"dual stack", []boundAddr{{"tcp", ap("[::]:3000")}}, ifaddrs,
			[]string{"192.168.1.5:3000", "[2001:db8::1]:3000", "10.0.0.7:3000", "127.0.0.1:3000", "[::1]:3000"},
		},
		{
			"link-local only when nothing else", []boundAddr{{"tcp", ap("[::]:7")}},
			[]netip.Addr{netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("169.254.3.4")},
			[]string{"[fe80::1]:7", "169.254.3.4:7"},
		},
		{"no interfaces", []boundAddr{{"tcp4", ap("0.0.0.0:7")}}, nil, nil},
	}
	for _, c := range cases {
		if got := localAddrs(c.bound, c.ifaddrs); !slices.Equal(got, c.want) {
			t.Errorf("%s: localAddrs = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	got, err := parseConfig(nil)
	if err != nil || !got.equal(defaultConfig()) {
		t.Errorf("parseConfig(nil) = %+v, %v; want the defaults", got, err)
	}
	if !slices.Equal(got.listen, []string{"0.0.0.0:0", "[::]:0"}) || got.dialStagger != 250*time.Millisecond || got.sessionTimeout != 2*time.Minute {
		t.Errorf("defaults = %+v", got)
	}
	for _, f := range schema.Fields {
		if f.Doc == "" {
			t.Errorf("schema field %q has no doc", f.Name)
		}
	}

	valid := []struct {
		in   string
		want config
	}{
		{`{}`, defaultConfig()},
		{`{"listen":null,"advertise":null}`, defaultConfig()},
		{
			`{"listen":["127.0.0.1:0","[::1]:5000",":0"],"advertise":["203.0.113.7:5000","ferry.example:5000"],"dial_stagger":"0s","session_timeout":"30s"}`,
			config{listen: []string{"127.0.0.1:0", "[::1]:5000", ":0"}, advertise: []string{"203.0.113.7:5000", "ferry.example:5000"}, sessionTimeout: 30 * time.Second, limits: defaultConfig().limits},
		},
		{`{"dial_stagger":100000000}`, config{listen: defaultListen, dialStagger: 100 * time.Millisecond, sessionTimeout: defaultSessionTimeout, limits: defaultConfig().limits}},
		{
			`{"handshake_timeout":"2s","max_pending":1000,"max_pending_per_source":1000}`,
			config{listen: defaultListen, dialStagger: defaultDialStagger, sessionTimeout: defaultSessionTimeout,
				limits: connlimit.Limits{HandshakeTimeout: 2 * time.Second, MaxPending: 1000, MaxPendingPerSource: 1000}},
		},
	}
	for _, c := range valid {
		got, err := parseConfig([]byte(c.in))
		if err != nil {
			t.Errorf("parseConfig(%s): %v", c.in, err)
			continue
		}
		if !got.equal(c.want) {
			t.Errorf("parseConfig(%s) = %+v, want %+v", c.in, got, c.want)
		}
	}

	invalid := []struct {
		in, key string
	}{
		{`{"listne":["127.0.0.1:0"]}`, "listne"},
		{`{"listen":"127.0.0.1:0"}`, "listen"},
		{`{"listen":[]}`, "listen"},
		{`{"listen":["127.0.0.1"]}`, "listen"},
		{`{"listen":["localhost:0"]}`, "listen"},
		{`{"listen":["127.0.0.1:99999"]}`, "listen"},
		{`{"advertise":["203.0.113.7:0"]}`, "advertise"},
		{`{"advertise":["0.0.0.0:80"]}`, "advertise"},
		{`{"dial_stagger":"soon"}`, "dial_stagger"},
		{`{"dial_stagger":"-1s"}`, "dial_stagger"},
		{`{"dial_stagger":1.5}`, "dial_stagger"},
		{`{"dial_stagger":true}`, "dial_stagger"},
		{`{"session_timeout":"0s"}`, "session_timeout"},
		{`{"session_timeout":1e300}`, "session_timeout"},
		{`{"handshake_timeout":"0s"}`, "handshake_timeout"},
		{`{"max_pending":0}`, "max_pending"},
		{`{"max_pending":1e9}`, "max_pending"},
		{`{"max_pending":"many"}`, "max_pending"},
		{`{"max_pending_per_source":0}`, "max_pending_per_source"},
		{`{"max_pending":8,"max_pending_per_source":9}`, "max_pending_per_source 9 exceeds max_pending 8"},
		{`[1,2]`, ""},
		{`{"listen":`, ""},
	}
	for _, c := range invalid {
		_, err := parseConfig([]byte(c.in))
		switch {
		case err == nil:
			t.Errorf("parseConfig(%s) succeeded, want an error", c.in)
		case !errors.Is(err, sdk.ErrInvalidConfig):
			t.Errorf("parseConfig(%s): %v, want an error wrapping sdk.ErrInvalidConfig", c.in, err)
		case !strings.Contains(err.Error(), c.key):
			t.Errorf("parseConfig(%s): %v, want it to name %q", c.in, err, c.key)
		}
	}
}

// prepare runs Prepare and decodes the description.
func prepare(t *testing.T, tr *Transport, role sdk.ConnRole) (sdk.PrepareResponse, description) {
	t.Helper()
	p, err := tr.Prepare(plugintest.Context(t), sdk.PrepareRequest{Peer: plugintest.RandomPeerID(t), Role: role})
	if err != nil {
		t.Fatalf("Prepare %v: %v", role, err)
	}
	d, err := decodeDescription(p.Local)
	if err != nil {
		t.Fatalf("own description %s: %v", p.Local.Data, err)
	}
	return p, d
}

func TestReconfigure(t *testing.T) {
	tr := configured(t, "127.0.0.1:0")
	ctx := plugintest.Context(t)
	_, d1 := prepare(t, tr, sdk.Responder)

	// Same listen addresses, other options changed: same listener.
	cfg := []byte(`{"listen":["127.0.0.1:0"],"dial_stagger":"10ms"}`)
	if err := tr.Configure(ctx, sdk.ConfigureRequest{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	_, d2 := prepare(t, tr, sdk.Responder)
	if !slices.Equal(d1.addrs, d2.addrs) {
		t.Errorf("addresses after re-Configure with the same listen: %q, want %q", d2.addrs, d1.addrs)
	}
	tr.mu.Lock()
	stagger := tr.cfg.dialStagger
	tr.mu.Unlock()
	if stagger != 10*time.Millisecond {
		t.Errorf("dial_stagger after re-Configure = %v, want 10ms", stagger)
	}

	// New listen addresses: rebound, the old listener is gone.
	cfg = []byte(`{"listen":["127.0.0.1:0","127.0.0.1:0"]}`)
	if err := tr.Configure(ctx, sdk.ConfigureRequest{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	_, d3 := prepare(t, tr, sdk.Responder)
	if len(d3.addrs) != 2 || slices.Contains(d3.addrs, d1.addrs[0]) {
		t.Errorf("addresses after rebinding: %q, want two new ones (old %q)", d3.addrs, d1.addrs)
	}
	if c, err := net.Dial("tcp", d1.addrs[0]); err == nil {
		_ = c.Close()
		t.Errorf("old listener %s still accepts connections", d1.addrs[0])
	}
	sa, sb := connectPair(t, configured(t, "127.0.0.1:0"), tr)
	plugintest.RoundTrip(t, sa, sb)

	// Bad options leave the transport as it was.
	if err := tr.Configure(ctx, sdk.ConfigureRequest{Config: []byte(`{"listen":["nope"]}`)}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("Configure with a bad listen address: %v, want an error wrapping sdk.ErrInvalidConfig", err)
	}
	_, d4 := prepare(t, tr, sdk.Responder)
	if !slices.Equal(d3.addrs, d4.addrs) {
		t.Errorf("addresses after a failed Configure: %q, want %q", d4.addrs, d3.addrs)
	}
}

func TestAdvertise(t *testing.T) {
	tr, _ := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}, "advertise": []string{"203.0.113.7:5000", "ferry.example:5000"}})
	_, d := prepare(t, tr, sdk.Initiator)
	if want := []string{"203.0.113.7:5000", "ferry.example:5000"}; !slices.Equal(d.addrs, want) {
		t.Errorf("advertised %q, want %q", d.addrs, want)
	}
}

func TestPrepareErrors(t *testing.T) {
	ctx := plugintest.Context(t)
	tr := configured(t, "127.0.0.1:0")
	peer := plugintest.RandomPeerID(t)
	if _, err := tr.Prepare(ctx, sdk.PrepareRequest{Role: sdk.Initiator}); !errors.Is(err, sdk.ErrInvalidPeerID) {
		t.Errorf("Prepare with no peer: %v, want sdk.ErrInvalidPeerID", err)
	}
	if _, err := tr.Prepare(ctx, sdk.PrepareRequest{Peer: peer}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Prepare with no role: %v, want sdk.ErrUnsupported", err)
	}
	if _, err := New().Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.Initiator}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Prepare before Configure: %v, want sdk.ErrNotConfigured", err)
	}
	p, _ := prepare(t, tr, sdk.Initiator)
	if _, err := tr.Connect(ctx, sdk.ConnectRequest{Session: p.Session}); !errors.Is(err, sdk.ErrInvalidDescription) {
		t.Errorf("initiator Connect without a description: %v, want sdk.ErrInvalidDescription", err)
	}
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// connectTo runs the initiator's Connect on a with remote and the
// responder's on b's session pb concurrently.
func connectTo(t *testing.T, a, b *Transport, remote description, pb sdk.PrepareResponse) (sa, sb sdk.Stream, errA, errB error) {
	t.Helper()
	ctx := plugintest.Context(t)
	rd, err := encodeDescription(remote)
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := prepare(t, a, sdk.Initiator)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sa, errA = a.Connect(ctx, sdk.ConnectRequest{Session: pa.Session, Remote: rd})
		if errA != nil {
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		sb, errB = b.Connect(ctx, sdk.ConnectRequest{Session: pb.Session})
	}()
	wg.Wait()
	for _, s := range []sdk.Stream{sa, sb} {
		if s != nil {
			t.Cleanup(func() { _ = s.Close() })
		}
	}
	return sa, sb, errA, errB
}

func TestDeadAddressThenLiveOne(t *testing.T) {
	a, b := configured(t, "127.0.0.1:0"), configured(t, "127.0.0.1:0")
	pb, d := prepare(t, b, sdk.Responder)
	d.addrs = append([]string{deadAddr(t), deadAddr(t)}, d.addrs...)
	sa, sb, errA, errB := connectTo(t, a, b, d, pb)
	if errA != nil || errB != nil {
		t.Fatalf("Connect with dead addresses before the live one: initiator: %v; responder: %v", errA, errB)
	}
	plugintest.RoundTrip(t, sa, sb)
}

func TestAllAddressesDead(t *testing.T) {
	a, b := configured(t, "127.0.0.1:0"), configured(t, "127.0.0.1:0")
	pb, d := prepare(t, b, sdk.Responder)
	dead := []string{deadAddr(t), deadAddr(t)}
	d.addrs = dead
	_, _, errA, errB := connectTo(t, a, b, d, pb)
	if errA == nil {
		t.Fatal("Connect to dead addresses succeeded")
	}
	for _, addr := range dead {
		if !strings.Contains(errA.Error(), addr) {
			t.Errorf("error %q does not name %s", errA, addr)
		}
	}
	if !errors.Is(errA, syscall.ECONNREFUSED) {
		t.Errorf("error %q does not wrap ECONNREFUSED", errA)
	}
	if !errors.Is(errB, context.Canceled) {
		t.Errorf("responder: %v, want context.Canceled", errB)
	}
}

// TestStaggerPastHungAddress dials an address that accepts but never acks
// first: after the stagger the live address is tried and wins, and the
// hung attempt is closed.
func TestStaggerPastHungAddress(t *testing.T) {
	hung, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	hungConn := make(chan net.Conn, 1)
	go func() {
		c, err := hung.Accept()
		if err != nil {
			close(hungConn)
			return
		}
		hungConn <- c
	}()

	a, _ := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}, "dial_stagger": "20ms"})
	b := configured(t, "127.0.0.1:0")
	pb, d := prepare(t, b, sdk.Responder)
	d.addrs = append([]string{hung.Addr().String()}, d.addrs...)
	sa, sb, errA, errB := connectTo(t, a, b, d, pb)
	if errA != nil || errB != nil {
		t.Fatalf("initiator: %v; responder: %v", errA, errB)
	}
	plugintest.RoundTrip(t, sa, sb)

	c, ok := <-hungConn
	if !ok {
		t.Fatal("the hung address saw no connection attempt")
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("hung side: read: %v (want EOF once the initiator gives up the attempt)", err)
	}
	if want := makeHello(d.token); !bytes.Equal(got, want[:]) {
		t.Errorf("hung side got %q, want the hello %q", got, want)
	}
}

// rawHello dials addr, sends the hello for token followed by extra in one
// write, and returns the connection and the first byte answered (or the
// read error).
func rawHello(t *testing.T, addr string, token [tokenLen]byte, extra []byte) (net.Conn, []byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	h := makeHello(token)
	if _, err := c.Write(append(h[:], extra...)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 1)
	_, err = io.ReadFull(c, ack)
	return c, ack, err
}

func TestParkedConnectionAndDuplicate(t *testing.T) {
	b, logs := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}})
	pb, d := prepare(t, b, sdk.Responder)

	// The hello arrives before the responder's Connect, with data right
	// behind it in the same segment.
	payload := []byte("bytes right after the hello must reach the stream")
	c1, ack, err := rawHello(t, d.addrs[0], d.token, payload)
	if err != nil || ack[0] != ackByte {
		t.Fatalf("first connection: ack %x, err %v; want %x", ack, err, ackByte)
	}

	// A second connection for the same session gets no ack.
	_, _, err = rawHello(t, d.addrs[0], d.token, nil)
	if !errors.Is(err, io.EOF) {
		t.Errorf("second connection for the session: %v, want EOF without ack", err)
	}
	if !strings.Contains(logs.String(), "session already has its connection") {
		t.Errorf("no log line for the refused duplicate; log:\n%s", logs)
	}

	s, err := b.Connect(plugintest.Context(t), sdk.ConnectRequest{Session: pb.Session})
	if err != nil {
		t.Fatalf("responder Connect with a parked connection: %v", err)
	}
	defer s.Close()
	got := make([]byte, len(payload))
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("stream read %q, %v; want %q", got, err, payload)
	}
	_ = s.SetReadDeadline(time.Time{})
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c1, got[:1]); err != nil || got[0] != 'x' {
		t.Fatalf("raw side read %q, %v; want x", got[:1], err)
	}

	// The session is used up: a later hello is refused, Connect is not found.
	if _, _, err := rawHello(t, d.addrs[0], d.token, nil); !errors.Is(err, io.EOF) {
		t.Errorf("hello for a finished session: %v, want EOF without ack", err)
	}
	if _, err := b.Connect(plugintest.Context(t), sdk.ConnectRequest{Session: pb.Session}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("second Connect: %v, want sdk.ErrNotFound", err)
	}
}

func TestRefusedHellos(t *testing.T) {
	b, logs := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}})
	_, di := prepare(t, b, sdk.Initiator)
	_, dr := prepare(t, b, sdk.Responder)
	addr := dr.addrs[0]

	// Unknown token; the token of an initiator session.
	for _, tok := range [][tokenLen]byte{{0xff}, di.token} {
		if _, _, err := rawHello(t, addr, tok, nil); !errors.Is(err, io.EOF) {
			t.Errorf("hello with token %x: %v, want EOF without ack", tok, err)
		}
	}
	// Bad magic, bad version, a short hello then EOF.
	for _, raw := range []string{"GET / HTTP/1.0\r\n\r\n...", "FRY1\x02" + strings.Repeat("x", tokenLen), "FRY"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(testTimeout))
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Errorf("hello %q: read %q, %v; want EOF without ack", raw, got, err)
		}
		_ = c.Close()
	}
	for _, want := range []string{"unknown token", "token of an initiator session", "bad hello", "reading hello"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line with %q; log:\n%s", want, logs)
		}
	}
	// The transport still works.
	sa, sb := connectPair(t, configured(t, "127.0.0.1:0"), b)
	plugintest.RoundTrip(t, sa, sb)
}

func TestSessionExpiry(t *testing.T) {
	b := configured(t, "127.0.0.1:0")
	pb, d := prepare(t, b, sdk.Responder)
	c, ack, err := rawHello(t, d.addrs[0], d.token, nil)
	if err != nil || ack[0] != ackByte {
		t.Fatalf("hello: ack %x, %v", ack, err)
	}
	b.mu.Lock()
	s := b.sessions[pb.Session]
	b.mu.Unlock()
	if s == nil {
		t.Fatal("session not found")
	}
	b.expire(s) // what the session timer does

	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Errorf("parked connection after expiry: read %q, %v; want EOF", got, err)
	}
	if _, err := b.Connect(plugintest.Context(t), sdk.ConnectRequest{Session: pb.Session}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Connect after expiry: %v, want sdk.ErrNotFound", err)
	}
}

func TestSessionTimer(t *testing.T) {
	b, logs := configuredLog(t, map[string]any{"listen": []string{"127.0.0.1:0"}, "session_timeout": "1ms"})
	_, d := prepare(t, b, sdk.Responder)
	// The timer drops the session; wait for it through the refused hello
	// rather than a sleep: retry until the hello is refused.
	ctx := plugintest.Context(t)
	for {
		c, ack, err := rawHello(t, d.addrs[0], d.token, nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || ack[0] != ackByte {
			t.Fatalf("hello: %x, %v", ack, err)
		}
		// Parked before the timer fired: the timer closes it.
		if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
			t.Fatalf("parked connection: read %q, %v; want EOF when the session expires", got, err)
		}
		if ctx.Err() != nil {
			t.Fatal("session never expired")
		}
	}
	if !strings.Contains(logs.String(), "session expired") {
		t.Errorf("no log line for the expiry; log:\n%s", logs)
	}
}

func BenchmarkStream(b *testing.B) {
	const size = 64 << 20
	ta, tb := configured(b, "127.0.0.1:0"), configured(b, "127.0.0.1:0")
	sa, sb, err := plugintest.ConnectPair(plugintest.Context(b), ta, tb, plugintest.RandomPeerID(b), plugintest.RandomPeerID(b))
	if err != nil {
		b.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	for b.Loop() {
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, sb, size)
			done <- err
		}()
		for n := 0; n < size; n += len(buf) {
			if _, err := sa.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
