package rpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// maxRecvMsg raises gRPC's 4 MiB default in the plugin: only control
// messages travel on gRPC, but an envelope or schema must never be cut.
const maxRecvMsg = 16 << 20

// NewServer returns the gRPC server a plugin's services run on: opts plus
// the plugin's message size limit. Its signature is go-plugin's
// ServeConfig.GRPCServer.
func NewServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxRecvMsg))...)
}

// Register serves impl on s: the base service, and one service per role
// the implementation has. Streams go to the host on dc.
func Register(s *grpc.Server, impl sdk.Plugin, dc *datachan.Channel) {
	pb.RegisterBaseServer(s, &baseServer{impl: impl})
	if t, ok := impl.(sdk.Transport); ok {
		pb.RegisterTransportServer(s, &transportServer{impl: t, dc: dc})
	}
	if d, ok := impl.(sdk.Discovery); ok {
		pb.RegisterDiscoveryServer(s, &discoveryServer{impl: d})
	}
	if g, ok := impl.(sdk.Signaling); ok {
		pb.RegisterSignalingServer(s, &signalingServer{impl: g})
	}
	if p, ok := impl.(sdk.Protocol); ok {
		pb.RegisterProtocolServer(s, &protocolServer{impl: p, dc: dc})
	}
}

// baseServer serves the base every plugin has.
type baseServer struct {
	pb.UnimplementedBaseServer
	impl sdk.Plugin
}

var _ pb.BaseServer = (*baseServer)(nil)

// rolesOf lists the roles an implementation serves, from its interfaces.
func rolesOf(impl sdk.Plugin) []sdk.Role {
	var roles []sdk.Role
	if _, ok := impl.(sdk.Discovery); ok {
		roles = append(roles, sdk.RoleDiscovery)
	}
	if _, ok := impl.(sdk.Signaling); ok {
		roles = append(roles, sdk.RoleSignaling)
	}
	if _, ok := impl.(sdk.Transport); ok {
		roles = append(roles, sdk.RoleTransport)
	}
	if _, ok := impl.(sdk.Protocol); ok {
		roles = append(roles, sdk.RoleProtocol)
	}
	return roles
}

func (s *baseServer) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if len(info.Roles) == 0 {
		info.Roles = rolesOf(s.impl)
	}
	if len(info.APIVersions) == 0 {
		info.APIVersions = []int{sdk.APIVersion}
	}
	if _, ok := s.impl.(sdk.Transport); ok {
		info.Capabilities = appendMissing(info.Capabilities, sdk.CapStreamFD)
	}
	resp := infoToProto(info)
	// This SDK runs the record layer on the plugin side of a protocol call
	// (protocolServer.callEnv).
	_, resp.RecordStreams = s.impl.(sdk.Protocol)
	return resp, nil
}

