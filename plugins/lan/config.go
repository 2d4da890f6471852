package lan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Defaults of the options.
const (
	// DefaultPort is the UDP port announcements are broadcast to.
	DefaultPort = 41771
	// DefaultMulticastGroup is the IPv6 link-local multicast group joined
	// and sent to by default: group ID 0xc0f71771, from the range RFC 3307
	// leaves to hosts and applications (0x80000000-0xffffffff); scope 2,
	// link-local, so routers never forward it. Its Ethernet address is
	// 33:33:c0:f7:17:71.
	DefaultMulticastGroup  = "ff02::c0f7:1771"
	defaultAnnounce        = 5 * time.Second
	defaultPeerTimeout     = 20 * time.Second
	minAnnounceInterval    = 10 * time.Millisecond
	maxInterfaceNameLength = 15 // IFNAMSIZ - 1 on Linux
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: append([]sdk.ConfigField{
	{
		Name: "port", Type: "int", Default: strconv.Itoa(DefaultPort),
		Doc: "UDP port that announcements (JOIN, PING, LEAVE) are broadcast and multicast to; every peer of a LAN must use the same one.",
	},
	{
		Name: "interfaces", Type: "[]string", Default: "[]",
		Doc: "Interfaces to announce on and listen to, by name; [] = every interface that is up, not loopback, and can broadcast or multicast.",
	},
	{
		Name: "broadcast_addresses", Type: "[]string", Default: "[]",
		Doc: "IPv4 broadcast addresses to send announcements to, each on a chosen interface's subnet (255.255.255.255 = every chosen interface); [] = the directed broadcast address of each chosen interface.",
	},
	{
		Name: "multicast_group", Type: "string", Default: DefaultMulticastGroup,
		Doc: "IPv6 link-local multicast group (ff02::/16) also joined and sent to on each chosen interface that has multicast and an IPv6 link-local address; \"\" = IPv4 broadcast only.",
	},
	{
		Name: "announce_interval", Type: "duration", Default: defaultAnnounce.String(),
		Doc: "How often this device repeats its announcement (a broadcast PING) once announced.",
	},
	{
		Name: "peer_timeout", Type: "duration", Default: defaultPeerTimeout.String(),
		Doc: "A peer not heard from for this long is reported as left; must be longer than announce_interval.",
	},
},
	// The limits (connlimit's defaults) of signaling connections that have not yet delivered a
	// frame that verifies. A frame of at most MaxFrame bytes takes well
	// under 5 s on any LAN; a device signals a peer with one connection
	// per message and rarely has more than a few in flight, so 16 per
	// address and 128 in all leave ample room while bounding what a
	// flood costs (one descriptor and one goroutine per pending
	// connection).
	connlimit.ConfigFields(
		"How long a signaling connection may take to deliver its frame before it is closed.",
		"Signaling connections that have not yet delivered a frame that verifies, at most; one more closes the oldest, so a flood of idle connections cannot keep out a real peer.",
	)...)}

// config is the decoded, checked configuration.
type config struct {
	port             uint16
	interfaces       []string
	broadcast        []netip.Addr
	group            netip.Addr // invalid (zero) = no multicast
	announceInterval time.Duration
	peerTimeout      time.Duration
	limits           connlimit.Limits // of signaling connections
}

func defaultConfig() config {
	return config{
		port:             DefaultPort,
		group:            netip.MustParseAddr(DefaultMulticastGroup),
		announceInterval: defaultAnnounce,
		peerTimeout:      defaultPeerTimeout,
		limits:           connlimit.DefaultLimits(),
	}
}

// sameSockets reports whether c and o need the same sockets: the port, the
// interfaces and the multicast group. Timings and broadcast addresses can
// change under open sockets.
func (c config) sameSockets(o config) bool {
	return c.port == o.port && slices.Equal(c.interfaces, o.interfaces) && c.group == o.group
}

// parseConfig decodes the JSON object the host passes to Configure. Keys
// not in the schema and values of the wrong form are errors wrapping
// sdk.ErrInvalidConfig that name the key. Missing keys and JSON null take
// the default.
func parseConfig(raw []byte) (config, error) {
	c := defaultConfig()
	err := lifecycle.DecodeConfig(Name, raw, schema, func(key string, val json.RawMessage) (err error) {
		if ok, err := c.limits.Set(key, val); ok {
			return err
		}
		switch key {
		case "port":
			c.port, err = parsePort(val)
		case "interfaces":
			c.interfaces, err = parseInterfaces(val)
		case "broadcast_addresses":
			c.broadcast, err = parseBroadcast(val)
		case "multicast_group":
			c.group, err = parseGroup(val)
		case "announce_interval":
			c.announceInterval, err = sdk.ParseDuration(val, false)
			if err == nil && c.announceInterval < minAnnounceInterval {
				err = fmt.Errorf("%v is shorter than %v", c.announceInterval, minAnnounceInterval)
			}
		case "peer_timeout":
			c.peerTimeout, err = sdk.ParseDuration(val, false)
		}
		return err
	})
	if err != nil {
		return c, err
	}
	if c.peerTimeout <= c.announceInterval {
		return c, fmt.Errorf("lan config: peer_timeout %v must be longer than announce_interval %v (peers would expire between announcements): %w",
			c.peerTimeout, c.announceInterval, sdk.ErrInvalidConfig)
	}
	if err := c.limits.CheckConfig(Name); err != nil {
		return c, err
	}
	return c, nil
}

func parsePort(val json.RawMessage) (uint16, error) {
	n, err := strconv.ParseUint(string(bytes.TrimSpace(val)), 10, 64)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%.32s is not a port number from 1 to 65535", val)
	}
	return uint16(n), nil
}

func parseInterfaces(val json.RawMessage) ([]string, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	for i, s := range ss {
		if s == "" || len(s) > maxInterfaceNameLength {
			return nil, fmt.Errorf("interface name %q: want 1 to %d characters", s, maxInterfaceNameLength)
		}
		if slices.Contains(ss[:i], s) {
			return nil, fmt.Errorf("interface %q listed twice", s)
		}
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

func parseBroadcast(val json.RawMessage) ([]netip.Addr, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		switch {
		case !a.Is4():
			return nil, fmt.Errorf("%s is not IPv4 (IPv6 has no broadcast; see multicast_group)", a)
		case a.IsUnspecified(), a.IsMulticast():
			return nil, fmt.Errorf("%s is not a broadcast address", a)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func parseGroup(val json.RawMessage) (netip.Addr, error) {
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return netip.Addr{}, fmt.Errorf("want a string: %w", err)
	}
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	case a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%s: no zone please, the group is joined on every chosen interface", s)
	case a.Is4():
		return netip.Addr{}, fmt.Errorf("%s is IPv4: only an IPv6 link-local group (ff02::/16) is supported; IPv4 uses broadcast_addresses", s)
	case !a.IsLinkLocalMulticast():
		return netip.Addr{}, fmt.Errorf("%s is not an IPv6 link-local multicast group (ff02::/16)", s)
	}
	return a, nil
}
