package jsonchunk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/ranges"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

// openFiles opens the part files of the files the sink may hold bytes of
// (all of them when the sink cannot say, see sdk.StatefulSink), learns
// what each holds, closes those already whole as complete, and answers
// AUTHENTICATION with RESPONSE Ok: the mode, the window and the ranges
// held. The other files are opened as their first chunk arrives.
func (r *receiver) openFiles(ctx context.Context) error {
	eager := r.openAtOnce(ctx)
	for i, f := range r.files {
		if eager != nil && !eager[i] && f.info.Size > 0 {
			continue // nothing held: opened by its first chunk
		}
		if err := r.open(ctx, i); err != nil {
			if ctx.Err() != nil {
				return r.Err(ctx)
			}
			r.answer = &Response{MessageID: r.auth.MessageID, Response: Error, Reason: err.Error(), Ferry: &ResponseExtension{Code: r.retryCode(err)}}
			r.respond(r.answer)
			return fmt.Errorf("jsonchunk: transfer %s: %w", r.tid, err)
		}
		// A file held whole is closed at once, so that a transfer of
		// many files done before does not hold them all open.
		if f.held.Covers(0, f.info.Size) {
			if err := r.complete(ctx, i, r.auth.MessageID); err != nil {
				return err
			}
		}
	}
	ext := &ResponseExtension{V: ExtensionVersion, Mode: r.mode, Window: r.window, ChunkSize: r.chunk}
	var resumed int64
	for i, f := range r.files {
		if len(f.held) > 0 || f.done {
			ext.Have = append(ext.Have, Held{File: i, Ranges: f.held.Clone()})
			if f.info.Size == 0 {
				ext.Have[len(ext.Have)-1].Ranges = [][2]int64{{0, 0}}
			}
		}
		resumed += f.held.Total()
		r.progress(i)
	}
	if resumed > 0 {
		r.Log.Info(fmt.Sprintf("jsonchunk: resuming transfer %s: %d bytes already held", r.tid, resumed),
			"transfer", r.tid, "held", resumed, "mode", r.mode)
	}
	r.answer = &Response{MessageID: r.auth.MessageID, Response: Ok, Ferry: ext}
	r.writeDeadline()
	if err := WriteMessage(r.Writer, r.answer); err != nil {
		return fmt.Errorf("jsonchunk: answer AUTHENTICATION: %w", err)
	}
	if err := r.Writer.Flush(); err != nil {
		return fmt.Errorf("jsonchunk: answer AUTHENTICATION: %v: %w", err, sdk.ErrOffline)
	}
	r.Log.Info(fmt.Sprintf("jsonchunk: receiving transfer %s: %d files in %s mode", r.tid, len(r.files), r.mode),
		"transfer", r.tid, "files", len(r.files), "mode", r.mode, "chunk_size", r.chunk)
	return nil
}

// openAtOnce returns which files to open before answering: those the
// sink holds whole or in part. Nil means all of them: a sink that cannot
// say (an older host).
func (r *receiver) openAtOnce(ctx context.Context) []bool {
	ss, ok := r.sink.(sdk.StatefulSink)
	if !ok {
		return nil
	}
	st, err := ss.State(ctx)
	if err != nil {
		if !errors.Is(err, sdk.ErrUnsupported) {
			r.Log.Debug("jsonchunk: the host cannot say what it holds; opening every part file", "err", err)
		}
		return nil
	}
	eager := make([]bool, len(r.files))
	for _, i := range slices.Concat(st.Done, st.Started) {
		if i >= 0 && i < len(eager) {
			eager[i] = true
		}
	}
	return eager
}

// open creates the part file of file i and learns what it holds.
func (r *receiver) open(ctx context.Context, i int) error {
	f := r.files[i]
	part, err := r.sink.Create(ctx, i)
	if err != nil {
		return fmt.Errorf("create the part file of %q: %w", f.info.Name, reason.Wrap(err))
	}
	f.part = part
	f.view = openView(part)
	f.held = heldRanges(part, f.info.Size)
	return nil
}

