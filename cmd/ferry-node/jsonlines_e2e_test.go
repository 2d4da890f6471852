package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startRaw runs ferry in the background with its stdout collected as is;
// stop ends it (SIGTERM) and returns the stdout.
func (n *testPeer) startRaw(args ...string) (stdout *syncBuffer, stop func() string) {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := n.cmd(ctx, args...)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	out, errs := &syncBuffer{}, &syncBuffer{}
	c.Stdout, c.Stderr = out, errs
	if err := c.Start(); err != nil {
		cancel()
		n.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				n.t.Errorf("ferry %v did not stop\nstderr:\n%s", args, errs.String())
			}
		}
		return out.String()
	}
	n.t.Cleanup(func() { stop() })
	return out, stop
}

// TestJSONLinesDocumented: every line real --json runs of send (done and
// failed), receive, peers, peers --watch, status and plugins list print is
// one JSON object whose keys the README's JSON output section lists for
// that output.
func TestJSONLinesDocumented(t *testing.T) {
	doc := readJSONDoc(t)
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := t.TempDir()
	writeRandom(t, filepath.Join(src, "one.bin"), 300<<10, 11)
	writeRandom(t, filepath.Join(src, "dir", "two.txt"), 100, 12)

	_, stopRecv := b.startRaw("receive", "--yes", "--json", "--dir", t.TempDir())
	watch, stopWatch := a.startRaw("peers", "--watch", "--json")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(watch.String(), `"joined"`); {
		if time.Now().After(deadline) {
			t.Fatalf("peers --watch saw no peer join:\n%s", watch.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	outputs := map[string][]string{} // output name -> lines
	add := func(name, out string) {
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if l != "" {
				outputs[name] = append(outputs[name], l)
			}
		}
	}
	run := func(name string, wantOK bool, args ...string) {
		t.Helper()
		out, errs, err := a.run(args...)
		if (err == nil) != wantOK {
			t.Fatalf("ferry %v: %v\n%s%s", args, err, out, errs)
		}
		add(name, out)
	}
	run("peers", true, "peers", "--json", "--wait", "2s")
	run("events", true, "send", filepath.Join(src, "one.bin"), filepath.Join(src, "dir"), "--to", idB, "--json")
	add("events", stopRecv())
	run("events", false, "send", filepath.Join(src, "one.bin"), "--to", idB, "--json", "--find-timeout", "2s")
	add("events", stopWatch())
	run("status", true, "status", "--json")
	run("plugins", true, "plugins", "list", "--json")

	for name, lines := range outputs {
		for _, l := range lines {
			checkJSONLine(t, name, l, doc.keys[name])
		}
	}
	for _, name := range []string{"events", "peers", "plugins"} {
		if len(outputs[name]) == 0 {
			t.Errorf("no %s lines to check", name)
		}
	}
	kinds := map[string]bool{}
	for _, l := range outputs["events"] {
		for _, k := range []string{"peer", "state", "offer", "accepted", "file", "progress", "verified", "done", "error"} {
			if strings.Contains(l, `"event":"`+k+`"`) {
				kinds[k] = true
			}
		}
	}
	if len(kinds) != 9 {
		t.Errorf("the runs printed only the events %v; the test means to check more", kinds)
	}
	t.Logf("checked %d event, %d peers, %d status and %d plugins lines", len(outputs["events"]), len(outputs["peers"]), len(outputs["status"]), len(outputs["plugins"]))
}
