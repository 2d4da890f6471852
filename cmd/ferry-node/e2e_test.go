package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/config"
)

// binDir returns a folder with bin/ferry, bin/ferry-node and bin/plugins/*
// as `make build` leaves them: $FERRY_BIN_DIR when it holds them, else
// built for this test.
func binDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("FERRY_BIN_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "ferry-node")); err == nil {
			return dir
		}
	}
	dir := t.TempDir()
	builds := []struct{ out, pkg string }{
		{"ferry", "github.com/ferry-p2p/ferry/cmd/ferry"},
		{"ferry-node", "github.com/ferry-p2p/ferry/cmd/ferry-node"},
	}
	mains, _ := filepath.Glob("../../plugins/*/cmd/*")
	for _, m := range mains {
		builds = append(builds, struct{ out, pkg string }{
			"plugins/" + filepath.Base(m),
			"github.com/ferry-p2p/ferry/" + strings.TrimPrefix(filepath.ToSlash(m), "../../"),
		})
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		cmd.Stderr = os.Stderr
		if b.out == "ferry" {
			// As make build does: a static front starts sooner.
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("build %s: %v", b.pkg, err)
		}
	}
	if _, err := config.WriteLock(filepath.Join(dir, "plugins", "plugins.lock"), filepath.Join(dir, "plugins")); err != nil {
		t.Fatalf("lock: %v", err)
	}
	return dir
}

// testPeer runs the ferry binary with its own FERRY_HOME.
type testPeer struct {
	t    *testing.T
	bin  string
	home string
	env  []string
	wd   string // the working folder of its commands; "" = the test's
	// netns, when set, is the network namespace its commands run in (ip
	// netns exec, which execs ferry: the process is ferry itself).
	netns string
}

func newNode(t *testing.T, bin string, extraEnv ...string) *testPeer {
	t.Helper()
	env := append(os.Environ(), "FERRY_CONFIG="+loopbackConfig(t))
	return &testPeer{t: t, bin: bin, home: t.TempDir(), env: append(env, extraEnv...)}
}

func (n *testPeer) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, filepath.Join(n.bin, "ferry"), args...)
	if n.netns != "" {
		c = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.netns, filepath.Join(n.bin, "ferry")}, args...)...)
	}
	c.Env = append(append([]string{}, n.env...), "FERRY_HOME="+n.home)
	c.Dir = n.wd
	return c
}

// run runs ferry and returns stdout, stderr and the error.
func (n *testPeer) run(args ...string) (string, string, error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	c := n.cmd(ctx, args...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

func (n *testPeer) id() string {
	n.t.Helper()
	out, errs, err := n.run("id")
	if err != nil {
		n.t.Fatalf("ferry id: %v\n%s", err, errs)
	}
	return strings.SplitN(out, "\n", 2)[0]
}

// listen starts `ferry debug listen` and returns the card path and a wait
// function for its outcome.
func (n *testPeer) listen() (string, func() (string, string, error)) {
	n.t.Helper()
	card := filepath.Join(n.t.TempDir(), "card.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	var out, errb bytes.Buffer
	c := n.cmd(ctx, "debug", "listen", "--card", card, "--timeout", "30s")
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		cancel()
		n.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	n.t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(card); err == nil && fi.Size() > 0 {
			break
		}
		select {
		case err := <-done:
			n.t.Fatalf("listener exited before writing its card: %v\n%s", err, errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("no card after 30s\n%s", errb.String())
		}
	}
	return card, func() (string, string, error) {
		err := <-done
		done <- err
		return out.String(), errb.String(), err
	}
}

// TestTwoCoresOverExternalTCP runs two ferry processes that connect through
// the external tcp plugin; TLS 1.3 completes with both IDs verified.
func TestTwoCoresOverExternalTCP(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idA, idB := a.id(), b.id()
	card, wait := b.listen()
	aout, aerr, err := a.run("debug", "dial", "--card", card)
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, aerr)
	}
	bout, berr, err := wait()
	if err != nil {
		t.Fatalf("listen: %v\n%s", err, berr)
	}
	if !strings.Contains(aout, "verified peer "+idB) || !strings.Contains(aout, "TLS 1.3") {
		t.Errorf("dialer did not verify B (%s):\n%s", idB, aout)
	}
	if !strings.Contains(bout, "verified peer "+idA) {
		t.Errorf("listener did not verify A (%s):\n%s", idA, bout)
	}
}

// TestManInTheMiddleRejected: the dialer expects a third key, the listener
// presents its own; the connection is refused naming both IDs.
func TestManInTheMiddleRejected(t *testing.T) {
	bin := binDir(t)
	a, b, c := newNode(t, bin), newNode(t, bin), newNode(t, bin)
	idB, idC := b.id(), c.id()
	card, wait := b.listen()
	_, aerr, err := a.run("debug", "dial", "--card", card, "--expect", idC)
	if err == nil {
		t.Fatalf("dial expecting %s connected to %s", idC, idB)
	}
	if !strings.Contains(aerr, idC) || !strings.Contains(aerr, idB) || !strings.Contains(aerr, "mismatch") {
		t.Errorf("error does not name expected %s and seen %s:\n%s", idC, idB, aerr)
	}
	if _, _, err := wait(); err == nil {
		t.Errorf("listener reported success for a rejected connection")
	}
}

func TestUnknownConfigKeyRefused(t *testing.T) {
	bin := binDir(t)
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := newNode(t, bin)
	_, errs, err := n.run("--config", cfg, "config", "check")
	if err == nil {
		t.Fatal("config check accepted an unknown key")
	}
	for _, want := range []string{"log.levle", cfg, "level"} {
		if !strings.Contains(errs, want) {
			t.Errorf("error does not mention %q:\n%s", want, errs)
		}
	}
}

// TestChangedPluginRefused changes a plugin binary after it was pinned:
// ferry refuses to start it and names the file and both hashes.
func TestChangedPluginRefused(t *testing.T) {
	src := binDir(t)
	dir := t.TempDir()
	for _, f := range []string{"ferry", "ferry-node", "plugins/tcp", "plugins/plugins.lock"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	plugin := filepath.Join(dir, "plugins", "tcp")
	pinned, _ := config.HashFile(plugin)
	f, err := os.OpenFile(plugin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte("tampered"))
	_ = f.Close()
	now, _ := config.HashFile(plugin)
	n := newNode(t, dir)
	_, errs, err := n.run("debug", "listen", "--card", filepath.Join(t.TempDir(), "c.json"), "--timeout", "5s")
	if err == nil {
		t.Fatal("a changed plugin binary was started")
	}
	for _, want := range []string{plugin, pinned, now} {
		if !strings.Contains(errs, want) {
			t.Errorf("error does not name %s:\n%s", want, errs)
		}
	}
	// `ferry plugins list` says so without starting anything.
	out, errs, err := n.run("plugins", "list", "--json")
	if err != nil {
		t.Fatalf("plugins list: %v\n%s", err, errs)
	}
	rows := decodeLines[pluginRow](t, out)
	for _, r := range rows {
		if want := map[string]string{"tcp": "changed"}[r.Name]; want != "" && r.Pin != want {
			t.Errorf("%s: pin %q, want %q", r.Name, r.Pin, want)
		}
		if r.PID != 0 {
			t.Errorf("%s was started (pid %d) to list it", r.Name, r.PID)
		}
	}
}
