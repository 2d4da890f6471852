package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestSeveralReceivers: `ferry send --to B --to C --to D`, one offer naming
// all three. B and C accept, D refuses; C is killed mid-transfer. B gets
// the file whole all the same; the send exits non-zero and its summary
// names D's refusal and C's failure; `ferry resume` then completes C from
// its journal (the file resumes past its start).
func TestSeveralReceivers(t *testing.T) {
	bin := binDir(t)
	a, b, c, d := newNode(t, bin), newNode(t, bin), newNode(t, bin), newNode(t, bin)
	idB, idC, idD := b.id(), c.id(), d.id()
	src := filepath.Join(t.TempDir(), "big.bin")
	const size = 160 << 20
	writeRandom(t, src, size, 11)
	dstB, dstC, dstD := t.TempDir(), t.TempDir(), t.TempDir()
	startReceiver(t, b, dstB, "--yes")
	recvC := startReceiver(t, c, dstC, "--yes")
	in, typed := io.Pipe()
	recvD := d.start(in, "receive", "--json", "--dir", dstD)
	t.Cleanup(func() { _ = typed.Close() })

	send := a.start(nil, "send", src, "--to", idB, "--to", idC, "--to", idD, "--json", "--retry-for", "5s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sender stderr:\n%s", send.stderr.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(recvD.stderr.String(), promptChoices) {
		if time.Now().After(deadline) {
			t.Fatalf("D was not asked:\n%s", recvD.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(typed, "n\n"); err != nil {
		t.Fatal(err)
	}
	recvC.waitEvent("C past 20%", 90*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventProgress && e.Bytes > size/5
	})
	if err := recvC.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = recvC.wait(10 * time.Second)

	err := send.wait(180 * time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("send with a refusal and a killed receiver exited %v, want status 1", err)
	}
	summary := send.stderr.String()
	if !contains(summary, "2 of 3 receivers did not verify every file", "refused", "declined") {
		t.Errorf("the summary does not name D's refusal:\n%s", summary)
	}
	if got, want := treeHashes(t, dstB), treeHashes(t, filepath.Dir(src)); got["big.bin"] != want["big.bin"] {
		t.Errorf("B has %v, want big.bin whole", got)
	}
	if got := treeHashes(t, dstD); len(got) != 0 {
		t.Errorf("D refused and holds %v", got)
	}

	// C comes back; `ferry resume` sends it the rest.
	recvC2 := startReceiver(t, c, dstC, "--yes")
	if _, errs, err := a.run("resume"); err != nil {
		t.Fatalf("resume: %v\n%s", err, errs)
	}
	resumed := recvC2.waitEvent("C's file resumed", 30*time.Second, func(e node.Event) bool { return e.Kind == node.EventFile })
	if resumed.Offset <= 0 {
		t.Errorf("C's file resumed at offset %d, want > 0 (from its journal)", resumed.Offset)
	}
	if got, want := treeHashes(t, dstC), treeHashes(t, filepath.Dir(src)); got["big.bin"] != want["big.bin"] || len(got) != 1 {
		t.Errorf("C has %v after resume, want big.bin whole", got)
	}
	_ = os.Remove(src)
}
