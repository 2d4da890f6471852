package ftv2a

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/reason"
)

const (
	// sendBufferSize is the size of the sender's write buffer on the stream.
	sendBufferSize = 256 << 10
	// farewellTimeout bounds the writes of a failing Send (its KILL, the
	// last buffered bytes, the end of its side), so that a receiver that
	// stopped reading cannot hold it.
	farewellTimeout = 5 * time.Second
)

// Send runs the sending side: the files of req.Offer one after another,
// each requested, acknowledged (SEND_ACK), accepted, sent and confirmed by
// the receiver, as the package documentation describes. It returns nil only
// once the receiver has confirmed every file, and then closes the stream's
// write side. A refused file ends the call with an error wrapping
// sdk.ErrRefused; a receiver that never acknowledges a request, with one
// wrapping sdk.ErrNotProcessed; a stream that breaks before the
// acknowledgement or the confirmation, with one wrapping sdk.ErrOffline.
func (p *Protocol) Send(ctx context.Context, req sdk.SendRequest) error {
	return p.RunSend(ctx, req, func(ctx context.Context, call *lifecycle.Call[Config]) error {
		tid, err := parseTransferID(req.Offer.TransferID)
		if err != nil {
			return fmt.Errorf("ftv2a: send: %w", err)
		}
		for i, f := range req.Offer.Files {
			if err := checkFile(f); err != nil {
				return fmt.Errorf("ftv2a: send: file %d: %w", i, err)
			}
		}
		s := &sender{
			Call:   call,
			src:    req.Source,
			files:  req.Offer.Files,
			tid:    tid,
			events: make(chan event, 16),
			buf:    make([]byte, HeaderSize+1+call.Config.ChunkSize),
			timer:  time.NewTimer(time.Hour),
		}
		s.timer.Stop()
		return s.run(ctx)
	})
}

// parseTransferID decodes a transfer ID: 32 lowercase hex characters.
func parseTransferID(id string) ([16]byte, error) {
	var tid [16]byte
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != len(tid) || hex.EncodeToString(b) != id {
		return tid, fmt.Errorf("transfer ID %q is not 32 lowercase hex characters (16 bytes), as FILE_SENDREQUEST's file id needs", id)
	}
	copy(tid[:], b)
	return tid, nil
}

// checkFile checks that f can be put in a FILE_SENDREQUEST.
func checkFile(f sdk.FileInfo) error {
	if f.Size < 0 {
		return fmt.Errorf("%q: negative size %d", f.Name, f.Size)
	}
	r := SendRequest{Kind: KindData, Size: uint64(f.Size), Name: f.Name}
	if err := r.validate(); err != nil {
		return fmt.Errorf("%q cannot be offered: %w", f.Name, err)
	}
	return nil
}

// event is what the sender's reader goroutine delivers: a control from the
// receiver, or the error that ended reading.
type event struct {
	c   Control
	err error
}

// linkError is a failure of the stream itself (EOF, reset, closed) while
// the sender waits for the receiver.
type linkError struct{ err error }

func (e *linkError) Error() string { return e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// asLink returns the *linkError in err's chain, or nil. It looks only when
// err is not nil, so the hot path allocates nothing.
func asLink(err error) *linkError {
	if err == nil {
		return nil
	}
	var le *linkError
	if errors.As(err, &le) {
		return le
	}
	return nil
}

// errRetry says the retry timer fired before the awaited control came.
var errRetry = errors.New("retry interval passed")

// sender is the state of one Send call.
type sender struct {
	*lifecycle.Call[Config]
	src    sdk.FileSource
	files  []sdk.FileInfo
	tid    [16]byte
	events chan event
	buf    []byte // one FILE_DATA frame: header, file number, chunk
	timer  *time.Timer
}

// run sends every file, reading the receiver's controls in a goroutine
// of its own (see lifecycle.Conversation.Run).
func (s *sender) run(ctx context.Context) error {
	return s.Run(ctx, s.readLoop, func() error {
		// The hello (reason addon): a SEND_ACK from the sender, which a
		// receiver without the addon ignores as a control about no
		// current file, tells one with it that KILLs may carry reasons.
		if err := WriteFrame(s.Writer, Control{SendReceive: FileWeSend, Type: SendAck}); err != nil {
			return fmt.Errorf("ftv2a: hello: %w", err)
		}
		for i := range s.files {
			if err := s.sendFile(ctx, i); err != nil {
				// Tell the receiver nothing more comes; it keeps what it
				// has.
				s.Farewell(farewellTimeout)
				return err
			}
		}
		return s.Finish()
	})
}

// readLoop reads the receiver's frames until an error or quit. Only
// FILE_CONTROL flows from receiver to sender; anything else is an error.
func (s *sender) readLoop(quit <-chan struct{}) {
	r := NewReader(s.Stream, 1)
	lifecycle.Pump(s.events, quit, func() (event, bool) {
		f, err := r.Next()
		var ev event
		switch v := f.(type) {
		case Control:
			ev.c = v
		case nil:
			ev.err = err
		default:
			ev.err = malformed("receiver sent a %T; only FILE_CONTROL flows back to the sender", f)
		}
		return ev, ev.err != nil
	})
}

// next waits for the receiver's next control about file fn (send_receive
// 1, as the receiver speaks of a file it receives), skipping others. A
// stream failure comes back as a *linkError, a bad frame as an error
// wrapping ErrMalformed, and a fire of the retry timer, when retry is set,
// as errRetry.
func (s *sender) next(ctx context.Context, fn uint8, retry bool) (Control, error) {
	var fire <-chan time.Time
	if retry {
		fire = s.timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return Control{}, s.Err(ctx)
		case <-fire:
			return Control{}, errRetry
		case ev := <-s.events:
			if c, ok, err := s.filter(ctx, fn, ev); err != nil || ok {
				return c, err
			}
		}
	}
}

