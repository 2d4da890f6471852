package rpc

import (
	"context"
	"fmt"
	"net"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// protocolServer serves a Protocol. Each call's stream and host services
// arrive on the data channel under the ids the request names.
type protocolServer struct {
	pb.UnimplementedProtocolServer
	impl sdk.Protocol
	dc   *datachan.Channel
}

// callEnv claims a call's stream and dials its host services. With rec
// set, the stream is the transport's, and the record layer runs here.
func (s *protocolServer) callEnv(ctx context.Context, streamID, hostID uint64, rec *pb.RecordState) (sdk.Stream, *hostClient, error) {
	st, err := datachan.ClaimAs[sdk.Stream](ctx, s.dc, streamID)
	if err != nil {
		return nil, nil, err
	}
	if rec != nil {
		rc, err := record.New(st, recordStateFromProto(rec))
		if err != nil {
			_ = st.Close()
			return nil, nil, fmt.Errorf("record layer: %w", err)
		}
		st = rc
	}
	conn, err := datachan.ClaimAs[net.Conn](ctx, s.dc, hostID)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	cc, err := dialOneConn(conn)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, newHostClient(pb.NewHostClient(cc), cc, s.dc), nil
}

func (s *protocolServer) Send(ctx context.Context, req *pb.ProtocolSendRequest) (*pb.ProtocolSendResponse, error) {
	st, hc, err := s.callEnv(ctx, req.GetStreamId(), req.GetHostId(), req.GetRecord())
	if err != nil {
		return nil, toStatus(fmt.Errorf("protocol send: %w", err))
	}
	defer hc.close()
	defer st.Close()
	if rc, ok := st.(*record.Conn); ok {
		hc.meta = rc.WriteMeta
	}
	err = s.impl.Send(ctx, sdk.SendRequest{Stream: st, Offer: offerFromProto(req.GetOffer()), Source: hc, Progress: hc.progress})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProtocolSendResponse{}, nil
}

func (s *protocolServer) Receive(ctx context.Context, req *pb.ProtocolReceiveRequest) (*pb.ProtocolReceiveResponse, error) {
	st, hc, err := s.callEnv(ctx, req.GetStreamId(), req.GetHostId(), req.GetRecord())
	if err != nil {
		return nil, toStatus(fmt.Errorf("protocol receive: %w", err))
	}
	defer hc.close()
	defer st.Close()
	if rc, ok := st.(*record.Conn); ok {
		rc.OnMeta(func(p []byte) error { return hc.receivedHash(ctx, p) })
	}
	if err := s.impl.Receive(ctx, sdk.ReceiveRequest{Stream: st, Sink: hc, Progress: hc.progress}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProtocolReceiveResponse{}, nil
}
