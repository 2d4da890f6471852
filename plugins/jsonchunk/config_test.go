package jsonchunk

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
		{`{"window":null}`, def},
		{`{"mode":"strict","strict_chunk_size":1024}`, with(func(c *Config) { c.Mode, c.StrictChunkSize = ModeStrict, 1024 })},
		{`{"mode":"fast","chunk_size":16777216,"window":1024}`, with(func(c *Config) { c.ChunkSize, c.Window = MaxChunkSize, MaxWindow })},
		{`{"retry_interval":"50ms","retries":3,"ack_timeout":"2s","verify_wait":1000000}`, with(func(c *Config) {
			c.RetryInterval, c.Retries, c.AckTimeout, c.VerifyWait = 50*time.Millisecond, 3, 2*time.Second, time.Millisecond
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
		{`{"chunk":3}`, `"chunk"`},
		{`{"mode":"quick"}`, "mode"},
		{`{"mode":1}`, "mode"},
		{`{"chunk_size":16777217}`, "chunk_size"},
		{`{"chunk_size":0}`, "chunk_size"},
		{`{"strict_chunk_size":8388609}`, "strict_chunk_size"},
		{`{"window":0}`, "window"},
		{`{"window":1025}`, "window"},
		{`{"window":2.5}`, "window"},
		{`{"retry_interval":"soon"}`, "retry_interval"},
		{`{"retry_interval":"0s"}`, "retry_interval"},
		{`{"retries":0}`, "retries"},
		{`{"retries":"3"}`, "retries"},
		{`{"ack_timeout":"-1s"}`, "ack_timeout"},
		{`{"verify_wait":true}`, "verify_wait"},
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
	for _, c := range []Config{{ChunkSize: MaxChunkSize + 1}, {Retries: -1}, {Mode: "slow"}, {Window: -1}, {StrictChunkSize: MaxStrictChunkSize + 1}} {
		if err := p.SetConfig(c); !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("SetConfig(%+v): %v, want sdk.ErrInvalidConfig", c, err)
		}
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
