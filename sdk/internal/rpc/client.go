package rpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// Client is the host's view of a plugin: it implements every role
// interface but Protocol (see [NewProtocolClient]) by calling the plugin
// over gRPC; streams arrive on the data channel. Which roles really work is
// said by the plugin's Info.
type Client struct {
	base  pb.BaseClient
	tr    pb.TransportClient
	disc  pb.DiscoveryClient
	sig   pb.SignalingClient
	proto pb.ProtocolClient
	dc    *datachan.Channel
	done  <-chan struct{}
}

var (
	_ sdk.Transport        = (*Client)(nil)
	_ sdk.Discovery        = (*Client)(nil)
	_ sdk.AccountDirectory = (*Client)(nil)
	_ sdk.Signaling        = (*Client)(nil)
)

// NewClient returns a client calling the plugin on cc, with dc the host's
// end of its data channel. done is closed when the plugin is gone; calls
// that fail after it fail with an error wrapping sdk.ErrPluginExited.
func NewClient(cc grpc.ClientConnInterface, dc *datachan.Channel, done <-chan struct{}) *Client {
	return &Client{
		base: pb.NewBaseClient(cc), tr: pb.NewTransportClient(cc),
		disc: pb.NewDiscoveryClient(cc), sig: pb.NewSignalingClient(cc), proto: pb.NewProtocolClient(cc),
		dc: dc, done: done,
	}
}

// Done is closed when the plugin is gone.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) Info(ctx context.Context) (sdk.Info, error) {
	resp, err := c.base.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return sdk.Info{}, fromStatus(ctx, c.done, "info", err)
	}
	return infoFromProto(resp), nil
}

func (c *Client) ConfigSchema(ctx context.Context) (sdk.ConfigSchema, error) {
	resp, err := c.base.ConfigSchema(ctx, &pb.ConfigSchemaRequest{})
	if err != nil {
		return sdk.ConfigSchema{}, fromStatus(ctx, c.done, "config schema", err)
	}
	return schemaFromProto(resp), nil
}

func (c *Client) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
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

func (c *Client) Close(ctx context.Context) error {
	_, err := c.base.Close(ctx, &pb.CloseRequest{})
	return fromStatus(ctx, c.done, "close", err)
}

func (c *Client) Prepare(ctx context.Context, req sdk.PrepareRequest) (sdk.PrepareResponse, error) {
	if req.Peer.IsZero() {
		return sdk.PrepareResponse{}, fmt.Errorf("prepare: no peer: %w", sdk.ErrInvalidPeerID)
	}
	resp, err := c.tr.Prepare(ctx, &pb.PrepareRequest{Peer: peerIDToBytes(req.Peer), Role: pb.ConnRole(req.Role)})
	if err != nil {
		return sdk.PrepareResponse{}, fromStatus(ctx, c.done, "prepare", err)
	}
	return sdk.PrepareResponse{Session: resp.GetSession(), Local: descFromProto(resp.GetLocal())}, nil
}

func (c *Client) Connect(ctx context.Context, req sdk.ConnectRequest) (sdk.Stream, error) {
	resp, err := c.tr.Connect(ctx, &pb.ConnectRequest{Session: req.Session, Remote: descToProto(req.Remote)})
	if err != nil {
		return nil, fromStatus(ctx, c.done, "connect", err)
	}
	st, err := datachan.ClaimAs[sdk.Stream](ctx, c.dc, resp.GetStreamId())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return withPath(st, resp.GetRoute(), resp.GetTrace()), nil
}

func (c *Client) Announce(ctx context.Context, self sdk.PeerInfo) error {
	_, err := c.disc.Announce(ctx, &pb.AnnounceRequest{Self: peerInfoToProto(self)})
	return fromStatus(ctx, c.done, "announce", err)
}

func (c *Client) Watch(ctx context.Context) (<-chan sdk.PeerEvent, error) {
	st, err := c.disc.Watch(ctx, &pb.WatchRequest{})
	if err == nil {
		err = awaitReady(st, new(pb.PeerEvent))
	}
	if err != nil {
		return nil, fromStatus(ctx, c.done, "watch", err)
	}
	return recvChannel(ctx, st.Recv, func(m *pb.PeerEvent) (sdk.PeerEvent, error) {
		p, err := peerInfoFromProto(m.GetPeer())
		return sdk.PeerEvent{Kind: sdk.PeerEventKind(m.GetKind()), Peer: p}, err
	}), nil
}

func (c *Client) Lookup(ctx context.Context, id sdk.PeerID) (sdk.PeerInfo, error) {
	resp, err := c.disc.Lookup(ctx, &pb.LookupRequest{Id: peerIDToBytes(id)})
	if err != nil {
		return sdk.PeerInfo{}, fromStatus(ctx, c.done, "lookup", err)
	}
	return peerInfoFromProto(resp.GetPeer())
}

// PublishAccount implements sdk.AccountDirectory; a plugin without it
// answers an error wrapping sdk.ErrUnsupported.
func (c *Client) PublishAccount(ctx context.Context, record []byte) error {
	if len(record) > sdk.MaxAccountRecordSize {
		return fmt.Errorf("publish account: record of %d bytes exceeds %d", len(record), sdk.MaxAccountRecordSize)
	}
	_, err := c.disc.PublishAccount(ctx, &pb.PublishAccountRequest{Record: record})
	return fromStatus(ctx, c.done, "publish account", err)
}

// LookupAccount implements sdk.AccountDirectory.
func (c *Client) LookupAccount(ctx context.Context, account [32]byte) ([]byte, error) {
	resp, err := c.disc.LookupAccount(ctx, &pb.LookupAccountRequest{Account: account[:]})
	if err != nil {
		return nil, fromStatus(ctx, c.done, "lookup account", err)
	}
	return resp.GetRecord(), nil
}

func (c *Client) Send(ctx context.Context, env sdk.Envelope) error {
	if len(env.Payload) > sdk.MaxEnvelopePayload {
		return fmt.Errorf("send: payload of %d bytes exceeds %d", len(env.Payload), sdk.MaxEnvelopePayload)
	}
	_, err := c.sig.Send(ctx, &pb.SendRequest{Envelope: envelopeToProto(env)})
	return fromStatus(ctx, c.done, "send", err)
}

func (c *Client) Receive(ctx context.Context) (<-chan sdk.Envelope, error) {
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
