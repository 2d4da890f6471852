// Command ferry is the Ferry command-line tool's front: a small program
// that starts in a few milliseconds. When a ferry daemon runs for the Ferry
// home, the commands that only talk to it (send, status, peers, accept,
// refuse, resume, cancel and config reload) run inside the daemon: this
// program posts its command line, working folder, environment and terminal
// facts to the daemon's command line socket and prints what the command
// writes (package core/api/forward). Every other command, and every command when no daemon
// runs, is the full program, ferry-node, installed beside this one: this
// program executes it in its place, with the same arguments, so that the
// process, its ID and its signals are the same as if ferry-node had been
// started.
//
// The full program links libp2p, pion, gRPC and protobuf for its plugins'
// in-process twins, and their package initialisation alone takes about
// 30 ms before main runs; a send of a small file through a running daemon
// takes about that much in all.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/term"

	"github.com/ferry-p2p/ferry/core/api/forward"
	"github.com/ferry-p2p/ferry/core/home"
)

// nodeName is the full program's file name, beside this one.
const nodeName = "ferry-node"

func main() {
	args := os.Args[1:]
	if forward.Forwardable(args) {
		if code, ok := runInDaemon(args); ok {
			os.Exit(code)
		}
	}
	if err := execNode(); err != nil {
		fmt.Fprintf(os.Stderr, "ferry: %v\n", err)
		os.Exit(1)
	}
}

// runInDaemon runs the command line in the daemon of the Ferry home when
// one runs and takes it: the exit status and true. False means nothing ran
// (no daemon, or one that does not take command lines).
func runInDaemon(args []string) (int, bool) {
	h, err := home.Resolve(os.Environ())
	if err != nil {
		return 0, false
	}
	socket := filepath.Join(h, home.CLISocketName)
	wd, err := os.Getwd()
	if err != nil {
		return 0, false
	}
	req := forward.Request{
		Args:   args,
		Dir:    wd,
		Env:    os.Environ(),
		Stdout: terminal(os.Stdout),
		Stderr: terminal(os.Stderr),
	}
	// Ctrl-C interrupts the command in the daemon, which then prints how
	// far it got; a second one leaves at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	interrupts := make(chan struct{}, 1)
	go func() {
		n := 0
		for range sigs {
			n++
			if n > 1 {
				os.Exit(130)
			}
			interrupts <- struct{}{}
		}
	}()
	code, err := forward.Run(context.Background(), socket, req, os.Stdout, os.Stderr, interrupts)
	signal.Stop(sigs)
	if errors.Is(err, forward.ErrNotServed) {
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry: %v\n", err)
		return 1, true
	}
	return code, true
}

// terminal describes f for the daemon: whether it is a terminal, and its
// size.
func terminal(f *os.File) forward.Terminal {
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return forward.Terminal{}
	}
	w, h, _ := term.GetSize(fd)
	return forward.Terminal{TTY: true, Width: w, Height: h}
}

// execNode replaces this process with the full program, beside this one's
// real file (symbolic links resolved), with the same arguments and
// environment. It returns only on failure.
func execNode() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the ferry binary: %w", err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	node := filepath.Join(filepath.Dir(exe), nodeName)
	if err := syscall.Exec(node, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w (ferry-node is the full program and is installed beside ferry: make build)", node, err)
	}
	return nil
}
