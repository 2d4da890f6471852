package main

import "golang.org/x/sys/unix"

// flushInput discards input the terminal fd has received but not yet
// passed on: keys typed before a prompt, in a line not yet ended.
func flushInput(fd int) { _ = unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) }
