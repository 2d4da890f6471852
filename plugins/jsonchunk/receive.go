package jsonchunk

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/ranges"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

const (
	// receiveBufferSize is the size of the receiver's write buffer: it
	// writes only RESPONSEs.
	receiveBufferSize = 16 << 10
	// readBuffer is the receiver's read buffer: the stream from the core
	// arrives in TLS-record-sized writes, and reading whatever has
	// accumulated in one call saves a system call and a wake-up per record.
	readBuffer = 256 << 10
)

// Receive runs the receiving side, as the package documentation
// describes: it answers AUTHENTICATION (Decide, then Create of every
// file, then RESPONSE Ok with the mode and the ranges already held, or
// RESPONSE Error with the reason), writes each TRANSFER's chunk into its
// part file and acknowledges it once a Commit covering it has returned,
// closes each file as complete when all of it is committed, and confirms
// it in the acknowledgement of its last chunk. It returns nil when the
// sender closes the stream after every file is complete. A refused offer
// gives the Decide error (after the sender hung up, or a short linger); a
// stream that ends or breaks earlier, an error wrapping sdk.ErrOffline
// (the part files are kept for a resume); a file that failed its hash
// check, an error wrapping sdk.ErrHashMismatch that names the differing
// bytes when the sender told them; a message that breaks the
// conversation, one wrapping ErrMalformed. On an error Receive closes the
// stream.
func (p *Protocol) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	return p.RunReceive(ctx, req, func(ctx context.Context, call *lifecycle.Call[Config]) error {
		r := &receiver{Call: call, sink: req.Sink, in: make(chan inMsg, call.Config.Window)}
		r.rd = NewReader(bufio.NewReaderSize(req.Stream, readBuffer), 1)
		return r.run(ctx)
	})
}

// inMsg is what the receiver's reader goroutine delivers: a message, or
// the error that ended reading.
type inMsg struct {
	m   Message
	err error
}

// receiver is the state of one Receive call.
type receiver struct {
	*lifecycle.Call[Config]
	sink sdk.FileSink
	rd   *Reader
	in   chan inMsg
	pool *bufPool

	auth   *Authentication // the AUTHENTICATION answered
	answer *Response       // and its answer, sent again on a repeat
	tid    string
	mode   string
	chunk  int
	window int
	files  []*inFile

	// batch is the chunks written and awaiting their commit and
	// acknowledgement, in arrival order.
	batch []batched
}

// inFile is the receiving state of one file.
type inFile struct {
	info sdk.FileInfo
	part sdk.PartFile
	view *os.File   // a read handle of the part file (for verify), or nil
	held ranges.Set // committed
	pend ranges.Set // written, not yet committed
	done bool       // closed as complete
}

// batched is a chunk awaiting its acknowledgement.
type batched struct {
	id   string
	file int
}

// run serves the stream. The reader goroutine it starts is stopped
// before it returns; a cancelled ctx closes the stream so that blocked
// reads and writes return. On an error the stream is closed, so that the
// sender sees it end.
func (r *receiver) run(ctx context.Context) (err error) {
	stop := context.AfterFunc(ctx, func() { _ = r.Stream.Close() })
	quit := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		r.abort(ctx)
		close(quit)
		_ = r.Stream.SetReadDeadline(time.Unix(1, 0))
		wg.Wait()
		stop()
		if err != nil {
			_ = r.Stream.Close()
			if ctx.Err() != nil {
				err = r.Err(ctx)
			}
		}
	}()
	// The sender speaks first; one that does not within ack_timeout is
	// not coming.
	_ = r.Stream.SetReadDeadline(time.Now().Add(r.Config.AckTimeout))
	m, err := r.rd.Next()
	_ = r.Stream.SetReadDeadline(time.Time{})
	if err != nil {
		return r.readFailed(err)
	}
	a, ok := m.(*Authentication)
	if !ok {
		if t, ok := m.(*Transfer); ok {
			r.respond(&Response{MessageID: t.MessageID, Response: Error, Reason: "no AUTHENTICATION yet"})
		}
		return fmt.Errorf("jsonchunk: the sender began with %s, not AUTHENTICATION: %w", m.Type(), ErrMalformed)
	}
	r.auth = a
	r.tid, _ = TransferIDFromFID(a.FID) // checked by the decoder
	refusal := r.negotiate(a)
	r.pool = newBufPool(r.chunk, r.window)
	r.rd.setAlloc(r.pool.get)
	r.rd.maxData = max(r.chunk, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.readLoop(quit)
	}()
	if refusal == nil {
		refusal = r.decide(ctx, a)
	}
	if refusal != nil {
		return r.refused(ctx, refusal)
	}
	if err := r.openFiles(ctx); err != nil {
		return err
	}
	return r.serve(ctx)
}

// readLoop reads the sender's messages into r.in until an error or quit.
func (r *receiver) readLoop(quit <-chan struct{}) {
	lifecycle.Pump(r.in, quit, func() (inMsg, bool) {
		m, err := r.rd.Next()
		return inMsg{m, err}, err != nil
	})
}

// readFailed words an error that ended reading.
func (r *receiver) readFailed(err error) error {
	switch {
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("jsonchunk: bad message from the sender: %w", err)
	case r.auth == nil:
		return fmt.Errorf("jsonchunk: the sender went away before AUTHENTICATION (%v): %w", err, sdk.ErrOffline)
	}
	var got, total int64
	for _, f := range r.files {
		got += f.held.Total()
		total += f.info.Size
	}
	if reason.Of(err) == reason.Integrity && r.auth.Ferry != nil && r.auth.Ferry.V >= 2 {
		// The way back may still be whole: tell the sender why.
		r.respond(&Response{MessageID: r.auth.MessageID, Response: Error, Reason: err.Error(), Ferry: &ResponseExtension{Code: CodeIntegrity}})
	}
	return fmt.Errorf("jsonchunk: the sender went away with %d of %d bytes of transfer %s received (%w): %w", got, total, r.tid, err, sdk.ErrOffline)
}

