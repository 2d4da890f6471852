package jsonchunk

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// fastCfg is a sender configuration with quick retries and small chunks.
var fastCfg = Config{ChunkSize: 2000, Window: 3, RetryInterval: 30 * time.Millisecond, Retries: 3, AckTimeout: 300 * time.Millisecond}

// sendTo runs Send of files with cfg against a hand-written receiver,
// peer, which gets the other end of the stream; it returns Send's error.
func sendTo(t *testing.T, cfg Config, files [][]byte, peer func(p *rawPeer)) (*memSource, error) {
	t.Helper()
	ctx := plugintest.Context(t)
	s := newProtocol(t, cfg)
	a, b := tcpPair(t)
	src := &memSource{files: files}
	done := make(chan struct{})
	go func() {
		defer close(done)
		peer(newRawPeer(t, b))
	}()
	err := s.Send(ctx, sdk.SendRequest{Stream: a, Offer: offerOf(files...), Source: src})
	_ = a.Close()
	<-done
	return src, err
}

// auth reads the AUTHENTICATION.
func (p *rawPeer) auth() *Authentication {
	p.t.Helper()
	m, err := p.r.Next()
	if err != nil {
		p.t.Errorf("raw receiver: read: %v", err)
		return nil
	}
	a, ok := m.(*Authentication)
	if !ok {
		p.t.Errorf("raw receiver: got %s, want AUTHENTICATION", m.Type())
	}
	return a
}

// chunk reads the next TRANSFER, or nil at the end of the stream.
func (p *rawPeer) chunk() *Transfer {
	for {
		m, err := p.r.Next()
		if err != nil {
			return nil
		}
		if _, retry := m.(*Authentication); retry {
			// The sender's retry of AUTHENTICATION, sent before the
			// answer reached it (retry_interval is 30 ms here, which a
			// loaded machine can pass): the answer already went.
			continue
		}
		c, _ := m.(*Transfer)
		return c
	}
}

func okAnswer(a *Authentication, have ...Held) *Response {
	return &Response{MessageID: a.MessageID, Response: Ok, Ferry: &ResponseExtension{V: 1, Mode: ModeFast, Window: 16, Have: have}}
}

func TestSendNotProcessed(t *testing.T) {
	var ids []string
	_, err := sendTo(t, fastCfg, [][]byte{[]byte("x")}, func(p *rawPeer) {
		for {
			m, err := p.r.Next()
			if err != nil {
				return
			}
			ids = append(ids, m.(*Authentication).MessageID)
		}
	})
	if !errors.Is(err, sdk.ErrNotProcessed) || errors.Is(err, sdk.ErrRefused) {
		t.Errorf("Send to a silent receiver: %v, want sdk.ErrNotProcessed", err)
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("AUTHENTICATION sent with ids %v, want 3 times the same", ids)
	}
}

func TestSendOffline(t *testing.T) {
	t.Run("before the answer", func(t *testing.T) {
		_, err := sendTo(t, fastCfg, [][]byte{[]byte("x")}, func(p *rawPeer) {
			p.auth()
			_ = p.conn.Close()
		})
		if !errors.Is(err, sdk.ErrOffline) {
			t.Errorf("Send: %v, want sdk.ErrOffline", err)
		}
	})
	t.Run("mid-transfer", func(t *testing.T) {
		_, err := sendTo(t, fastCfg, [][]byte{randomBytes(20000, 1)}, func(p *rawPeer) {
			p.send(okAnswer(p.auth()))
			p.chunk()
			_ = p.conn.Close()
		})
		if !errors.Is(err, sdk.ErrOffline) || errors.Is(err, sdk.ErrRefused) {
			t.Errorf("Send: %v, want sdk.ErrOffline and not sdk.ErrRefused", err)
		}
	})
}

func TestSendAckTimeout(t *testing.T) {
	_, err := sendTo(t, fastCfg, [][]byte{randomBytes(20000, 1)}, func(p *rawPeer) {
		p.send(okAnswer(p.auth()))
		for p.chunk() != nil {
		}
	})
	if err == nil || !strings.Contains(err.Error(), "no acknowledgement") || errors.Is(err, sdk.ErrRefused) {
		t.Errorf("Send: %v, want a timeout waiting for acknowledgements", err)
	}
}

