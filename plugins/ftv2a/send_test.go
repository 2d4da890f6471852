package ftv2a

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// shortRetries is the configuration of the retry tests.
var shortRetries = Config{RetryInterval: 50 * time.Millisecond, Retries: 3}

// oneFile returns an offer of one file called name holding data, and its
// source.
func oneFile(name string, data []byte) (sdk.Offer, *memSource) {
	return sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{{Name: name, Size: int64(len(data))}}},
		&memSource{files: [][]byte{data}}
}

// TestSendAnswers runs Send against hand-written receivers that answer the
// first FILE_SENDREQUEST in various ways, and checks the error Send
// returns and how many requests the receiver saw.
func TestSendAnswers(t *testing.T) {
	cases := []struct {
		name     string
		answer   []Frame // written after each request is read; nil: no answer
		close    bool    // close the connection after the first request
		want     error   // the sentinel Send's error must wrap
		notWant  error   // a sentinel it must not wrap
		requests int     // requests the receiver must have read
	}{
		{name: "NotProcessed", want: sdk.ErrNotProcessed, notWant: sdk.ErrOffline, requests: 3},
		{name: "Offline", close: true, want: sdk.ErrOffline, notWant: sdk.ErrNotProcessed, requests: 1},
		{name: "RefusedAfterAck", answer: []Frame{ack(0), kill(0)}, want: sdk.ErrRefused, requests: 1},
		{name: "RefusedWithoutAck", answer: []Frame{kill(0)}, want: sdk.ErrRefused, requests: 1},
		{name: "SeekBeyondSize", answer: []Frame{ack(0), seek(0, 11), acc(0)}, requests: 1},
		{name: "AcceptBeforeAck", answer: []Frame{acc(0)}, requests: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProtocol(t, shortRetries)
			a, b := tcpPair(t)
			pr := newPeer(t, b)
			var requests int
			peerErr := runAsync(func() error {
				for {
					f, err := pr.r.Next()
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					if _, ok := f.(SendRequest); !ok {
						continue
					}
					requests++
					if tc.close {
						return b.Close()
					}
					if requests == 1 {
						if err := pr.write(tc.answer...); err != nil {
							return err
						}
					}
				}
			})
			offer, src := oneFile("ten.bin", []byte("0123456789"))
			err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src})
			if perr := <-peerErr; perr != nil {
				t.Fatalf("peer: %v", perr)
			}
			t.Logf("Send: %v", err)
			switch {
			case err == nil:
				t.Fatal("Send succeeded")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Send: %v, want an error wrapping %v", err, tc.want)
			case tc.notWant != nil && errors.Is(err, tc.notWant):
				t.Errorf("Send: %v, must not wrap %v", err, tc.notWant)
			case !strings.Contains(err.Error(), `"ten.bin"`):
				t.Errorf("Send: %v, want the file named", err)
			}
			if requests != tc.requests {
				t.Errorf("the receiver read %d FILE_SENDREQUESTs, want %d", requests, tc.requests)
			}
		})
	}
}

// receiveAll plays a receiver that acknowledges the request of file fn
// with answer, then reads FILE_DATA up to size-from bytes and confirms the
// file. It returns the bytes received.
func receiveAll(pr *peer, fn uint8, size, from uint64, answer []Frame, during func(got uint64) []Frame) ([]byte, error) {
	if _, err := expectRequest(pr, fn); err != nil {
		return nil, err
	}
	if err := pr.write(answer...); err != nil {
		return nil, err
	}
	var got []byte
	for uint64(len(got)) < size-from {
		f, err := pr.r.Next()
		if err != nil {
			return got, fmt.Errorf("after %d bytes: %w", len(got), err)
		}
		d, ok := f.(Data)
		if !ok || d.FileNumber != fn {
			return got, fmt.Errorf("got %#v, want FILE_DATA of file %d", f, fn)
		}
		got = append(got, d.Data...)
		if during != nil {
			if err := pr.write(during(uint64(len(got)))...); err != nil {
				return got, err
			}
		}
	}
	return got, pr.write(kill(fn))
}

// expectRequest reads the next frame, which must be the FILE_SENDREQUEST of
// file fn, after the sender's hello (a SEND_ACK of its own, the reason
// addon) if it comes first.
func expectRequest(pr *peer, fn uint8) (SendRequest, error) {
	f, err := pr.r.Next()
	if c, ok := f.(Control); err == nil && ok && c == hello() {
		f, err = pr.r.Next()
	}
	if err != nil {
		return SendRequest{}, err
	}
	req, ok := f.(SendRequest)
	if !ok || req.FileNumber != fn {
		return req, fmt.Errorf("got %#v, want the FILE_SENDREQUEST of file %d", f, fn)
	}
	return req, nil
}