// poll returns the receiver's next control about file fn if one has come,
// without waiting.
func (s *sender) poll(ctx context.Context, fn uint8) (Control, bool, error) {
	for {
		select {
		case ev := <-s.events:
			if c, ok, err := s.filter(ctx, fn, ev); err != nil || ok {
				return c, ok, err
			}
		default:
			return Control{}, false, nil
		}
	}
}

// filter classifies an event: a control about file fn (ok), one to skip,
// or an error.
func (s *sender) filter(ctx context.Context, fn uint8, ev event) (Control, bool, error) {
	if ev.err != nil {
		switch {
		case ctx.Err() != nil:
			return Control{}, false, s.Err(ctx)
		case errors.Is(ev.err, ErrMalformed) && !errors.Is(ev.err, io.ErrUnexpectedEOF):
			return Control{}, false, fmt.Errorf("ftv2a: bad frame from receiver: %w", ev.err)
		case reason.Of(ev.err) == reason.Integrity:
			return Control{}, false, fmt.Errorf("ftv2a: reading the receiver's controls: %w", ev.err)
		}
		return Control{}, false, &linkError{ev.err}
	}
	if ev.c.SendReceive != FileWeReceive || ev.c.FileNumber != fn {
		s.Log.Debug("ftv2a: ignoring a control about another file", "control", ev.c.Type.String(),
			"file_number", ev.c.FileNumber, "send_receive", ev.c.SendReceive, "current", fn)
		return Control{}, false, nil
	}
	return ev.c, true, nil
}

// writeControl writes a control about a file this side sends.
func (s *sender) writeControl(fn uint8, t ControlType) error {
	return WriteFrame(s.Writer, Control{SendReceive: FileWeSend, FileNumber: fn, Type: t})
}

// kill tells the receiver, as well as the stream allows, that this side
// gives up file fn.
func (s *sender) kill(fn uint8) {
	_ = s.Stream.SetWriteDeadline(time.Now().Add(farewellTimeout))
	if err := s.writeControl(fn, Kill); err == nil {
		_ = s.Writer.Flush()
	}
	_ = s.Stream.SetWriteDeadline(time.Time{})
}

// sendFile runs the conversation of file i.
func (s *sender) sendFile(ctx context.Context, i int) error {
	f := s.files[i]
	req := SendRequest{FileNumber: uint8(i), Kind: KindData, Size: uint64(f.Size), Name: f.Name}
	copy(req.FileID[:16], s.tid[:])
	copy(req.FileID[16:], f.SHA256)
	if err := s.request(ctx, &req); err != nil {
		return err
	}
	pos, err := s.decision(ctx, &req)
	if err != nil {
		return err
	}
	s.confirmed(i, pos) // the receiver holds what it SEEKs to
	if err := s.data(ctx, i, &req, pos); err != nil {
		return err
	}
	if err := s.confirmation(ctx, &req); err != nil {
		return err
	}
	s.confirmed(i, uint64(f.Size))
	return nil
}

// confirmed passes on the bytes of file i the receiver has confirmed
// holding (its SEEK, or the whole file once its KILL confirms it), when
// the Progress takes them (sdk.Confirmations): bytes in between were only
// written to the stream.
func (s *sender) confirmed(i int, n uint64) {
	if c, ok := s.Progress.(sdk.Confirmations); ok {
		c.Confirmed(i, int64(n))
	}
}

