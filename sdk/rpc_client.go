package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// rpcClient is the host's view of a plugin: it implements every role
// interface by calling the plugin over gRPC; streams arrive on the data
// channel. Which roles really work is said by the plugin's Info.
type rpcClient struct {
	base  pb.BaseClient
	tr    pb.TransportClient
	disc  pb.DiscoveryClient
	sig   pb.SignalingClient
	proto pb.ProtocolClient
	dc    *dataChannel
	done  <-chan struct{}
}

var (
	_ Transport = (*rpcClient)(nil)
	_ Discovery = (*rpcClient)(nil)
	_ Signaling = (*rpcClient)(nil)
)

func newRPCClient(cc grpc.ClientConnInterface, dc *dataChannel, done <-chan struct{}) *rpcClient {
	return &rpcClient{
		base: pb.NewBaseClient(cc), tr: pb.NewTransportClient(cc),
		disc: pb.NewDiscoveryClient(cc), sig: pb.NewSignalingClient(cc), proto: pb.NewProtocolClient(cc),
		dc: dc, done: done,
	}
}

func (c *rpcClient) Info(ctx context.Context) (Info, error) {
	resp, err := c.base.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus(ctx, c.done, "info", err)
	}
	return infoFromProto(resp), nil
}

func (c *rpcClient) ConfigSchema(ctx context.Context) (ConfigSchema, error) {
	resp, err := c.base.ConfigSchema(ctx, &pb.ConfigSchemaRequest{})
	if err != nil {
		return ConfigSchema{}, fromStatus(ctx, c.done, "config schema", err)
	}
	return schemaFromProto(resp), nil
}

func (c *rpcClient) Configure(ctx context.Context, req ConfigureRequest) error {
	del, err := delegationToProto(req.Delegation)
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	_, err = c.base.Configure(ctx, &pb.ConfigureRequest{
		ApiVersion: int32(req.APIVersion), Config: req.Config, Self: peerIDToBytes(req.Self), StateDir: req.StateDir,
		Delegation: del,
	})
	return fromStatus(ctx, c.done, "configure", err)
}

func (c *rpcClient) Close(ctx context.Context) error {
	_, err := c.base.Close(ctx, &pb.CloseRequest{})
	return fromStatus(ctx, c.done, "close", err)
}

func (c *rpcClient) Prepare(ctx context.Context, req PrepareRequest) (PrepareResponse, error) {
	if req.Peer.IsZero() {
		return PrepareResponse{}, fmt.Errorf("prepare: no peer: %w", ErrInvalidPeerID)
	}
	resp, err := c.tr.Prepare(ctx, &pb.PrepareRequest{Peer: peerIDToBytes(req.Peer), Role: pb.ConnRole(req.Role)})
	if err != nil {
		return PrepareResponse{}, fromStatus(ctx, c.done, "prepare", err)
	}
	return PrepareResponse{Session: resp.GetSession(), Local: descFromProto(resp.GetLocal())}, nil
}

func (c *rpcClient) Connect(ctx context.Context, req ConnectRequest) (Stream, error) {
	resp, err := c.tr.Connect(ctx, &pb.ConnectRequest{Session: req.Session, Remote: descToProto(req.Remote)})
	if err != nil {
		return nil, fromStatus(ctx, c.done, "connect", err)
	}
	st, err := claimAs[Stream](ctx, c.dc, resp.GetStreamId())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return st, nil
}

func (c *rpcClient) Announce(ctx context.Context, self PeerInfo) error {
	_, err := c.disc.Announce(ctx, &pb.AnnounceRequest{Self: peerInfoToProto(self)})
	return fromStatus(ctx, c.done, "announce", err)
}

func (c *rpcClient) Watch(ctx context.Context) (<-chan PeerEvent, error) {
	st, err := c.disc.Watch(ctx, &pb.WatchRequest{})
	if err == nil {
		err = awaitReady(st, new(pb.PeerEvent))
	}
	if err != nil {
		return nil, fromStatus(ctx, c.done, "watch", err)
	}
	return recvChannel(ctx, st.Recv, func(m *pb.PeerEvent) (PeerEvent, error) {
		p, err := peerInfoFromProto(m.GetPeer())
		return PeerEvent{Kind: PeerEventKind(m.GetKind()), Peer: p}, err
	}), nil
}

func (c *rpcClient) Lookup(ctx context.Context, id PeerID) (PeerInfo, error) {
	resp, err := c.disc.Lookup(ctx, &pb.LookupRequest{Id: peerIDToBytes(id)})
	if err != nil {
		return PeerInfo{}, fromStatus(ctx, c.done, "lookup", err)
	}
	return peerInfoFromProto(resp.GetPeer())
}

func (c *rpcClient) Send(ctx context.Context, env Envelope) error {
	if len(env.Payload) > MaxEnvelopePayload {
		return fmt.Errorf("send: payload of %d bytes exceeds %d", len(env.Payload), MaxEnvelopePayload)
	}
	_, err := c.sig.Send(ctx, &pb.SendRequest{Envelope: envelopeToProto(env)})
	return fromStatus(ctx, c.done, "send", err)
}

func (c *rpcClient) Receive(ctx context.Context) (<-chan Envelope, error) {
	st, err := c.sig.Receive(ctx, &pb.ReceiveRequest{})
	if err == nil {
		err = awaitReady(st, new(pb.Envelope))
	}
	if err != nil {
		return nil, fromStatus(ctx, c.done, "receive", err)
	}
	return recvChannel(ctx, st.Recv, envelopeFromProto), nil
}

// recvChannel forwards a server stream's messages to a channel until the
// stream ends (the plugin closed it or exited) or ctx does. Messages that do
// not convert are dropped.
func recvChannel[M any, T any](ctx context.Context, recv func() (*M, error), conv func(*M) (T, error)) <-chan T {
	out := make(chan T)
	go func() {
		defer close(out)
		for {
			m, err := recv()
			if err != nil {
				return
			}
			v, err := conv(m)
			if err != nil {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// awaitReady waits for the server's ready header on a streaming call; a
// call the implementation refused has none, and its error comes from Recv.
func awaitReady(st grpc.ClientStream, msg any) error {
	md, err := st.Header()
	if err == nil && len(md.Get(streamReadyKey)) > 0 {
		return nil
	}
	if err := st.RecvMsg(msg); err != nil {
		return err
	}
	return errors.New("stream started without its ready header")
}
