package rpc

import (
	"syscall"

	"github.com/ferry-p2p/ferry/sdk"
)

// routed is a stream claimed from a plugin with the route the plugin's
// stream named (sdk.RoutedStream).
type routed struct {
	sdk.Stream
	route string
}

// Route names the way the stream's bytes go.
func (r *routed) Route() string { return r.route }

// routedSocket is a routed stream that is a kernel socket, which keeps
// its syscall.Conn so the descriptor can still be handed on.
type routedSocket struct {
	routed
	sc syscall.Conn
}

// SyscallConn returns the socket's raw connection.
func (r *routedSocket) SyscallConn() (syscall.RawConn, error) { return r.sc.SyscallConn() }

// withRoute returns st saying route, or st itself when route is empty.
func withRoute(st sdk.Stream, route string) sdk.Stream {
	if route == "" {
		return st
	}
	if sc, ok := st.(syscall.Conn); ok {
		return &routedSocket{routed: routed{Stream: st, route: route}, sc: sc}
	}
	return &routed{Stream: st, route: route}
}
