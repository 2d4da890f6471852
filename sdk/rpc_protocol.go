package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// ---- host side: calling a protocol plugin ----

// protocolClient is the host's view of a protocol plugin. It is a type of
// its own because Protocol's Send and Receive differ from Signaling's.
type protocolClient struct{ *rpcClient }

var _ Protocol = protocolClient{}

// hostCall runs fn with the call's stream and host services set up on the
// data channel, and tears them down when fn returns.
func (c protocolClient) hostCall(ctx context.Context, st Stream, hs *hostServer, fn func(streamID, hostID uint64) error) error {
	if st == nil {
		return errors.New("no stream")
	}
	streamID, stop, err := c.dc.sendSocketpair(st)
	if err != nil {
		return err
	}
	defer stop()
	hostID, conn, err := c.dc.openStream()
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

func (c protocolClient) Send(ctx context.Context, req SendRequest) error {
	if req.Source == nil {
		return errors.New("protocol send: no file source")
	}
	hs := &hostServer{source: req.Source, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64) error {
		_, err := c.proto.Send(ctx, &pb.ProtocolSendRequest{StreamId: streamID, HostId: hostID, Offer: offerToProto(req.Offer)})
		return fromStatus(ctx, c.done, "protocol send", err)
	})
}

func (c protocolClient) Receive(ctx context.Context, req ReceiveRequest) error {
	if req.Sink == nil {
		return errors.New("protocol receive: no file sink")
	}
	hs := &hostServer{sink: req.Sink, progress: req.Progress}
	return c.hostCall(ctx, req.Stream, hs, func(streamID, hostID uint64) error {
		_, err := c.proto.Receive(ctx, &pb.ProtocolReceiveRequest{StreamId: streamID, HostId: hostID})
		return fromStatus(ctx, c.done, "protocol receive", err)
	})
}

// hostServer serves a call's host services to the plugin.
type hostServer struct {
	pb.UnimplementedHostServer
	source   FileSource
	sink     FileSink
	progress Progress
	dc       *dataChannel
	mu       sync.Mutex
	nextPart uint64
	parts    map[uint64]PartFile
}

func (h *hostServer) Open(ctx context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	if h.source == nil {
		return nil, toStatus(fmt.Errorf("open: not a send call: %w", ErrUnsupported))
	}
	r, err := h.source.Open(ctx, int(req.GetIndex()), req.GetOffset())
	if err != nil {
		return nil, toStatus(err)
	}
	if f, ok := r.(*os.File); ok {
		id, err := h.dc.sendFile(f)
		_ = f.Close()
		if err != nil {
			return nil, toStatus(err)
		}
		return &pb.OpenResponse{StreamId: id, Kind: pb.StreamKind_STREAM_KIND_FD}, nil
	}
	id, conn, err := h.dc.openStream()
	if err != nil {
		_ = r.Close()
		return nil, toStatus(err)
	}
	go func() {
		_, _ = io.Copy(conn, r)
		_ = r.Close()
		_ = conn.Close()
	}()
	return &pb.OpenResponse{StreamId: id, Kind: pb.StreamKind_STREAM_KIND_MUX}, nil
}

func (h *hostServer) Decide(ctx context.Context, req *pb.DecideRequest) (*pb.DecideResponse, error) {
	if h.sink == nil {
		return nil, toStatus(fmt.Errorf("decide: not a receive call: %w", ErrUnsupported))
	}
	if err := h.sink.Decide(ctx, offerFromProto(req.GetOffer())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DecideResponse{}, nil
}

func (h *hostServer) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	if h.sink == nil {
		return nil, toStatus(fmt.Errorf("create: not a receive call: %w", ErrUnsupported))
	}
	part, err := h.sink.Create(ctx, int(req.GetIndex()))
	if err != nil {
		return nil, toStatus(err)
	}
	fb, ok := part.(FileBacked)
	if !ok {
		_ = part.Close(ctx, false)
		return nil, toStatus(fmt.Errorf("create: part file %T is not file-backed: %w", part, ErrUnsupported))
	}
	fid, err := h.dc.sendFile(fb.File())
	if err != nil {
		_ = part.Close(ctx, false)
		return nil, toStatus(err)
	}
	h.mu.Lock()
	h.nextPart++
	id := h.nextPart
	if h.parts == nil {
		h.parts = map[uint64]PartFile{}
	}
	h.parts[id] = part
	h.mu.Unlock()
	resp := &pb.CreateResponse{PartId: id, Offset: part.Offset(), FileStreamId: fid}
	if rp, ok := part.(RangedPart); ok {
		resp.MissingKnown = true
		for _, r := range rp.Missing() {
			resp.Missing = append(resp.Missing, &pb.ByteRange{Off: r[0], End: r[1]})
		}
	}
	return resp, nil
}