// heldRanges returns the ranges part holds: all but its missing ranges
// when it knows them, else its committed prefix.
func heldRanges(part sdk.PartFile, size int64) ranges.Set {
	var held ranges.Set
	rp, ok := part.(sdk.RangedPart)
	if !ok {
		held.Add(0, min(max(part.Offset(), 0), size))
		return held
	}
	var miss ranges.Set
	for _, m := range rp.Missing() {
		miss.Add(max(m[0], 0), min(m[1], size))
	}
	return miss.Gaps(0, size)
}

// serve receives chunks until the sender hangs up. A sender that sends
// nothing for ack_timeout while the receiver waits for it (gone without a
// word, as behind a NAT that forgot the connection) ends the call.
func (r *receiver) serve(ctx context.Context) error {
	var next *inMsg
	idle := time.NewTimer(r.Config.AckTimeout)
	defer idle.Stop()
	for {
		var msg inMsg
		if next != nil {
			msg, next = *next, nil
		} else {
			idle.Reset(r.Config.AckTimeout)
			select {
			case <-ctx.Done():
				return r.Err(ctx)
			case <-idle.C:
				return r.readFailed(fmt.Errorf("nothing from the sender for %v", r.Config.AckTimeout))
			case msg = <-r.in:
			}
		}
		if msg.err != nil {
			if msg.err == io.EOF && r.allDone() {
				r.Log.Debug("jsonchunk: transfer received", "transfer", r.tid)
				return nil
			}
			return r.readFailed(msg.err)
		}
		switch m := msg.m.(type) {
		case *Authentication:
			if m.MessageID != r.auth.MessageID {
				return fmt.Errorf("jsonchunk: a second AUTHENTICATION in one conversation: %w", ErrMalformed)
			}
			r.respond(r.answer) // the sender's retry
		case *Response:
			r.Log.Debug("jsonchunk: ignoring a RESPONSE from the sender", "message_id", m.MessageID, "response", m.Response)
		case *Transfer:
			if err := r.onChunk(ctx, m); err != nil {
				return err
			}
			// Group commit: take every chunk already read, up to the
			// window, then commit them together.
		drain:
			for len(r.batch) < r.window {
				select {
				case x := <-r.in:
					t, ok := x.m.(*Transfer)
					if !ok {
						next = &x
						break drain
					}
					if err := r.onChunk(ctx, t); err != nil {
						return err
					}
				default:
					break drain
				}
			}
			if err := r.commitBatch(ctx); err != nil {
				return err
			}
		}
	}
}

func (r *receiver) allDone() bool {
	for _, f := range r.files {
		if !f.done {
			return false
		}
	}
	return true
}

// onChunk checks a TRANSFER and writes the bytes of it not yet held nor
// written; the chunk joins the batch to be acknowledged.
func (r *receiver) onChunk(ctx context.Context, t *Transfer) error {
	if err := r.checkChunk(t); err != nil {
		r.respond(&Response{MessageID: t.MessageID, Response: Error, Reason: err.Error()})
		return fmt.Errorf("jsonchunk: bad TRANSFER from the sender: %w", err)
	}
	if f := r.files[t.File]; f.part == nil && !f.done {
		// The file's first chunk: nothing was held of it when the
		// transfer was answered.
		if err := r.open(ctx, t.File); err != nil {
			if ctx.Err() != nil {
				return r.Err(ctx)
			}
			r.respond(r.failed(t.MessageID, "", err))
			return fmt.Errorf("jsonchunk: %w", err)
		}
	}
	if err := r.write(t); err != nil {
		r.respond(r.failed(t.MessageID, "write failed: ", err))
		return err
	}
	r.pool.put(t.Data)
	r.batch = append(r.batch, batched{id: t.MessageID, file: t.File})
	return nil
}

