package rpc

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// hostServer serves a call's host services to the plugin: the file source
// of a Send, the file sink of a Receive, and progress.
type hostServer struct {
	pb.UnimplementedHostServer
	source   sdk.FileSource
	sink     sdk.FileSink
	progress sdk.Progress
	dc       *datachan.Channel
	mu       sync.Mutex
	nextPart uint64
	parts    map[uint64]sdk.PartFile
}

func (h *hostServer) Open(ctx context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	if h.source == nil {
		return nil, toStatus(fmt.Errorf("open: not a send call: %w", sdk.ErrUnsupported))
	}
	r, err := h.source.Open(ctx, int(req.GetIndex()), req.GetOffset())
	if err != nil {
		return nil, toStatus(err)
	}
	f, ok := r.(*os.File)
	if fr, isFiler := r.(fileReader); isFiler && !ok {
		f, ok = fr.File(), true
	}
	if ok {
		id, err := h.dc.SendFile(f)
		_ = r.Close()
		if err != nil {
			return nil, toStatus(err)
		}
		resp := &pb.OpenResponse{StreamId: id, Kind: pb.StreamKind_STREAM_KIND_FD}
		if hw, ok := r.(hashWanter); ok {
			resp.HashWanted = hw.HashWanted()
			if resp.HashWanted {
				resp.Hashed, resp.Sha256State = hw.HashFrom()
			}
		}
		return resp, nil
	}
	id, conn, err := h.dc.OpenStream()
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
		return nil, toStatus(fmt.Errorf("decide: not a receive call: %w", sdk.ErrUnsupported))
	}
	if err := h.sink.Decide(ctx, offerFromProto(req.GetOffer())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DecideResponse{}, nil
}

func (h *hostServer) Create(ctx context.Context, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	if h.sink == nil {
		return nil, toStatus(fmt.Errorf("create: not a receive call: %w", sdk.ErrUnsupported))
	}
	part, err := h.sink.Create(ctx, int(req.GetIndex()))
	if err != nil {
		return nil, toStatus(err)
	}
	fb, ok := part.(sdk.FileBacked)
	if !ok {
		_ = part.Close(ctx, false)
		return nil, toStatus(fmt.Errorf("create: part file %T is not file-backed: %w", part, sdk.ErrUnsupported))
	}
	fid, err := h.dc.SendFile(fb.File())
	if err != nil {
		_ = part.Close(ctx, false)
		return nil, toStatus(err)
	}
	h.mu.Lock()
	h.nextPart++
	id := h.nextPart
	if h.parts == nil {
		h.parts = map[uint64]sdk.PartFile{}
	}
	h.parts[id] = part
	h.mu.Unlock()
	resp := &pb.CreateResponse{PartId: id, Offset: part.Offset(), FileStreamId: fid}
	if hp, ok := part.(hashedPart); ok {
		resp.Hashed, resp.Sha256State = hp.HashState()
	}
	if rp, ok := part.(sdk.RangedPart); ok {
		resp.MissingKnown = true
		for _, r := range rp.Missing() {
			resp.Missing = append(resp.Missing, &pb.ByteRange{Off: r[0], End: r[1]})
		}
	}
	return resp, nil
}

func (h *hostServer) part(id uint64) (sdk.PartFile, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.parts[id]
	if !ok {
		return nil, fmt.Errorf("part file %d: %w", id, sdk.ErrNotFound)
	}
	return p, nil
}

func (h *hostServer) Commit(ctx context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	p, err := h.part(req.GetPartId())
	if err != nil {
		return nil, toStatus(err)
	}
	if hp, ok := p.(hashedPart); ok && req.GetSha256State() != nil {
		err = hp.CommitHashed(ctx, req.GetOff(), req.GetN(), req.GetHashed(), req.GetSha256State())
	} else {
		err = p.Commit(ctx, req.GetOff(), req.GetN())
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CommitResponse{}, nil
}

// fileReader is a source's reader that is an open file underneath (the
// core's reader that hashes as a builtin protocol reads): its descriptor is
// handed over, and the plugin side does what the reader would have.
type fileReader interface {
	io.ReadCloser
	File() *os.File
}

// hashWanter is a source's reader whose file's hash is not known yet: the
// plugin side hashes it as it reads (OpenResponse.hash_wanted).
type hashWanter interface {
	HashWanted() bool
	// HashFrom gives the state of the file's first hashed bytes to go on
	// from, when the reader starts past 0; nil state otherwise.
	HashFrom() (hashed int64, state []byte)
}

// hashReporter is a host source or sink that takes a file's SHA-256 as it
// becomes known (the core's, in core/node).
type hashReporter interface {
	FileHashed(ctx context.Context, index int, sum []byte) error
}

// hashCheckpointer is a host source that keeps the SHA-256 state of a
// file's first bytes as the plugin side reads it, for a resume to go on
// from (the core's, in core/node).
type hashCheckpointer interface {
	FileCheckpoint(ctx context.Context, index int, hashed int64, state []byte) error
}

// FileHash passes a file's SHA-256 to the source (the plugin side hashed it
// as it read) or to the sink (the sender sent it).
func (h *hostServer) FileHash(ctx context.Context, req *pb.FileHashRequest) (*pb.FileHashResponse, error) {
	var err error
	switch {
	case h.source != nil && len(req.GetSha256()) == 0:
		if hs, ok := h.source.(hashCheckpointer); ok && req.GetSha256State() != nil {
			err = hs.FileCheckpoint(ctx, int(req.GetIndex()), req.GetHashed(), req.GetSha256State())
		}
	case h.source != nil:
		if hs, ok := h.source.(hashReporter); ok {
			err = hs.FileHashed(ctx, int(req.GetIndex()), req.GetSha256())
		}
	case h.sink != nil:
		if hs, ok := h.sink.(hashReporter); ok {
			err = hs.FileHashed(ctx, int(req.GetIndex()), req.GetSha256())
		}
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.FileHashResponse{}, nil
}

// hashedPart is a host part file that takes the SHA-256 state of what the
// plugin side wrote instead of reading it back (core/transfer's Part).
type hashedPart interface {
	HashState() (hashed int64, state []byte)
	CommitHashed(ctx context.Context, off, n, hashed int64, state []byte) error
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
	if h.progress != nil && req.GetDone() >= 0 {
		h.progress.Update(int(req.GetIndex()), req.GetDone())
	}
	if c, ok := h.progress.(sdk.Confirmations); ok && req.Confirmed != nil {
		c.Confirmed(int(req.GetIndex()), req.GetConfirmed())
	}
	return &pb.ProgressResponse{}, nil
}

func (h *hostServer) SinkState(ctx context.Context, _ *pb.SinkStateRequest) (*pb.SinkStateResponse, error) {
	ss, ok := h.sink.(sdk.StatefulSink)
	if !ok {
		return nil, toStatus(fmt.Errorf("sink state: %w", sdk.ErrUnsupported))
	}
	st, err := ss.State(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.SinkStateResponse{Done: make([]int32, len(st.Done)), Started: make([]int32, len(st.Started))}
	for i, v := range st.Done {
		resp.Done[i] = int32(v)
	}
	for i, v := range st.Started {
		resp.Started[i] = int32(v)
	}
	return resp, nil
}