func (h *hostServer) part(id uint64) (PartFile, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.parts[id]
	if !ok {
		return nil, fmt.Errorf("part file %d: %w", id, ErrNotFound)
	}
	return p, nil
}

func (h *hostServer) Commit(ctx context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	p, err := h.part(req.GetPartId())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := p.Commit(ctx, req.GetOff(), req.GetN()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CommitResponse{}, nil
}

func (h *hostServer) ClosePart(ctx context.Context, req *pb.ClosePartRequest) (*pb.ClosePartResponse, error) {
	p, err := h.part(req.GetPartId())
	if err != nil {
		return nil, toStatus(err)
	}
	h.mu.Lock()
	delete(h.parts, req.GetPartId())
	h.mu.Unlock()
	if err := p.Close(ctx, req.GetComplete()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ClosePartResponse{}, nil
}

// closeParts closes the part files a plugin left open (it exited, say).
func (h *hostServer) closeParts() {
	h.mu.Lock()
	parts := h.parts
	h.parts = nil
	h.mu.Unlock()
	for _, p := range parts {
		_ = p.Close(context.Background(), false)
	}
}

func (h *hostServer) Progress(_ context.Context, req *pb.ProgressRequest) (*pb.ProgressResponse, error) {
	if h.progress != nil {
		h.progress.Update(int(req.GetIndex()), req.GetDone())
	}
	return &pb.ProgressResponse{}, nil
}

// ---- plugin side: serving a protocol ----

type protocolServer struct {
	pb.UnimplementedProtocolServer
	impl Protocol
	dc   *dataChannel
}

// callEnv claims a call's stream and dials its host services.
func (s *protocolServer) callEnv(ctx context.Context, streamID, hostID uint64) (Stream, *hostClient, error) {
	st, err := claimAs[Stream](ctx, s.dc, streamID)
	if err != nil {
		return nil, nil, err
	}
	conn, err := claimAs[net.Conn](ctx, s.dc, hostID)
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
	st, hc, err := s.callEnv(ctx, req.GetStreamId(), req.GetHostId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("protocol send: %w", err))
	}
	defer hc.close()
	defer st.Close()
	err = s.impl.Send(ctx, SendRequest{Stream: st, Offer: offerFromProto(req.GetOffer()), Source: hc, Progress: hc.progress})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProtocolSendResponse{}, nil
}

func (s *protocolServer) Receive(ctx context.Context, req *pb.ProtocolReceiveRequest) (*pb.ProtocolReceiveResponse, error) {
	st, hc, err := s.callEnv(ctx, req.GetStreamId(), req.GetHostId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("protocol receive: %w", err))
	}
	defer hc.close()
	defer st.Close()
	if err := s.impl.Receive(ctx, ReceiveRequest{Stream: st, Sink: hc, Progress: hc.progress}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProtocolReceiveResponse{}, nil
}

// hostClient is the plugin's view of the host services of one call.
type hostClient struct {
	c        pb.HostClient
	cc       *grpc.ClientConn
	dc       *dataChannel
	progress *progressClient
}

func newHostClient(c pb.HostClient, cc *grpc.ClientConn, dc *dataChannel) *hostClient {
	h := &hostClient{c: c, cc: cc, dc: dc}
	h.progress = newProgressClient(c)
	return h
}

func (h *hostClient) close() {
	h.progress.stop()
	_ = h.cc.Close()
}

func (h *hostClient) Open(ctx context.Context, index int, offset int64) (io.ReadCloser, error) {
	resp, err := h.c.Open(ctx, &pb.OpenRequest{Index: int32(index), Offset: offset})
	if err != nil {
		return nil, fromStatus(ctx, h.dc.Done(), "open", err)
	}
	rc, err := claimAs[io.ReadCloser](ctx, h.dc, resp.GetStreamId())
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return rc, nil
}

func (h *hostClient) Decide(ctx context.Context, offer Offer) error {
	_, err := h.c.Decide(ctx, &pb.DecideRequest{Offer: offerToProto(offer)})
	return fromStatus(ctx, h.dc.Done(), "decide", err)
}

func (h *hostClient) Create(ctx context.Context, index int) (PartFile, error) {
	resp, err := h.c.Create(ctx, &pb.CreateRequest{Index: int32(index)})
	if err != nil {
		return nil, fromStatus(ctx, h.dc.Done(), "create", err)
	}
	f, err := claimAs[*os.File](ctx, h.dc, resp.GetFileStreamId())
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	rp := &remotePart{h: h, id: resp.GetPartId(), f: f, offset: resp.GetOffset()}
	if !resp.GetMissingKnown() {
		return rp, nil
	}
	miss := make([][2]int64, 0, len(resp.GetMissing()))
	for _, r := range resp.GetMissing() {
		miss = append(miss, [2]int64{r.GetOff(), r.GetEnd()})
	}
	return &remoteRangedPart{remotePart: rp, missing: miss}, nil
}

// remoteRangedPart is a remotePart whose host part knew its missing
// ranges when it was created.
type remoteRangedPart struct {
	*remotePart
	missing [][2]int64
}

// Missing returns the ranges the host's part file lacked at Create.
func (p *remoteRangedPart) Missing() [][2]int64 { return p.missing }

// remotePart writes into the host's part file through the handed-over
// descriptor; Commit and Close are calls to the host.
type remotePart struct {
	h      *hostClient
	id     uint64
	f      *os.File
	offset int64
}

func (p *remotePart) WriteAt(b []byte, off int64) (int, error) { return p.f.WriteAt(b, off) }
func (p *remotePart) Offset() int64                            { return p.offset }
func (p *remotePart) File() *os.File                           { return p.f }

func (p *remotePart) Commit(ctx context.Context, off, n int64) error {
	_, err := p.h.c.Commit(ctx, &pb.CommitRequest{PartId: p.id, Off: off, N: n})
	return fromStatus(ctx, p.h.dc.Done(), "commit", err)
}

func (p *remotePart) Close(ctx context.Context, complete bool) error {
	_ = p.f.Close()
	_, err := p.h.c.ClosePart(ctx, &pb.ClosePartRequest{PartId: p.id, Complete: complete})
	return fromStatus(ctx, p.h.dc.Done(), "close part", err)
}

// progressClient forwards progress to the host at most every 100 ms per
// call, and the last figures when the call ends, so a protocol may report
// every chunk without an RPC each.
type progressClient struct {
	c      pb.HostClient
	mu     sync.Mutex
	latest map[int]int64
	quit   chan struct{}
	wg     sync.WaitGroup
}

func newProgressClient(c pb.HostClient) *progressClient {
	p := &progressClient{c: c, latest: map[int]int64{}, quit: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.flush()
			case <-p.quit:
				p.flush()
				return
			}
		}
	}()
	return p
}