// write writes the bytes of t, a checked TRANSFER, not yet held nor
// written, and adds them to the file's pending ranges.
func (r *receiver) write(t *Transfer) error {
	f := r.files[t.File]
	end := t.Offset + int64(len(t.Data))
	for _, g := range f.held.Gaps(t.Offset, end) {
		for _, w := range f.pend.Gaps(g[0], g[1]) {
			if _, err := f.part.WriteAt(t.Data[w[0]-t.Offset:w[1]-t.Offset], w[0]); err != nil {
				return fmt.Errorf("jsonchunk: write %q at %d: %w", f.info.Name, w[0], reason.Wrap(err))
			}
			f.pend.Add(w[0], w[1])
		}
	}
	return nil
}

// keepRead writes the chunks the reader had delivered and the call had
// not taken yet when it ended (cancelled, or stopped by an error while
// they queued), so that abort commits them instead of the sender sending
// them again. They are not acknowledged: the conversation is over. It
// takes only what is queued when it starts, so a sender still sending
// cannot keep it going.
func (r *receiver) keepRead() {
	for range len(r.in) {
		x := <-r.in
		t, ok := x.m.(*Transfer)
		if !ok || r.checkChunk(t) != nil {
			continue
		}
		if f := r.files[t.File]; f.part == nil || f.done {
			continue
		}
		if err := r.write(t); err != nil {
			r.Log.Warn("jsonchunk: writing a chunk read before the interruption failed", "err", err)
			return
		}
	}
}

// checkChunk checks that t fits the conversation: a known file, a range
// inside it, the chunk UUID of its place, the mode negotiated.
func (r *receiver) checkChunk(t *Transfer) error {
	if t.File >= len(r.files) {
		return malformed("TRANSFER for file %d of %d", t.File, len(r.files))
	}
	f := r.files[t.File]
	if end := t.Offset + int64(len(t.Data)); end > f.info.Size {
		return malformed("TRANSFER of [%d, %d) goes beyond %q's %d bytes", t.Offset, end, f.info.Name, f.info.Size)
	}
	if want := ChunkID(r.tid, t.File, t.Offset); !strings.EqualFold(t.Chunk, want) {
		return malformed("TRANSFER chunk %s is not the chunk of file %d at %d (%s)", t.Chunk, t.File, t.Offset, want)
	}
	if t.Raw != (r.mode == ModeFast) {
		return malformed("TRANSFER in the wrong mode: %s mode was agreed", r.mode)
	}
	return nil
}

// commitBatch commits what the batch wrote, closes the files it made
// whole, and acknowledges its chunks: a file's last acknowledgement says
// it is complete.
func (r *receiver) commitBatch(ctx context.Context) error {
	last := make(map[int]string) // file -> id of its last chunk in the batch
	var order []int
	for _, b := range r.batch {
		if _, ok := last[b.file]; !ok {
			order = append(order, b.file)
		}
		last[b.file] = b.id
	}
	completed := make(map[int]bool)
	for _, i := range order {
		f := r.files[i]
		for _, rg := range f.pend {
			if err := f.part.Commit(ctx, rg[0], rg[1]-rg[0]); err != nil {
				if ctx.Err() != nil {
					return r.Err(ctx)
				}
				err = reason.Wrap(err)
				r.respond(r.failed(last[i], "commit failed: ", err))
				return fmt.Errorf("jsonchunk: commit [%d, %d) of %q: %w", rg[0], rg[1], f.info.Name, err)
			}
			f.held.Add(rg[0], rg[1])
		}
		f.pend = f.pend[:0]
		r.progress(i)
		if !f.done && f.held.Covers(0, f.info.Size) {
			if err := r.complete(ctx, i, last[i]); err != nil {
				return err
			}
			completed[i] = true
		}
	}
	r.writeDeadline()
	for _, b := range r.batch {
		resp := Response{MessageID: b.id, Response: Ok}
		if completed[b.file] && last[b.file] == b.id {
			resp.Ferry = &ResponseExtension{Complete: true, File: &b.file}
		}
		frame, err := appendResponse(nil, &resp)
		if err == nil {
			_, err = r.Writer.Write(frame)
		}
		if err != nil {
			return fmt.Errorf("jsonchunk: acknowledge a chunk: %v: %w", err, sdk.ErrOffline)
		}
	}
	r.batch = r.batch[:0]
	if err := r.Writer.Flush(); err != nil {
		return fmt.Errorf("jsonchunk: acknowledge chunks: %v: %w", err, sdk.ErrOffline)
	}
	return nil
}

