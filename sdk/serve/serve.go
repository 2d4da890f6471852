// Package serve is the entry point of a Ferry plugin binary: its main
// function is a single call to [Plugin].
//
// It is a package of its own, not part of package sdk, because the shims it
// starts import gRPC and go-plugin and need sdk's types. Keeping them out of
// sdk keeps the contracts package free of them.
package serve

import "github.com/ferry-p2p/ferry/sdk"

// Plugin serves p as a Ferry plugin over go-plugin and returns when the
// host is gone. It serves each role interface p implements ([sdk.Discovery],
// [sdk.Signaling], [sdk.Transport], [sdk.Protocol]). It must be the only
// thing main does: nothing may be written to standard output before it,
// because go-plugin reads its handshake there. A binary run by hand, not by
// the Ferry core, prints a notice to standard error and exits with status 1.
func Plugin(p sdk.Plugin) {
	sdk.Serve(p)
}