// request sends the FILE_SENDREQUEST until the receiver acknowledges it
// with SEND_ACK, at most cfg.Retries times, cfg.RetryInterval apart. A KILL
// instead is a refusal.
func (s *sender) request(ctx context.Context, req *SendRequest) error {
	defer s.timer.Stop()
	for tries := 1; ; tries++ {
		err := WriteFrame(s.Writer, req)
		if err == nil {
			err = s.Writer.Flush()
		}
		if err != nil {
			if ctx.Err() != nil {
				return s.Err(ctx)
			}
			return fmt.Errorf("ftv2a: %w before acknowledging the request for %q: %v", sdk.ErrOffline, req.Name, err)
		}
		s.timer.Reset(s.Config.RetryInterval)
		c, err := s.next(ctx, req.FileNumber, true)
		le := asLink(err)
		switch {
		case errors.Is(err, errRetry):
			// No answer in time: send the request again, or give up.
		case le != nil:
			return fmt.Errorf("ftv2a: %w before acknowledging the request for %q: %v", sdk.ErrOffline, req.Name, le.err)
		case err != nil:
			return err
		case c.Type == SendAck:
			return nil
		case c.Type == Kill:
			return killed(req.Name, c)
		default:
			return fmt.Errorf("ftv2a: file %q: receiver sent %s before SEND_ACK", req.Name, c.Type)
		}
		if tries >= s.Config.Retries {
			return fmt.Errorf("ftv2a: file %q: request not processed by the receiver after %d tries (no SEND_ACK within %v of each): %w",
				req.Name, tries, s.Config.RetryInterval, sdk.ErrNotProcessed)
		}
		s.Log.Debug("ftv2a: no SEND_ACK yet: sending the request again", "file", req.Name, "try", tries+1)
	}
}

// killed is the error for a KILL before ACCEPT: a refusal, or with a
// reason other than refused, the cause it names (a full disk).
func killed(name string, c Control) error {
	switch c.Reason {
	case ReasonNone:
		return fmt.Errorf("ftv2a: file %q: %w", name, sdk.ErrRefused)
	case ReasonRefused:
		return fmt.Errorf("ftv2a: file %q: %w: %s", name, sdk.ErrRefused, c.Text)
	}
	return killError(name, c)
}

// lastWordWait bounds how long a sender whose write failed looks for the
// receiver's KILL with a reason, written just before it closed.
const lastWordWait = 250 * time.Millisecond

// lastWord returns the cause the receiver gave for closing, if a KILL
// with a reason about file fn arrives within lastWordWait, else err.
func (s *sender) lastWord(fn uint8, name string, err error) error {
	t := time.NewTimer(lastWordWait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return err
		case ev := <-s.events:
			if ev.err != nil {
				if reason.Of(ev.err) == reason.Integrity {
					return fmt.Errorf("%w (reading the receiver's controls: %w)", err, ev.err)
				}
				return err
			}
			if ev.c.Type == Kill && ev.c.Reason != ReasonNone && ev.c.FileNumber == fn && ev.c.SendReceive == FileWeReceive {
				return fmt.Errorf("%w (%w)", killError(name, ev.c), err)
			}
		}
	}
}

// decision waits for the receiver's ACCEPT, after an optional SEEK, and
// returns the position to start at. A KILL instead is a refusal.
func (s *sender) decision(ctx context.Context, req *SendRequest) (uint64, error) {
	var pos uint64
	for {
		c, err := s.next(ctx, req.FileNumber, false)
		le := asLink(err)
		switch {
		case le != nil:
			return 0, fmt.Errorf("ftv2a: receiver closed before accepting %q (%v): %w", req.Name, le.err, sdk.ErrOffline)
		case err != nil:
			return 0, err
		}
		switch c.Type {
		case Accept:
			return pos, nil
		case Kill:
			return 0, killed(req.Name, c)
		case Seek:
			if c.Position > req.Size {
				s.kill(req.FileNumber)
				return 0, fmt.Errorf("ftv2a: file %q: receiver asked to SEEK to %d, beyond its size %d", req.Name, c.Position, req.Size)
			}
			pos = c.Position
		case SendAck, Pause:
			// A duplicate acknowledgement of a retried request; a pause
			// before the start changes nothing.
		}
	}
}

