package dht

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

const testBoot = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWMSUSHtUhFNxz37jZAGr8RorpZWS2iurvVvoeJfCLWj1C"

func TestParseConfigDefaults(t *testing.T) {
	for _, raw := range []string{"", "null", "{}", `{"listen": null, "bootstrap": null, "record_ttl": null}`} {
		c, err := parseConfig([]byte(raw))
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", raw, err)
		}
		if !c.equal(defaultConfig()) || c.prefix != "/ferry" || c.recordTTL != time.Hour || c.lookupTimeout != 5*time.Second ||
			c.maxConnections != 256 || !slices.Equal(c.listen, []string{"/ip4/127.0.0.1/tcp/0"}) || len(c.bootstrap) != 0 || c.bootstrapOnly {
			t.Fatalf("parseConfig(%q) = %+v", raw, c)
		}
	}
	c, err := parseConfig([]byte(`{"listen": ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"], "bootstrap": ["` + testBoot + `"],
		"protocol_prefix": "/ferry-test", "record_ttl": "10m", "lookup_timeout": 2000000000, "max_connections": 64, "bootstrap_only": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.listen) != 2 || len(c.bootstrap) != 1 || c.bootstrap[0].ID.String() != "12D3KooWMSUSHtUhFNxz37jZAGr8RorpZWS2iurvVvoeJfCLWj1C" ||
		c.prefix != "/ferry-test" || c.recordTTL != 10*time.Minute || c.lookupTimeout != 2*time.Second || c.maxConnections != 64 || !c.bootstrapOnly {
		t.Fatalf("parsed %+v", c)
	}
	if c.republishEvery() != 200*time.Second {
		t.Fatalf("republish every %v", c.republishEvery())
	}
}

// TestParseConfigBootstrapString checks that bootstrap takes one
// comma-separated string too, as FERRY_DHT_BOOTSTRAP carries it, and that
// addresses of one peer merge.
func TestParseConfigBootstrapString(t *testing.T) {
	other := strings.Replace(testBoot, "tcp/4001", "tcp/4002", 1)
	c, err := parseConfig([]byte(`{"bootstrap": " ` + testBoot + `, ` + other + `,,"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bootstrap) != 1 || len(c.bootstrap[0].Addrs) != 2 || len(c.bootstrapText) != 2 {
		t.Fatalf("bootstrap %v (%v)", c.bootstrap, c.bootstrapText)
	}
	c, err = parseConfig([]byte(`{"bootstrap": ""}`))
	if err != nil || len(c.bootstrap) != 0 {
		t.Fatalf("empty bootstrap string: %v, %v", c.bootstrap, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`[]`, "JSON object"},
		{`{"bootstrapp": []}`, `unknown key "bootstrapp"`},
		{`{"listen": []}`, "at least one"},
		{`{"listen": ["nonsense"]}`, "not a multiaddr"},
		{`{"listen": ["/ip4/127.0.0.1/udp/0/quic-v1"]}`, "only TCP"},
		{`{"listen": ["` + testBoot + `"]}`, "no /p2p/"},
		{`{"listen": 5}`, "listen"},
		{`{"bootstrap": ["/ip4/127.0.0.1/tcp/4001"]}`, "/p2p/"},
		{`{"bootstrap": [1]}`, "bootstrap"},
		{`{"protocol_prefix": "/ipfs"}`, "Amino"},
		{`{"protocol_prefix": "ferry"}`, "protocol_prefix"},
		{`{"protocol_prefix": "/ferry/"}`, "protocol_prefix"},
		{`{"record_ttl": "0s"}`, "record_ttl"},
		{`{"record_ttl": "100ms"}`, "record_ttl"},
		{`{"record_ttl": "48h"}`, "record_ttl"},
		{`{"lookup_timeout": "-1s"}`, "lookup_timeout"},
		{`{"lookup_timeout": "soon"}`, "lookup_timeout"},
		{`{"max_connections": 0}`, "max_connections"},
		{`{"max_connections": "many"}`, "max_connections"},
		{`{"bootstrap_only": "yes"}`, "bootstrap_only"},
		{`{"relay_service": 1}`, "relay_service"},
		{`{"use_relays": "no"}`, "use_relays"},
		{`{"publish_direct": null, "use_relays": []}`, "use_relays"},
	} {
		_, err := parseConfig([]byte(c.raw))
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseConfig(%s): %v, want sdk.ErrInvalidConfig mentioning %q", c.raw, err, c.want)
		}
	}
}

// TestSchemaMatchesDefaults checks that every schema field is parsed and
// that the documented defaults are the ones applied.
func TestSchemaMatchesDefaults(t *testing.T) {
	want := map[string]string{
		"listen": `["/ip4/127.0.0.1/tcp/0"]`, "bootstrap": "[]", "protocol_prefix": "/ferry", "record_ttl": "1h0m0s",
		"lookup_timeout": "5s", "max_connections": "256", "bootstrap_only": "false",
		"relay_service": "false", "use_relays": "true", "publish_direct": "true", "client_mode": "false",
	}
	if len(schema.Fields) != len(want) {
		t.Fatalf("%d fields, want %d", len(schema.Fields), len(want))
	}
	for _, f := range schema.Fields {
		if want[f.Name] != f.Default || f.Doc == "" || f.Type == "" {
			t.Errorf("field %+v, want default %q and a doc", f, want[f.Name])
		}
	}
}