// TestSendWindow checks that the sender leaves at most window chunks
// unacknowledged, and sends only what the receiver lacks.
func TestSendWindow(t *testing.T) {
	data := randomBytes(20000, 2)
	var offsets []int64
	src, err := sendTo(t, fastCfg, [][]byte{data}, func(p *rawPeer) {
		p.send(okAnswer(p.auth(), Held{File: 0, Ranges: [][2]int64{{0, 4000}, {9000, 12000}}}))
		var pending []*Transfer
		for {
			// Read until the sender must stop: window (3) chunks out.
			_ = p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			c := p.chunk()
			_ = p.conn.SetReadDeadline(time.Time{})
			if c != nil {
				if string(c.Data) != string(data[c.Offset:c.Offset+int64(len(c.Data))]) {
					t.Errorf("chunk at %d: wrong bytes", c.Offset)
				}
				offsets = append(offsets, c.Offset)
				pending = append(pending, c)
				if len(pending) > 3 {
					t.Errorf("%d chunks unacknowledged, window 3", len(pending))
				}
				continue
			}
			if len(pending) == 0 {
				return
			}
			for i, c := range pending {
				r := &Response{MessageID: c.MessageID, Response: Ok}
				if c.Offset+int64(len(c.Data)) == int64(len(data)) && i == len(pending)-1 {
					f := 0
					r.Ferry = &ResponseExtension{Complete: true, File: &f}
				}
				p.send(r)
			}
			pending = pending[:0]
		}
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []int64{4000, 6000, 8000, 12000, 14000, 16000, 18000}
	if !slices.Equal(offsets, want) {
		t.Errorf("chunks sent at %v, want %v", offsets, want)
	}
	if got := src.read.Load(); got != 20000-7000 {
		t.Errorf("read %d bytes of the source, want %d", got, 20000-7000)
	}
}

func TestSendAnswers(t *testing.T) {
	cases := []struct {
		name   string
		answer func(a *Authentication) *Response
		want   string
		is     error
	}{
		{"refused", func(a *Authentication) *Response {
			return &Response{MessageID: a.MessageID, Response: Error, Reason: "token expired"}
		}, "token expired", sdk.ErrRefused},
		{"retry later", func(a *Authentication) *Response {
			return &Response{MessageID: a.MessageID, Response: Error, Reason: "disk full", Ferry: &ResponseExtension{Code: CodeRetry}}
		}, "disk full", nil},
		{"no ferry object", func(a *Authentication) *Response { return &Response{MessageID: a.MessageID, Response: Ok} }, "no ferry object", nil},
		{"unknown mode", func(a *Authentication) *Response {
			r := okAnswer(a)
			r.Ferry.Mode = "warp"
			return r
		}, `mode "warp"`, nil},
		{"have beyond the file", func(a *Authentication) *Response {
			return okAnswer(a, Held{File: 0, Ranges: [][2]int64{{0, 10}}})
		}, "which has 1 bytes", nil},
		{"have of no file", func(a *Authentication) *Response {
			return okAnswer(a, Held{File: 4, Ranges: [][2]int64{{0, 1}}})
		}, "file 4 of 1", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sendTo(t, fastCfg, [][]byte{[]byte("x")}, func(p *rawPeer) {
				p.send(c.answer(p.auth()))
				_, _ = io.Copy(io.Discard, p.conn)
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Send: %v, want an error naming %q", err, c.want)
			}
			if (c.is != nil) != errors.Is(err, sdk.ErrRefused) {
				t.Errorf("Send: %v: wraps sdk.ErrRefused %v, want %v", err, !(c.is != nil), c.is != nil)
			}
		})
	}
}

// TestSendUnconfirmed: a receiver that acknowledges every chunk without
// confirming the file does not make Send succeed.
func TestSendUnconfirmed(t *testing.T) {
	_, err := sendTo(t, fastCfg, [][]byte{randomBytes(3000, 3)}, func(p *rawPeer) {
		p.send(okAnswer(p.auth()))
		for range 2 {
			c := p.chunk()
			if c == nil {
				return
			}
			p.send(&Response{MessageID: c.MessageID, Response: Ok})
		}
		_, _ = io.Copy(io.Discard, p.conn)
	})
	if err == nil || !strings.Contains(err.Error(), "without confirming") {
		t.Errorf("Send: %v, want an error about the missing confirmation", err)
	}
}

// TestSendAllHeld: a receiver that holds everything already gets no
// chunk, and Send succeeds at once.
func TestSendAllHeld(t *testing.T) {
	src, err := sendTo(t, fastCfg, [][]byte{randomBytes(3000, 3), {}}, func(p *rawPeer) {
		p.send(okAnswer(p.auth(), Held{File: 0, Ranges: [][2]int64{{0, 3000}}}, Held{File: 1, Ranges: [][2]int64{{0, 0}}}))
		if c := p.chunk(); c != nil {
			t.Errorf("got a chunk at %d of a file held whole", c.Offset)
		}
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := src.read.Load(); n != 0 {
		t.Errorf("read %d bytes of the source", n)
	}
}

// TestSendContextBeforeAnswer: a Send waiting for the answer ends with
// its context.
func TestSendContextBeforeAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(plugintest.Context(t), 50*time.Millisecond)
	defer cancel()
	s := newProtocol(t, Config{RetryInterval: time.Hour})
	a, b := tcpPair(t)
	go func() { _, _ = io.Copy(io.Discard, b) }()
	err := s.Send(ctx, sdk.SendRequest{Stream: a, Offer: offerOf([]byte("x")), Source: &memSource{files: [][]byte{[]byte("x")}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send: %v, want context.DeadlineExceeded", err)
	}
}

// TestSendReceiverStopsReading: a receiver that stops reading fails the
// sender's writes after ack_timeout, even with the window not full.
func TestSendReceiverStopsReading(t *testing.T) {
	cfg := fastCfg
	cfg.ChunkSize, cfg.Window = MaxChunkSize, 64
	s := newProtocol(t, cfg)
	a, b := tcpPair(t)
	files := [][]byte{make([]byte, 64<<20)}
	p := newRawPeer(t, b)
	go func() { p.send(okAnswer(p.auth())) }() // and read nothing more
	start := time.Now()
	err := s.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offerOf(files...), Source: &memSource{files: files}})
	if !errors.Is(err, sdk.ErrOffline) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Send: %v, want sdk.ErrOffline after a write timeout", err)
	}
	// Reading 16 MiB chunks takes its time under the race detector; what
	// matters is that Send does not wait for ever.
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Send gave up after %v, ack_timeout is %v", d, cfg.AckTimeout)
	}
}
