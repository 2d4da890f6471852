package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/token"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// configVariant writes the loopback config with each old string replaced
// by its new one (each must occur), for peers that differ from the default.
func configVariant(t *testing.T, edits ...string) string {
	t.Helper()
	data, err := os.ReadFile(loopbackConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("configs/loopback.yaml no longer contains %q; update this test", edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), "variant.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The jsonchunk lines of configs/loopback.yaml that the tests change.
const (
	jcMode   = "mode: fast"
	jcStrict = "strict_chunk_size: 65536"
	tcpLine  = `listen: ["127.0.0.1:0"]`
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sendJSON runs `ferry send --protocol jsonchunk --json` and fails the test
// unless it exits 0.
func sendJSON(t *testing.T, a *testPeer, to string, recv *proc, paths ...string) string {
	t.Helper()
	args := append([]string{"send"}, paths...)
	args = append(args, "--to", to, "--protocol", "jsonchunk", "--json", "--retry-for", "2m")
	out, errs, err := a.run(args...)
	if err != nil {
		t.Fatalf("send: %v\nstdout:\n%s\nstderr:\n%s\nreceiver:\n%s", err, out, errs, recv.stderr.String())
	}
	return out
}

func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	want, got := treeHashes(t, src), treeHashes(t, dst)
	if len(got) != len(want) {
		t.Errorf("receiver has %d files %v, sender sent %d", len(got), keys(got), len(want))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: receiver hash %q, sender %q", name, got[name], h)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestJSONChunkModes: several files in the seed's strict mode (base64 in
// JSON, 1 KiB chunks as in the seed) and in fast mode (raw bytes after a
// JSON header) arrive with matching hashes.
func TestJSONChunkModes(t *testing.T) {
	bin := binDir(t)
	for _, tc := range []struct {
		mode  string
		cfg   []string
		sizes []int64
	}{
		{"strict", []string{jcMode, "mode: strict", jcStrict, "strict_chunk_size: 1024"}, []int64{0, 1000, 300 << 10, 1<<20 + 7}},
		{"fast", nil, []int64{0, 1000, 3<<20 + 5, 20 << 20}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := configVariant(t, tc.cfg...)
			a, b := newNode(t, bin, "FERRY_CONFIG="+cfg), newNode(t, bin, "FERRY_CONFIG="+cfg)
			idB := b.id()
			src := t.TempDir()
			for i, n := range tc.sizes {
				writeRandom(t, filepath.Join(src, "set", fmt.Sprintf("f%d.bin", i)), n, uint64(10+i))
			}
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			out := sendJSON(t, a, idB, recv, filepath.Join(src, "set"))
			if !strings.Contains(out, `"event":"done"`) {
				t.Errorf("sender printed no done event:\n%s", out)
			}
			sameTree(t, src, dst)
			if !strings.Contains(recv.stderr.String(), "mode="+tc.mode) && !strings.Contains(recv.stderr.String(), `"mode":"`+tc.mode) {
				t.Logf("receiver log does not name the mode %q (informational)", tc.mode)
			}
		})
	}
}

// TestJSONChunkBadTokens: a receiver refuses, before writing anything, a
// transfer presented with a missing, forged, expired or foreign token, and
// the sender's error says why.
func TestJSONChunkBadTokens(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idA, idB := a.id(), b.id()
	bKey, err := identity.Load(b.home)
	if err != nil {
		t.Fatal(err)
	}
	aID, _ := sdk.ParsePeerID(idA)
	_, stranger, _ := ed25519.GenerateKey(nil)
	_, forger, _ := ed25519.GenerateKey(nil)
	var strangerID sdk.PeerID
	copy(strangerID[:], stranger.Public().(ed25519.PublicKey))

	src := filepath.Join(t.TempDir(), "secret.bin")
	writeRandom(t, src, 3<<20, 21)
	man, err := transfer.Scan(t.Context(), []string{src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")
	now := time.Now()
	for _, tc := range []struct {
		name, want string
		mint       func(offer sdk.Offer) string
	}{
		{"missing", "no token presented", func(sdk.Offer) string { return "" }},
		{"forged", "signature does not verify", func(o sdk.Offer) string {
			s, _ := token.Issue(forger, aID, o, now, time.Hour)
			return s
		}},
		{"expired", "expired at", func(o sdk.Offer) string {
			s, _ := token.Issue(bKey.PrivateKey(), aID, o, now.Add(-2*time.Hour), time.Hour)
			return s
		}},
		{"foreign", "issued to", func(o sdk.Offer) string {
			s, _ := token.Issue(bKey.PrivateKey(), strangerID, o, now, time.Hour)
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := transfer.NewID()
			tokFile := filepath.Join(t.TempDir(), "token.jwt")
			if err := os.WriteFile(tokFile, []byte(tc.mint(man.Offer(id))), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errs, err := a.run("debug", "send", src, "--to", idB, "--protocol", "jsonchunk", "--transfer-id", id, "--token-file", tokFile)
			if err == nil {
				t.Fatalf("send with a %s token exited 0:\n%s", tc.name, out)
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("sender's error does not say %q:\n%s\nreceiver:\n%s", tc.want, errs, recv.stderr.String())
			}
			if files := treeHashes(t, dst); len(files) != 0 {
				t.Errorf("a %s token left files on the receiver: %v", tc.name, keys(files))
			}
		})
	}
}

// cutter is a TCP proxy on 127.0.0.1 that forwards to target and cuts each
// of its first `cuts` connections after a random number of bytes from the
// client, as a proxy on the path that drops connections would.
type cutter struct {
	t      *testing.T
	ln     net.Listener
	target string
	rng    *rand.Rand
	lo, hi int64 // cut after a number of client bytes in [lo, hi)
	flip   bool  // flip one bit there and go on, instead of cutting

	mu    sync.Mutex
	cuts  int   // cuts still to make
	made  int   // cuts made
	sent  int64 // client→server bytes forwarded, all connections
	conns sync.WaitGroup
}

func newCutter(t *testing.T, target string, cuts int, lo, hi int64, seed uint64, flip bool) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{t: t, ln: ln, target: target, rng: rand.New(rand.NewPCG(seed, seed+1)), lo: lo, hi: hi, cuts: cuts, flip: flip}
	go c.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		c.conns.Wait()
	})
	return c
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		c.mu.Lock()
		limit := int64(-1)
		if c.cuts > 0 {
			c.cuts--
			limit = c.lo + c.rng.Int64N(c.hi-c.lo)
		}
		c.mu.Unlock()
		c.conns.Add(2)
		go func() {
			defer c.conns.Done()
			n := c.pipe(out, in, limit)
			if !c.flip && limit >= 0 && n >= limit {
				c.mu.Lock()
				c.made++
				c.mu.Unlock()
			}
			_ = in.Close()
			_ = out.Close()
		}()
		go func() {
			defer c.conns.Done()
			_, _ = io.Copy(in, out)
			_ = in.Close()
			_ = out.Close()
		}()
	}
}

// pipe copies src to dst, stopping after limit bytes (limit < 0: no
// limit), and returns the bytes forwarded.
func (c *cutter) pipe(dst, src net.Conn, limit int64) int64 {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		want := len(buf)
		if limit >= 0 {
			want = int(min(int64(want), limit-n))
			if want == 0 {
				return n
			}
		}
		if c.flip && limit >= 0 {
			want = len(buf)
		}
		k, err := src.Read(buf[:want])
		if k > 0 {
			if c.flip && limit >= n && limit < n+int64(k) {
				buf[limit-n] ^= 0x10 // one bit, as a bad cable or a tampering box would
				c.mu.Lock()
				c.made++
				c.mu.Unlock()
				limit = -1
			}
			w, werr := dst.Write(buf[:k])
			n += int64(w)
			c.mu.Lock()
			c.sent += int64(w)
			c.mu.Unlock()
			if werr != nil {
				return n
			}
		}
		if err != nil {
			return n
		}
	}
}

func (c *cutter) stats() (made int, sent int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made, c.sent
}

// proxiedPeers makes a sender and a receiver whose tcp transport is
// reachable only through a cutter: the receiver listens on a fixed port
// and advertises the proxy's.
func proxiedPeers(t *testing.T, bin string, cuts int, lo, hi int64, flip bool) (a, b *testPeer, c *cutter) {
	t.Helper()
	port := freePort(t)
	c = newCutter(t, fmt.Sprintf("127.0.0.1:%d", port), cuts, lo, hi, uint64(time.Now().UnixNano()), flip)
	recvCfg := configVariant(t, tcpLine, fmt.Sprintf("listen: [\"127.0.0.1:%d\"]\n        advertise: [%q]", port, c.addr()))
	return newNode(t, bin), newNode(t, bin, "FERRY_CONFIG="+recvCfg), c
}

// TestJSONChunkCuttingProxy: a proxy between the peers drops the connection
// five times at random points; the sender resumes over a new connection
// each time and the file arrives intact. It reports the bytes resent: what
// crossed the proxy beyond a clean run through it, per cut, which must stay
// within one window of chunks.
func TestJSONChunkCuttingProxy(t *testing.T) {
	bin := binDir(t)
	const size = 48 << 20
	const window = 16 << 20 // chunk_size × window in configs/loopback.yaml
	src := filepath.Join(t.TempDir(), "cut.bin")
	writeRandom(t, src, size, 31)

	run := func(cuts int) (made int, sent int64) {
		// Cut points up to size/8: five cuts forward at most 30 MiB of
		// the 48, so each of them happens before the file is done.
		a, b, c := proxiedPeers(t, bin, cuts, 256<<10, size/8, false)
		idB := b.id()
		dst := t.TempDir()
		recv := startReceiver(t, b, dst, "--yes")
		sendJSON(t, a, idB, recv, src)
		sameTree(t, filepath.Dir(src), dst)
		return c.stats()
	}
	_, clean := run(0)
	made, sent := run(5)
	if made != 5 {
		t.Errorf("the proxy made %d cuts, want 5", made)
	}
	resent := sent - clean
	t.Logf("clean run: %d bytes through the proxy for a %d-byte file; with %d cuts: %d bytes; resent %d bytes (%.1f%% of the file, %.1f MiB per cut; window %d MiB)",
		clean, size, made, sent, resent, 100*float64(resent)/size, float64(resent)/float64(max(made, 1))/(1<<20), window>>20)
	if resent > int64(made)*(window+1<<20) {
		t.Errorf("resent %d bytes over %d cuts: more than one window (%d) per cut", resent, made, window)
	}
}

// TestFlippedBit: a proxy on the path flips one bit in each of the first
// three connections of a transfer, for each protocol. The record layer
// refuses the altered record, so nothing is written from it; the receiver
// names the integrity failure; the sender resumes over a new connection and
// the file arrives intact.
func TestFlippedBit(t *testing.T) {
	bin := binDir(t)
	const size = 24 << 20
	src := filepath.Join(t.TempDir(), "flip.bin")
	writeRandom(t, src, size, 41)
	for _, proto := range []string{"ftv2a", "jsonchunk"} {
		t.Run(proto, func(t *testing.T) {
			a, b, c := proxiedPeers(t, bin, 3, 256<<10, size/4, true)
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			out, errOut, err := a.run("send", src, "--to", b.id(), "--protocol", proto, "--retry-for", "2m")
			if err != nil {
				t.Fatalf("send: %v\n%s\n%s\nreceiver:\n%s", err, out, errOut, recv.stderr.String())
			}
			sameTree(t, filepath.Dir(src), dst)
			if made, _ := c.stats(); made == 0 {
				t.Fatal("the proxy flipped no bit")
			}
			if !strings.Contains(recv.stderr.String(), "altered on the path") {
				t.Errorf("the receiver did not name the integrity failure:\n%s", recv.stderr.String())
			}
			// The sender names it too (issue 18, item 3), with the
			// connection count, not as "peer offline".
			if said := out + errOut; !strings.Contains(said, "altered on the path") || !strings.Contains(said, "connections of this transfer") {
				t.Errorf("the sender did not name the integrity failure:\n%s\n%s", out, errOut)
			}
		})
	}
}

// TestJSONChunkResumeOverNewConnection: the sender is killed in the middle
// of a transfer over tcp; `ferry status` on both sides shows it unfinished
// with a percentage; running the same `ferry send` again, over another
// transport instance, sends only the missing chunks.
func TestJSONChunkResumeOverNewConnection(t *testing.T) {
	bin := binDir(t)
	const size = 200 << 20
	// A second tcp instance, and ice with host candidates on loopback.
	const more = "    - name: tcp2\n      plugin: tcp\n      config:\n        listen: [\"127.0.0.1:0\"]\n\n" +
		"    - name: ice\n      plugin: ice\n      config:\n        include_loopback: true\n        interfaces: [lo]\n        network_types: [udp4]\n        candidate_types: [host]\n\n" +
		"    - name: ftv2a\n"
	for _, second := range []string{"tcp2", "ice"} {
		t.Run("then-"+second, func(t *testing.T) {
			cfg := configVariant(t, "    - name: ftv2a\n", more)
			// The receiver answers over either; the sender comes back over
			// the second transport only.
			cfgB := configVariant(t, "    - name: ftv2a\n", more, "transports: [tcp]", "transports: [tcp, ice]")
			cfg2 := configVariant(t, "    - name: ftv2a\n", more, "transports: [tcp]", "transports: ["+second+"]")
			a, b := newNode(t, bin, "FERRY_CONFIG="+cfg), newNode(t, bin, "FERRY_CONFIG="+cfgB)
			idB := b.id()
			src := filepath.Join(t.TempDir(), "resume.bin")
			writeRandom(t, src, size, 41)
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")

			send := a.start(nil, "send", src, "--to", idB, "--protocol", "jsonchunk", "--json")
			recv.waitEvent("progress past 30%", 60*time.Second, func(e node.Event) bool {
				return e.Kind == node.EventProgress && e.Bytes > size*3/10
			})
			if err := send.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = send.wait(10 * time.Second)

			for _, side := range []*testPeer{a, b} {
				out, errs, err := side.run("status", "--json")
				if err != nil {
					t.Fatalf("status: %v\n%s", err, errs)
				}
				lines := decodeLines[statusLine](t, out)
				if len(lines) != 1 {
					t.Fatalf("status --json = %q, want one unfinished transfer", out)
				}
				if l := lines[0]; l.Percent < 0 || l.Percent >= 100 || l.Total != size || (l.Direction == "receive" && l.Percent == 0) {
					t.Errorf("status on the %s side: %+v, want between 0 and 100%% of %d", l.Direction, l, size)
				}
			}
			held := recvHeld(t, b)

			a.env = append(a.env, "FERRY_CONFIG="+cfg2)
			out := sendJSON(t, a, idB, recv, src)
			if !strings.Contains(out, "resuming transfer") && !strings.Contains(out, `"offset"`) {
				t.Logf("sender output:\n%s", out)
			}
			sameTree(t, filepath.Dir(src), dst)
			if wire := map[string]string{"tcp2": "tcp", "ice": "ice"}[second]; !strings.Contains(out, `"state":"connected","transport":"`+wire+`"`) {
				t.Errorf("the second send did not connect over %s:\n%s", wire, out)
			}
			var resumedAt int64 = -1
			for _, line := range strings.Split(out, "\n") {
				var e node.Event
				if json.Unmarshal([]byte(line), &e) == nil && e.Kind == node.EventFile {
					resumedAt = e.Offset
				}
			}
			if resumedAt < held || resumedAt <= 0 {
				t.Errorf("the second send started the file at %d; the receiver held %d durably, so it must not start before", resumedAt, held)
			}
			t.Logf("killed after %d of %d bytes held; resumed at %d over %s (%.0f%% not resent)", held, size, resumedAt, second, 100*float64(resumedAt)/size)
			if out, _, _ := a.run("status"); !strings.Contains(out, "no unfinished transfers") {
				t.Errorf("sender still lists unfinished transfers after the resume:\n%s", out)
			}
		})
	}
}

// recvHeld returns the bytes the receiver's `ferry status` says it holds.
func recvHeld(t *testing.T, p *testPeer) int64 {
	t.Helper()
	out, _, err := p.run("status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range decodeLines[statusLine](t, out) {
		if l.Direction == "receive" {
			return l.Done
		}
	}
	return 0
}

// TestJSONChunkReceiverKilled: the receiver is killed (SIGKILL) at a random
// point and restarted; the sender, retrying, resumes from the chunks the
// receiver's journal holds and the file arrives intact.
func TestJSONChunkReceiverKilled(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	const size = 200 << 20
	src := filepath.Join(t.TempDir(), "kill.bin")
	writeRandom(t, src, size, 51)
	seed := uint64(time.Now().UnixNano())
	// Between 15% and 65% of the part file written (watched on disk: the
	// receiver's progress events can lag the transfer by 80 MiB, and 200
	// MiB on loopback can take half a second, so a kill timed by them
	// could find the file done).
	at := int64(float64(size) * (0.15 + 0.5*rand.New(rand.NewPCG(seed, 0)).Float64()))
	t.Logf("killing the receiver after %d bytes (seed %d)", at, seed)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")
	send := a.start(nil, "send", src, "--to", idB, "--protocol", "jsonchunk", "--json", "--retry-for", "90s", "--log-level", "info")
	waitPart(t, dst, "kill.bin", at, 60*time.Second)
	if err := recv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = recv.wait(10 * time.Second)
	if fi, err := os.Stat(filepath.Join(dst, "kill.bin")); err == nil && fi.Size() == size {
		t.Fatalf("the transfer finished before the kill at %d bytes reached the receiver: nothing to resume (the kill point must come earlier)", at)
	}
	recv2 := startReceiver(t, b, dst, "--yes")
	// Keep the sender's events other than progress, to show if the
	// restarted receiver never sees the resume.
	var evMu sync.Mutex
	var evs []string
	go func() {
		for e := range send.events {
			if e.Kind == node.EventProgress {
				continue
			}
			evMu.Lock()
			evs = append(evs, fmt.Sprintf("%s %s %s %s off=%d %s", e.Time.Format("15:04:05.000"), e.Kind, e.State, e.Code, e.Offset, e.Message))
			evMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			evMu.Lock()
			defer evMu.Unlock()
			t.Logf("sender's events:\n%s\nsender's log:\n%s", strings.Join(evs, "\n"), send.stderr.String())
		}
	})
	resumed := recv2.waitEvent("file resumed", 90*time.Second, func(e node.Event) bool { return e.Kind == node.EventFile })
	if resumed.Offset <= 0 {
		t.Errorf("restarted receiver took the file up at %d, want > 0 (the chunks its journal holds)", resumed.Offset)
	}
	t.Logf("restarted receiver holds %d bytes; %.0f%% not resent", resumed.Offset, 100*float64(resumed.Offset)/size)
	if err := send.wait(150 * time.Second); err != nil {
		t.Fatalf("send: %v\nstderr:\n%s\nreceiver:\n%s", err, send.stderr.String(), recv2.stderr.String())
	}
	sameTree(t, filepath.Dir(src), dst)
}

// TestAutoResumeWhenPeerReturns: an outgoing transfer cut off by the
// sender's death is finished by the sender's `ferry receive` when it sees
// the receiver, with no command naming the transfer.
func TestAutoResumeWhenPeerReturns(t *testing.T) {
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	const size = 120 << 20
	src := filepath.Join(t.TempDir(), "auto.bin")
	writeRandom(t, src, size, 61)
	dst := t.TempDir()
	recv := startReceiver(t, b, dst, "--yes")
	send := a.start(nil, "send", src, "--to", idB, "--protocol", "jsonchunk", "--json")
	recv.waitEvent("progress past 20%", 60*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventProgress && e.Bytes > size/5
	})
	_ = send.cmd.Process.Signal(syscall.SIGKILL)
	_ = send.wait(10 * time.Second)

	daemon := a.start(nil, "receive", "--json", "--dir", t.TempDir())
	recv.waitEvent("the transfer done after the automatic resume", 120*time.Second, func(e node.Event) bool {
		return e.Kind == node.EventDone
	})
	sameTree(t, filepath.Dir(src), dst)
	_ = daemon
}
