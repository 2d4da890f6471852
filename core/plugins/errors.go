package plugins

import (
	"errors"
	"fmt"
)

// ErrUnknownPlugin is returned when config names an instance or plugin
// that the catalog does not know.
var ErrUnknownPlugin = errors.New("unknown plugin")

// ErrNoPin is returned when an external plugin has no sha256 pin, neither
// in config nor in the lock file.
var ErrNoPin = errors.New("no sha256 pin")

// ErrUnsafePluginDir is returned when the plugin binary or its folder can be
// written by users other than the owner.
var ErrUnsafePluginDir = errors.New("plugin folder writable by others")

// PinMismatchError is returned when a plugin binary's hash differs from its
// pin: the binary changed since it was pinned, and it is not started.
type PinMismatchError struct {
	File string // the binary
	Want string // the pinned sha256
	Got  string // the binary's sha256
}

// Error names the file and both hashes.
func (e *PinMismatchError) Error() string {
	return fmt.Sprintf("plugin %s: sha256 is %s but the pin says %s: refusing to start it (rebuild with `make build` or update the pin)", e.File, e.Got, e.Want)
}
