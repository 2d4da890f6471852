package ftv2a

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

// receiveBufferSize is the size of the receiver's write buffer: it only
// writes controls.
const receiveBufferSize = 4 << 10

// Receive runs the receiving side: it answers each FILE_SENDREQUEST
// (Decide, Create, then SEND_ACK, an optional SEEK and ACCEPT, or a KILL
// for a refusal), writes the file's FILE_DATA into its part file, commits
// it as configured and, once the part file closed as complete, confirms
// the file with a KILL, as the package documentation describes. It returns
// nil when the sender closes the stream between files; a stream that ends
// inside a file gives an error wrapping sdk.ErrOffline, and a frame that
// breaks the conversation one wrapping ErrMalformed; on an error Receive
// closes the stream. A part file left incomplete is closed with
// complete=false, so the core keeps it for a resume.
func (p *Protocol) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	return p.RunReceive(ctx, req, func(ctx context.Context, call *lifecycle.Call[Config]) error {
		r := &receiver{Call: call, sink: req.Sink}
		return r.run(ctx)
	})
}

// receiver is the state of one Receive call.
type receiver struct {
	*lifecycle.Call[Config]
	sink sdk.FileSink

	// last is the most recent FILE_SENDREQUEST and how it was answered,
	// so that a sender's retry of it gets the same answer again; nil once
	// FILE_DATA showed that the sender has its answer.
	last *answer
	// cur is the file being received; nil between files.
	cur *incoming
	// reasons says the sender reads KILL reasons (it said so with its
	// hello, a SEND_ACK of its own before its first request).
	reasons bool
}

// readBuffer is the receiver's read buffer: the stream from the core
// arrives in TLS-record-sized writes (16 KiB), and reading whatever has
// accumulated in one call saves a system call and a wake-up per record.
const readBuffer = 256 << 10

// answer is a handled FILE_SENDREQUEST and whether it was accepted.
type answer struct {
	req      SendRequest
	accepted bool
}

// incoming is a file being received.
type incoming struct {
	req        SendRequest
	part       sdk.PartFile
	held       uint64    // bytes the part file holds from its start
	committed  uint64    // bytes [0, committed) are committed
	lastCommit time.Time // when Commit last ran (or the file started)
	broken     bool      // a write failed: commit nothing more

	// inflight is the background Commit of [committed, inflightTo), if
	// one runs: commits (an fsync and a hash in the core) overlap the
	// next writes instead of stalling the stream.
	inflight   chan error
	inflightTo uint64
}

// run serves the stream until the sender closes it, or an error, which
// also closes the stream so that the sender sees it end. A cancelled ctx
// closes the stream so that a blocked read returns.
func (r *receiver) run(ctx context.Context) (err error) {
	stop := context.AfterFunc(ctx, func() { _ = r.Stream.Close() })
	defer func() {
		stop()
		if err != nil {
			_ = r.Stream.Close()
		}
	}()
	rd := NewReader(bufio.NewReaderSize(r.Stream, readBuffer), MaxDataLimit)
	for {
		f, err := rd.Next()
		if err != nil {
			return r.readFailed(ctx, err)
		}
		switch v := f.(type) {
		case SendRequest:
			err = r.onRequest(ctx, v)
		case Data:
			err = r.onData(ctx, v)
		case Control:
			err = r.onControl(ctx, v)
		}
		if err != nil {
			r.abort(ctx)
			if ctx.Err() != nil {
				return r.Err(ctx)
			}
			return err
		}
	}
}

// readFailed ends the call after a read error.
func (r *receiver) readFailed(ctx context.Context, err error) error {
	cur := r.cur
	r.abort(ctx)
	switch {
	case ctx.Err() != nil:
		return r.Err(ctx)
	case err == io.EOF && cur == nil:
		return nil
	case errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("ftv2a: bad frame from sender: %w", err)
	case cur != nil:
		if reason.Of(err) == reason.Integrity {
			// The way back may still be whole: tell the sender why.
			r.kill(cur.req.FileNumber, err)
			r.linger()
		}
		return fmt.Errorf("ftv2a: sender went away after %d of %d bytes of %q (%w): %w", cur.held, cur.req.Size, cur.req.Name, err, sdk.ErrOffline)
	}
	return fmt.Errorf("ftv2a: sender went away between files (%v): %w", err, sdk.ErrOffline)
}

