//go:build !linux

package transfer

// componentMax returns the longest name component the file system holding
// dir takes: MaxComponentLen where it cannot be asked.
func componentMax(dir string) int { return MaxComponentLen }
