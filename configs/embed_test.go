package configs_test

import (
	"bytes"
	"testing"

	"github.com/ferry-p2p/ferry/configs"
)

func TestEmbedded(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    []string // must appear
		notWant []string // must not appear
	}{
		{"Default", configs.Default, []string{"name: lan", "name: tcp", "name: ftv2a", `"0.0.0.0:0"`}, nil},
		// Loading and validation are tested in core/config; here only that
		// the loopback file keeps everything on the machine.
		{"Loopback", configs.Loopback, []string{"interfaces: [lo]", "broadcast_addresses: [127.255.255.255]", `listen: ["127.0.0.1:0"]`, `multicast_group: ""`},
			[]string{"0.0.0.0", "[::]", "239.255"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.data) == 0 {
				t.Fatal("empty")
			}
			for _, s := range tt.want {
				if !bytes.Contains(tt.data, []byte(s)) {
					t.Errorf("missing %q", s)
				}
			}
			for _, s := range tt.notWant {
				if bytes.Contains(tt.data, []byte(s)) {
					t.Errorf("contains %q", s)
				}
			}
		})
	}
}
