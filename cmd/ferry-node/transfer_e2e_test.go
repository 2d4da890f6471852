package main

import (
	"encoding/json"
	"errors"
	"fmt"
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

// receiver starts `ferry receive --yes --json` into a fresh folder and
// waits until the sender's node can see it.
func startReceiver(t *testing.T, n *testPeer, dir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"receive", "--json", "--dir", dir}, extra...)
	return n.start(nil, args...)
}

// TestSendFileAndFolder: two peers with separate homes find each other by
// LAN broadcast on loopback; a 50 MiB file and a folder of 200 small files
// arrive with matching hashes, and the sender exits 0 only after that.
func TestSendFileAndFolder(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := t.TempDir()
	writeRandom(t, filepath.Join(src, "big.bin"), 50<<20, 1)
	for i := range 200 {
		sub := ""
		if i%3 == 0 {
			sub = "sub/"
		}
		writeRandom(t, filepath.Join(src, "folder", fmt.Sprintf("%sf%03d.txt", sub, i)), int64(i*37%4096), uint64(i+2))
	}
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")

	out, errs, err := a.run("send", filepath.Join(src, "big.bin"), filepath.Join(src, "folder"), "--to", idB[:8], "--json")
	if err != nil {
		t.Fatalf("send: %v\nstdout:\n%s\nstderr:\n%s\nreceiver:\n%s", err, out, errs, recv.stderr.String())
	}
	if !strings.Contains(out, `"event":"done"`) {
		t.Errorf("sender printed no done event:\n%s", out)
	}
	want := treeHashes(t, src)
	got := treeHashes(t, dst)
	if len(got) != len(want) {
		t.Errorf("receiver has %d files, sender sent %d", len(got), len(want))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: receiver hash %q, sender %q", name, got[name], h)
		}
	}
}

// TestRefusedLeavesNothing: the receiver declines; the sender sees REFUSE
// and fails; nothing is written on the receiver's side.
func TestRefusedLeavesNothing(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := t.TempDir()
	writeRandom(t, filepath.Join(src, "secret.bin"), 1<<20, 3)
	dst := t.TempDir()
	in, typed := io.Pipe()
	recv := b.start(in, "receive", "--json", "--dir", dst)
	t.Cleanup(func() { _ = typed.Close() }) // before the receiver's cleanup, which waits for its stdin
	go func() {
		// Answer n once asked: what is typed before is ignored.
		for deadline := time.Now().Add(time.Minute); !strings.Contains(recv.stderr.String(), promptChoices); {
			if time.Now().After(deadline) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, _ = io.WriteString(typed, "n\n")
	}()
	out, errs, err := a.run("send", filepath.Join(src, "secret.bin"), "--to", idB, "--json")
	if err == nil {
		t.Fatalf("send of a refused transfer exited 0:\n%s", out)
	}
	if !strings.Contains(errs, "REFUSE") || !strings.Contains(errs, "declined") {
		t.Errorf("sender's error does not say REFUSE and why:\n%s", errs)
	}
	if files := treeHashes(t, dst); len(files) != 0 {
		t.Errorf("refused transfer left files on the receiver: %v", files)
	}
}

// TestPeerOffline: a peer that is not on the network gives the "offline"
// error, naming the peer, instead of hanging.
func TestPeerOffline(t *testing.T) {
	bin := binDir(t)
	a, gone := newNode(t, bin), newNode(t, bin)
	idGone := gone.id() // has an identity, never runs
	src := filepath.Join(t.TempDir(), "f.txt")
	writeRandom(t, src, 10, 4)
	_, errs, err := a.run("send", src, "--to", idGone, "--find-timeout", "2s")
	if err == nil {
		t.Fatal("send to an absent peer exited 0")
	}
	if !contains(errs, "offline", idGone) {
		t.Errorf("error does not say the peer is offline:\n%s", errs)
	}
	// With --json the last line is an error event with a stable code.
	out, _, err := a.run("send", src, "--to", idGone, "--find-timeout", "1s", "--json")
	if err == nil {
		t.Fatal("send --json to an absent peer exited 0")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last node.Event
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &last); jerr != nil || last.Kind != node.EventError || last.Code != node.CodeOffline {
		t.Errorf("last --json line %q (%v), want an error event with code %q", lines[len(lines)-1], jerr, node.CodeOffline)
	}
}

// TestResumeAfterReceiverKilled: the receiver is killed (SIGKILL) in the
// middle of a file and restarted; the sender resumes with SEEK at the
// offset from the receiver's journal, not from zero, and the file arrives
// intact.
func TestResumeAfterReceiverKilled(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := filepath.Join(t.TempDir(), "large.bin")
	const size = 400 << 20
	writeRandom(t, src, size, 5)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")

	send := a.start(nil, "send", src, "--to", idB, "--json", "--retry-for", "90s")
	recv.waitEvent("progress past 40%", 60*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventProgress && e.Bytes > size*4/10
	})
	if err := recv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = recv.wait(10 * time.Second)

	recv2 := startReceiver(t, b, dst, "--yes")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sender stderr:\n%s", send.stderr.String())
		}
	})
	resumed := recv2.waitEvent("file resumed", 90*time.Second, func(e node.Event) bool { return e.Kind == node.EventFile })
	if resumed.Offset <= 0 {
		t.Errorf("restarted receiver started the file at offset %d, want > 0 (from the journal)", resumed.Offset)
	}
	sent := send.waitEvent("sender resumed at an offset", 90*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventFile && e.Offset > 0
	})
	if err := send.wait(120 * time.Second); err != nil {
		t.Fatalf("send: %v\nstderr:\n%s", err, send.stderr.String())
	}
	if !strings.Contains(send.stderr.String(), "SEEK") || !strings.Contains(send.stderr.String(), fmt.Sprint(sent.Offset)) {
		t.Errorf("sender log does not show the SEEK offset %d:\n%s", sent.Offset, send.stderr.String())
	}
	got := treeHashes(t, dst)
	want := treeHashes(t, filepath.Dir(src))
	if got["large.bin"] != want["large.bin"] || len(got) != 1 {
		t.Errorf("after resume the receiver has %v, want large.bin %s", got, want["large.bin"])
	}
	t.Logf("resumed at offset %d of %d (%.0f%% not resent)", sent.Offset, size, 100*float64(sent.Offset)/size)
	_ = os.Remove(src)
}

