package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// iceLoopbackConfig returns configs/ice-loopback.yaml with the LAN port and
// timings changed as loopbackConfig changes loopback.yaml's.
func iceLoopbackConfig(t *testing.T) string {
	t.Helper()
	_ = loopbackConfig(t) // picks this binary's LAN port
	root, _ := filepath.Abs("../..")
	data, err := os.ReadFile(filepath.Join(root, "configs", "ice-loopback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"port: 41771", "announce_interval: 5s", "peer_timeout: 20s", "transports: [ice]"} {
		if !bytes.Contains(data, []byte(s)) {
			t.Fatalf("configs/ice-loopback.yaml no longer contains %q; update this test", s)
		}
	}
	data = bytes.Replace(data, []byte("port: 41771"), []byte(fmt.Sprintf("port: %d", lanPort)), 1)
	data = bytes.ReplaceAll(data, []byte("announce_interval: 5s"), []byte("announce_interval: 1s"))
	data = bytes.ReplaceAll(data, []byte("peer_timeout: 20s"), []byte("peer_timeout: 5s"))
	p := filepath.Join(t.TempDir(), "ice-loopback.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestICETransfer: two ferry processes whose only transport is the
// external ice plugin (host candidates on 127.0.0.1) send an 8 MiB file;
// it arrives with the same hash, and both sides' "connected" state event
// names the ice transport and why.
func TestICETransfer(t *testing.T) {
	bin := binDir(t)
	if _, err := os.Stat(filepath.Join(bin, "plugins", "ice")); err != nil {
		t.Fatalf("no ice plugin in %s/plugins (run make build): %v", bin, err)
	}
	env := "FERRY_CONFIG=" + iceLoopbackConfig(t)
	a, b := newNode(t, bin, env), newNode(t, bin, env)
	idB := b.id()
	src := filepath.Join(t.TempDir(), "over-ice.bin")
	writeRandom(t, src, 8<<20, 81)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")

	send := a.start(nil, "send", src, "--to", idB, "--json")
	connected := func(e node.Event) bool { return e.Kind == node.EventState && e.State == "connected" }
	for side, p := range map[string]*proc{"sender": send, "receiver": recv} {
		e := p.waitEvent(side+"'s connected state", 60*time.Second, connected)
		if e.Transport != "ice" {
			t.Errorf("%s connected over %q (%s), want ice", side, e.Transport, e.Message)
		}
		if e.Message == "" {
			t.Errorf("%s's connected event does not say why", side)
		}
		t.Logf("%s: connected over %s: %s", side, e.Transport, e.Message)
	}
	if err := send.wait(90 * time.Second); err != nil {
		t.Fatalf("send over ice: %v\nsender:\n%s\nreceiver:\n%s", err, send.stderr.String(), recv.stderr.String())
	}
	sameTree(t, filepath.Dir(src), dst)
	if logs := send.stderr.String() + recv.stderr.String(); strings.Contains(logs, "plugin=tcp") {
		t.Errorf("the tcp plugin ran although the config uses ice only")
	}
}