// complete closes file i as complete; answerTo is the message whose
// answer tells the sender how that went.
func (r *receiver) complete(ctx context.Context, i int, answerTo string) error {
	f := r.files[i]
	err := f.part.Close(ctx, true)
	if err == nil {
		f.done = true
		if f.view != nil {
			// Needed only to answer a hash mismatch: a folder of many
			// files must not keep a descriptor for each.
			_ = f.view.Close()
			f.view = nil
		}
		r.Log.Debug("jsonchunk: file received", "file", f.info.Name, "size", f.info.Size)
		return nil
	}
	if ctx.Err() != nil {
		return r.Err(ctx)
	}
	if errors.Is(err, sdk.ErrHashMismatch) {
		f.part = nil // the core discarded it
		return r.mismatch(ctx, i, answerTo, err)
	}
	err = reason.Wrap(err)
	r.Log.Warn("jsonchunk: finishing the file failed: not confirmed to the sender", "file", f.info.Name, "err", err)
	r.respond(&Response{MessageID: answerTo, Response: Error, Reason: "finishing the file failed: " + err.Error(), Ferry: &ResponseExtension{Code: r.retryCode(err), File: &i}})
	return fmt.Errorf("jsonchunk: finish %q: %w", f.info.Name, err)
}

// abort winds the call down: the chunks already read are written (see
// keepRead), the part files not complete are committed as far as written
// and closed as incomplete, so the core keeps them for a
// resume, and the read handles are closed.
func (r *receiver) abort(ctx context.Context) {
	cctx, cancel := lifecycle.CleanupContext(ctx)
	defer cancel()
	r.keepRead()
	for _, f := range r.files {
		if f.view != nil {
			_ = f.view.Close()
			f.view = nil
		}
		if f.part == nil || f.done {
			continue
		}
		for _, rg := range f.pend {
			if err := f.part.Commit(cctx, rg[0], rg[1]-rg[0]); err != nil {
				r.Log.Warn("jsonchunk: commit of an interrupted file failed", "file", f.info.Name, "err", err)
				break
			}
			f.held.Add(rg[0], rg[1])
		}
		f.pend = nil
		if err := f.part.Close(cctx, false); err != nil {
			r.Log.Warn("jsonchunk: closing an interrupted file failed", "file", f.info.Name, "err", err)
		}
		f.part = nil
		r.Log.Info("jsonchunk: file interrupted: part file kept", "file", f.info.Name, "held", f.held.Total(), "size", f.info.Size)
	}
}

// retryCode is the code of an Error about err, a failure that a later
// connection may get past: CodeNoSpace for a full disk to a sender that
// knows it (version 2), CodeRetry otherwise.
func (r *receiver) retryCode(err error) string {
	if r.auth != nil && r.auth.Ferry != nil && r.auth.Ferry.V >= 2 && reason.Of(err) == reason.NoSpace {
		return CodeNoSpace
	}
	return CodeRetry
}

// failed is the Error answering message id after err, prefixed by what
// failed; it carries a code only where a version-2 sender learns from it
// (a full disk), as version 1 answered such failures without one.
func (r *receiver) failed(id, what string, err error) *Response {
	resp := &Response{MessageID: id, Response: Error, Reason: what + err.Error()}
	if code := r.retryCode(err); code != CodeRetry {
		resp.Ferry = &ResponseExtension{Code: code}
	}
	return resp
}