// Update implements Progress.
func (p *progressClient) Update(index int, n int64) {
	p.mu.Lock()
	p.latest[index] = n
	p.mu.Unlock()
}

func (p *progressClient) flush() {
	p.mu.Lock()
	latest := p.latest
	p.latest = map[int]int64{}
	p.mu.Unlock()
	for i, n := range latest {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = p.c.Progress(ctx, &pb.ProgressRequest{Index: int32(i), Done: n})
		cancel()
	}
}

func (p *progressClient) stop() {
	close(p.quit)
	p.wg.Wait()
}

// ---- one gRPC connection over one data-channel stream ----

type oneConnListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{ch: make(chan net.Conn, 1), closed: make(chan struct{}), addr: c.LocalAddr()}
	l.ch <- c
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

func dialOneConn(c net.Conn) (*grpc.ClientConn, error) {
	var once sync.Once
	return grpc.NewClient("passthrough:///ferry-host",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			var out net.Conn
			once.Do(func() { out = c })
			if out == nil {
				return nil, errors.New("host services connection is gone")
			}
			return out, nil
		}))
}

// ---- conversions ----

func offerToProto(o Offer) *pb.Offer {
	out := &pb.Offer{TransferId: o.TransferID, Token: o.Token}
	for _, f := range o.Files {
		out.Files = append(out.Files, &pb.FileInfo{Name: f.Name, Size: f.Size, MediaType: f.MediaType, Sha256: f.SHA256, ModTimeUnixNano: unixNano(f.ModTime)})
	}
	return out
}

func offerFromProto(p *pb.Offer) Offer {
	out := Offer{TransferID: p.GetTransferId(), Token: p.GetToken()}
	for _, f := range p.GetFiles() {
		out.Files = append(out.Files, FileInfo{Name: f.GetName(), Size: f.GetSize(), MediaType: f.GetMediaType(), SHA256: f.GetSha256(), ModTime: fromUnixNano(f.GetModTimeUnixNano())})
	}
	return out
}
