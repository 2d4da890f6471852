package transfer_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull receives 2 MiB into a 1 MiB tmpfs: writing or committing
// fails with an error that names the file, and what was committed stays.
func TestDiskFull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	base := t.TempDir()
	dir, state := filepath.Join(base, "inbox"), filepath.Join(base, "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	in := openInbox(t, dir, state)
	content := data(2<<20, 13)
	inc := accept(t, in, newPeer(t), file("big.bin", content))
	p := create(t, inc, 0)
	const chunk = 64 << 10
	var committed int64
	var failure error
	for off := int64(0); off < int64(len(content)); off += chunk {
		if _, err := p.WriteAt(content[off:off+chunk], off); err != nil {
			failure = err
			break
		}
		if (off+chunk)%(256<<10) == 0 {
			if err := p.Commit(ctx, committed, off+chunk-committed); err != nil {
				failure = err
				break
			}
			committed = off + chunk
		}
	}
	if failure == nil {
		t.Fatal("2 MiB fit in a 1 MiB tmpfs")
	}
	t.Logf("error: %v", failure)
	if !errors.Is(failure, syscall.ENOSPC) || !strings.Contains(failure.Error(), `"big.bin"`) {
		t.Errorf("error %q does not wrap ENOSPC and name the file", failure)
	}
	if err := p.Close(ctx, true); err == nil {
		t.Fatal("Close(true) of a part cut short by a full disk succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "big.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file after a full disk: %v", err)
	}
	// The committed bytes survive: a resume starts there.
	p = create(t, inc, 0)
	if p.Offset() != committed || committed == 0 {
		t.Errorf("Offset() after the full disk = %d, committed %d", p.Offset(), committed)
	}
	if err := p.Close(ctx, false); err != nil {
		t.Errorf("Close(false): %v", err)
	}
	if err := inc.Discard(); err != nil {
		t.Errorf("Discard: %v", err)
	}
}
