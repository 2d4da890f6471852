package rpc

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
)

// Handshake is the go-plugin handshake every Ferry host and plugin share.
// The cookie is a UX feature, not a security one: it stops a user from
// running a plugin binary by hand. It must never change. ProtocolVersion is
// the plugin API major version (sdk.APIVersion); what each version means:
//
//	1: sdk/proto/ferry/plugin/v1 over gRPC. The plugin serves Base, and
//	   Discovery, Signaling, Transport and Protocol for the roles it has;
//	   for each protocol Send or Receive the host serves Host on a
//	   data-channel stream. The data channel is fd 3, a yamux session
//	   (plugin stream ids odd, host ids even), and fd 4, a seqpacket socket
//	   carrying one descriptor per message (SCM_RIGHTS): a transport's
//	   kernel socket, a protocol call's end of a socketpair, a file.
//	   Additions within version 1 are capabilities in Info.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  sdk.APIVersion,
	MagicCookieKey:   "FERRY_PLUGIN",
	MagicCookieValue: "c1f0e6b2a9d84c7f93f4d2b0e8a7165d",
}

// PluginKey is the single name every Ferry plugin is dispensed under.
const PluginKey = "ferry"

// DataFDsEnv tells a plugin process which descriptors carry its data
// channel: "3,4" (yamux stream socket, seqpacket descriptor socket).
const DataFDsEnv = "FERRY_PLUGIN_DATA_FDS"

// VersionedPlugins is the go-plugin plugin set for both sides, keyed by
// API version. The plugin passes its implementation; the host passes nil
// and dispenses a *Client under PluginKey. dc is this side's data channel.
func VersionedPlugins(impl sdk.Plugin, dc *datachan.Channel) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{sdk.APIVersion: {PluginKey: &grpcPlugin{impl: impl, dc: dc}}}
}

// grpcPlugin is the go-plugin glue for both sides.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl sdk.Plugin        // plugin side
	dc   *datachan.Channel // this side's data channel
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	Register(s, p.impl, p.dc)
	return nil
}

func (p *grpcPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return NewClient(cc, p.dc, mergeDone(ctx.Done(), p.dc.Done())), nil
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
