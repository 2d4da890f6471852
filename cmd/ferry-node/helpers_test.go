package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

var (
	lanPortOnce sync.Once
	lanPort     int
)

// loopbackConfig returns configs/loopback.yaml with the LAN port moved to a
// port free for this test binary, so parallel test packages and a running
// demo do not hear each other's announcements.
func loopbackConfig(t *testing.T) string {
	t.Helper()
	lanPortOnce.Do(func() {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lanPort = c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
	})
	root, _ := filepath.Abs("../..")
	data, err := os.ReadFile(filepath.Join(root, "configs", "loopback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("port: 41771")) {
		t.Fatal("configs/loopback.yaml no longer sets the lan port to 41771; update this helper")
	}
	data = bytes.Replace(data, []byte("port: 41771"), []byte(fmt.Sprintf("port: %d", lanPort)), 1)
	data = bytes.ReplaceAll(data, []byte("announce_interval: 5s"), []byte("announce_interval: 1s"))
	data = bytes.ReplaceAll(data, []byte("peer_timeout: 20s"), []byte("peer_timeout: 5s"))
	p := filepath.Join(t.TempDir(), "loopback.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a ferry process started in the background, with its --json
// events parsed as they arrive.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncBuffer
	events chan node.Event
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs ferry with args (which should include --json) in the
// background; the test's cleanup stops it.
func (n *testPeer) start(stdin io.Reader, args ...string) *proc {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := n.cmd(ctx, args...)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	p := &proc{t: n.t, cmd: c, stderr: &syncBuffer{}, events: make(chan node.Event, 4096), done: make(chan error, 1)}
	c.Stderr = p.stderr
	c.Stdin = stdin
	out, err := c.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		cancel()
		n.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e node.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind != "" {
				select {
				case p.events <- e:
				default:
				}
			}
		}
		close(p.events)
		p.done <- c.Wait()
	}()
	n.t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			n.t.Errorf("ferry %v did not stop", args)
		}
	})
	return p
}

// waitEvent waits for an event satisfying ok and returns it.
func (p *proc) waitEvent(what string, timeout time.Duration, ok func(node.Event) bool) node.Event {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, more := <-p.events:
			if !more {
				p.t.Fatalf("ferry exited while waiting for %s\nstderr:\n%s", what, p.stderr.String())
			}
			if ok(e) {
				return e
			}
		case <-deadline:
			p.t.Fatalf("no %s within %s\nstderr:\n%s", what, timeout, p.stderr.String())
		}
	}
}

// wait waits for the process to exit and returns its error.
func (p *proc) wait(timeout time.Duration) error {
	p.t.Helper()
	for range p.events {
	}
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(timeout):
		p.t.Fatalf("ferry did not exit within %s\nstderr:\n%s", timeout, p.stderr.String())
		return nil
	}
}

// writeRandom writes n pseudo-random bytes to path.
func writeRandom(t *testing.T, path string, n int64, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		for i := 0; i < int(k); i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < int(k); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// treeHashes maps each regular file under root (relative, slash paths) to
// its SHA-256; it also reports any other entry (part files included).
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// decodeLines parses --json output: one JSON object per line.
func decodeLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var items []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var it T
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("--json line %q: %v", line, err)
		}
		items = append(items, it)
	}
	return items
}
