//go:build !unix

package transfer

import "os"

// umask is 0 where there is none: the permission bits are applied as sent.
func umask() os.FileMode { return 0 }
