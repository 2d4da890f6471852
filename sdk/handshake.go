package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// handshake is the go-plugin handshake every Ferry host and plugin share.
// The cookie is a UX feature, not a security one: it stops a user from
// running a plugin binary by hand. It must never change. ProtocolVersion is
// the plugin API major version (APIVersion); what each version means:
//
//	1: sdk/proto/ferry/plugin/v1 over gRPC. The plugin serves Base, and
//	   Discovery, Signaling, Transport and Protocol for the roles it has;
//	   for each protocol Send or Receive the host serves Host on a
//	   data-channel stream. The data channel is fd 3, a yamux session
//	   (plugin stream ids odd, host ids even), and fd 4, a seqpacket socket
//	   carrying one descriptor per message (SCM_RIGHTS): a transport's
//	   kernel socket, a protocol call's end of a socketpair, a file.
//	   Additions within version 1 are capabilities in Info.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "FERRY_PLUGIN",
	MagicCookieValue: "c1f0e6b2a9d84c7f93f4d2b0e8a7165d",
}

// pluginKey is the single name every Ferry plugin is dispensed under.
const pluginKey = "ferry"

// dataFDsEnv tells a plugin process which descriptors carry its data
// channel: "3,4" (yamux stream socket, seqpacket descriptor socket).
const dataFDsEnv = "FERRY_PLUGIN_DATA_FDS"

// grpcPlugin is the go-plugin glue for both sides.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Plugin       // plugin side
	dc   *dataChannel // this side's data channel
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	registerServers(s, p.impl, p.dc)
	return nil
}

func (p *grpcPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return newRPCClient(cc, p.dc, mergeDone(ctx.Done(), p.dc.Done())), nil
}

// mergeDone returns a channel closed when either input is.
func mergeDone(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		select {
		case <-a:
		case <-b:
		}
		close(out)
	}()
	return out
}
