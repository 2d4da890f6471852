package rpc

import (
	"context"
	"fmt"
	"io"
	"os"

	"google.golang.org/grpc"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/filehash"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// hostClient is the plugin's view of the host services of one call: the
// FileSource of a Send, the FileSink of a Receive.
type hostClient struct {
	c        pb.HostClient
	cc       *grpc.ClientConn
	dc       *datachan.Channel
	progress *progressClient
	// meta sends a meta record on the call's stream; nil when the host
	// runs the record layer.
	meta func([]byte) error
}

var (
	_ sdk.FileSource   = (*hostClient)(nil)
	_ sdk.FileSink     = (*hostClient)(nil)
	_ sdk.StatefulSink = (*hostClient)(nil)
)

func newHostClient(c pb.HostClient, cc *grpc.ClientConn, dc *datachan.Channel) *hostClient {
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
	rc, err := datachan.ClaimAs[io.ReadCloser](ctx, h.dc, resp.GetStreamId())
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	f, isFile := rc.(*os.File)
	if !resp.GetHashWanted() || !isFile || (offset != 0 && resp.GetSha256State() == nil) {
		return rc, nil
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open: %w", err)
	}
	hr := filehash.NewReader(f, st.Size(), func(sum []byte) { h.fileHashed(ctx, index, sum) }, func(hashed int64, state []byte) {
		_, _ = h.c.FileHash(ctx, &pb.FileHashRequest{Index: int32(index), Hashed: hashed, Sha256State: state})
	})
	if offset != 0 && hr.Resume(resp.GetHashed(), resp.GetSha256State(), offset) != nil {
		// Sent unhashed: the receiver, lacking the hash, keeps the file
		// for a resume whose offer carries it.
		return f, nil
	}
	return hr, nil
}

// fileHashed tells the host the SHA-256 of file index, read whole, and
// sends it to the receiver in a meta record when this side runs the record
// layer (the host does when it kept the stream). Errors are the stream's
// and the host's to report on their next use: the receiver without the
// hash fails the file, it never accepts it unchecked.
func (h *hostClient) fileHashed(ctx context.Context, index int, sum []byte) {
	if h.meta != nil {
		_ = h.meta(record.EncodeFileHash(index, sum))
	}
	_, _ = h.c.FileHash(ctx, &pb.FileHashRequest{Index: int32(index), Sha256: sum})
}

// receivedHash passes a meta record from the sender to the host, if it
// gives a file's hash.
func (h *hostClient) receivedHash(ctx context.Context, p []byte) error {
	index, sum, ok, err := record.DecodeFileHash(p)
	if !ok || err != nil {
		return err
	}
	_, err = h.c.FileHash(ctx, &pb.FileHashRequest{Index: int32(index), Sha256: sum})
	return fromStatus(ctx, h.dc.Done(), "file hash", err)
}

func (h *hostClient) Decide(ctx context.Context, offer sdk.Offer) error {
	_, err := h.c.Decide(ctx, &pb.DecideRequest{Offer: offerToProto(offer)})
	return fromStatus(ctx, h.dc.Done(), "decide", err)
}

// State asks the host what its sink holds of the accepted offer; an error
// wrapping sdk.ErrUnsupported comes from a host or sink without it.
func (h *hostClient) State(ctx context.Context) (sdk.SinkState, error) {
	resp, err := h.c.SinkState(ctx, &pb.SinkStateRequest{})
	if err != nil {
		return sdk.SinkState{}, fromStatus(ctx, h.dc.Done(), "sink state", err)
	}
	var st sdk.SinkState
	for _, v := range resp.GetDone() {
		st.Done = append(st.Done, int(v))
	}
	for _, v := range resp.GetStarted() {
		st.Started = append(st.Started, int(v))
	}
	return st, nil
}

func (h *hostClient) Create(ctx context.Context, index int) (sdk.PartFile, error) {
	resp, err := h.c.Create(ctx, &pb.CreateRequest{Index: int32(index)})
	if err != nil {
		return nil, fromStatus(ctx, h.dc.Done(), "create", err)
	}
	f, err := datachan.ClaimAs[*os.File](ctx, h.dc, resp.GetFileStreamId())
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	rp := &remotePart{h: h, id: resp.GetPartId(), f: f, offset: resp.GetOffset()}
	if st := resp.GetSha256State(); st != nil {
		rp.hash = newWriteHash(resp.GetHashed(), st)
	}
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
// descriptor; Commit and Close are calls to the host. It hashes what is
// written in order from the host's hashed prefix, and gives the host the
// state with each commit, so the host need not read the bytes back.
type remotePart struct {
	h      *hostClient
	id     uint64
	f      *os.File
	offset int64
	hash   *writeHash // nil when the host gave no state to go on from
}

func (p *remotePart) WriteAt(b []byte, off int64) (int, error) {
	n, err := p.f.WriteAt(b, off)
	if p.hash != nil {
		p.hash.wrote(b[:n], off)
	}
	return n, err
}
func (p *remotePart) Offset() int64  { return p.offset }
func (p *remotePart) File() *os.File { return p.f }

func (p *remotePart) Commit(ctx context.Context, off, n int64) error {
	req := &pb.CommitRequest{PartId: p.id, Off: off, N: n}
	if p.hash != nil {
		req.Hashed, req.Sha256State = p.hash.at(off + n)
	}
	_, err := p.h.c.Commit(ctx, req)
	return fromStatus(ctx, p.h.dc.Done(), "commit", err)
}

func (p *remotePart) Close(ctx context.Context, complete bool) error {
	_ = p.f.Close()
	_, err := p.h.c.ClosePart(ctx, &pb.ClosePartRequest{PartId: p.id, Complete: complete})
	return fromStatus(ctx, p.h.dc.Done(), "close part", err)
}
