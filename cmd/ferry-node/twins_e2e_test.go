package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDuplicateIdentity: two receivers run one identity (a copied
// FERRY_HOME's key) on the LAN. Both warn that another process announces
// their ID, naming its address; the sender warns of one ID at two
// addresses. A transfer cut while the first receiver held it resumes on
// that receiver, which holds its journal (the resumed ASK goes to its
// instance), and the other ends with nothing of it (issue 18, item 5).
func TestDuplicateIdentity(t *testing.T) {
	bin := binDir(t)
	a, b1, b2 := newNode(t, bin), newNode(t, bin), newNode(t, bin)
	idB := b1.id()
	key, err := os.ReadFile(filepath.Join(b1.home, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b2.home, "device.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := b2.id(); got != idB {
		t.Fatalf("the copied key gives %s, want %s", got, idB)
	}
	const size = 96 << 20
	src := filepath.Join(t.TempDir(), "dup.bin")
	writeRandom(t, src, size, 61)
	dst1, dst2 := t.TempDir(), t.TempDir()

	recv1 := startReceiver(t, b1, dst1, "--yes")
	send := a.start(nil, "send", src, "--to", idB, "--protocol", "ftv2a", "--json", "--retry-for", "120s")
	waitPart(t, dst1, "dup.bin", size/4, 60*time.Second)
	if err := send.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = send.wait(10 * time.Second)
	held, ok := partSize(t, dst1, "dup.bin")
	if !ok {
		t.Fatal("the first receiver holds no part file after the cut")
	}

	recv2 := startReceiver(t, b2, dst2, "--yes")
	const twin = "another process announces this device's ID"
	for _, r := range []*proc{recv1, recv2} {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(r.stderr.String(), twin) {
			if time.Now().After(deadline) {
				t.Fatalf("a receiver did not warn of its twin within 20s:\n%s", r.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(r.stderr.String(), "other_address=127.0.0.1:") {
			t.Errorf("the warning does not name the other address:\n%s", r.stderr.String())
		}
	}

	out, errOut, err := a.run("send", src, "--to", idB, "--protocol", "ftv2a", "--retry-for", "120s")
	if err != nil {
		t.Fatalf("resumed send: %v\n%s\n%s\nreceiver 1:\n%s\nreceiver 2:\n%s", err, out, errOut, recv1.stderr.String(), recv2.stderr.String())
	}
	got := treeHashes(t, dst1)
	want := treeHashes(t, filepath.Dir(src))
	if got["dup.bin"] != want["dup.bin"] {
		t.Errorf("the holder of the journal has %v, want dup.bin %s", keys(got), want["dup.bin"])
	}
	if left := treeHashes(t, dst2); len(left) != 0 {
		t.Errorf("the other instance holds %v, want nothing", keys(left))
	}
	if parts, _ := filepath.Glob(filepath.Join(dst2, ".*.ferry-part")); len(parts) != 0 {
		t.Errorf("the other instance holds part files %v", parts)
	}
	if !strings.Contains(out, "resuming") && !strings.Contains(errOut, "resuming") {
		t.Logf("sender output:\n%s\n%s", out, errOut)
	}
	t.Logf("cut at %d MiB on the first receiver; the resume completed there; the other instance answered 'held elsewhere' %d times",
		held>>20, strings.Count(recv2.stderr.String(), "not taking it up here"))
	// A device watching the LAN for a few announcements (each instance
	// announces every second here) sees the two take turns, and warns.
	_, peersErr, err := a.run("peers", "--wait", "4s")
	if err != nil {
		t.Fatalf("ferry peers: %v\n%s", err, peersErr)
	}
	if !strings.Contains(peersErr, "announced by two instances") || !strings.Contains(peersErr, "other_address=") {
		t.Errorf("the sending device did not warn of one ID at two addresses:\n%s", peersErr)
	}
}
