package rpc

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// protocolClient is the host's view of a protocol plugin. It is a type of
// its own because Protocol's Send and Receive differ from Signaling's.
type protocolClient struct{ *Client }

var _ sdk.Protocol = protocolClient{}

// NewProtocolClient returns c as a Protocol: its Send and Receive run a
// transfer in the plugin, serving the call's host services meanwhile.
func NewProtocolClient(c *Client) sdk.Protocol { return protocolClient{c} }

// hostCall runs fn with the call's stream and host services set up on the
// data channel, and tears them down when fn returns.
func (c protocolClient) hostCall(ctx context.Context, st sdk.Stream, hs *hostServer, fn func(streamID, hostID uint64) error) error {
	if st == nil {
		return errors.New("no stream")
	}
	streamID, stop, err := c.dc.SendSocketpair(st)
	if err != nil {
		return err
	}
	defer stop()
	hostID, conn, err := c.dc.OpenStream()
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	hs.dc = c.dc
	pb.RegisterHostServer(srv, hs)
	go func() { _ = srv.Serve(newOneConnListener(conn)) }()
	defer srv.Stop()
	// Close the services' stream first: a plugin that never called the host
	// leaves the server waiting for its HTTP/2 preface.
	defer conn.Close()
	defer hs.closeParts()
	return fn(streamID, hostID)
}

func (c protocolClient) Send(ctx context.Context, req sdk.SendRequest) error {
	if req.Source == nil {
		return errors.New("protocol send: no file source")
	}
	hs := &hostServer{source: req.Source, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64) error {
		_, err := c.proto.Send(ctx, &pb.ProtocolSendRequest{StreamId: streamID, HostId: hostID, Offer: offerToProto(req.Offer)})
		return fromStatus(ctx, c.done, "protocol send", err)
	})
}

func (c protocolClient) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	if req.Sink == nil {
		return errors.New("protocol receive: no file sink")
	}
	hs := &hostServer{sink: req.Sink, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64) error {
		_, err := c.proto.Receive(ctx, &pb.ProtocolReceiveRequest{StreamId: streamID, HostId: hostID})
		return fromStatus(ctx, c.done, "protocol receive", err)
	})
}
