package ftv2a

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	with := func(f func(*Config)) Config {
		c := def
		f(&c)
		return c
	}
	good := []struct {
		in   string
		want Config
	}{
		{``, def},
		{`null`, def},
		{`{}`, def},
		{`{"retries":null}`, def},
		{`{"retry_interval":"50ms","retries":3}`, with(func(c *Config) { c.RetryInterval, c.Retries = 50*time.Millisecond, 3 })},
		{`{"retry_interval":50000000}`, with(func(c *Config) { c.RetryInterval = 50 * time.Millisecond })},
		{`{"chunk_size":1048576,"commit_bytes":1,"commit_interval":"10ms"}`, with(func(c *Config) {
			c.ChunkSize, c.CommitBytes, c.CommitInterval = MaxDataLimit, 1, 10*time.Millisecond
		})},
	}
	for _, tc := range good {
		got, err := parseConfig([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("parseConfig(%s) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, mention string }{
		{`[]`, "JSON object"},
		{`{"retry":3}`, `"retry"`},
		{`{"retry_interval":"soon"}`, "retry_interval"},
		{`{"retry_interval":"0s"}`, "retry_interval"},
		{`{"retry_interval":"-1s"}`, "retry_interval"},
		{`{"retries":0}`, "retries"},
		{`{"retries":1.5}`, "retries"},
		{`{"retries":"3"}`, "retries"},
		{`{"chunk_size":1048577}`, "chunk_size"},
		{`{"chunk_size":0}`, "chunk_size"},
		{`{"commit_bytes":-1}`, "commit_bytes"},
		{`{"commit_interval":true}`, "commit_interval"},
	}
	for _, tc := range bad {
		_, err := parseConfig([]byte(tc.in))
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("parseConfig(%s) = %v, want an error wrapping sdk.ErrInvalidConfig naming %s", tc.in, err, tc.mention)
		}
	}
}

func TestSetConfig(t *testing.T) {
	p := New()
	if err := p.SetConfig(Config{ChunkSize: MaxDataLimit + 1}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("SetConfig with a chunk too large: %v, want sdk.ErrInvalidConfig", err)
	}
	if err := p.SetConfig(Config{Retries: -1}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Errorf("SetConfig with negative retries: %v, want sdk.ErrInvalidConfig", err)
	}
	if err := p.SetConfig(Config{RetryInterval: time.Millisecond}); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	got, _ := p.Config()
	want := DefaultConfig()
	want.RetryInterval = time.Millisecond
	if got != want {
		t.Errorf("config after SetConfig = %+v, want %+v", got, want)
	}
}