func appendMissing(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func (s *baseServer) ConfigSchema(ctx context.Context, _ *pb.ConfigSchemaRequest) (*pb.ConfigSchemaResponse, error) {
	sc, err := s.impl.ConfigSchema(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return schemaToProto(sc), nil
}

func (s *baseServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	self, err := peerIDFromBytes(req.GetSelf())
	if err != nil {
		return nil, toStatus(fmt.Errorf("configure: %w", err))
	}
	del, err := delegationFromProto(req.GetDelegation())
	if err != nil {
		return nil, toStatus(fmt.Errorf("configure: %w", err))
	}
	err = s.impl.Configure(ctx, sdk.ConfigureRequest{
		APIVersion: int(req.GetApiVersion()), Config: req.GetConfig(), Self: self, StateDir: req.GetStateDir(),
		Delegation: del,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *baseServer) Close(ctx context.Context, _ *pb.CloseRequest) (*pb.CloseResponse, error) {
	if err := s.impl.Close(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CloseResponse{}, nil
}

// transportServer serves a Transport. Streams go back on the data channel.
type transportServer struct {
	pb.UnimplementedTransportServer
	impl sdk.Transport
	dc   *datachan.Channel
}

func (s *transportServer) Prepare(ctx context.Context, req *pb.PrepareRequest) (*pb.PrepareResponse, error) {
	peer, err := peerIDFromBytes(req.GetPeer())
	if err != nil {
		return nil, toStatus(fmt.Errorf("prepare: %w", err))
	}
	resp, err := s.impl.Prepare(ctx, sdk.PrepareRequest{Peer: peer, Role: sdk.ConnRole(req.GetRole())})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PrepareResponse{Session: resp.Session, Local: descToProto(resp.Local)}, nil
}

func (s *transportServer) Connect(ctx context.Context, req *pb.ConnectRequest) (*pb.ConnectResponse, error) {
	st, err := s.impl.Connect(ctx, sdk.ConnectRequest{Session: req.GetSession(), Remote: descFromProto(req.GetRemote())})
	if err != nil {
		return nil, toStatus(err)
	}
	var route string
	if rs, ok := st.(sdk.RoutedStream); ok {
		route = rs.Route()
	}
	var trace []string
	if ts, ok := st.(sdk.TracedStream); ok {
		trace = ts.Trace()
	}
	id, kind, err := s.dc.Send(st)
	if err != nil {
		_ = st.Close()
		return nil, toStatus(fmt.Errorf("connect: hand stream to host: %w", err))
	}
	return &pb.ConnectResponse{StreamId: id, Kind: pb.StreamKind(kind), Route: route, Trace: trace}, nil
}

// discoveryServer serves a Discovery.
type discoveryServer struct {
	pb.UnimplementedDiscoveryServer
	impl sdk.Discovery
}

func (s *discoveryServer) Announce(ctx context.Context, req *pb.AnnounceRequest) (*pb.AnnounceResponse, error) {
	self, err := peerInfoFromProto(req.GetSelf())
	if err != nil {
		return nil, toStatus(fmt.Errorf("announce: %w", err))
	}
	if err := s.impl.Announce(ctx, self); err != nil {
		return nil, toStatus(err)
	}
	return &pb.AnnounceResponse{}, nil
}

func (s *discoveryServer) Watch(_ *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.PeerEvent]) error {
	return serveChannel(stream, s.impl.Watch, func(ev sdk.PeerEvent) *pb.PeerEvent {
		return &pb.PeerEvent{Kind: pb.PeerEventKind(ev.Kind), Peer: peerInfoToProto(ev.Peer)}
	})
}

func (s *discoveryServer) Lookup(ctx context.Context, req *pb.LookupRequest) (*pb.LookupResponse, error) {
	id, err := peerIDFromBytes(req.GetId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("lookup: %w", err))
	}
	p, err := s.impl.Lookup(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.LookupResponse{Peer: peerInfoToProto(p)}, nil
}

func (s *discoveryServer) PublishAccount(ctx context.Context, req *pb.PublishAccountRequest) (*pb.PublishAccountResponse, error) {
	d, ok := s.impl.(sdk.AccountDirectory)
	if !ok {
		return nil, toStatus(fmt.Errorf("publish account: %w", sdk.ErrUnsupported))
	}
	if err := d.PublishAccount(ctx, req.GetRecord()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.PublishAccountResponse{}, nil
}

func (s *discoveryServer) LookupAccount(ctx context.Context, req *pb.LookupAccountRequest) (*pb.LookupAccountResponse, error) {
	d, ok := s.impl.(sdk.AccountDirectory)
	if !ok {
		return nil, toStatus(fmt.Errorf("lookup account: %w", sdk.ErrUnsupported))
	}
	if len(req.GetAccount()) != 32 {
		return nil, toStatus(fmt.Errorf("lookup account: key of %d bytes: %w", len(req.GetAccount()), sdk.ErrNotFound))
	}
	rec, err := d.LookupAccount(ctx, [32]byte(req.GetAccount()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.LookupAccountResponse{Record: rec}, nil
}

// signalingServer serves a Signaling.
type signalingServer struct {
	pb.UnimplementedSignalingServer
	impl sdk.Signaling
}

func (s *signalingServer) Send(ctx context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	env, err := envelopeFromProto(req.GetEnvelope())
	if err != nil {
		return nil, toStatus(fmt.Errorf("send: %w", err))
	}
	if err := s.impl.Send(ctx, env); err != nil {
		return nil, toStatus(err)
	}
	return &pb.SendResponse{}, nil
}

func (s *signalingServer) Receive(_ *pb.ReceiveRequest, stream grpc.ServerStreamingServer[pb.Envelope]) error {
	return serveChannel(stream, s.impl.Receive, envelopeToProto)
}

// serveChannel opens an implementation's channel, says so with the ready
// header, and forwards each value until the channel closes or the call ends.
func serveChannel[T any, M any](stream grpc.ServerStreamingServer[M], open func(context.Context) (<-chan T, error), conv func(T) *M) error {
	ctx := stream.Context()
	ch, err := open(ctx)
	if err != nil {
		return toStatus(err)
	}
	if err := stream.SendHeader(streamReady); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case v, ok := <-ch:
			if !ok {
				return nil
			}
			if err := stream.Send(conv(v)); err != nil {
				return err
			}
		}
	}
}

// streamReady is the header a streaming call sends once the implementation
// accepted it; without it the client reads the call's error instead.
var streamReady = metadata.Pairs(streamReadyKey, "1")

const streamReadyKey = "ferry-stream-ready"