// data sends file i from pos to its end in FILE_DATA chunks, honouring
// the receiver's PAUSE and KILL as they come.
func (s *sender) data(ctx context.Context, i int, req *SendRequest, pos uint64) error {
	if pos > 0 {
		s.Log.Info(fmt.Sprintf("ftv2a: resuming %q at offset %d of %d (SEEK)", req.Name, pos, req.Size),
			"file", req.Name, "offset", pos, "size", req.Size)
	}
	s.progress(i, pos)
	if pos == req.Size {
		return nil
	}
	src, err := s.src.Open(ctx, i, int64(pos))
	if err != nil {
		s.kill(req.FileNumber)
		if ctx.Err() != nil {
			return s.Err(ctx)
		}
		return fmt.Errorf("ftv2a: open %q at %d: %w", req.Name, pos, err)
	}
	defer src.Close()
	fn := req.FileNumber
	for done := pos; done < req.Size; {
		if err := s.controlsWhileSending(ctx, req, done); err != nil {
			return err
		}
		n := int(min(uint64(s.Config.ChunkSize), req.Size-done))
		frame := s.buf[:HeaderSize+1+n]
		if _, err := io.ReadFull(src, frame[HeaderSize+1:]); err != nil {
			s.kill(fn)
			if ctx.Err() != nil {
				return s.Err(ctx)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("ftv2a: read %q at %d: the source ended before the size offered, %d: %w", req.Name, done, req.Size, sdk.ErrSourceChanged)
			}
			return fmt.Errorf("ftv2a: read %q at %d: %w", req.Name, done, err)
		}
		frame[0] = PacketFileData
		frame[1], frame[2], frame[3] = byte((n+1)>>16), byte((n+1)>>8), byte(n+1)
		frame[4] = fn
		if _, err := s.Writer.Write(frame); err != nil {
			if ctx.Err() != nil {
				return s.Err(ctx)
			}
			return s.lastWord(fn, req.Name, fmt.Errorf("ftv2a: %w while sending %q at %d of %d: %v", sdk.ErrOffline, req.Name, done, req.Size, err))
		}
		done += uint64(n)
		s.progress(i, done)
	}
	return nil
}

// controlsWhileSending handles the controls that came while file req was
// being sent: PAUSE waits for ACCEPT, KILL ends the file.
func (s *sender) controlsWhileSending(ctx context.Context, req *SendRequest, done uint64) error {
	paused := false
	for {
		var c Control
		var ok bool
		var err error
		if paused {
			c, err = s.next(ctx, req.FileNumber, false)
			ok = err == nil
		} else {
			c, ok, err = s.poll(ctx, req.FileNumber)
		}
		le := asLink(err)
		switch {
		case le != nil:
			return fmt.Errorf("ftv2a: %w while sending %q at %d of %d: %v", sdk.ErrOffline, req.Name, done, req.Size, le.err)
		case err != nil:
			return err
		case !ok:
			return nil
		}
		switch c.Type {
		case Pause:
			if !paused {
				s.Log.Debug("ftv2a: receiver paused", "file", req.Name, "at", done)
				if err := s.Writer.Flush(); err != nil {
					return fmt.Errorf("ftv2a: %w while sending %q at %d of %d: %v", sdk.ErrOffline, req.Name, done, req.Size, err)
				}
			}
			paused = true
		case Accept:
			if paused {
				s.Log.Debug("ftv2a: receiver resumed", "file", req.Name, "at", done)
			}
			paused = false
		case Kill:
			if c.Reason != ReasonNone {
				return fmt.Errorf("%w, after %d of %d bytes", killError(req.Name, c), done, req.Size)
			}
			return fmt.Errorf("ftv2a: file %q: the receiver cancelled it after %d of %d bytes", req.Name, done, req.Size)
		case Seek:
			s.kill(req.FileNumber)
			return fmt.Errorf("ftv2a: file %q: receiver sent SEEK after ACCEPT", req.Name)
		case SendAck:
			// A duplicate acknowledgement of a retried request.
		}
	}
}

// confirmation waits, after the last byte of req, for the receiver's KILL
// that says the file is complete and verified.
func (s *sender) confirmation(ctx context.Context, req *SendRequest) error {
	if err := s.Writer.Flush(); err != nil {
		if ctx.Err() != nil {
			return s.Err(ctx)
		}
		return s.lastWord(req.FileNumber, req.Name, fmt.Errorf("ftv2a: %w while sending %q: %v", sdk.ErrOffline, req.Name, err))
	}
	for {
		c, err := s.next(ctx, req.FileNumber, false)
		le := asLink(err)
		switch {
		case le != nil:
			return fmt.Errorf("ftv2a: receiver closed before confirming %q (%v): %w", req.Name, le.err, sdk.ErrOffline)
		case err != nil:
			return err
		}
		switch c.Type {
		case Kill:
			if c.Reason != ReasonNone {
				return killError(req.Name, c)
			}
			s.Log.Debug("ftv2a: file confirmed", "file", req.Name, "size", req.Size)
			return nil
		case Seek:
			return fmt.Errorf("ftv2a: file %q: receiver sent SEEK after ACCEPT", req.Name)
		case Accept, Pause, SendAck:
			// Nothing is left to pause or resume.
		}
	}
}

func (s *sender) progress(i int, done uint64) {
	if s.Progress != nil {
		s.Progress.Update(i, int64(done))
	}
}