// expectEOF reads the end of the sender's stream.
func expectEOF(pr *peer) error {
	if f, err := pr.r.Next(); err != io.EOF {
		return fmt.Errorf("got %#v, %v; want EOF", f, err)
	}
	return nil
}

// TestSendSeek checks a resume: SEEK 1000 makes the sender send exactly the
// file's tail, open its source at 1000, log the offset and report progress
// from there.
func TestSendSeek(t *testing.T) {
	p, logs := newProtocol(t, Config{ChunkSize: 4096})
	a, b := tcpPair(t)
	data := randomBytes(300_000, 1)
	pr := newPeer(t, b)
	var got []byte
	peerErr := runAsync(func() error {
		var err error
		got, err = receiveAll(pr, 0, uint64(len(data)), 1000, []Frame{ack(0), seek(0, 1000), acc(0)}, nil)
		if err != nil {
			return err
		}
		return expectEOF(pr)
	})
	offer, src := oneFile("big.bin", data)
	prog := &lastProgress{}
	err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src, Progress: prog})
	if perr := <-peerErr; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !bytes.Equal(got, data[1000:]) {
		t.Errorf("receiver got %d bytes, want the file's last %d", len(got), len(data)-1000)
	}
	if len(src.opens) != 1 || src.opens[0] != 1000 {
		t.Errorf("source opened at %v, want [1000]", src.opens)
	}
	if n := prog.get(0); n != int64(len(data)) {
		t.Errorf("last progress %d, want %d", n, len(data))
	}
	if want := fmt.Sprintf(`resuming \"big.bin\" at offset 1000 of %d (SEEK)`, len(data)); !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
}

// TestSendFiles sends several files, the first of which is retried once:
// the duplicate SEND_ACK is ignored, each file is confirmed in turn, and
// the sender closes its side after the last.
func TestSendFiles(t *testing.T) {
	p, _ := newProtocol(t, Config{RetryInterval: 50 * time.Millisecond, Retries: 100, ChunkSize: 1000})
	a, b := tcpPair(t)
	files := [][]byte{randomBytes(5000, 2), nil, randomBytes(1, 3)}
	offer := sdk.Offer{TransferID: testTID}
	for i, f := range files {
		offer.Files = append(offer.Files, sdk.FileInfo{Name: fmt.Sprintf("f%d", i), Size: int64(len(f)), SHA256: bytes.Repeat([]byte{byte(i + 1)}, 32)})
	}
	pr := newPeer(t, b)
	got := make([][]byte, len(files))
	peerErr := runAsync(func() error {
		// File 0: wait for the retry, then answer both requests.
		first, err := expectRequest(pr, 0)
		if err != nil {
			return err
		}
		again, err := expectRequest(pr, 0)
		if err != nil {
			return err
		}
		if again != first {
			return fmt.Errorf("the retried request %+v differs from the first %+v", again, first)
		}
		wantID := [32]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
		if first.FileID != wantID || first.Kind != KindData || first.Size != 5000 || first.Name != "f0" {
			return fmt.Errorf("request %+v, want file id %x, kind data, size 5000, name f0", first, wantID)
		}
		if err := pr.write(ack(0), acc(0), ack(0)); err != nil {
			return err
		}
		for len(got[0]) < len(files[0]) {
			f, err := pr.r.Next()
			if err != nil {
				return err
			}
			if d, ok := f.(Data); ok {
				got[0] = append(got[0], d.Data...)
			} else if _, ok := f.(SendRequest); !ok { // a late third try is fine
				return fmt.Errorf("got %#v, want FILE_DATA", f)
			}
		}
		if err := pr.write(kill(0)); err != nil {
			return err
		}
		for i := 1; i < len(files); i++ {
			// Other files' controls and a control about a file the
			// receiver would send are skipped by the sender.
			noise := []Frame{Control{SendReceive: FileWeSend, FileNumber: uint8(i), Type: Kill}, kill(uint8(i + 1))}
			got[i], err = receiveAll(pr, uint8(i), uint64(len(files[i])), 0, append(noise, ack(uint8(i)), acc(uint8(i))), nil)
			if err != nil {
				return fmt.Errorf("file %d: %w", i, err)
			}
		}
		return expectEOF(pr)
	})
	err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: &memSource{files: files}})
	if perr := <-peerErr; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i := range files {
		if !bytes.Equal(got[i], files[i]) {
			t.Errorf("file %d: got %d bytes, want %d identical", i, len(got[i]), len(files[i]))
		}
	}
}

