package jsonchunk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/ranges"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

const (
	// sendBufferSize is the size of the sender's write buffer on the stream.
	sendBufferSize = 256 << 10
	// sendReadBuffer is the size of the sender's read buffer: it reads
	// only RESPONSEs, many small ones in strict mode.
	sendReadBuffer = 64 << 10
	// farewellTimeout bounds the writes of a failing Send (its last
	// buffered bytes, the end of its side), so that a receiver that
	// stopped reading cannot hold it.
	farewellTimeout = 5 * time.Second
)

// Send runs the sending side, as the package documentation describes:
// AUTHENTICATION (sent again every retry_interval until answered, retries
// times in all), then the chunks the receiver lacks, at most window of
// them unacknowledged. It returns nil only once the receiver has confirmed
// every file complete, and then closes the stream's write side. A refusal
// gives an error wrapping sdk.ErrRefused with the receiver's reason; no
// answer to AUTHENTICATION, one wrapping sdk.ErrNotProcessed; a stream
// that breaks, one wrapping sdk.ErrOffline (the next Send resumes); a file
// that failed its hash check, one wrapping sdk.ErrHashMismatch that names
// the differing byte ranges.
func (p *Protocol) Send(ctx context.Context, req sdk.SendRequest) error {
	return p.RunSend(ctx, req, func(ctx context.Context, call *lifecycle.Call[Config]) error {
		auth, err := authFor(call.Config, req.Offer)
		if err != nil {
			return fmt.Errorf("jsonchunk: send: %w", err)
		}
		s := &sender{
			Call:  call,
			src:   req.Source,
			offer: req.Offer,
			auth:  auth,
			// Room for every acknowledgement the window allows and the
			// answers to repeated AUTHENTICATIONs, so that the reader
			// never waits for the writer while the writer waits for the
			// receiver.
			events: make(chan event, call.Config.Window+call.Config.Retries+1),
		}
		return s.run(ctx)
	})
}

// event is what the sender's reader goroutine delivers: a RESPONSE, or
// the error that ended reading.
type event struct {
	r   *Response
	err error
}

// errRetry says the retry timer fired before the awaited answer came.
var errRetry = errors.New("retry interval passed")

// linkError is a failure of the stream itself (EOF, reset, closed).
type linkError struct{ err error }

