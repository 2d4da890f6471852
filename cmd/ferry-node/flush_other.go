//go:build !linux

package main

// flushInput does nothing here: lines typed before a prompt are still
// discarded, a line being typed is not.
func flushInput(int) {}
