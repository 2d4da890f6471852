package sdk

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in     string
		zeroOK bool
		want   time.Duration
		ok     bool
	}{
		{`"250ms"`, false, 250 * time.Millisecond, true},
		{`5000000000`, false, 5 * time.Second, true},
		{`"0s"`, true, 0, true},
		{`"0s"`, false, 0, false},
		{`"-1s"`, true, 0, false},
		{`1.5`, false, 0, false},
		{`"soon"`, false, 0, false},
		{`true`, false, 0, false},
		{`1e300`, false, 0, false},
	}
	for _, c := range cases {
		got, err := ParseDuration(json.RawMessage(c.in), c.zeroOK)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%s, %v) = %v, %v; want %v, ok=%v", c.in, c.zeroOK, got, err, c.want, c.ok)
		}
	}
}

func TestConfigValues(t *testing.T) {
	schema := ConfigSchema{Fields: []ConfigField{{Name: "port"}, {Name: "listen"}, {Name: "mode"}}}
	cases := []struct {
		in      string
		want    []string // names set, in schema order
		wantErr string
	}{
		{``, nil, ""},
		{`null`, nil, ""},
		{`{}`, nil, ""},
		{`{"mode": "x", "port": 1, "listen": null}`, []string{"port", "mode"}, ""},
		{`[1]`, nil, "want a JSON object"},
		{`{"port": 1, "prot": 2, "alpha": 3}`, nil, `unknown key "alpha" (known: port, listen, mode)`},
	}
	for _, c := range cases {
		got, err := ConfigValues("demo", []byte(c.in), schema)
		if c.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "demo config: ") {
				t.Errorf("ConfigValues(%s) error = %v, want one wrapping ErrInvalidConfig containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		var names []string
		for _, v := range got {
			names = append(names, v.Name)
		}
		if err != nil || !slices.Equal(names, c.want) {
			t.Errorf("ConfigValues(%s) = %v, %v; want %v", c.in, names, err, c.want)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{{`5`, 5, true}, {`1`, 1, true}, {`10`, 10, true}, {`0`, 0, false}, {`11`, 0, false}, {`2.5`, 0, false}, {`"5"`, 0, false}} {
		got, err := ParseInt(json.RawMessage(c.in), 1, 10)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseInt(%s, 1, 10) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	if ss, err := ParseStrings(json.RawMessage(`["a","b"]`)); err != nil || !slices.Equal(ss, []string{"a", "b"}) {
		t.Errorf("ParseStrings = %v, %v", ss, err)
	}
	if _, err := ParseStrings(json.RawMessage(`"a"`)); err == nil {
		t.Error("ParseStrings accepted a string")
	}
}
