package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk/connlimit"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// process is one process of a running `ferry receive`: the core or a plugin.
type process struct {
	pid  int
	name string // the executable's base name
}

// processTree returns pid and its descendants.
func processTree(t *testing.T, pid int) []process {
	t.Helper()
	es, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	for _, e := range es {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		fs := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fs) > 1 {
			parent[p], _ = strconv.Atoi(fs[1])
		}
	}
	in := map[int]bool{pid: true}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if in[pp] && !in[p] {
				in[p], changed = true, true
			}
		}
	}
	var out []process
	for p := range in {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
		out = append(out, process{pid: p, name: filepath.Base(exe)})
	}
	return out
}

// vmHWM returns a process's peak resident set size in KiB.
func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// TestFloodedReceiver runs `ferry receive` with the loopback config, makes
// one transfer so that every plugin is listening, then holds 500 idle and
// 500 slow-handshake connections on every TCP port its processes listen
// on, from four addresses other than the senders', while 10 `ferry send`
// run at once. All 10 must arrive intact; every listening socket must be
// inside loopback; each process's descriptors must stay within its count
// before the flood plus two listeners' max_pending and a margin. Peak RSS
// and descriptor counts are logged.
func TestFloodedReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs 12 ferry processes and 2000 flood connections")
	}
	const idle, slow, senders = 500, 500, 10
	plugintest.RaiseFDLimit(t, 8192)
	bin := binDir(t)
	b := newNode(t, bin)
	idB := b.id()
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")

	send := func(n *testPeer, file string) error {
		out, errs, err := n.run("send", file, "--to", idB[:8], "--json")
		if err != nil {
			return fmt.Errorf("send %s: %w\nstdout:\n%s\nstderr:\n%s", filepath.Base(file), err, out, errs)
		}
		return nil
	}
	src := t.TempDir()
	warm := filepath.Join(src, "warm-up.bin")
	writeRandom(t, warm, 64<<10, 100)
	if err := send(newNode(t, bin), warm); err != nil {
		t.Fatalf("before the flood: %v\nreceiver:\n%s", err, recv.stderr.String())
	}

	// Every listening socket of the receiver's processes.
	procs := processTree(t, recv.cmd.Process.Pid)
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	type target struct {
		proc process
		addr netip.AddrPort
	}
	var targets []target
	fds0 := map[int]int{}
	for _, p := range procs {
		socks, err := plugintest.TCPSockets(p.pid)
		if err != nil {
			t.Fatalf("%s (pid %d): %v", p.name, p.pid, err)
		}
		for _, s := range socks {
			if s.State != plugintest.TCPListen {
				continue
			}
			if !loopback.Contains(s.Local.Addr()) && s.Local.Addr() != netip.IPv6Loopback() {
				t.Errorf("%s listens on %v, outside loopback", p.name, s.Local)
			}
			if s.Local.Addr().Is4() {
				targets = append(targets, target{p, s.Local})
			}
		}
		fds0[p.pid], _ = plugintest.OpenFDs(p.pid)
	}
	if len(targets) < 2 {
		t.Fatalf("want the lan and tcp listeners, found %v among %v", targets, procs)
	}

	sources := []netip.Addr{
		netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"),
		netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("127.0.0.5"),
	}
	var floods []*plugintest.Flood
	for _, tg := range targets {
		partial := []byte("FRY1") // the tcp transport's hello, cut short
		if tg.proc.name == "lan" {
			partial = append(binary.BigEndian.AppendUint32(nil, 1000), `{"type":"S`...)
		}
		floods = append(floods, plugintest.StartFlood(t, plugintest.FloodConfig{
			Addr: tg.addr.String(), Idle: idle, Slow: slow, Partial: partial, Sources: sources, Redial: time.Second,
		}))
	}

	files := make([]string, senders)
	for i := range files {
		files[i] = filepath.Join(src, fmt.Sprintf("file-%02d.bin", i))
		writeRandom(t, files[i], 1<<20+int64(i), uint64(i+1))
	}
	peers := make([]*testPeer, senders)
	for i := range peers {
		peers[i] = newNode(t, bin)
	}
	maxFDs := map[int]int{}
	sample := func() {
		for _, p := range procs {
			if n, err := plugintest.OpenFDs(p.pid); err == nil {
				maxFDs[p.pid] = max(maxFDs[p.pid], n)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, senders)
	for i := range senders {
		wg.Go(func() { errs[i] = send(peers[i], files[i]) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
		sample()
	}
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	want := treeHashes(t, src)
	got := treeHashes(t, dst)
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: receiver hash %q, sender %q", name, got[name], h)
		}
	}

	for i, f := range floods {
		st := f.Stats()
		t.Logf("flood of %s %v: %d idle + %d slow, %d connections made, %d closed by the receiver, %d dials failed",
			targets[i].proc.name, targets[i].addr, idle, slow, st.Dialled, st.Closed, st.DialFail)
		if st.Closed == 0 {
			t.Errorf("flood of %s: the receiver closed none of its connections", targets[i].proc.name)
		}
	}
	margin := 2*connlimit.DefaultMaxPending + 64 // a process may serve two listeners
	for _, p := range procs {
		t.Logf("receiver process %s (pid %d): descriptors %d before the flood, at most %d during it; peak RSS %d KiB",
			p.name, p.pid, fds0[p.pid], maxFDs[p.pid], vmHWM(p.pid))
		if maxFDs[p.pid] > fds0[p.pid]+margin {
			t.Errorf("%s held %d descriptors, want at most %d", p.name, maxFDs[p.pid], fds0[p.pid]+margin)
		}
	}
	if t.Failed() {
		t.Logf("receiver:\n%s", recv.stderr.String())
	}
}
