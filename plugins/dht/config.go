package dht

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
)

// Defaults of the options.
const (
	// DefaultListen is where the node listens unless told otherwise:
	// loopback only, an ephemeral port. Production sets a reachable
	// address, such as /ip4/0.0.0.0/tcp/4001.
	DefaultListen = "/ip4/127.0.0.1/tcp/0"
	// DefaultProtocolPrefix keeps Ferry's DHT apart from every other one,
	// the public Amino DHT (/ipfs) above all.
	DefaultProtocolPrefix = "/ferry"
	// DefaultRecordTTL is how long a published record lives unrenewed.
	DefaultRecordTTL = time.Hour
	// DefaultLookupTimeout bounds one DHT lookup.
	DefaultLookupTimeout = 5 * time.Second
	// DefaultMaxConnections bounds the node's connections.
	DefaultMaxConnections = 256

	minRecordTTL      = time.Second
	minMaxConnections = 8
	maxMaxConnections = 65536
	maxAddrList       = 32
)

// schema lists the options Configure accepts.
var schema = sdk.ConfigSchema{Fields: []sdk.ConfigField{
	{
		Name: "listen", Type: "[]string", Default: `["` + DefaultListen + `"]`,
		Doc: "libp2p multiaddrs to listen on (TCP); the default stays on loopback, production sets e.g. /ip4/0.0.0.0/tcp/4001.",
	},
	{
		Name: "bootstrap", Type: "[]string", Default: "[]",
		Doc: "Multiaddrs of DHT peers to join through, each ending in /p2p/<peer id> (a comma-separated string also works); the only peers contacted unasked.",
	},
	{
		Name: "protocol_prefix", Type: "string", Default: DefaultProtocolPrefix,
		Doc: "Protocol prefix of the private DHT (<prefix>/kad/1.0.0) and of this plugin's streams; every node of one network must use the same; never /ipfs.",
	},
	{
		Name: "record_ttl", Type: "duration", Default: DefaultRecordTTL.String(),
		Doc: "How long this device's record lives unrenewed; it is published again every third of it (1s to 24h).",
	},
	{
		Name: "lookup_timeout", Type: "duration", Default: DefaultLookupTimeout.String(),
		Doc: "Longest time one DHT lookup (Lookup, or finding a peer to Send to) may take.",
	},
	{
		Name: "max_connections", Type: "int", Default: strconv.Itoa(DefaultMaxConnections),
		Doc: "Connections the node keeps at most: the connection manager trims above it and the resource manager refuses beyond twice it.",
	},
	{
		Name: "bootstrap_only", Type: "bool", Default: "false",
		Doc: "Serve only the DHT (a bootstrap node): no delegated key needed, no announcement or signaling; the libp2p key is kept in the state folder.",
	},
	{
		Name: "relay_service", Type: "bool", Default: "false",
		Doc: "Be a signaling relay (libp2p circuit relay v2, 1 MiB and 2 minutes per relayed connection) for nodes behind NAT; for nodes with a public address, such as bootstrap nodes.",
	},
	{
		Name: "use_relays", Type: "bool", Default: "true",
		Doc: "Reserve a slot on every bootstrap peer that is a signaling relay and publish the relayed addresses after the direct ones, so senders reach this node's signaling from behind another NAT.",
	},
	{
		Name: "client_mode", Type: "bool", Default: "false",
		Doc: "Take part in the DHT as a client: look up and publish, but serve no queries, so no node tries to reach this one for them; for nodes behind NAT.",
	},
	{
		Name: "publish_direct", Type: "bool", Default: "true",
		Doc: "Publish the node's direct libp2p addresses in its record; false behind a NAT that no peer can pass, so senders go straight to the relayed addresses.",
	},
}}

// config is the decoded, checked configuration.
type config struct {
	listen         []string
	bootstrap      []peer.AddrInfo
	bootstrapText  []string // as configured, for logs and errors
	prefix         protocol.ID
	recordTTL      time.Duration
	lookupTimeout  time.Duration
	maxConnections int
	bootstrapOnly  bool
	relayService   bool
	useRelays      bool
	publishDirect  bool
	clientMode     bool
}

func defaultConfig() config {
	return config{
		listen:         []string{DefaultListen},
		prefix:         DefaultProtocolPrefix,
		recordTTL:      DefaultRecordTTL,
		lookupTimeout:  DefaultLookupTimeout,
		maxConnections: DefaultMaxConnections,
		useRelays:      true,
		publishDirect:  true,
	}
}

// equal reports whether two configurations are the same.
func (c config) equal(o config) bool {
	return slices.Equal(c.listen, o.listen) && slices.Equal(c.bootstrapText, o.bootstrapText) && c.prefix == o.prefix &&
		c.recordTTL == o.recordTTL && c.lookupTimeout == o.lookupTimeout && c.maxConnections == o.maxConnections &&
		c.bootstrapOnly == o.bootstrapOnly && c.relayService == o.relayService && c.useRelays == o.useRelays &&
		c.publishDirect == o.publishDirect && c.clientMode == o.clientMode
}

