package plugintest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ferry-p2p/ferry/sdk"
)

// RawProtocol is a minimal reference protocol on which the protocol suite
// tests itself, directly and through the RPC shims. Its wire format is JSON
// lines for control and raw bytes for file content: the sender writes the
// offer; the receiver answers {"ok":true} or a refusal; then for each file
// the receiver writes {"offset":N} and the sender sends the bytes from N to
// the end; the receiver confirms the whole transfer with a last {"ok":true}.
// It is a test double, not a protocol to ship.
type RawProtocol struct{}

var _ sdk.Protocol = RawProtocol{}

// RawProtocolID is RawProtocol's wire protocol identifier.
const RawProtocolID = "/ferry/raw-test/1"

// maxLine bounds one control line.
const maxLine = 1 << 20

type rawReply struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Offset int64  `json:"offset"`
}

// Info describes the protocol.
func (RawProtocol) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "raw-test", Version: "0.1.0", ProtocolID: RawProtocolID}, nil
}

// ConfigSchema lists no options.
func (RawProtocol) ConfigSchema(context.Context) (sdk.ConfigSchema, error) {
	return sdk.ConfigSchema{}, nil
}

// Configure accepts any configuration.
func (RawProtocol) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

// Close does nothing.
func (RawProtocol) Close(context.Context) error { return nil }

// Send runs the sending side.
func (RawProtocol) Send(ctx context.Context, req sdk.SendRequest) error {
	stop := context.AfterFunc(ctx, func() { _ = req.Stream.Close() })
	defer stop()
	r := bufio.NewReader(req.Stream)
	if err := writeLine(req.Stream, req.Offer); err != nil {
		return fmt.Errorf("raw send: offer: %w", err)
	}
	var rep rawReply
	if err := readLine(r, &rep); err != nil {
		return fmt.Errorf("raw send: answer: %w", err)
	}
	if !rep.OK {
		return fmt.Errorf("raw send: %s: %w", rep.Error, sdk.ErrRefused)
	}
	for i, f := range req.Offer.Files {
		if err := readLine(r, &rep); err != nil {
			return fmt.Errorf("raw send: file %d offset: %w", i, err)
		}
		if rep.Offset < 0 || rep.Offset > f.Size {
			return fmt.Errorf("raw send: file %d: offset %d outside 0..%d", i, rep.Offset, f.Size)
		}
		src, err := req.Source.Open(ctx, i, rep.Offset)
		if err != nil {
			return fmt.Errorf("raw send: open file %d: %w", i, err)
		}
		n, err := io.CopyN(req.Stream, src, f.Size-rep.Offset)
		_ = src.Close()
		if err != nil {
			return fmt.Errorf("raw send: file %d: %w", i, err)
		}
		if req.Progress != nil {
			req.Progress.Update(i, rep.Offset+n)
		}
	}
	if err := readLine(r, &rep); err != nil || !rep.OK {
		return fmt.Errorf("raw send: no final confirmation: %v", err)
	}
	return nil
}

// Receive runs the receiving side.
func (RawProtocol) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	stop := context.AfterFunc(ctx, func() { _ = req.Stream.Close() })
	defer stop()
	r := bufio.NewReader(req.Stream)
	var offer sdk.Offer
	if err := readLine(r, &offer); err != nil {
		return fmt.Errorf("raw receive: offer: %w", err)
	}
	if err := req.Sink.Decide(ctx, offer); err != nil {
		_ = writeLine(req.Stream, rawReply{Error: err.Error()})
		return fmt.Errorf("raw receive: %w", err)
	}
	if err := writeLine(req.Stream, rawReply{OK: true}); err != nil {
		return fmt.Errorf("raw receive: answer: %w", err)
	}
	buf := make([]byte, 256<<10)
	for i, f := range offer.Files {
		part, err := req.Sink.Create(ctx, i)
		if err != nil {
			return fmt.Errorf("raw receive: create file %d: %w", i, err)
		}
		off := part.Offset()
		if err := writeLine(req.Stream, rawReply{OK: true, Offset: off}); err != nil {
			_ = part.Close(ctx, false)
			return fmt.Errorf("raw receive: file %d: %w", i, err)
		}
		for off < f.Size {
			n, err := io.ReadFull(r, buf[:min(int64(len(buf)), f.Size-off)])
			if err == nil {
				_, err = part.WriteAt(buf[:n], off)
			}
			if err == nil {
				err = part.Commit(ctx, off, int64(n))
			}
			if err != nil {
				_ = part.Close(ctx, false)
				return fmt.Errorf("raw receive: file %d at %d: %w", i, off, err)
			}
			off += int64(n)
			if req.Progress != nil {
				req.Progress.Update(i, off)
			}
		}
		if err := part.Close(ctx, true); err != nil {
			return fmt.Errorf("raw receive: finish file %d: %w", i, err)
		}
	}
	return writeLine(req.Stream, rawReply{OK: true})
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func readLine(r *bufio.Reader, v any) error {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return err
		}
		line = append(line, chunk...)
		if len(line) > maxLine {
			return errors.New("control line too long")
		}
		if !isPrefix {
			break
		}
	}
	return json.Unmarshal(line, v)
}
