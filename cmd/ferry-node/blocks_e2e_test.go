package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// TestAlteredPartFetchedAgain kills the receiver (SIGKILL) in the middle
// of a file, flips one byte of its part file well inside what it had
// committed, and restarts it: the restarted receiver's block check finds
// the altered block, says so, forgets only that block (at most one commit
// window), and the file still arrives intact once the sender resumes. Before
// block hashes the saved SHA-256 state was taken up as it was and the
// altered file was placed as verified.
func TestAlteredPartFetchedAgain(t *testing.T) {
	bin := binDir(t)
	const size = 256 << 20
	src := filepath.Join(t.TempDir(), "large.bin")
	writeRandom(t, src, size, 31)
	want := treeHashes(t, filepath.Dir(src))["large.bin"]
	altered := regexp.MustCompile(`part file altered on disk.*bytes=(\d+)`)
	for _, protocol := range []string{"ftv2a", "jsonchunk"} {
		t.Run(protocol, func(t *testing.T) {
			a, b := newNode(t, bin), newNode(t, bin)
			idB := b.id()
			dst := t.TempDir()
			recv := startReceiver(t, b, dst, "--yes")
			send := a.start(nil, "send", src, "--to", idB, "--json", "--protocol", protocol, "--retry-for", "90s")
			recv.waitEvent("progress past 60%", 60*time.Second, func(e node.Event) bool {
				return e.Kind == node.EventProgress && e.Bytes > size*6/10
			})
			if err := recv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = recv.wait(10 * time.Second)

			parts, err := filepath.Glob(filepath.Join(dst, ".large.bin.*.ferry-part"))
			if err != nil || len(parts) != 1 {
				t.Fatalf("part files after the kill: %v, %v", parts, err)
			}
			// A third of the way in: committed long before the kill
			// (a commit window is 16 MiB), and hashed.
			const at = size/3 + 12345
			f, err := os.OpenFile(parts[0], os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			b1 := make([]byte, 1)
			if _, err := f.ReadAt(b1, at); err != nil {
				t.Fatal(err)
			}
			b1[0] ^= 0x10
			if _, err := f.WriteAt(b1, at); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()

			recv2 := startReceiver(t, b, dst, "--yes")
			recv2.waitEvent("the file resumed", 90*time.Second, func(e node.Event) bool { return e.Kind == node.EventFile })
			if err := send.wait(120 * time.Second); err != nil {
				t.Fatalf("send: %v\nsender stderr:\n%s\nreceiver stderr:\n%s", err, send.stderr.String(), recv2.stderr.String())
			}
			recv2.waitEvent("done", 30*time.Second, func(e node.Event) bool { return e.Kind == node.EventDone })
			m := altered.FindStringSubmatch(recv2.stderr.String())
			if m == nil {
				t.Fatalf("the restarted receiver did not report the altered part; stderr:\n%s", recv2.stderr.String())
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n <= 0 || n > 16<<20 {
				t.Errorf("forgot %d bytes for one flipped byte, want one block (at most a 16 MiB commit window)", n)
			}
			if got := treeHashes(t, dst); got["large.bin"] != want || len(got) != 1 {
				t.Errorf("the receiver has %v, want large.bin %s", got, want)
			}
			t.Logf("%s: one byte flipped at %d; %s", protocol, int64(at), m[0])
		})
	}
}
