package rpc

import (
	"context"
	"errors"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// protocolClient is the host's view of a protocol plugin. It is a type of
// its own because Protocol's Send and Receive differ from Signaling's.
type protocolClient struct {
	*Client
	// records is 1 when the plugin runs the record layer itself (its
	// Info's record_streams), 2 when it does not, 0 before it was asked.
	records *atomic.Int32
}

var _ sdk.Protocol = protocolClient{}

// NewProtocolClient returns c as a Protocol: its Send and Receive run a
// transfer in the plugin, serving the call's host services meanwhile.
func NewProtocolClient(c *Client) sdk.Protocol { return protocolClient{c, new(atomic.Int32)} }

// HandsOver is implemented by a secured stream that can stop and hand its
// transport's stream and record-layer state to another process (the core's
// secure.Conn).
type HandsOver interface {
	Handover() (sdk.Stream, record.State, error)
}

// takesRecords reports whether the plugin runs the record layer itself.
func (c protocolClient) takesRecords(ctx context.Context) bool {
	switch c.records.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	resp, err := c.base.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return false // the call that follows reports the plugin's state
	}
	v := int32(2)
	if resp.GetRecordStreams() {
		v = 1
	}
	c.records.Store(v)
	return v == 1
}

// sendStream hands st to the plugin: the transport's stream and the record
// layer's state when st can hand over and the plugin runs the record layer
// (the plaintext then never leaves the plugin), else the plaintext through
// a socket pair that this side pumps.
func (c protocolClient) sendStream(ctx context.Context, st sdk.Stream) (uint64, *pb.RecordState, func(), error) {
	if ho, ok := st.(HandsOver); ok && c.takesRecords(ctx) {
		raw, state, err := ho.Handover()
		if err == nil {
			id, _, err := c.dc.Send(raw)
			if err != nil {
				_ = raw.Close()
				return 0, nil, nil, err
			}
			return id, recordStateToProto(state), func() {}, nil
		}
		// Not at a record boundary: this side keeps the record layer.
	}
	id, stop, err := c.dc.SendSocketpair(st)
	return id, nil, stop, err
}

// hostCall runs fn with the call's stream and host services set up on the
// data channel, and tears them down when fn returns.
func (c protocolClient) hostCall(ctx context.Context, st sdk.Stream, hs *hostServer, fn func(streamID, hostID uint64, rec *pb.RecordState) error) error {
	if st == nil {
		return errors.New("no stream")
	}
	streamID, rec, stop, err := c.sendStream(ctx, st)
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
	return fn(streamID, hostID, rec)
}

func (c protocolClient) Send(ctx context.Context, req sdk.SendRequest) error {
	if req.Source == nil {
		return errors.New("protocol send: no file source")
	}
	hs := &hostServer{source: req.Source, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64, rec *pb.RecordState) error {
		_, err := c.proto.Send(ctx, &pb.ProtocolSendRequest{StreamId: streamID, HostId: hostID, Offer: offerToProto(req.Offer), Record: rec})
		return fromStatus(ctx, c.done, "protocol send", err)
	})
}

func (c protocolClient) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	if req.Sink == nil {
		return errors.New("protocol receive: no file sink")
	}
	hs := &hostServer{sink: req.Sink, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64, rec *pb.RecordState) error {
		_, err := c.proto.Receive(ctx, &pb.ProtocolReceiveRequest{StreamId: streamID, HostId: hostID, Record: rec})
		return fromStatus(ctx, c.done, "protocol receive", err)
	})
}
