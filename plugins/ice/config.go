package ice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/pion/stun/v4"

	"github.com/ferry-p2p/ferry/sdk"
)

// Defaults of the options.
const (
	defaultGatherTimeout  = 3 * time.Second
	defaultSessionTimeout = 60 * time.Second
	// maxServers bounds stun_servers and turn_servers each.
	maxServers = 16
)

var (
	allNetworkTypes   = []string{"udp4", "udp6"}
	allCandidateTypes = []string{"host", "srflx", "relay"}
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: []sdk.ConfigField{
	{
		Name: "stun_servers", Type: "[]string", Default: "[]",
		Doc: "STUN servers for server-reflexive candidates, as stun:host:port.",
	},
	{
		Name: "turn_servers", Type: "[]string", Default: "[]",
		Doc: "TURN servers for relayed candidates, as turn:host:port?transport=udp or turn:host:port?transport=tcp.",
	},
	{
		Name: "turn_username", Type: "string",
		Doc: "Long-term credential user name for every TURN server; required with turn_servers.",
	},
	{
		Name: "turn_password", Type: "string",
		Doc: "Long-term credential password for every TURN server; required with turn_servers. Never logged.",
	},
	{
		Name: "network_types", Type: "[]string", Default: `["udp4", "udp6"]`,
		Doc: "Address families to gather and connect over: udp4, udp6.",
	},
	{
		Name: "candidate_types", Type: "[]string", Default: `["host", "srflx", "relay"]`,
		Doc: "Candidate types to gather: host (interface addresses), srflx (from stun_servers), relay (from turn_servers).",
	},
	{
		Name: "relay_only", Type: "bool", Default: "false",
		Doc: "Gather relayed candidates only, so that no interface address is revealed; needs turn_servers. Overrides candidate_types.",
	},
	{
		Name: "include_loopback", Type: "bool", Default: "false",
		Doc: "Gather loopback addresses as host candidates and accept the peer's loopback candidates (tests, one machine).",
	},
	{
		Name: "interfaces", Type: "[]string", Default: "[]",
		Doc: "Network interfaces, by name, whose addresses become host candidates; [] = every interface that is up.",
	},
	{
		Name: "gather_timeout", Type: "duration", Default: defaultGatherTimeout.String(),
		Doc: "How long Prepare waits for STUN and TURN answers; candidates not in by then are left out.",
	},
	{
		Name: "session_timeout", Type: "duration", Default: defaultSessionTimeout.String(),
		Doc: "How long a prepared session may take to connect; one not connected by then is released with its sockets.",
	},
	{
		Name: "port_min", Type: "int", Default: "0",
		Doc: "Lowest UDP port for host and server-reflexive candidates; 0 = any.",
	},
	{
		Name: "port_max", Type: "int", Default: "0",
		Doc: "Highest UDP port for host and server-reflexive candidates; 0 = any.",
	},
	{
		Name: "own_socket", Type: "bool", Default: "true",
		Doc: "Once ICE selects a direct pair, let QUIC read and write its UDP socket itself (batched I/O, path MTU discovery); false keeps QUIC over the ICE agent's conn, as relayed pairs always are.",
	},
}}

// config is the decoded, checked configuration.
type config struct {
	stunServers     []*stun.URI
	turnServers     []*stun.URI
	turnUsername    string
	turnPassword    string
	ipv4, ipv6      bool
	host            bool
	srflx           bool
	relay           bool
	includeLoopback bool
	interfaces      []string
	gatherTimeout   time.Duration
	sessionTimeout  time.Duration
	portMin         uint16
	portMax         uint16
	ownSocket       bool
}

func defaultConfig() config {
	return config{
		ipv4: true, ipv6: true,
		host: true, srflx: true, relay: true,
		gatherTimeout:  defaultGatherTimeout,
		sessionTimeout: defaultSessionTimeout,
		ownSocket:      true,
	}
}

// policy is the rule for the addresses of the peer's candidates.
func (c config) policy() addrPolicy {
	return addrPolicy{loopback: c.includeLoopback}
}

