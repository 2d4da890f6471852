package main

import (
	"bufio"
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBootstrap runs `ferry dht bootstrap` on 127.0.0.1 and returns the
// multiaddr it prints on its first line.
func startBootstrap(t *testing.T, bin string) string {
	t.Helper()
	n := newNode(t, bin)
	ctx, cancel := context.WithCancel(context.Background())
	c := n.cmd(ctx, "dht", "bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0", "--fresh-key")
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	stderr := &syncBuffer{}
	c.Stderr = stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
		}
		done <- c.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("ferry dht bootstrap did not stop")
		}
	})
	select {
	case addr, ok := <-first:
		if !ok || !strings.HasPrefix(addr, "/ip4/127.0.0.1/tcp/") || !strings.Contains(addr, "/p2p/") {
			t.Fatalf("dht bootstrap's first line = %q, want a loopback multiaddr with /p2p/\nstderr:\n%s", addr, stderr.String())
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatalf("dht bootstrap printed no address within 20s\nstderr:\n%s", stderr.String())
	}
	return ""
}

// TestDHTTransfer: two peers that share no LAN (the lan plugin disabled),
// each bootstrapped only from a third node, find each other through the
// DHT, exchange the sealed offer and answer over DHT signaling, connect
// with tcp and transfer a file; `ferry peers` lists the other as found by
// the dht.
func TestDHTTransfer(t *testing.T) {
	bin := binDir(t)
	boot := startBootstrap(t, bin)
	root, _ := filepath.Abs("../..")
	env := []string{"FERRY_CONFIG=" + filepath.Join(root, "configs", "dht-loopback.yaml"), "FERRY_DHT_BOOTSTRAP=" + boot}
	a, b := newNode(t, bin, env...), newNode(t, bin, env...)
	idA, idB := a.id(), b.id()
	src := filepath.Join(t.TempDir(), "over-dht.bin")
	writeRandom(t, src, 8<<20, 71)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")

	out, errs, err := a.run("send", src, "--to", idB, "--json", "--find-timeout", "40s")
	if err != nil {
		t.Fatalf("send over the DHT: %v\nstdout:\n%s\nstderr:\n%s\nreceiver:\n%s", err, out, errs, recv.stderr.String())
	}
	sameTree(t, filepath.Dir(src), dst)
	if strings.Contains(errs+recv.stderr.String(), "plugin=lan") {
		t.Errorf("the lan plugin ran although the config disables it")
	}

	// b's receiver has looked a up (to answer it) or been reached by it;
	// a fresh `ferry peers` on a sees b through the DHT.
	out, errs, err = a.run("peers", "--wait", "8s", "--json")
	if err != nil {
		t.Fatalf("peers: %v\n%s", err, errs)
	}
	peers := decodeLines[peerView](t, out)
	// One key style in every --json output: snake_case.
	for _, key := range []string{`"id":`, `"source":`, `"addrs":`} {
		if !strings.Contains(out, key) {
			t.Errorf("peers --json lacks the key %s: %s", key, out)
		}
	}
	found := false
	for _, p := range peers {
		if p.ID.String() == idB && p.Source == "dht" {
			found = true
		}
	}
	if !found {
		t.Errorf("ferry peers on %s does not list %s as found by dht: %s\nstderr:\n%s", idA[:8], idB[:8], out, errs)
	}
}