// abort closes the current part file, if any, as incomplete, after
// committing the bytes written to it, so that a resume starts after them.
func (r *receiver) abort(ctx context.Context) {
	c := r.cur
	if c == nil {
		return
	}
	r.cur = nil
	cctx, cancel := lifecycle.CleanupContext(ctx)
	defer cancel()
	if err := r.settle(c, true); err != nil {
		r.Log.Warn("ftv2a: commit of an interrupted file failed", "file", c.req.Name, "err", err)
	}
	if !c.broken && c.held > c.committed {
		if err := c.part.Commit(cctx, int64(c.committed), int64(c.held-c.committed)); err != nil {
			r.Log.Warn("ftv2a: commit of an interrupted file failed", "file", c.req.Name, "err", err)
		}
	}
	if err := c.part.Close(cctx, false); err != nil {
		r.Log.Warn("ftv2a: closing an interrupted file failed", "file", c.req.Name, "err", err)
	}
	r.Log.Info("ftv2a: file interrupted: part file kept", "file", c.req.Name, "held", c.held, "size", c.req.Size)
}

// kill gives up file fn because of err: a KILL with err's reason and text
// to a sender that reads them, a plain KILL to another. It writes as well
// as the stream allows; the caller returns err anyway.
func (r *receiver) kill(fn uint8, err error) {
	c := Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Kill}
	if r.reasons {
		c = killFor(fn, err)
	}
	if WriteFrame(r.Writer, c) == nil {
		_ = r.Writer.Flush()
	}
}

// lingerWait bounds how long linger reads what the sender still sends.
const lingerWait = time.Second

// linger lets a KILL just written reach a sender that is still writing.
// Closing a socket that holds unread data makes the kernel answer with a
// reset, which can discard the KILL before the sender reads it, and the
// sender would then report a lost connection instead of the cause. So
// the writing side ends, and what arrives below the record layer (which
// failed, so its own reads would only repeat the error) is read and
// dropped until the sender, having read the KILL, closes, or lingerWait
// passes.
func (r *receiver) linger() {
	_ = r.Stream.CloseWrite()
	var raw io.Reader = r.Stream
	var conn interface{ SetReadDeadline(time.Time) error } = r.Stream
	if under, ok := r.Stream.(interface{ NetConn() net.Conn }); ok {
		nc := under.NetConn()
		raw, conn = nc, nc
	}
	if conn.SetReadDeadline(time.Now().Add(lingerWait)) != nil {
		return
	}
	_, _ = io.Copy(io.Discard, raw)
}

// control writes a control about a file this side receives and flushes.
func (r *receiver) control(fn uint8, t ControlType) error {
	if err := WriteFrame(r.Writer, Control{SendReceive: FileWeReceive, FileNumber: fn, Type: t}); err != nil {
		return err
	}
	return r.Writer.Flush()
}

// onRequest answers a FILE_SENDREQUEST.
func (r *receiver) onRequest(ctx context.Context, req SendRequest) error {
	if r.last != nil && r.last.req == req {
		// The sender's retry of a request already answered.
		t := Kill
		if r.last.accepted {
			t = SendAck
		}
		r.Log.Debug("ftv2a: repeated request answered again", "file", req.Name, "answer", t.String())
		if err := r.control(req.FileNumber, t); err != nil {
			return fmt.Errorf("ftv2a: answer the repeated request for %q: %v: %w", req.Name, err, sdk.ErrOffline)
		}
		return nil
	}
	if c := r.cur; c != nil {
		return fmt.Errorf("ftv2a: bad frame from sender: %w",
			malformed("FILE_SENDREQUEST for %q (file %d) while %q (file %d) is still being received", req.Name, req.FileNumber, c.req.Name, c.req.FileNumber))
	}
	if req.Kind != KindData {
		return r.refuse(req, fmt.Errorf("file kind %d is not supported: %w", req.Kind, sdk.ErrRefused))
	}
	offer := sdk.Offer{
		TransferID: hex.EncodeToString(req.FileID[:16]),
		Files:      []sdk.FileInfo{{Name: req.Name, Size: int64(req.Size)}},
	}
	if err := r.sink.Decide(ctx, offer); err != nil {
		if ctx.Err() != nil {
			return r.Err(ctx)
		}
		return r.refuse(req, err)
	}
	part, err := r.sink.Create(ctx, 0)
	if err != nil {
		if ctx.Err() != nil {
			return r.Err(ctx)
		}
		return r.refuse(req, fmt.Errorf("create the part file: %w", err))
	}
	off := part.Offset()
	if off < 0 || uint64(off) > req.Size {
		_ = part.Close(ctx, false)
		return r.refuse(req, fmt.Errorf("the part file holds %d bytes, outside 0..%d", off, req.Size))
	}
	held := uint64(off)
	r.last = &answer{req: req, accepted: true}
	r.cur = &incoming{req: req, part: part, held: held, committed: held, lastCommit: time.Now()}
	if err := r.accept(req.FileNumber, held); err != nil {
		return fmt.Errorf("ftv2a: accept %q: %v: %w", req.Name, err, sdk.ErrOffline)
	}
	r.Log.Debug("ftv2a: file accepted", "file", req.Name, "size", req.Size, "offset", held)
	r.progress(held)
	if held == req.Size {
		return r.finish(ctx)
	}
	return nil
}