// parseConfig decodes the JSON object the host passes to Configure. Keys
// not in the schema and values of the wrong form are errors wrapping
// sdk.ErrInvalidConfig that name the key. Missing keys and JSON null take
// the default.
func parseConfig(raw []byte) (config, error) {
	c := defaultConfig()
	values, err := sdk.ConfigValues(Name, raw, schema)
	if err != nil {
		return c, err
	}
	var relayOnly bool
	portSet := false
	for _, f := range values {
		key, val := f.Name, f.Value
		var err error
		switch key {
		case "stun_servers":
			c.stunServers, err = parseServers(val, stun.SchemeTypeSTUN)
		case "turn_servers":
			c.turnServers, err = parseServers(val, stun.SchemeTypeTURN)
		case "turn_username":
			c.turnUsername, err = parseString(val)
		case "turn_password":
			c.turnPassword, err = parseString(val)
		case "network_types":
			var ss []string
			if ss, err = parseChoices(val, allNetworkTypes); err == nil {
				c.ipv4, c.ipv6 = slices.Contains(ss, "udp4"), slices.Contains(ss, "udp6")
			}
		case "candidate_types":
			var ss []string
			if ss, err = parseChoices(val, allCandidateTypes); err == nil {
				c.host, c.srflx, c.relay = slices.Contains(ss, "host"), slices.Contains(ss, "srflx"), slices.Contains(ss, "relay")
			}
		case "relay_only":
			relayOnly, err = parseBool(val)
		case "include_loopback":
			c.includeLoopback, err = parseBool(val)
		case "interfaces":
			c.interfaces, err = parseInterfaces(val)
		case "gather_timeout":
			c.gatherTimeout, err = sdk.ParseDuration(val, false)
		case "session_timeout":
			c.sessionTimeout, err = sdk.ParseDuration(val, false)
		case "own_socket":
			c.ownSocket, err = parseBool(val)
		case "port_min", "port_max":
			var p int
			if p, err = sdk.ParseInt(val, 0, 65535); err == nil {
				portSet = true
				if key == "port_min" {
					c.portMin = uint16(p)
				} else {
					c.portMax = uint16(p)
				}
			}
		}
		if err != nil {
			return c, fmt.Errorf("ice config: %s: %w: %w", key, sdk.ErrInvalidConfig, err)
		}
	}
	if relayOnly {
		c.host, c.srflx, c.relay = false, false, true
	}
	invalid := func(key, format string, args ...any) (config, error) {
		return c, fmt.Errorf("ice config: %s: %w: %s", key, sdk.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.turnServers) > 0 && c.turnUsername == "":
		return invalid("turn_username", "required with turn_servers")
	case len(c.turnServers) > 0 && c.turnPassword == "":
		return invalid("turn_password", "required with turn_servers")
	case relayOnly && len(c.turnServers) == 0:
		return invalid("relay_only", "needs turn_servers")
	case portSet && (c.portMin == 0) != (c.portMax == 0):
		return invalid("port_min", "set port_min and port_max together (%d, %d)", c.portMin, c.portMax)
	case c.portMin > c.portMax:
		return invalid("port_min", "%d is above port_max %d", c.portMin, c.portMax)
	}
	return c, nil
}

// parseServers checks a list of STUN or TURN URLs of one scheme.
func parseServers(val json.RawMessage, scheme stun.SchemeType) ([]*stun.URI, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	if len(ss) > maxServers {
		return nil, fmt.Errorf("%d servers, at most %d", len(ss), maxServers)
	}
	var out []*stun.URI
	for _, s := range ss {
		u, err := parseServer(s, scheme)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func parseServer(s string, scheme stun.SchemeType) (*stun.URI, error) {
	want := "stun:host:port"
	if scheme == stun.SchemeTypeTURN {
		want = "turn:host:port?transport=udp|tcp"
	}
	u, err := stun.ParseURI(s)
	if err != nil {
		return nil, fmt.Errorf("server %q: want %s: %w", s, want, err)
	}
	switch {
	case u.Scheme != scheme:
		return nil, fmt.Errorf("server %q: scheme %s, want %s (secure schemes are not supported)", s, u.Scheme, want)
	case u.Username != "" || u.Password != "":
		return nil, fmt.Errorf("server %q: credentials go in turn_username and turn_password, not in the URL", s)
	case !strings.Contains(s, ":"+fmt.Sprint(u.Port)):
		return nil, fmt.Errorf("server %q: write the port (want %s)", s, want)
	case scheme == stun.SchemeTypeTURN && !strings.Contains(s, "?transport="):
		return nil, fmt.Errorf("server %q: write the transport (want %s)", s, want)
	}
	return u, nil
}

func parseString(val json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", errors.New("want a string")
	}
	return s, nil
}

func parseBool(val json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(val, &b); err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

// parseChoices decodes a non-empty list of distinct words from allowed.
func parseChoices(val json.RawMessage, allowed []string) ([]string, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("want at least one of %s", strings.Join(allowed, ", "))
	}
	for i, s := range ss {
		if !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
		if slices.Contains(ss[:i], s) {
			return nil, fmt.Errorf("%q listed twice", s)
		}
	}
	return ss, nil
}

// parseInterfaces checks interface names against the interfaces present.
func parseInterfaces(val json.RawMessage) ([]string, error) {
	ss, err := sdk.ParseStrings(val)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s == "" {
			return nil, errors.New("empty interface name")
		}
		if _, err := net.InterfaceByName(s); err != nil {
			return nil, fmt.Errorf("no interface named %q here: %w", s, err)
		}
	}
	return ss, nil
}

// networks lists the UDP networks to use: "udp4", "udp6".
func (c config) networks() []string {
	var out []string
	if c.ipv4 {
		out = append(out, "udp4")
	}
	if c.ipv6 {
		out = append(out, "udp6")
	}
	return out
}
