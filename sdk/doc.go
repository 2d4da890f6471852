// Package sdk is the public API for Ferry plugin authors: the contracts
// between the Ferry core and its plugins.
//
// A Ferry plugin is a separately built binary that the Ferry core starts and
// talks to over RPC. It serves one or more of four roles, each a plain Go
// interface in this package:
//
//   - [Discovery]: who is out there and where (announce self, watch peer
//     events, look one peer up).
//   - [Signaling]: deliver small sealed messages to a peer that has no
//     transport yet.
//   - [Transport]: a reliable, ordered byte [Stream] to a peer, built from
//     descriptions the two sides exchange over signaling.
//   - [Protocol]: the file transfer conversation on a secured stream.
//
// Every role embeds [Plugin], the small base with Info, ConfigSchema and
// Configure. A plugin's main function is a single call to Plugin in package
// [github.com/ferry-p2p/ferry/sdk/serve]:
//
//	func main() { serve.Plugin(&myTransport{}) }
//
// serve.Plugin inspects which role interfaces the value implements and
// serves each of them. Plugin authors never see gRPC or protobuf: the shims
// that carry these interfaces across the process boundary are internal to
// the SDK, and this package imports none of them. Bulk bytes never travel
// inside RPC messages: streams ride a raw data channel (a socketpair on
// Linux), and a stream backed by a kernel socket is handed to the core as a
// file descriptor, so its bytes do not flow through the plugin process at
// all. The host's side, which starts a plugin binary and calls it through
// these interfaces, is package [github.com/ferry-p2p/ferry/sdk/host].
//
// Nothing may be written to standard output before serve.Plugin: go-plugin's
// handshake is read from it. Log to standard error (hclog JSON lines keep
// their level in the core's log; [HostLogHandler] writes them with log/slog).
package sdk
