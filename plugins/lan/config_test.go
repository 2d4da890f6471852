package lan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
)

func TestParseConfigDefaults(t *testing.T) {
	for _, raw := range []string{"", "null", "{}", `{"port": null, "interfaces": null, "multicast_group": null}`} {
		c, err := parseConfig([]byte(raw))
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", raw, err)
		}
		want := config{port: 41771, group: netip.MustParseAddr("ff02::c0f7:1771"), announceInterval: 5 * time.Second, peerTimeout: 20 * time.Second,
			limits: connlimit.Limits{HandshakeTimeout: 5 * time.Second, MaxPending: 128, MaxPendingPerSource: 16}}
		if fmt.Sprint(c) != fmt.Sprint(want) {
			t.Fatalf("parseConfig(%q) = %+v, want %+v", raw, c, want)
		}
	}
	c, err := parseConfig([]byte(`{"port": 5000, "interfaces": ["eth0", "wlan0"], "broadcast_addresses": ["192.168.1.255", "255.255.255.255"],
		"multicast_group": "", "announce_interval": "1s", "peer_timeout": 3000000000,
		"handshake_timeout": "2s", "max_pending": 300, "max_pending_per_source": 300}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.port != 5000 || !slices.Equal(c.interfaces, []string{"eth0", "wlan0"}) || len(c.broadcast) != 2 || c.group.IsValid() ||
		c.announceInterval != time.Second || c.peerTimeout != 3*time.Second ||
		c.limits != (connlimit.Limits{HandshakeTimeout: 2 * time.Second, MaxPending: 300, MaxPendingPerSource: 300}) {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`[]`, "JSON object"},
		{`{"prot": 1}`, `unknown key "prot"`},
		{`{"port": 0}`, "port"},
		{`{"port": 65536}`, "port"},
		{`{"port": "41771"}`, "port"},
		{`{"port": 1.5}`, "port"},
		{`{"interfaces": "eth0"}`, "interfaces"},
		{`{"interfaces": [""]}`, "interfaces"},
		{`{"interfaces": ["eth0", "eth0"]}`, "twice"},
		{`{"interfaces": ["a-very-long-interface-name"]}`, "interfaces"},
		{`{"broadcast_addresses": ["x"]}`, "broadcast_addresses"},
		{`{"broadcast_addresses": ["ff02::1"]}`, "IPv6 has no broadcast"},
		{`{"broadcast_addresses": ["0.0.0.0"]}`, "broadcast_addresses"},
		{`{"broadcast_addresses": ["239.1.2.3"]}`, "broadcast_addresses"},
		{`{"multicast_group": "239.255.41.71"}`, "IPv4"},
		{`{"multicast_group": "ff05::1:3"}`, "link-local"},
		{`{"multicast_group": "fe80::1"}`, "link-local"},
		{`{"multicast_group": "ff02::1%eth0"}`, "zone"},
		{`{"multicast_group": 7}`, "multicast_group"},
		{`{"announce_interval": "soon"}`, "announce_interval"},
		{`{"announce_interval": "0s"}`, "announce_interval"},
		{`{"announce_interval": "1ms"}`, "announce_interval"},
		{`{"peer_timeout": "-1s"}`, "peer_timeout"},
		{`{"announce_interval": "5s", "peer_timeout": "5s"}`, "longer than announce_interval"},
		{`{"peer_timeout": "4s"}`, "longer than announce_interval"},
		{`{"handshake_timeout": "0s"}`, "handshake_timeout"},
		{`{"handshake_timeout": "fast"}`, "handshake_timeout"},
		{`{"max_pending": 0}`, "max_pending"},
		{`{"max_pending": 100000}`, "max_pending"},
		{`{"max_pending": 2.5}`, "max_pending"},
		{`{"max_pending_per_source": -1}`, "max_pending_per_source"},
		{`{"max_pending": 8, "max_pending_per_source": 9}`, "max_pending_per_source 9 exceeds max_pending 8"},
	} {
		_, err := parseConfig([]byte(c.raw))
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseConfig(%s) = %v; want sdk.ErrInvalidConfig saying %q", c.raw, err, c.want)
		}
	}
}

func TestConfigSchema(t *testing.T) {
	s, err := New().ConfigSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"port": "41771", "interfaces": "[]", "broadcast_addresses": "[]", "multicast_group": DefaultMulticastGroup,
		"announce_interval": "5s", "peer_timeout": "20s",
		"handshake_timeout": "5s", "max_pending": "128", "max_pending_per_source": "16",
	}
	if len(s.Fields) != len(want) {
		t.Fatalf("%d fields, want %d", len(s.Fields), len(want))
	}
	for name, def := range want {
		f, ok := s.Field(name)
		if !ok || f.Default != def || f.Doc == "" || f.Type == "" {
			t.Errorf("field %s = %+v, want default %q with a type and a doc", name, f, def)
		}
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	id, _, del := newIdentity(t)
	_, _, otherDel := newIdentity(t)
	cfg := loConfig(freePort(t), time.Second, 5*time.Second)
	check := func(name string, req sdk.ConfigureRequest, want string, is error) {
		t.Helper()
		p := New()
		defer closePlugin(t, name, p)
		if req.APIVersion == 0 {
			req.APIVersion = sdk.APIVersion
		}
		err := p.Configure(ctx, req)
		if !errors.Is(err, is) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Configure = %v; want an error wrapping %v saying %q", name, err, is, want)
		}
	}
	check("no delegation", sdk.ConfigureRequest{Config: cfg, Self: id}, "lan needs a delegated signing key from the host", sdk.ErrInvalidConfig)
	check("no self", sdk.ConfigureRequest{Config: cfg, Delegation: del}, "self", sdk.ErrInvalidConfig)
	check("another device's delegation", sdk.ConfigureRequest{Config: cfg, Self: id, Delegation: otherDel}, "issued by", sdk.ErrInvalidConfig)
	mixed := &sdk.Delegation{Key: otherDel.Key, Cert: del.Cert}
	check("key not certified", sdk.ConfigureRequest{Config: cfg, Self: id, Delegation: mixed}, "does not match", sdk.ErrInvalidConfig)
	check("unknown interface", sdk.ConfigureRequest{Config: []byte(`{"interfaces": ["ferry-nope0"]}`), Self: id, Delegation: del}, `"ferry-nope0"`, sdk.ErrInvalidConfig)
	check("bad option", sdk.ConfigureRequest{Config: []byte(`{"peer_timeout": "1ms"}`), Self: id, Delegation: del}, "peer_timeout", sdk.ErrInvalidConfig)
	check("API version", sdk.ConfigureRequest{APIVersion: 99, Config: cfg, Self: id, Delegation: del}, "API version", sdk.ErrUnsupported)

	// A port held by a socket without SO_REUSEADDR: the error names it.
	held, err := net.ListenUDP("udp4", &net.UDPAddr{Port: int(freePort(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.LocalAddr().(*net.UDPAddr).Port
	p := New()
	defer closePlugin(t, "busy port", p)
	err = p.Configure(ctx, sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: loConfig(uint16(port), time.Second, 5*time.Second), Self: id, Delegation: del})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("0.0.0.0:%d", port)) {
		t.Fatalf("Configure on a busy port: %v; want an error naming 0.0.0.0:%d", err, port)
	}

	// Calls before Configure and after Close.
	q := New()
	if err := q.Announce(ctx, sdk.PeerInfo{ID: id}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Announce before Configure: %v", err)
	}
	if err := q.Send(ctx, sdk.Envelope{To: id, Payload: []byte("x")}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Send before Configure: %v", err)
	}
	if _, err := q.Lookup(ctx, id); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Lookup before Configure: %v", err)
	}
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Close":     q.Close(ctx),
		"Configure": q.Configure(ctx, sdk.ConfigureRequest{Config: cfg, Self: id, Delegation: del}),
		"Announce":  q.Announce(ctx, sdk.PeerInfo{ID: id}),
		"Send":      q.Send(ctx, sdk.Envelope{To: id}),
		"Info":      func() error { _, err := q.Info(ctx); return err }(),
		"Watch":     func() error { _, err := q.Watch(ctx); return err }(),
		"Receive":   func() error { _, err := q.Receive(ctx); return err }(),
		"Lookup":    func() error { _, err := q.Lookup(ctx, id); return err }(),
	} {
		if !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("%s after Close: %v, want sdk.ErrClosed", name, err)
		}
	}
}

func TestAnnounceChecks(t *testing.T) {
	n := newNode(t, "n", loConfig(freePort(t), time.Second, 5*time.Second))
	ctx := context.Background()
	for name, info := range map[string]sdk.PeerInfo{
		"control in name": {Name: "bob\x1b[31m"},
		"long name":       {Name: strings.Repeat("x", MaxNameRunes+1)},
		"bad transport":   {Transports: []string{"TCP"}},
	} {
		if err := n.Announce(ctx, info); !errors.Is(err, ErrMalformed) {
			t.Errorf("Announce with %s: %v, want ErrMalformed", name, err)
		}
	}
	// The zero ID means this device.
	if err := n.Announce(ctx, sdk.PeerInfo{Name: "me"}); err != nil {
		t.Fatalf("Announce with the zero ID: %v", err)
	}
}

// TestReconfigure checks that Configure with the same sockets keeps the
// port, and with a new port moves to new sockets and announces again, so
// that peers keep reaching it.
func TestReconfigure(t *testing.T) {
	port := freePort(t)
	cfg := loConfig(port, time.Minute, 2*time.Minute)
	watcher := newNode(t, "watcher", cfg)
	w := watch(t, watcher)
	n := newNode(t, "n", cfg)
	announceSelf(t, n, n.id, "n")
	awaitEvent(t, w, sdk.PeerJoined, n.id)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()

	before := n.unicastPort()
	del2, err := sdk.NewDelegation(n.priv, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Configure(ctx, sdk.ConfigureRequest{Config: loConfig(port, 30*time.Second, 2*time.Minute), Self: n.id, Delegation: del2}); err != nil {
		t.Fatal(err)
	}
	if n.unicastPort() != before {
		t.Fatalf("unicast port changed from %d to %d on a timing-only change", before, n.unicastPort())
	}
	// New announcement interval, new key: the next announcement is
	// accepted (a new key starts a new replay window).
	announceSelf(t, n, n.id, "n with a new key")
	awaitNamed(t, w, n.id, "n with a new key")

	// Different interfaces list (same interface, spelled with a broadcast
	// list): same sockets. A new port: new sockets, and a JOIN on them.
	port2 := freePort(t)
	if err := watcher.Configure(ctx, sdk.ConfigureRequest{Config: loConfig(port2, time.Minute, 2*time.Minute), Self: watcher.id, Delegation: watcher.del}); err != nil {
		t.Fatal(err)
	}
	if err := n.Configure(ctx, sdk.ConfigureRequest{Config: loConfig(port2, time.Minute, 2*time.Minute), Self: n.id, Delegation: del2}); err != nil {
		t.Fatal(err)
	}
	if n.unicastPort() == before {
		t.Fatalf("unicast port %d kept across a port change", before)
	}
	waitFor(t, func() bool {
		info, err := watcher.Lookup(ctx, n.id)
		return err == nil && slices.Contains(info.Addrs, Addr(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), n.unicastPort())))
	}, "the watcher learning n's new port")
	in, err := n.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Send(ctx, sdk.Envelope{To: n.id, Payload: []byte("to the new port")}); err != nil {
		t.Fatal(err)
	}
	awaitEnvelope(t, in, []byte("to the new port"))
}

// shippedInstance is the part of a configs/*.yaml instance entry read here.
type shippedInstance struct {
	Name   string         `yaml:"name"`
	Config map[string]any `yaml:"config"`
}

// TestShippedConfigs checks that the lan blocks of configs/ferry.yaml and
// configs/loopback.yaml are valid options (parsed only: nothing is bound).
func TestShippedConfigs(t *testing.T) {
	for file, check := range map[string]func(config) bool{
		"ferry.yaml": func(c config) bool {
			return c.port == DefaultPort && len(c.interfaces) == 0 && len(c.broadcast) == 0 && c.group.String() == DefaultMulticastGroup
		},
		"loopback.yaml": func(c config) bool {
			return slices.Equal(c.interfaces, []string{"lo"}) && len(c.broadcast) == 1 && c.broadcast[0].String() == "127.255.255.255" && !c.group.IsValid()
		},
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "configs", file))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Plugins struct {
				Instances []shippedInstance `yaml:"instances"`
			} `yaml:"plugins"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		i := slices.IndexFunc(doc.Plugins.Instances, func(in shippedInstance) bool { return in.Name == "lan" })
		if i < 0 {
			t.Fatalf("%s has no lan instance", file)
		}
		raw, err := json.Marshal(doc.Plugins.Instances[i].Config)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseConfig(raw)
		if err != nil {
			t.Fatalf("%s: lan config %s: %v", file, raw, err)
		}
		if !check(c) {
			t.Errorf("%s: lan config parsed as %+v", file, c)
		}
	}
}
