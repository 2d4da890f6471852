package lifecycle

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestMeta(t *testing.T) {
	closed := false
	d := Describe(sdk.Info{Name: "demo", Roles: []sdk.Role{sdk.RoleDiscovery}, Capabilities: []string{"x"}},
		sdk.ConfigSchema{Fields: []sdk.ConfigField{{Name: "port"}}}, func() bool { return closed })
	ctx := context.Background()
	info, err := d.Info(ctx)
	if err != nil || info.Name != "demo" || !slices.Equal(info.Capabilities, []string{"x"}) {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	info.Roles[0] = sdk.RoleProtocol
	if again, _ := d.Info(ctx); again.Roles[0] != sdk.RoleDiscovery {
		t.Error("Info returned its own Roles slice")
	}
	s, err := d.ConfigSchema(ctx)
	if err != nil || len(s.Fields) != 1 || s.Fields[0].Name != "port" {
		t.Fatalf("ConfigSchema = %+v, %v", s, err)
	}
	s.Fields[0].Name = "changed"
	if again, _ := d.ConfigSchema(ctx); again.Fields[0].Name != "port" {
		t.Error("ConfigSchema returned its own Fields slice")
	}
	closed = true
	if _, err := d.Info(ctx); !errors.Is(err, sdk.ErrClosed) || !strings.HasPrefix(err.Error(), "demo: info:") {
		t.Errorf("Info after close: %v, want demo: info: ... ErrClosed", err)
	}
	if _, err := d.ConfigSchema(ctx); !errors.Is(err, sdk.ErrClosed) || !strings.HasPrefix(err.Error(), "demo: config schema:") {
		t.Errorf("ConfigSchema after close: %v, want demo: config schema: ... ErrClosed", err)
	}
}

func TestCheckAPIVersion(t *testing.T) {
	for _, c := range []struct {
		v  int
		ok bool
	}{{0, true}, {sdk.APIVersion, true}, {sdk.APIVersion + 1, false}, {-1, false}} {
		err := CheckAPIVersion("demo", c.v)
		if c.ok != (err == nil) || (!c.ok && (!errors.Is(err, sdk.ErrUnsupported) || !strings.HasPrefix(err.Error(), "demo: configure:"))) {
			t.Errorf("CheckAPIVersion(%d) = %v, want ok %v (else ErrUnsupported, prefixed)", c.v, err, c.ok)
		}
	}
}

func TestParseConfig(t *testing.T) {
	parse := func(raw []byte) (string, error) { return string(raw), nil }
	if got, err := ParseConfig("demo", sdk.ConfigureRequest{APIVersion: sdk.APIVersion, Config: []byte("{}")}, parse); err != nil || got != "{}" {
		t.Errorf("ParseConfig = %q, %v; want what parse made", got, err)
	}
	called := false
	_, err := ParseConfig("demo", sdk.ConfigureRequest{APIVersion: sdk.APIVersion + 1}, func([]byte) (string, error) {
		called = true
		return "", nil
	})
	if !errors.Is(err, sdk.ErrUnsupported) || called {
		t.Errorf("ParseConfig with another API version: %v (parse called: %v), want ErrUnsupported before parsing", err, called)
	}
}

func TestCheckDelegation(t *testing.T) {
	now := time.Now()
	_, device, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	self, _ := sdk.PeerIDFromKey(device.Public().(ed25519.PublicKey))
	del := func(issuer ed25519.PrivateKey, ttl time.Duration) *sdk.Delegation {
		d, err := sdk.NewDelegation(issuer, ttl, now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := del(device, time.Hour)
	swapped := *del(device, time.Hour)
	swapped.Key = del(device, time.Hour).Key
	short := *good
	short.Key = short.Key[:10]
	for _, c := range []struct {
		name string
		req  sdk.ConfigureRequest
		want string // in the error; "" for none
	}{
		{"usable", sdk.ConfigureRequest{Self: self, Delegation: good}, ""},
		{"no self", sdk.ConfigureRequest{Delegation: good}, "demo: configure: no self peer ID"},
		{"no delegation", sdk.ConfigureRequest{Self: self}, "demo: configure: demo needs a key"},
		{"short key", sdk.ConfigureRequest{Self: self, Delegation: &short}, "delegated key of 10 bytes"},
		{"another device's", sdk.ConfigureRequest{Self: self, Delegation: del(other, time.Hour)}, "was issued by"},
		{"key not certified", sdk.ConfigureRequest{Self: self, Delegation: &swapped}, "does not match its certificate"},
		{"expired", sdk.ConfigureRequest{Self: self, Delegation: del(device, -time.Hour)}, "demo: configure: delegation:"},
	} {
		err := CheckDelegation("demo", "demo needs a key", c.req, now)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", c.name, err)
		case c.want != "" && (!errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want ErrInvalidConfig saying %q", c.name, err, c.want)
		}
	}
}

func TestWait(t *testing.T) {
	var wg sync.WaitGroup
	if err := Wait(context.Background(), &wg); err != nil {
		t.Errorf("Wait with nothing running: %v", err)
	}
	wg.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := Wait(ctx, &wg); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for a goroutine that does not end: %v, want DeadlineExceeded", err)
	}
	wg.Done()
}

func TestDecodeConfig(t *testing.T) {
	schema := sdk.ConfigSchema{Fields: []sdk.ConfigField{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	var seen []string
	set := func(key string, val json.RawMessage) error {
		seen = append(seen, key+"="+string(val))
		if key == "c" {
			return errors.New("c is wrong")
		}
		return nil
	}
	if err := DecodeConfig("demo", []byte(`{"b": 2, "a": 1, "c": null}`), schema, set); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"a=1", "b=2"}) {
		t.Errorf("set saw %q, want a then b (schema order), not the null c", seen)
	}
	err := DecodeConfig("demo", []byte(`{"c": 3}`), schema, set)
	if !errors.Is(err, sdk.ErrInvalidConfig) || err.Error() != "demo config: c: invalid config: c is wrong" {
		t.Errorf("a value set refuses: %v, want it named and wrapping ErrInvalidConfig", err)
	}
	seen = nil
	if err := DecodeConfig("demo", []byte(`{"d": 1}`), schema, set); !errors.Is(err, sdk.ErrInvalidConfig) || len(seen) != 0 {
		t.Errorf("an unknown key: %v (set saw %q), want ErrInvalidConfig before any set", err, seen)
	}
}

func TestInvalidConfig(t *testing.T) {
	if err := InvalidConfig("demo", nil); err != nil {
		t.Errorf("InvalidConfig(nil) = %v, want nil", err)
	}
	cause := errors.New("window: 0, want 1 to 64")
	err := InvalidConfig("demo", cause)
	if !errors.Is(err, sdk.ErrInvalidConfig) || !errors.Is(err, cause) || err.Error() != "demo config: invalid config: window: 0, want 1 to 64" {
		t.Errorf("InvalidConfig = %v, want it named, wrapping ErrInvalidConfig and the cause", err)
	}
}