// negotiate picks the mode and chunk size for a. It returns the refusal
// to answer when the sender allows no mode this side takes.
func (r *receiver) negotiate(a *Authentication) error {
	offered := []string{ModeStrict} // a seed peer, with no ferry object
	if a.Ferry != nil {
		offered = a.Ferry.Modes
	}
	switch {
	case r.Config.Mode == ModeFast && slices.Contains(offered, ModeFast):
		r.mode = ModeFast
	case slices.Contains(offered, ModeStrict):
		r.mode = ModeStrict
	default:
		return fmt.Errorf("no common mode: the sender allows %q, this receiver %q: %w", offered, r.Config.Mode, sdk.ErrRefused)
	}
	r.chunk = r.Config.chunkSize(r.mode)
	if a.Ferry != nil && a.Ferry.ChunkSize[r.mode] > 0 {
		r.chunk = a.Ferry.ChunkSize[r.mode]
	}
	r.window = r.Config.Window
	return nil
}

// decide asks the sink about a's offer.
func (r *receiver) decide(ctx context.Context, a *Authentication) error {
	offer := sdk.Offer{TransferID: r.tid, Token: a.Token, Files: make([]sdk.FileInfo, len(a.Files))}
	for i, f := range a.Files {
		fi := sdk.FileInfo{Name: f.Name, Size: int64(f.Size)}
		if e := f.Ferry; e != nil {
			fi.SHA256, _ = hex.DecodeString(e.SHA256) // checked by validate
			fi.MediaType = e.MediaType
			fi.ModTime, _ = time.Parse(time.RFC3339Nano, e.ModTime)
		}
		offer.Files[i] = fi
	}
	if err := r.sink.Decide(ctx, offer); err != nil {
		if ctx.Err() != nil {
			return r.Err(ctx)
		}
		return err
	}
	r.files = make([]*inFile, len(offer.Files))
	for i, fi := range offer.Files {
		r.files[i] = &inFile{info: fi}
	}
	return nil
}

// refused answers AUTHENTICATION with why, then serves repeats of it
// until the sender hangs up, for at most retries × retry_interval of this
// side's options, and returns why.
func (r *receiver) refused(ctx context.Context, why error) error {
	if ctx.Err() != nil {
		return r.Err(ctx)
	}
	if errors.Is(why, sdk.ErrRefused) {
		r.Log.Info("jsonchunk: transfer refused", "transfer", r.tid, "reason", why)
	} else {
		r.Log.Warn("jsonchunk: transfer refused: cannot take it", "transfer", r.tid, "err", why)
	}
	r.answer = &Response{MessageID: r.auth.MessageID, Response: Error, Reason: why.Error(), Ferry: &ResponseExtension{Code: CodeRefused}}
	r.respond(r.answer)
	linger := time.NewTimer(time.Duration(r.Config.Retries) * r.Config.RetryInterval)
	defer linger.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.Err(ctx)
		case <-linger.C:
			return fmt.Errorf("jsonchunk: transfer %s refused: %w", r.tid, why)
		case m := <-r.in:
			if m.err != nil {
				return fmt.Errorf("jsonchunk: transfer %s refused: %w", r.tid, why)
			}
			if a, ok := m.m.(*Authentication); ok && a.MessageID == r.auth.MessageID {
				r.respond(r.answer)
			}
		}
	}
}

// respond writes one RESPONSE and flushes; a write error is logged, as
// the read side notices a broken stream.
func (r *receiver) respond(resp *Response) {
	r.writeDeadline()
	if err := WriteMessage(r.Writer, resp); err == nil {
		err = r.Writer.Flush()
		if err != nil {
			r.Log.Debug("jsonchunk: writing a RESPONSE failed", "err", err)
		}
	} else {
		r.Log.Warn("jsonchunk: cannot encode a RESPONSE", "err", err)
	}
}

// writeDeadline bounds the next writes: a sender that stops reading fails
// them after ack_timeout instead of holding the receiver.
func (r *receiver) writeDeadline() {
	_ = r.Stream.SetWriteDeadline(time.Now().Add(r.Config.AckTimeout))
}

// progress reports file i's committed bytes.
func (r *receiver) progress(i int) {
	if r.Progress != nil {
		r.Progress.Update(i, r.files[i].held.Total())
	}
}

// bufPool recycles chunk buffers between the reader goroutine and the
// writer.
type bufPool struct {
	size int
	free chan []byte
}

// newBufPool returns a pool of buffers of chunk bytes that keeps enough
// for a window of chunks, those queued for the writer and the one being
// read.
func newBufPool(chunk, window int) *bufPool {
	// Base64 decoding asks for up to two bytes more than the chunk.
	return &bufPool{size: chunk + 4, free: make(chan []byte, window+2)}
}

func (p *bufPool) get(n int) []byte {
	select {
	case b := <-p.free:
		if cap(b) >= n {
			return b[:n]
		}
	default:
	}
	return make([]byte, n, max(n, p.size))
}

func (p *bufPool) put(b []byte) {
	select {
	case p.free <- b[:0]:
	default:
	}
}