// TestSendPauseResume pauses the sender mid-file and resumes it: the file
// still arrives whole. Whether the PAUSE lands before the last chunk is up
// to the scheduler; the result must be the same either way.
func TestSendPauseResume(t *testing.T) {
	p, _ := newProtocol(t, Config{ChunkSize: 1024})
	a, b := tcpPair(t)
	data := randomBytes(1<<20, 4)
	pr := newPeer(t, b)
	var got []byte
	peerErr := runAsync(func() error {
		var err error
		got, err = receiveAll(pr, 0, uint64(len(data)), 0, []Frame{ack(0), acc(0), pause(0), acc(0)}, func(n uint64) []Frame {
			if n == 1024 {
				return []Frame{pause(0), acc(0)}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return expectEOF(pr)
	})
	offer, src := oneFile("paused.bin", data)
	err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src})
	if perr := <-peerErr; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("got %d bytes, want %d identical", len(got), len(data))
	}
}

// gatedSource serves an endless file of zeros, whose reads past the
// first free bytes wait until gate is closed.
type gatedSource struct {
	free int
	gate chan struct{}
}

func (s *gatedSource) Read(p []byte) (int, error) {
	if s.free <= 0 {
		<-s.gate
	} else {
		s.free -= len(p)
	}
	clear(p)
	return len(p), nil
}

func (s *gatedSource) Close() error { return nil }

// TestSendKilledMidFile has the receiver cancel a file while it is sent: a
// KILL before the last byte ends Send with an error, not a confirmation.
func TestSendKilledMidFile(t *testing.T) {
	p, _ := newProtocol(t, Config{ChunkSize: 1024})
	a, b := tcpPair(t)
	// More than the sender's write buffer comes freely, so that the first
	// chunk reaches the receiver.
	gs := &gatedSource{free: 4 * sendBufferSize, gate: make(chan struct{})}
	pr := newPeer(t, b)
	peerErr := runAsync(func() error {
		if _, err := expectRequest(pr, 0); err != nil {
			return err
		}
		if err := pr.write(ack(0), acc(0)); err != nil {
			return err
		}
		if _, err := pr.r.Next(); err != nil { // the first chunk
			return err
		}
		if err := pr.write(kill(0)); err != nil {
			return err
		}
		close(gs.gate)
		for { // drain until the sender gives up
			if _, err := pr.r.Next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	})
	size := int64(1) << 40 // endless, for all practical purposes
	offer := sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{{Name: "endless", Size: size}}}
	err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: sourceFunc(func() io.ReadCloser { return gs })})
	if perr := <-peerErr; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("Send: %v, want an error saying the receiver cancelled the file", err)
	}
}

// sourceFunc is a source of one file whose reader f returns.
type sourceFunc func() io.ReadCloser

func (f sourceFunc) Open(_ context.Context, index int, offset int64) (io.ReadCloser, error) {
	if index != 0 || offset != 0 {
		return nil, fmt.Errorf("open file %d at %d: %w", index, offset, sdk.ErrNotFound)
	}
	return f(), nil
}

// TestSendUnconfirmed has the receiver take every byte and close without
// the confirming KILL: Send fails with an error wrapping sdk.ErrOffline.
func TestSendUnconfirmed(t *testing.T) {
	p, _ := newProtocol(t, Config{})
	a, b := tcpPair(t)
	pr := newPeer(t, b)
	peerErr := runAsync(func() error {
		if _, err := expectRequest(pr, 0); err != nil {
			return err
		}
		if err := pr.write(ack(0), acc(0)); err != nil {
			return err
		}
		if _, err := pr.r.Next(); err != nil {
			return err
		}
		return b.Close()
	})
	offer, src := oneFile("ten.bin", []byte("0123456789"))
	err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src})
	if perr := <-peerErr; perr != nil {
		t.Fatalf("peer: %v", perr)
	}
	if !errors.Is(err, sdk.ErrOffline) || !strings.Contains(err.Error(), `receiver closed before confirming "ten.bin"`) {
		t.Errorf("Send: %v, want receiver closed before confirming, wrapping sdk.ErrOffline", err)
	}
}

// TestSendBadOffer checks that files that cannot go on the wire fail Send
// before anything is written.
func TestSendBadOffer(t *testing.T) {
	p, _ := newProtocol(t, Config{})
	for _, f := range []sdk.FileInfo{{Name: "", Size: 1}, {Name: "neg", Size: -1}, {Name: strings.Repeat("n", 256)}, {Name: "nul\x00"}, {Name: "huge", Size: 1<<62 + 1}} {
		a, b := tcpPair(t)
		err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: sdk.Offer{TransferID: testTID, Files: []sdk.FileInfo{f}}, Source: &memSource{}})
		if err == nil {
			t.Errorf("Send of %q (size %d) succeeded", f.Name, f.Size)
		}
		_ = a.Close()
		if n, _ := b.Read(make([]byte, 1)); n != 0 {
			t.Errorf("Send of %q (size %d) wrote before failing", f.Name, f.Size)
		}
	}
}
