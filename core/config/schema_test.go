package config

import (
	"reflect"
	"testing"
)

func TestKeys(t *testing.T) {
	want := []string{
		"device.name", "log.level", "log.format", "plugins.dir", "plugins.lock_file",
		"discovery", "signaling", "transports", "protocols", "transfer.dir", "transfer.auto_accept",
		"connect.stagger", "connect.fallback",
	}
	if got := Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
}

func TestEnvAndFlagNames(t *testing.T) {
	tests := []struct{ key, env, flag string }{
		{"log.level", "FERRY_LOG_LEVEL", "log-level"},
		{"device.name", "FERRY_DEVICE_NAME", "device-name"},
		{"plugins.dir", "FERRY_PLUGINS_DIR", "plugins-dir"},
		{"plugins.lock_file", "FERRY_PLUGINS_LOCK_FILE", "plugins-lock-file"},
		{"transfer.auto_accept", "FERRY_TRANSFER_AUTO_ACCEPT", "transfer-auto-accept"},
		{"transports", "FERRY_TRANSPORTS", "transports"},
	}
	for _, tt := range tests {
		if got := EnvName(tt.key); got != tt.env {
			t.Errorf("EnvName(%q) = %q, want %q", tt.key, got, tt.env)
		}
		if got := FlagName(tt.key); got != tt.flag {
			t.Errorf("FlagName(%q) = %q, want %q", tt.key, got, tt.flag)
		}
	}
}

func TestParentKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plugins.instances[0].sha256", "plugins.instances[0]"},
		{"plugins.instances[0]", "plugins.instances"},
		{"plugins.instances", "plugins"},
		{"plugins", ""},
	}
	for _, tt := range tests {
		if got := parentKey(tt.in); got != tt.want {
			t.Errorf("parentKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		k       kind
		in      string
		want    any
		problem bool
	}{
		{kindString, "a,b", "a,b", false},
		{kindStrings, " a, b ,,c ", []any{"a", "b", "c"}, false},
		{kindStrings, ",", []any{}, false},
		{kindBool, "true", true, false},
		{kindBool, "0", false, false},
		{kindBool, "yes", nil, true},
	}
	for _, tt := range tests {
		got, problem := parseText(tt.k, tt.in)
		if !reflect.DeepEqual(got, tt.want) || (problem != "") != tt.problem {
			t.Errorf("parseText(%d, %q) = %#v, %q", tt.k, tt.in, got, problem)
		}
	}
}