// republishEvery is how often the record is signed and published again.
func (c config) republishEvery() time.Duration { return c.recordTTL / 3 }

// parseConfig decodes the JSON object the host passes to Configure. Keys
// not in the schema and values of the wrong form are errors wrapping
// sdk.ErrInvalidConfig that name the key. Missing keys and JSON null take
// the default.
func parseConfig(raw []byte) (config, error) {
	c := defaultConfig()
	err := lifecycle.DecodeConfig(Name, raw, schema, func(key string, val json.RawMessage) (err error) {
		switch key {
		case "listen":
			c.listen, err = parseListen(val)
		case "bootstrap":
			c.bootstrap, c.bootstrapText, err = parseBootstrap(val)
		case "protocol_prefix":
			c.prefix, err = parsePrefix(val)
		case "record_ttl":
			c.recordTTL, err = sdk.ParseDuration(val, false)
			if err == nil && (c.recordTTL < minRecordTTL || c.recordTTL > MaxRecordTTL) {
				err = fmt.Errorf("%v is not between %v and %v", c.recordTTL, minRecordTTL, MaxRecordTTL)
			}
		case "lookup_timeout":
			c.lookupTimeout, err = sdk.ParseDuration(val, false)
		case "max_connections":
			c.maxConnections, err = sdk.ParseInt(val, minMaxConnections, maxMaxConnections)
		case "bootstrap_only":
			err = json.Unmarshal(val, &c.bootstrapOnly)
		case "relay_service":
			err = json.Unmarshal(val, &c.relayService)
		case "use_relays":
			err = json.Unmarshal(val, &c.useRelays)
		case "publish_direct":
			err = json.Unmarshal(val, &c.publishDirect)
		case "client_mode":
			err = json.Unmarshal(val, &c.clientMode)
		}
		return err
	})
	if err != nil {
		return c, err
	}
	return c, nil
}

// parseStrings accepts a list of strings, or one string of comma-separated
// items (how an environment variable carries a list).
func parseStrings(val json.RawMessage) ([]string, error) {
	var ss []string
	if err := json.Unmarshal(val, &ss); err != nil {
		var s string
		if json.Unmarshal(val, &s) != nil {
			return nil, fmt.Errorf("want a list of strings or one comma-separated string: %w", err)
		}
		ss = strings.Split(s, ",")
	}
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > maxAddrList {
		return nil, fmt.Errorf("%d addresses, at most %d", len(out), maxAddrList)
	}
	return out, nil
}

func parseListen(val json.RawMessage) ([]string, error) {
	ss, err := parseStrings(val)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("want at least one address (the default is %s)", DefaultListen)
	}
	return ss, checkListen(ss)
}

// checkListen checks listen multiaddrs: TCP, no /p2p/ part.
func checkListen(ss []string) error {
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%q is not a multiaddr such as %s: %w", s, DefaultListen, err)
		}
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			return fmt.Errorf("%q: only TCP listen addresses are supported", s)
		}
		if _, id := peer.SplitAddr(a); id != "" {
			return fmt.Errorf("%q: a listen address has no /p2p/ part", s)
		}
	}
	return nil
}

// parseBootstrap parses multiaddrs that end in /p2p/<id>; addresses of the
// same peer are merged.
func parseBootstrap(val json.RawMessage) ([]peer.AddrInfo, []string, error) {
	ss, err := parseStrings(val)
	if err != nil {
		return nil, nil, err
	}
	infos, err := parseAddrInfos(ss)
	if err != nil {
		return nil, nil, err
	}
	return infos, ss, nil
}

// parseAddrInfos parses p2p multiaddrs, merging addresses of one peer.
func parseAddrInfos(ss []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a multiaddr: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address ending in /p2p/<peer id>, as `ferry dht bootstrap` prints: %w", s, err)
		}
		i := slices.IndexFunc(out, func(x peer.AddrInfo) bool { return x.ID == ai.ID })
		if i < 0 {
			out = append(out, *ai)
		} else {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
		}
	}
	return out, nil
}

func parsePrefix(val json.RawMessage) (protocol.ID, error) {
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", fmt.Errorf("want a string: %w", err)
	}
	return checkPrefix(s)
}

// checkPrefix refuses prefixes that would join a public network or make
// bad protocol IDs.
func checkPrefix(s string) (protocol.ID, error) {
	switch {
	case s == "":
		return DefaultProtocolPrefix, nil
	case !strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || len(s) > 64 || strings.ContainsAny(s, " \t\n"):
		return "", fmt.Errorf("%q: want a path such as %s, at most 64 characters", s, DefaultProtocolPrefix)
	case s == "/ipfs" || strings.HasPrefix(s, "/ipfs/"):
		return "", fmt.Errorf("%q is the public Amino DHT's; Ferry runs a private DHT", s)
	}
	return protocol.ID(s), nil
}
