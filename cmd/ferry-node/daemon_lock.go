package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// daemonPIDFile is the daemon's lock file in the Ferry home: locked
// (flock) while a daemon runs, holding its PID.
const daemonPIDFile = "daemon.pid"

// apiKeyFile holds the API key of the daemon's 127.0.0.1 listener.
const apiKeyFile = "api.key"

// checkHomePrivate refuses a Ferry home that other users may enter or
// read: it holds the device key, the daemon's socket and its API key.
func checkHomePrivate(home string) error {
	fi, err := os.Stat(home)
	if err != nil {
		return fmt.Errorf("the Ferry home %s: %w", home, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the Ferry home %s is not a folder", home)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the Ferry home %s is open to other users (mode %04o); the daemon keeps its socket, API key and device key there and will not start: run `chmod 700 %s`", home, perm, home)
	}
	return nil
}

// lockHome makes this process the daemon of home: it locks the PID file
// and writes its PID there. A second daemon is refused, naming the
// first one's PID. The lock goes with the process, however it ends.
func lockHome(home string) (release func(), err error) {
	path := filepath.Join(home, daemonPIDFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := "unknown"
			if b, rerr := os.ReadFile(path); rerr == nil && strings.TrimSpace(string(b)) != "" {
				pid = strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("a ferry daemon already runs for %s (PID %s)", home, pid)
		}
		return nil, fmt.Errorf("daemon lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("daemon lock %s: %w", path, err)
		}
	}
	return func() {
		_ = f.Truncate(0)
		_ = f.Close()
	}, nil
}

// loadAPIKey returns the API key kept in the home, making one on first
// use (32 random bytes in hex, in a file of mode 0600).
func loadAPIKey(home string) (string, error) {
	path := filepath.Join(home, apiKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if key := strings.TrimSpace(string(b)); len(key) >= 32 {
			return key, nil
		}
		return "", fmt.Errorf("%s holds no usable API key (at least 32 characters); remove it to have a new one made", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("API key: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	key := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("API key: %w", err)
	}
	return key, nil
}
