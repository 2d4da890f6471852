package main

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// TestPromptE2E runs `ferry receive` with its questions answered through a
// pipe: a "y" typed before any offer is ignored; the question about an
// offer whose sender stops waiting (--answer-timeout) is withdrawn, as is
// one whose sender is stopped; an answer not understood is asked again;
// "a" accepts and puts the sender in transfer.auto_accept of the config
// file, so that a restarted receiver with no one to ask accepts it.
func TestPromptE2E(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idA, idB := a.id(), b.id()
	src := filepath.Join(t.TempDir(), "hello.txt")
	writeRandom(t, src, 1000, 7)
	dst := t.TempDir()
	in, typed := io.Pipe()
	recv := b.start(in, "receive", "--json", "--dir", dst)
	t.Cleanup(func() { _ = typed.Close() }) // before the receiver's cleanup, which waits for its stdin
	say := func(s string) {
		t.Helper()
		if _, err := io.WriteString(typed, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	asked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(recv.stderr.String(), promptChoices) < n {
			if time.Now().After(deadline) {
				t.Fatalf("receiver did not ask %d times:\n%s", n, recv.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	notAccepted := func(e node.Event) {
		t.Helper()
		if e.Kind == node.EventAccepted || e.Kind == node.EventRefused {
			t.Fatalf("offer %s before its question was answered: %+v", e.Kind, e)
		}
	}
	say("y") // typed ahead: before any offer

	// 1. The sender waits 3 s for an answer and gives up: the question is
	// withdrawn, and the typed-ahead "y" did not accept it.
	send := a.start(nil, "send", src, "--to", idB, "--json", "--answer-timeout", "3s")
	asked(1)
	e := recv.waitEvent("withdrawn (expired)", 30*time.Second, func(e node.Event) bool {
		notAccepted(e)
		return e.Kind == node.EventWithdrawn
	})
	if !strings.Contains(e.Message, "expired") {
		t.Errorf("withdrawn because %q, want the offer expired", e.Message)
	}
	if err := send.wait(30 * time.Second); err == nil {
		t.Error("the unanswered send exited 0")
	}

	// 2. The sender is stopped while the question is open.
	send = a.start(nil, "send", src, "--to", idB, "--json")
	asked(2)
	if err := send.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e = recv.waitEvent("withdrawn (sender left)", 30*time.Second, func(e node.Event) bool {
		notAccepted(e)
		return e.Kind == node.EventWithdrawn
	})
	if !strings.Contains(e.Message, "gave up") {
		t.Errorf("withdrawn because %q, want the sender gave up", e.Message)
	}
	_ = send.wait(30 * time.Second)

	// 3. Not understood, asked again; then "a".
	send = a.start(nil, "send", src, "--to", idB, "--json")
	asked(3)
	say("perhaps")
	asked(4)
	if !strings.Contains(recv.stderr.String(), `answer not understood: "perhaps"`) {
		t.Errorf("no \"answer not understood\":\n%s", recv.stderr.String())
	}
	say("a")
	if err := send.wait(60 * time.Second); err != nil {
		t.Fatalf("send accepted with a: %v\n%s", err, send.stderr.String())
	}
	var file string
	for _, kv := range b.env {
		if v, ok := strings.CutPrefix(kv, "FERRY_CONFIG="); ok {
			file = v
		}
	}
	cfg, err := config.Load(config.LoadOptions{Home: b.home, File: file, Env: []string{}})
	if err != nil {
		t.Fatalf("the config file no longer loads: %v", err)
	}
	want, _ := sdk.ParsePeerID(idA)
	if !slices.ContainsFunc(cfg.Transfer.AutoAccept, func(s string) bool { id, err := sdk.ParsePeerID(s); return err == nil && id == want }) {
		t.Fatalf("transfer.auto_accept in %s = %v, want it to hold %s", file, cfg.Transfer.AutoAccept, idA)
	}

	// 4. A restarted receiver that cannot ask anyone accepts the sender.
	_ = typed.Close() // else os/exec waits for the copy of stdin
	if err := recv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = recv.wait(30 * time.Second)
	_ = b.start(nil, "receive", "--json", "--dir", dst)
	if out, errs, err := a.run("send", src, "--to", idB, "--json"); err != nil {
		t.Fatalf("send to a receiver with the sender in auto_accept: %v\n%s\n%s", err, out, errs)
	}
	if got := treeHashes(t, dst); len(got) != 2 {
		t.Errorf("receiver holds %v, want hello.txt twice", got)
	}
}
