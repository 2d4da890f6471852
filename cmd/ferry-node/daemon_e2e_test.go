package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/api"
)

// startDaemon runs `ferry daemon` for n with args and waits until its
// socket answers.
func (n *testPeer) startDaemon(args ...string) *proc {
	n.t.Helper()
	// t.TempDir's folders are 0755; the daemon wants a private home.
	if err := os.Chmod(n.home, 0o700); err != nil {
		n.t.Fatal(err)
	}
	p := n.start(nil, append([]string{"daemon"}, args...)...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := api.Dial(n.home)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			n.t.Fatalf("ferry daemon exited: %v\n%s", err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("the daemon's socket did not answer within 60s\n%s", p.stderr.String())
		}
	}
}

// waitOffer waits until the daemon of n lists an offer waiting.
func (n *testPeer) waitOffer() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, errs, err := n.run("accept", "--list")
		if err != nil {
			n.t.Fatalf("ferry accept --list: %v\n%s", err, errs)
		}
		if !strings.Contains(out, "no offer is waiting") {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatal("no offer waiting in the daemon within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDaemonAcceptRefuse: a daemon receives; offers to it are refused and
// accepted from a second terminal (ferry refuse / ferry accept); a second
// daemon for the same home refuses naming the first one's PID; the
// socket is 0600; a home open to others is refused.
func TestDaemonAcceptRefuse(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	dst := t.TempDir()
	daemon := b.startDaemon("--dir", dst)

	st, err := os.Stat(filepath.Join(b.home, api.SocketName))
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Errorf("daemon socket: %v, mode %v, want a socket of mode 0600", err, st.Mode())
	}
	_, errs, err := b.run("daemon")
	if err == nil || !strings.Contains(errs, "already runs") || !strings.Contains(errs, "PID "+strconv.Itoa(daemon.cmd.Process.Pid)) {
		t.Errorf("a second daemon for the same home: %v\n%s\nwant a refusal naming PID %d", err, errs, daemon.cmd.Process.Pid)
	}

	if _, errs, err := b.run("receive"); err == nil || !strings.Contains(errs, "a ferry daemon runs") {
		t.Errorf("ferry receive beside the daemon: %v\n%s", err, errs)
	}

	src := filepath.Join(t.TempDir(), "hello.txt")
	writeRandom(t, src, 100_000, 3)
	// A send to several receivers would start a second node of this
	// device beside the daemon: refused, saying why.
	if _, errs, err := b.run("send", src, "--to", a.id(), "--to", "someone"); err == nil || !strings.Contains(errs, "a ferry daemon runs") {
		t.Errorf("ferry send to two receivers beside the daemon: %v\n%s", err, errs)
	}
	send := a.start(nil, "send", src, "--to", idB, "--json")
	b.waitOffer()
	out, errs, err := b.run("refuse", "--reason", "not now")
	if err != nil || !strings.Contains(out, "refused the offer") {
		t.Fatalf("ferry refuse: %v\n%s%s", err, out, errs)
	}
	if err := send.wait(60 * time.Second); err == nil {
		t.Error("a refused send exited 0")
	}
	if !strings.Contains(send.stderr.String(), "not now") {
		t.Errorf("the sender was not told the reason:\n%s", send.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dst, "hello.txt")); err == nil {
		t.Error("a refused file arrived")
	}

	send = a.start(nil, "send", src, "--to", idB, "--json")
	b.waitOffer()
	if out, errs, err := b.run("accept"); err != nil || !strings.Contains(out, "accepted the offer") {
		t.Fatalf("ferry accept: %v\n%s%s", err, out, errs)
	}
	if err := send.wait(60 * time.Second); err != nil {
		t.Fatalf("accepted send: %v\n%s", err, send.stderr.String())
	}
	if got, want := treeHashes(t, dst)["hello.txt"], treeHashes(t, filepath.Dir(src))["hello.txt"]; got != want {
		t.Errorf("received %q, want %q", got, want)
	}
	if _, errs, err := b.run("accept"); err == nil || !strings.Contains(errs, "no offer is waiting") {
		t.Errorf("accept with nothing waiting: %v\n%s", err, errs)
	}

	open := newNode(t, bin)
	if err := os.Chmod(open.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errs, err := open.run("daemon"); err == nil || !strings.Contains(errs, "open to other users") {
		t.Errorf("daemon in a home of mode 0755: %v\n%s", err, errs)
	}
	if _, errs, err := a.run("accept"); err == nil || !strings.Contains(errs, "no ferry daemon is running") {
		t.Errorf("accept without a daemon: %v\n%s", err, errs)
	}
}

// TestDaemonKilledResumes: a send through the daemon, the daemon killed
// with SIGKILL mid-transfer and started again: it resumes the transfer on
// its own, `ferry status` (through its API) shows it under way, and the
// file arrives whole.
func TestDaemonKilledResumes(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	dst := t.TempDir()
	b.start(nil, "receive", "--yes", "--json", "--dir", dst)
	const total = 256 << 20
	src := filepath.Join(t.TempDir(), "large.bin")
	writeRandom(t, src, total, 11)
	daemon := a.startDaemon()
	send := a.start(nil, "send", src, "--to", idB, "--json")
	waitPart(t, dst, "large.bin", 16<<20, 60*time.Second)
	if _, err := os.Stat(filepath.Join(dst, "large.bin")); err == nil {
		t.Skip("the transfer finished before the kill could land; nothing to resume")
	}
	if err := daemon.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = daemon.wait(30 * time.Second)
	if err := send.wait(30 * time.Second); err == nil {
		t.Error("the send whose daemon was killed exited 0")
	}

	a.startDaemon()
	var transfer string
	shown := false
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		out, errs, err := a.run("status", "--json")
		if err != nil {
			t.Fatalf("ferry status: %v\n%s", err, errs)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var l api.Transfer
			if line == "" || json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			transfer = l.Transfer
			if l.Direction == "send" && l.State == api.StateRunning && l.Done > 0 {
				shown = true
			}
		}
		if _, err := os.Stat(filepath.Join(dst, "large.bin")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if transfer == "" {
		t.Error("ferry status through the daemon never listed the interrupted transfer")
	}
	if !shown {
		t.Log("ferry status never caught the resumed transfer running with bytes done (it may have finished between two looks)")
	}
	waitFile(t, filepath.Join(dst, "large.bin"), 120*time.Second)
	if got, want := treeHashes(t, dst)["large.bin"], treeHashes(t, filepath.Dir(src))["large.bin"]; got != want {
		t.Fatalf("after the daemon's restart the receiver has %q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		out, _, err := a.run("status", "--json")
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("the finished transfer stayed in ferry status")
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not arrive within %v", path, timeout)
}

// TestDaemonConfigReload: `ferry config reload` (and SIGHUP) has the
// daemon load its config again; a config that does not check is refused
// with the reason and the daemon goes on with the old one.
func TestDaemonConfigReload(t *testing.T) {
	bin := binDir(t)
	cfg := filepath.Join(t.TempDir(), "ferry.yaml")
	data, err := os.ReadFile(loopbackConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n := newNode(t, bin, "FERRY_CONFIG="+cfg)
	daemon := n.startDaemon()
	out, errs, err := n.run("config", "reload")
	if err != nil || !strings.Contains(out, "config reloaded from "+cfg) {
		t.Fatalf("config reload: %v\n%s%s", err, out, errs)
	}
	if err := os.WriteFile(cfg, append(data, []byte("\nbogus_key: 1\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, err = n.run("config", "reload")
	if err == nil || !strings.Contains(errs, "refused") || !strings.Contains(errs, "bogus_key") {
		t.Errorf("reload of a bad config: %v\n%s%s", err, out, errs)
	}
	if out, errs, err := n.run("peers", "--json"); err != nil {
		t.Errorf("the daemon after a refused reload: %v\n%s%s", err, out, errs)
	}
	// SIGHUP does the same.
	if err := daemon.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(daemon.stderr.String(), "config reload refused, the old config stays in force") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged after SIGHUP:\n%s", daemon.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonPauseResumeCancel drives a send's controls through the API:
// paused mid-transfer it stops and is listed paused; `ferry resume` has
// the daemon finish it whole; `ferry cancel` has it stop and drop
// another.
func TestDaemonPauseResumeCancel(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	dst := t.TempDir()
	b.start(nil, "receive", "--yes", "--json", "--dir", dst)
	a.startDaemon()
	c, err := api.Dial(a.home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	state := func(id string) string {
		t.Helper()
		ts, err := c.Transfers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range ts {
			if tr.Transfer == id {
				return tr.State
			}
		}
		return ""
	}

	src := filepath.Join(t.TempDir(), "large.bin")
	writeRandom(t, src, 256<<20, 5)
	sent, err := c.Send(ctx, api.SendRequest{Paths: []string{src}, To: idB})
	if err != nil {
		t.Fatal(err)
	}
	waitPart(t, dst, "large.bin", 16<<20, 60*time.Second)
	if err := c.Control(ctx, sent.Transfer[:8], "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "large.bin")); err == nil {
		t.Skip("the transfer finished before the pause could land")
	}
	if s := state(sent.Transfer); s != api.StatePaused {
		t.Errorf("paused transfer listed as %q", s)
	}
	// ferry resume, with a daemon running, has the daemon resume it.
	if out, errs, err := a.run("resume", sent.Transfer[:8]); err != nil || !strings.Contains(out, "the daemon resumes") {
		t.Fatalf("ferry resume: %v\n%s%s", err, out, errs)
	}
	waitFile(t, filepath.Join(dst, "large.bin"), 120*time.Second)
	if got, want := treeHashes(t, dst)["large.bin"], treeHashes(t, filepath.Dir(src))["large.bin"]; got != want {
		t.Fatalf("after pause and resume the receiver has %q, want %q", got, want)
	}

	other := filepath.Join(t.TempDir(), "other.bin")
	writeRandom(t, other, 256<<20, 6)
	sent, err = c.Send(ctx, api.SendRequest{Paths: []string{other}, To: idB})
	if err != nil {
		t.Fatal(err)
	}
	waitPart(t, dst, "other.bin", 16<<20, 60*time.Second)
	// ferry cancel, with a daemon running, has the daemon stop and drop it.
	if out, errs, err := a.run("cancel", sent.Transfer); err != nil || !strings.Contains(out, "the daemon cancelled") {
		t.Fatalf("ferry cancel: %v\n%s%s", err, out, errs)
	}
	out, errs, err := a.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errs)
	}
	if strings.Contains(out, sent.Transfer) {
		t.Errorf("a cancelled transfer is still listed:\n%s", out)
	}
	if err := c.Control(ctx, sent.Transfer, "resume"); err == nil {
		t.Error("a cancelled transfer resumed")
	}
}
