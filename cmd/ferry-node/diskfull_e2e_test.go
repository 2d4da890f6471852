package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh folder and returns
// it; the test's cleanup unmounts it. It skips, saying why, where it
// cannot (not root, or no mount in this container).
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFull: the receive folder is a tmpfs too small for the file. For
// each protocol, the receiver's disk fills during the transfer; both sides
// say so (code no_space), the sender waits longer between tries instead of
// retrying at once (each wait double the last), and once room is made the
// transfer resumes from what the receiver holds and the file arrives
// intact (issue 18, item 3).
func TestDiskFull(t *testing.T) {
	bin := binDir(t)
	for _, proto := range []string{"ftv2a", "jsonchunk"} {
		t.Run(proto, func(t *testing.T) {
			resumed := diskFull(t, bin, proto, 24<<20)
			t.Logf("%s: the disk filled; resumed at %d MiB after room was made", proto, resumed>>20)
		})
	}
}

// diskFull sends size bytes over proto into a tmpfs with room for about
// two thirds of it, checks what both sides say and how the sender waits,
// makes room, and checks that the file arrives whole. It returns the
// offset the transfer resumed from.
func diskFull(t *testing.T, bin, proto string, size int64) (resumedAt int64) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, src, size, 77)
	dst := mountTmpfs(t, size+size/3)
	// Two thirds of size taken: the file cannot fit until it goes.
	filler := filepath.Join(dst, "filler")
	writeRandom(t, filler, size*2/3, 5)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	recv := startReceiver(t, b, dst, "--yes")
	send := a.start(nil, "send", src, "--to", idB, "--protocol", proto, "--json", "--retry-for", "2m")

	recv.waitEvent("the receiver's no_space error", 60*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventError && e.Code == node.CodeNoSpace && strings.Contains(e.Message, "disk of the receive folder is full")
	})
	var waits []string
	for len(waits) < 2 {
		e := send.waitEvent("the sender waiting for space", 60*time.Second, func(e node.Event) bool {
			return e.Kind == node.EventRetry || e.Kind == node.EventError
		})
		if e.Kind == node.EventError || e.Code != node.CodeNoSpace {
			t.Fatalf("sender: %s %q (code %q), want a retry with code no_space", e.Kind, e.Message, e.Code)
		}
		if !strings.Contains(e.Message, "receiver's disk is full") {
			t.Errorf("sender's retry says %q, want it to name the full disk", e.Message)
		}
		waits = append(waits, e.Message)
	}
	// Backoff, not a storm: the second wait is double the first.
	if !strings.Contains(waits[0], "waiting 2s") || !strings.Contains(waits[1], "waiting 4s") {
		t.Errorf("the sender's waits: %q, then %q; want 2s then 4s", waits[0], waits[1])
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	resumed := recv.waitEvent("the file resumed", 60*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventFile && e.Offset > 0
	})
	if err := send.wait(120 * time.Second); err != nil {
		t.Fatalf("send after room was made: %v\nstderr:\n%s", err, send.stderr.String())
	}
	got := treeHashes(t, dst)
	want := treeHashes(t, filepath.Dir(src))
	if got["big.bin"] != want["big.bin"] {
		t.Errorf("received %v, want big.bin %s", got, want["big.bin"])
	}
	return resumed.Offset
}
