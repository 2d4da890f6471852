package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxRSS is the peak resident set each side of TestManyFiles may reach.
const maxRSS = 128 << 20

// peakRSS returns the peak RSS of an exited process and the children it
// waited for (wait4's ru_maxrss: the largest single process).
func peakRSS(t *testing.T, ps *os.ProcessState) int64 {
	t.Helper()
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage for the process")
	}
	return ru.Maxrss << 10
}

// TestManyFiles: a folder of FERRY_MANY_FILES (100000 for the issue's
// check) files of 0-4 KiB in nested folders goes from one ferry process to
// another: the receiver's question shows the summary (count, size,
// top-level name) rather than the files, every file arrives and checks out,
// and the peak RSS of each side stays under 128 MiB. It takes minutes at
// today's rate of small files (see testdata/bench/smallfiles.sh), so it
// runs only when FERRY_MANY_FILES is set (and FERRY_MANY_FILES_PROTOCOL
// picks the protocol).
func TestManyFiles(t *testing.T) {
	count, err := strconv.Atoi(os.Getenv("FERRY_MANY_FILES"))
	if err != nil || count <= 0 {
		t.Skip("set FERRY_MANY_FILES=100000 to run: at today's small-file rate it takes tens of minutes")
	}
	bin := binDir(t)
	a, b := newNode(t, bin), newNode(t, bin)
	idB := b.id()
	src := filepath.Join(t.TempDir(), "tree")
	r := rand.New(rand.NewPCG(uint64(count), 14))
	buf := make([]byte, 4096)
	for i := range count {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%37), fmt.Sprintf("e%02d", i/37%23), fmt.Sprintf("f%06d", i))
		if i%23 == 0 || i < 37*23 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		n := r.IntN(4097)
		for j := range n {
			buf[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(p, buf[:n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst := t.TempDir()
	in, typed := io.Pipe()
	recv := b.start(in, "receive", "--json", "--dir", dst)
	t.Cleanup(func() { _ = typed.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	// FERRY_MANY_FILES_PROTOCOL picks the protocol (default: the first
	// configured, ftv2a).
	args := []string{"send", src, "--to", idB, "--json", "--retry-for", "5m"}
	if p := os.Getenv("FERRY_MANY_FILES_PROTOCOL"); p != "" {
		args = append(args, "--protocol", p)
	}
	send := a.cmd(ctx, args...)
	var sendOut, sendErr syncBuffer
	send.Stdout, send.Stderr = &sendOut, &sendErr
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- send.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(recv.stderr.String(), promptChoices) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver did not ask:\n%s", recv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	question := recv.stderr.String()
	if want := fmt.Sprintf("Accept %d file(s)", count); !contains(question, want, "in 1 top-level name(s): tree") {
		t.Errorf("the question does not show the summary (%q, the top-level name):\n%s", want, question)
	}
	if strings.Contains(question, "f000001") {
		t.Errorf("the question lists files:\n%s", question)
	}
	if _, err := io.WriteString(typed, "y\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := <-sent; err != nil {
		t.Fatalf("send: %v\n%s", err, sendErr.String())
	}
	took := time.Since(start)
	// Stop the receiver to read its rusage; the test's cleanup waits for
	// it too, so the result goes back into its channel.
	_ = typed.Close()
	if err := recv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-recv.done:
		recv.done <- err
	case <-time.After(time.Minute):
		t.Fatal("the receiver did not stop")
	}
	sRSS, rRSS := peakRSS(t, send.ProcessState), peakRSS(t, recv.cmd.ProcessState)
	t.Logf("%d files in %v (%.0f files/s after the answer); peak RSS: sender %d MiB, receiver %d MiB",
		count, took.Round(time.Millisecond), float64(count)/took.Seconds(), sRSS>>20, rRSS>>20)
	if sRSS > maxRSS || rRSS > maxRSS {
		t.Errorf("peak RSS sender %d MiB, receiver %d MiB: over %d MiB", sRSS>>20, rRSS>>20, maxRSS>>20)
	}
	got, want := treeHashes(t, filepath.Join(dst, "tree")), treeHashes(t, src)
	if !maps.Equal(got, want) {
		t.Errorf("received %d files, sent %d, or contents differ", len(got), len(want))
	}
}
