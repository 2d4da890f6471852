package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestStatusConfirmed: the sender is killed in the middle of a transfer;
// its `ferry status` then shows no more than the receiver's holds, for
// each protocol: what the receiver confirmed, never what was only written
// to the stream (issue 18, item 6). jsonchunk acknowledges every durable
// chunk, so its sender knows of some; ftv2a confirms a file only whole,
// so its sender claims nothing of the first connection's file.
func TestStatusConfirmed(t *testing.T) {
	bin := binDir(t)
	const size = 128 << 20
	src := filepath.Join(t.TempDir(), "st.bin")
	writeRandom(t, src, size, 71)
	for _, proto := range []string{"ftv2a", "jsonchunk"} {
		t.Run(proto, func(t *testing.T) {
			a, b := newNode(t, bin), newNode(t, bin)
			idB := b.id()
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			send := a.start(nil, "send", src, "--to", idB, "--protocol", proto, "--json")
			waitPart(t, dst, "st.bin", size/2, 60*time.Second)
			if err := send.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = send.wait(10 * time.Second)
			recv.waitEvent("the receiver noticing the cut", 60*time.Second, func(e node.Event) bool { return e.Kind == node.EventError })
			sentLine, heldLine := statusOf(t, a, "send"), statusOf(t, b, "receive")
			sent, held := sentLine.Done, heldLine.Done
			// Both sides say which connection the transfer last ran on.
			for _, l := range []statusLine{sentLine, heldLine} {
				if l.Transport != "tcp" {
					t.Errorf("%s side: status gives transport %q, want tcp (the only one configured)", l.Direction, l.Transport)
				}
			}
			t.Logf("%s: the sender's status says %d MiB, the receiver holds %d MiB", proto, sent>>20, held>>20)
			if sent > held {
				t.Errorf("the sender's status says %d bytes, more than the %d the receiver holds", sent, held)
			}
			if proto == "ftv2a" && sent != 0 {
				t.Errorf("the sender's status says %d bytes of a file ftv2a never confirmed (it resumes from 0)", sent)
			}
			if proto == "jsonchunk" && sent == 0 {
				t.Errorf("the sender's status says nothing of the %d bytes the receiver acknowledged", held)
			}
		})
	}
}

// statusOf returns the line `ferry status --json` on p gives for its one
// unfinished transfer in direction dir.
func statusOf(t *testing.T, p *testPeer, dir string) statusLine {
	t.Helper()
	out, errs, err := p.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errs)
	}
	for _, l := range decodeLines[statusLine](t, out) {
		if l.Direction == dir {
			return l
		}
	}
	t.Fatalf("status --json lists no %s transfer:\n%s", dir, out)
	return statusLine{}
}
