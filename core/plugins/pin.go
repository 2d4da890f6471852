package plugins

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-p2p/ferry/core/config"
)

// checkBinary refuses a binary that others could have replaced, or whose
// hash is not its pin.
func checkBinary(path, pin string) error {
	for _, p := range []string{filepath.Dir(path), path} {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", path, err)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s has mode %#o: %w (chmod go-w %s)", p, fi.Mode().Perm(), ErrUnsafePluginDir, p)
		}
	}
	got, err := config.HashFile(path)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	if got != pin {
		return &PinMismatchError{File: path, Want: pin, Got: got}
	}
	return nil
}