func (e *linkError) Error() string { return e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// sender is the state of one Send call.
type sender struct {
	*lifecycle.Call[Config]
	src    sdk.FileSource
	offer  sdk.Offer
	auth   *Authentication
	events chan event

	// Negotiated in the answer to AUTHENTICATION.
	mode   string
	chunk  int
	window int

	files    []*outFile
	inflight map[string]*sentChunk // by message-id
	frame    []byte                // the frame being written, reused
	data     []byte                // the chunk being read, reused

	// The source read position: file cf, range cr of its todo, at pos.
	cf, cr int
	pos    int64
	rd     io.ReadCloser
}

// outFile is the sending state of one file.
type outFile struct {
	info    sdk.FileInfo
	todo    ranges.Set // what the receiver lacked when it answered
	held    int64      // bytes it held then
	acked   int64      // bytes acknowledged since
	pending int        // chunks sent and not acknowledged
	sent    bool       // every chunk of todo is sent
	done    bool       // the receiver confirmed the file complete
}

// sentChunk is a chunk awaiting its acknowledgement.
type sentChunk struct {
	file int
	off  int64
	n    int
}

// run runs the conversation, reading the receiver's RESPONSEs in a
// goroutine of its own (see lifecycle.Conversation.Run).
func (s *sender) run(ctx context.Context) error {
	return s.Run(ctx, s.readLoop, func() error {
		defer func() {
			if s.rd != nil {
				_ = s.rd.Close()
			}
		}()
		// On failure, tell the receiver nothing more comes; it keeps what
		// it has.
		if err := s.authenticate(ctx); err != nil {
			s.Farewell(farewellTimeout)
			return err
		}
		if err := s.transfer(ctx); err != nil {
			s.Farewell(farewellTimeout)
			return err
		}
		return s.Finish()
	})
}

// readLoop reads the receiver's messages until an error or quit. Only
// RESPONSE flows from receiver to sender.
func (s *sender) readLoop(quit <-chan struct{}) {
	r := NewReader(bufio.NewReaderSize(s.Stream, sendReadBuffer), 1)
	lifecycle.Pump(s.events, quit, func() (event, bool) {
		m, err := r.Next()
		var ev event
		switch v := m.(type) {
		case *Response:
			ev.r = v
		case nil:
			ev.err = err
		default:
			ev.err = malformed("the receiver sent %s; only RESPONSE flows back to the sender", m.Type())
		}
		return ev, ev.err != nil
	})
}

// next waits for the receiver's next RESPONSE, or timeout (a nil channel
// never fires). A stream failure comes back as a *linkError, a bad
// message as an error wrapping ErrMalformed, a fire of timeout as
// errRetry.
func (s *sender) next(ctx context.Context, timeout <-chan time.Time) (*Response, error) {
	select {
	case ev := <-s.events: // an answer already here wins over a timeout
		return s.classify(ctx, ev)
	default:
	}
	select {
	case <-ctx.Done():
		return nil, s.Err(ctx)
	case <-timeout:
		return nil, errRetry
	case ev := <-s.events:
		return s.classify(ctx, ev)
	}
}

// poll returns the receiver's next RESPONSE if one has come, without
// waiting.
func (s *sender) poll(ctx context.Context) (*Response, error) {
	select {
	case ev := <-s.events:
		return s.classify(ctx, ev)
	default:
		return nil, nil
	}
}

func (s *sender) classify(ctx context.Context, ev event) (*Response, error) {
	switch {
	case ev.err == nil:
		return ev.r, nil
	case ctx.Err() != nil:
		return nil, s.Err(ctx)
	case errors.Is(ev.err, ErrMalformed):
		return nil, fmt.Errorf("jsonchunk: bad message from the receiver: %w", ev.err)
	}
	return nil, &linkError{ev.err}
}

// transfer sends the chunks the receiver lacks and waits for every file's
// confirmation.
func (s *sender) transfer(ctx context.Context) error {
	s.inflight = make(map[string]*sentChunk, s.window)
	s.data = make([]byte, s.chunk)
	timer := time.NewTimer(s.Config.AckTimeout)
	defer timer.Stop()
	// A receiver that stops reading fails the writes after ack_timeout.
	defer func() { _ = s.Stream.SetWriteDeadline(time.Time{}) }()
	for !s.allDone() {
		for len(s.inflight) < s.window {
			more, err := s.sendChunk(ctx)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			r, err := s.poll(ctx)
			if err != nil {
				return s.linkFailed(err)
			}
			if r != nil {
				if err := s.onResponse(ctx, r); err != nil {
					return err
				}
			}
		}
		if s.allDone() {
			break
		}
		if len(s.inflight) == 0 {
			return s.unconfirmed()
		}
		if err := s.Writer.Flush(); err != nil {
			return s.linkFailed(&linkError{err})
		}
		timer.Reset(s.Config.AckTimeout)
		r, err := s.next(ctx, timer.C)
		switch {
		case errors.Is(err, errRetry):
			return fmt.Errorf("jsonchunk: no acknowledgement from the receiver for %v with %d chunks unacknowledged", s.Config.AckTimeout, len(s.inflight))
		case err != nil:
			return s.linkFailed(err)
		}
		if err := s.onResponse(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// linkFailed words an error met while sending chunks.
func (s *sender) linkFailed(err error) error {
	var le *linkError
	if errors.As(err, &le) {
		var sent, total int64
		for _, f := range s.files {
			sent += f.held + f.acked
			total += f.info.Size
		}
		return s.lastWord(fmt.Errorf("jsonchunk: %w while sending transfer %s (%d of %d bytes confirmed): %w", sdk.ErrOffline, s.offer.TransferID, sent, total, le.err))
	}
	return err
}

// lastWordWait bounds how long a sender whose stream failed looks for the
// receiver's Error with a cause, written just before it closed.
const lastWordWait = 250 * time.Millisecond

// lastWord returns the cause the receiver gave for closing (an Error with
// CodeIntegrity or CodeNoSpace), if one arrives within lastWordWait,
// wrapped around err; else err.
func (s *sender) lastWord(err error) error {
	t := time.NewTimer(lastWordWait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return err
		case ev := <-s.events:
			if ev.err != nil {
				return err
			}
			if e := ev.r.Ferry; ev.r.Response == Error && e != nil && (e.Code == CodeIntegrity || e.Code == CodeNoSpace) {
				return fmt.Errorf("%w (%w)", reason.FromPeer("jsonchunk: the receiver stopped the transfer", e.Code, ev.r.Reason), err)
			}
		}
	}
}

// unconfirmed is the error of a receiver that acknowledged every chunk
// without confirming every file.
func (s *sender) unconfirmed() error {
	for _, f := range s.files {
		if !f.done {
			return fmt.Errorf("jsonchunk: the receiver acknowledged every chunk of %q without confirming the file complete", f.info.Name)
		}
	}
	return nil
}

func (s *sender) allDone() bool {
	for _, f := range s.files {
		if !f.done {
			return false
		}
	}
	return true
}

// sendChunk reads and writes the next chunk, if any is left.
func (s *sender) sendChunk(ctx context.Context) (bool, error) {
	for s.cf < len(s.files) && (s.files[s.cf].sent || s.cr >= len(s.files[s.cf].todo)) {
		s.files[s.cf].sent = true
		s.cf, s.cr = s.cf+1, 0
	}
	if s.cf >= len(s.files) {
		return false, nil
	}
	f := s.files[s.cf]
	rg := f.todo[s.cr]
	if s.rd == nil {
		rd, err := s.src.Open(ctx, s.cf, rg[0])
		if err != nil {
			if ctx.Err() != nil {
				return false, s.Err(ctx)
			}
			return false, fmt.Errorf("jsonchunk: open %q at %d: %w", f.info.Name, rg[0], err)
		}
		s.rd, s.pos = rd, rg[0]
	}
	n := int(min(int64(s.chunk), rg[1]-s.pos))
	data := s.data[:n]
	if _, err := io.ReadFull(s.rd, data); err != nil {
		if ctx.Err() != nil {
			return false, s.Err(ctx)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, fmt.Errorf("jsonchunk: read %q at %d: the source ended before the size offered, %d: %w", f.info.Name, s.pos, f.info.Size, sdk.ErrSourceChanged)
		}
		return false, fmt.Errorf("jsonchunk: read %q at %d: %w", f.info.Name, s.pos, err)
	}
	t := Transfer{
		MessageID: uuid.NewString(),
		Chunk:     ChunkID(s.offer.TransferID, s.cf, s.pos),
		File:      s.cf,
		Offset:    s.pos,
		Data:      data,
		Raw:       s.mode == ModeFast,
	}
	var err error
	if s.frame, err = appendTransfer(s.frame[:0], &t); err != nil {
		return false, fmt.Errorf("jsonchunk: send: %w", err)
	}
	_ = s.Stream.SetWriteDeadline(time.Now().Add(s.Config.AckTimeout))
	_, err = s.Writer.Write(s.frame)
	if err == nil && t.Raw {
		_, err = s.Writer.Write(data)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, s.Err(ctx)
		}
		return false, s.linkFailed(&linkError{err})
	}
	s.inflight[t.MessageID] = &sentChunk{file: s.cf, off: s.pos, n: n}
	f.pending++
	s.pos += int64(n)
	if s.pos == rg[1] {
		_ = s.rd.Close()
		s.rd = nil
		s.cr++
		if s.cr == len(f.todo) {
			f.sent = true
		}
	}
	return true, nil
}

// onResponse takes in a RESPONSE while chunks flow.
func (s *sender) onResponse(ctx context.Context, r *Response) error {
	if e := r.Ferry; r.Response == Error && e != nil && (e.Code == CodeIntegrity || e.Code == CodeNoSpace) {
		return reason.FromPeer(fmt.Sprintf("jsonchunk: transfer %s: the receiver stopped it", s.offer.TransferID), e.Code, r.Reason)
	}
	c, ok := s.inflight[r.MessageID]
	if !ok {
		s.Log.Debug("jsonchunk: ignoring a RESPONSE to no chunk in flight", "message_id", r.MessageID, "response", r.Response)
		return nil
	}
	f := s.files[c.file]
	if r.Response == Error {
		if e := r.Ferry; e != nil && (e.Verify != nil || e.Code == CodeHashMismatch) {
			return s.mismatch(ctx, r)
		}
		return fmt.Errorf("jsonchunk: the receiver failed the chunk of %q at %d: %s", f.info.Name, c.off, r.Reason)
	}
	delete(s.inflight, r.MessageID)
	f.pending--
	f.acked += int64(c.n)
	s.progress(c.file)
	if r.Ferry != nil && r.Ferry.Complete {
		if f.pending > 0 || !f.sent {
			return fmt.Errorf("jsonchunk: the receiver confirmed %q complete with chunks still unacknowledged", f.info.Name)
		}
		f.done = true
		s.Log.Debug("jsonchunk: file confirmed", "file", f.info.Name, "size", f.info.Size)
	} else if f.pending == 0 && f.sent && !f.done {
		return s.unconfirmed()
	}
	return nil
}

// progress reports file i: what the receiver held at the start and has
// acknowledged since, each chunk acknowledged only once durable, so it is
// also what the receiver confirmed (sdk.Confirmations).
func (s *sender) progress(i int) {
	if s.Progress == nil {
		return
	}
	f := s.files[i]
	n := f.held + f.acked
	if f.done {
		n = f.info.Size
	}
	s.Progress.Update(i, n)
	if c, ok := s.Progress.(sdk.Confirmations); ok {
		c.Confirmed(i, n)
	}
}
