package tcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Defaults of the options.
var (
	defaultListen = []string{"0.0.0.0:0", "[::]:0"}
)

const (
	defaultDialStagger    = 250 * time.Millisecond
	defaultSessionTimeout = 2 * time.Minute
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: append([]sdk.ConfigField{
	{
		Name: "listen", Type: "[]string", Default: `["0.0.0.0:0", "[::]:0"]`,
		Doc: "Addresses to accept connections on, as IP:port; port 0 picks a free port, and an unspecified IP (0.0.0.0 or ::) listens on every interface of that family.",
	},
	{
		Name: "advertise", Type: "[]string",
		Doc: "Addresses, as host:port, to put in descriptions instead of those derived from listen, e.g. a forwarded public address.",
	},
	{
		Name: "dial_stagger", Type: "duration", Default: defaultDialStagger.String(),
		Doc: "How long an initiator waits before racing the next of the peer's addresses while earlier attempts are still pending; 0 dials all at once.",
	},
	{
		Name: "session_timeout", Type: "duration", Default: defaultSessionTimeout.String(),
		Doc: "How long a prepared session waits for its Connect before it is dropped, with any connection parked for it.",
	},
},
	// The limits (connlimit's defaults) of inbound connections that have not yet presented a
	// session token. The hello is 21 bytes sent right after connecting,
	// so 5 s is ample even over a slow path; 128 pending (and 16 from
	// one address) is far above what real peers need at once, since
	// each transfer makes one connection per address it races, and
	// costs at most that many descriptors when flooded.
	connlimit.ConfigFields(
		"How long an inbound connection may take to send its hello (magic, version, session token) before it is closed.",
		"Inbound connections that have not yet presented a valid session token, at most; one more closes the oldest, so a flood of idle connections cannot keep out a real peer.",
	)...)}

// config is the decoded, checked configuration.
type config struct {
	listen         []string
	advertise      []string
	dialStagger    time.Duration
	sessionTimeout time.Duration
	limits         connlimit.Limits // of inbound handshakes
}

func defaultConfig() config {
	return config{
		listen:         slices.Clone(defaultListen),
		dialStagger:    defaultDialStagger,
		sessionTimeout: defaultSessionTimeout,
		limits:         connlimit.DefaultLimits(),
	}
}

func (c config) equal(o config) bool {
	return slices.Equal(c.listen, o.listen) && slices.Equal(c.advertise, o.advertise) &&
		c.dialStagger == o.dialStagger && c.sessionTimeout == o.sessionTimeout && c.limits == o.limits
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
		case "listen":
			c.listen, err = parseListen(val)
		case "advertise":
			c.advertise, err = parseAdvertise(val)
		case "dial_stagger":
			c.dialStagger, err = sdk.ParseDuration(val, true)
		case "session_timeout":
			c.sessionTimeout, err = sdk.ParseDuration(val, false)
		}
		return err
	})
	if err != nil {
		return c, err
	}
	if err := c.limits.CheckConfig(Name); err != nil {
		return c, err
	}
	return c, nil
}

// parseListen checks listen addresses: IP:port or :port.
func parseListen(val json.RawMessage) ([]string, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, errors.New("want at least one address")
	}
	for _, s := range ss {
		if _, _, err := splitListen(s); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// splitListen parses a listen address into the network to listen on
// ("tcp4", "tcp6", or "tcp" for both when the host is empty) and the
// address. An IPv6 listener takes IPv6 only, so that 0.0.0.0:p and [::]:p
// can be bound side by side.
func splitListen(s string) (network string, addr netip.AddrPort, err error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", addr, fmt.Errorf("address %q: %w", s, err)
	}
	p, err := parsePort(port, true)
	if err != nil {
		return "", addr, fmt.Errorf("address %q: %w", s, err)
	}
	if host == "" {
		return "tcp", netip.AddrPortFrom(netip.IPv6Unspecified(), p), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", addr, fmt.Errorf("address %q: want IP:port: %w", s, err)
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return "tcp4", netip.AddrPortFrom(ip, p), nil
	}
	return "tcp6", netip.AddrPortFrom(ip, p), nil
}

// parseAdvertise checks advertised addresses: host:port with a real port.
func parseAdvertise(val json.RawMessage) ([]string, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if err := checkAddr(s); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// parsePort parses a decimal port in canonical form.
func parsePort(s string, zeroOK bool) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
	}
	if n == 0 && !zeroOK {
		return 0, errors.New("port 0 cannot be dialled")
	}
	return uint16(n), nil
}
