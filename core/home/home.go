// Package home says where the Ferry home folder is and what it holds by
// name. It imports only the standard library, so that the small ferry
// front (cmd/ferry), which finds a running daemon's socket before anything
// else, starts in a few milliseconds.
package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SocketName is the daemon's API socket in the Ferry home.
const SocketName = "ferry.sock"

// CLISocketName is the daemon's socket, beside SocketName, on which the
// ferry front hands it command lines to run (package core/api/forward).
const CLISocketName = "ferry-cli.sock"

// ErrNoHome is returned by [Resolve] when neither FERRY_HOME nor the
// user's home folder is known.
var ErrNoHome = errors.New("no ferry home folder")

// Resolve returns the Ferry home folder for the environment env ("KEY=value"
// strings; a later entry wins): FERRY_HOME made absolute ("~" expanded),
// else ~/.config/ferry.
func Resolve(env []string) (string, error) {
	vars := Vars(env)
	if h := vars["FERRY_HOME"]; h != "" {
		h, err := Expand(h, "", vars)
		if err != nil {
			return "", fmt.Errorf("FERRY_HOME: %w", err)
		}
		return h, nil
	}
	u, err := User(vars)
	if err != nil {
		return "", err
	}
	return filepath.Join(u, ".config", "ferry"), nil
}

// User returns the user's home folder: HOME from vars, else
// os.UserHomeDir.
func User(vars map[string]string) (string, error) {
	if h := vars["HOME"]; h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w (set FERRY_HOME): %w", ErrNoHome, err)
	}
	return h, nil
}

// Expand makes p absolute: "~" or "~/..." is taken from the user's home
// folder (see [User]), and a relative path is taken from base, or from the
// working folder when base is empty.
func Expand(p, base string, vars map[string]string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		h, err := User(vars)
		if err != nil {
			return "", err
		}
		p = filepath.Join(h, p[1:])
	}
	if !filepath.IsAbs(p) && base != "" {
		p = filepath.Join(base, p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("make %q absolute: %w", p, err)
	}
	return abs, nil
}

// Vars turns KEY=value strings into a map; a later entry wins.
func Vars(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