// accept writes SEND_ACK, SEEK(pos) when pos > 0, and ACCEPT.
func (r *receiver) accept(fn uint8, pos uint64) error {
	cs := []Control{{Type: SendAck}, {Type: Seek, Position: pos}, {Type: Accept}}
	if pos == 0 {
		cs = slices.Delete(cs, 1, 2)
	}
	for _, c := range cs {
		c.SendReceive, c.FileNumber = FileWeReceive, fn
		if err := WriteFrame(r.Writer, c); err != nil {
			return err
		}
	}
	return r.Writer.Flush()
}

// refuse answers a request with KILL and keeps serving the stream.
func (r *receiver) refuse(req SendRequest, why error) error {
	if errors.Is(why, sdk.ErrRefused) {
		r.Log.Info("ftv2a: file refused", "file", req.Name, "size", req.Size, "reason", why)
	} else {
		r.Log.Warn("ftv2a: file refused: cannot take it", "file", req.Name, "size", req.Size, "err", why)
	}
	r.last = &answer{req: req}
	c := Control{SendReceive: FileWeReceive, FileNumber: req.FileNumber, Type: Kill}
	if r.reasons {
		c = killFor(req.FileNumber, why)
	}
	err := WriteFrame(r.Writer, c)
	if err == nil {
		err = r.Writer.Flush()
	}
	if err != nil {
		return fmt.Errorf("ftv2a: refuse %q: %v: %w", req.Name, err, sdk.ErrOffline)
	}
	return nil
}

// onData writes a FILE_DATA chunk of the current file.
func (r *receiver) onData(ctx context.Context, d Data) error {
	c := r.cur
	if c == nil || d.FileNumber != c.req.FileNumber {
		return fmt.Errorf("ftv2a: bad frame from sender: %w", malformed("FILE_DATA for file %d, which is not being received", d.FileNumber))
	}
	n := uint64(len(d.Data))
	if n > c.req.Size-c.held {
		return fmt.Errorf("ftv2a: bad frame from sender: %w",
			malformed("FILE_DATA of %d bytes for %q at %d goes beyond its size %d", n, c.req.Name, c.held, c.req.Size))
	}
	r.last = nil // the sender has its answer: it cannot repeat the request
	if n == 0 {
		return nil
	}
	if err := r.keepWindow(ctx, c, n); err != nil {
		return err
	}
	if _, err := c.part.WriteAt(d.Data, int64(c.held)); err != nil {
		c.broken = true
		err = reason.Wrap(err)
		r.kill(c.req.FileNumber, err)
		return fmt.Errorf("ftv2a: write %q at %d: %w", c.req.Name, c.held, err)
	}
	c.held += n
	r.progress(c.held)
	if c.held == c.req.Size {
		return r.finish(ctx)
	}
	if err := r.settle(c, false); err != nil {
		return err
	}
	if c.inflight == nil && (c.held-c.committed >= r.commitEvery() || time.Since(c.lastCommit) >= r.Config.CommitInterval) {
		r.commitAsync(ctx, c)
	}
	return nil
}

// commitEvery is how many uncommitted bytes start a background commit:
// half of commit_bytes, so that the next half can be written while it
// runs.
func (r *receiver) commitEvery() uint64 { return max(uint64(r.Config.CommitBytes)/2, 1) }

// keepWindow makes room for n more bytes within the commit window: bytes
// written but not committed stay at most commit_bytes (or n, if a chunk is
// larger), which is what a cut (a receiver killed, a machine that loses
// power) can cost the sender in bytes sent again. When commits, an fsync
// each, are slower than the data arrives, it waits for the background
// commit, or commits itself, so the sender is slowed to what the disk can
// make durable instead of the journal falling ever further behind.
func (r *receiver) keepWindow(ctx context.Context, c *incoming, n uint64) error {
	limit := uint64(r.Config.CommitBytes)
	if c.held+n-c.committed <= limit {
		return nil
	}
	if err := r.settle(c, true); err != nil {
		return err
	}
	if c.held+n-c.committed <= limit {
		return nil
	}
	return r.commit(ctx, c)
}

