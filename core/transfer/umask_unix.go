//go:build unix

package transfer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// umask returns the process's file mode creation mask, read once. Linux
// shows it in /proc/self/status, which reads it without changing it;
// elsewhere it is set and restored once, at the first call, a moment in
// which a file created by another goroutine would get the umask 022.
var umask = sync.OnceValue(func() os.FileMode {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m) & 0o777
				}
			}
		}
	}
	m := syscall.Umask(0o022)
	syscall.Umask(m)
	return os.FileMode(m) & 0o777
})