// TestSkippedPaths: a send of only unsendable paths fails before any peer
// is looked up and leaves no outbox entry; a folder holding a FIFO and a
// dangling symlink beside a file delivers the file, then exits 3 naming
// each skipped path and why.
func TestSkippedPaths(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o600); err != nil {
		t.Skipf("no FIFO here (%v): this test needs one", err)
	}
	if err := os.Symlink(filepath.Join(src, "nowhere"), filepath.Join(src, "dangling")); err != nil {
		t.Fatal(err)
	}

	// Nothing sendable: the receiver is not even running, and the error
	// comes before --find-timeout could pass.
	start := time.Now()
	_, errs, err := a.run("send", filepath.Join(src, "pipe"), filepath.Join(src, "dangling"), "--to", idB, "--find-timeout", "30s")
	if err == nil {
		t.Fatal("a send of only a FIFO and a symlink exited 0")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s: looked for the peer before finding there was nothing to send", took)
	}
	if !contains(errs, "nothing to send", "pipe", "dangling") {
		t.Errorf("error does not say there was nothing to send and why:\n%s", errs)
	}
	if entries, _ := os.ReadDir(filepath.Join(a.home, "outbox")); len(entries) > 0 {
		t.Errorf("outbox has %d entries after a send with nothing to send", len(entries))
	}

	// A folder with one good file: it arrives, and the exit status says
	// that something was skipped.
	writeRandom(t, filepath.Join(src, "good.txt"), 1000, 9)
	dst := t.TempDir()
	startReceiver(t, b, dst, "--yes")
	_, errs, err = a.run("send", src, "--to", idB)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitSkipped {
		t.Fatalf("send exited with %v, want status %d:\n%s", err, exitSkipped, errs)
	}
	if !contains(errs, "skipped 2 path(s)", "pipe", "dangling") {
		t.Errorf("summary does not name both skipped paths:\n%s", errs)
	}
	got := treeHashes(t, dst)
	if len(got) != 1 {
		t.Errorf("received %v, want only good.txt", got)
	}
}

// TestLongNameUsesAnotherProtocol: a folder holding a file whose path is
// longer than ftv2a's 255-byte FILE_SENDREQUEST name arrives whole: the
// sender offers only jsonchunk, which carries any name, instead of failing
// the transfer on that one name.
func TestLongNameUsesAnotherProtocol(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := filepath.Join(t.TempDir(), "folder")
	long := strings.Repeat("n", 250) + ".txt"
	writeRandom(t, filepath.Join(src, long), 4096, 11)
	writeRandom(t, filepath.Join(src, "short.txt"), 4096, 12)
	dst := t.TempDir()
	startReceiver(t, b, dst, "--yes")
	out, errs, err := a.run("send", src, "--to", idB, "--json")
	if err != nil {
		t.Fatalf("send: %v\n%s\n%s", err, out, errs)
	}
	if got, want := treeHashes(t, dst), treeHashes(t, filepath.Dir(src)); len(got) != 2 || got["folder/"+long] != want["folder/"+long] {
		t.Errorf("received %v, want both files of %v", got, want)
	}
	if !strings.Contains(errs, "not offering protocols that cannot carry a file name") {
		t.Errorf("the sender does not say why it left ftv2a out:\n%s", errs)
	}
}