// commitAsync starts a background Commit of what is written and not yet
// committed. At most one runs at a time; the next one takes all that was
// written meanwhile, so commits group rather than queue.
func (r *receiver) commitAsync(ctx context.Context, c *incoming) {
	from, to := c.committed, c.held
	done := make(chan error, 1)
	c.inflight, c.inflightTo = done, to
	c.lastCommit = time.Now()
	go func() { done <- c.part.Commit(ctx, int64(from), int64(to-from)) }()
}

// settle collects the background commit: if wait, it waits for it;
// otherwise it only looks whether it has finished.
func (r *receiver) settle(c *incoming, wait bool) error {
	if c.inflight == nil {
		return nil
	}
	var err error
	if wait {
		err = <-c.inflight
	} else {
		select {
		case err = <-c.inflight:
		default:
			return nil
		}
	}
	c.inflight = nil
	if err != nil {
		c.broken = true
		err = reason.Wrap(err)
		r.kill(c.req.FileNumber, err)
		return fmt.Errorf("ftv2a: commit %q up to %d: %w", c.req.Name, c.inflightTo, err)
	}
	c.committed = c.inflightTo
	return nil
}

// commit makes the bytes written since the last commit durable, after any
// background commit has finished.
func (r *receiver) commit(ctx context.Context, c *incoming) error {
	if err := r.settle(c, true); err != nil {
		return err
	}
	if c.held == c.committed {
		return nil
	}
	if err := c.part.Commit(ctx, int64(c.committed), int64(c.held-c.committed)); err != nil {
		c.broken = true
		err = reason.Wrap(err)
		r.kill(c.req.FileNumber, err)
		return fmt.Errorf("ftv2a: commit %q up to %d: %w", c.req.Name, c.held, err)
	}
	c.committed = c.held
	c.lastCommit = time.Now()
	return nil
}

// finish commits the current file, now whole, and closes it as complete:
// the core checks its hash and renames it into place. Only then is the
// file confirmed to the sender, with KILL.
func (r *receiver) finish(ctx context.Context) error {
	c := r.cur
	if err := r.commit(ctx, c); err != nil {
		return err
	}
	r.cur = nil
	if err := c.part.Close(ctx, true); err != nil {
		err = reason.Wrap(err)
		r.Log.Warn("ftv2a: finishing the file failed: not confirmed to the sender", "file", c.req.Name, "err", err)
		if r.reasons {
			// A KILL with a reason is never "finished".
			r.kill(c.req.FileNumber, err)
		}
		return fmt.Errorf("ftv2a: finish %q: %w", c.req.Name, err)
	}
	if err := r.control(c.req.FileNumber, Kill); err != nil {
		return fmt.Errorf("ftv2a: confirm %q: %v: %w", c.req.Name, err, sdk.ErrOffline)
	}
	r.Log.Debug("ftv2a: file received", "file", c.req.Name, "size", c.req.Size)
	return nil
}

// onControl handles a control from the sender. Only its KILL of the
// current file matters; PAUSE and ACCEPT from the sender need nothing of
// the receiver, which simply waits for data.
func (r *receiver) onControl(ctx context.Context, c Control) error {
	cur := r.cur
	if c.SendReceive == FileWeSend && c.Type == SendAck && cur == nil {
		// The sender's hello: it reads KILL reasons.
		r.reasons = true
		return nil
	}
	if c.SendReceive != FileWeSend || cur == nil || c.FileNumber != cur.req.FileNumber {
		r.Log.Debug("ftv2a: ignoring a control about no current file", "control", c.Type.String(),
			"file_number", c.FileNumber, "send_receive", c.SendReceive)
		return nil
	}
	switch c.Type {
	case Kill:
		r.Log.Info("ftv2a: the sender cancelled the file", "file", cur.req.Name, "held", cur.held, "size", cur.req.Size)
		r.abort(ctx)
		r.last = nil
	case Pause, Accept:
	default:
		r.Log.Debug("ftv2a: ignoring a control from the sender", "control", c.Type.String(), "file", cur.req.Name)
	}
	return nil
}

func (r *receiver) progress(held uint64) {
	if r.Progress != nil {
		r.Progress.Update(0, int64(held))
	}
}
