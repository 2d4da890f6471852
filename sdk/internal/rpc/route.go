package rpc

import (
	"syscall"

	"github.com/ferry-p2p/ferry/sdk"
)

// routed is a stream claimed from a plugin with the route and trace the
// plugin's stream gave (sdk.RoutedStream, sdk.TracedStream).
type routed struct {
	sdk.Stream
	route string
	trace []string
}

// Route names the way the stream's bytes go.
func (r *routed) Route() string { return r.route }

// Trace tells how the stream was made.
func (r *routed) Trace() []string { return r.trace }

// routedSocket is a routed stream that is a kernel socket, which keeps
// its syscall.Conn so the descriptor can still be handed on.
type routedSocket struct {
	routed
	sc syscall.Conn
}

// SyscallConn returns the socket's raw connection.
func (r *routedSocket) SyscallConn() (syscall.RawConn, error) { return r.sc.SyscallConn() }

// withPath returns st saying route and trace, or st itself when both are
// empty.
func withPath(st sdk.Stream, route string, trace []string) sdk.Stream {
	if route == "" && len(trace) == 0 {
		return st
	}
	if sc, ok := st.(syscall.Conn); ok {
		return &routedSocket{routed: routed{Stream: st, route: route, trace: trace}, sc: sc}
	}
	return &routed{Stream: st, route: route, trace: trace}
}
