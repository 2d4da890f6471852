package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestSourceChanged: the file being sent is truncated in the middle of the
// send. Resuming cannot help, so the sender stops at once with code
// source_changed, long before its --retry-for, for each protocol (issue
// 18, item 3).
func TestSourceChanged(t *testing.T) {
	bin := binDir(t)
	const size = 128 << 20
	for _, proto := range []string{"ftv2a", "jsonchunk"} {
		t.Run(proto, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "shrinks.bin")
			writeRandom(t, src, size, 81)
			a, b := newNode(t, bin), newNode(t, bin)
			idB := b.id()
			dst := t.TempDir()
			startReceiver(t, b, dst, "--yes")
			send := a.start(nil, "send", src, "--to", idB, "--protocol", proto, "--json", "--retry-for", "10m")
			waitPart(t, dst, "shrinks.bin", size/8, 60*time.Second)
			if err := os.Truncate(src, size/4); err != nil {
				t.Fatal(err)
			}
			e := send.waitEvent("the sender's error", 120*time.Second, func(e node.Event) bool { return e.Kind == node.EventError })
			if e.Code != node.CodeChanged || !strings.Contains(e.Message, "changed") {
				t.Errorf("sender's error: %q (code %q), want code %q naming the change", e.Message, e.Code, node.CodeChanged)
			}
			if err := send.wait(30 * time.Second); err == nil {
				t.Error("the send exited 0")
			}
		})
	}
}
