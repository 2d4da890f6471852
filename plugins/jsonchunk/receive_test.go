package jsonchunk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// rawPeer is a hand-written sender: the codec on one end of a stream.
type rawPeer struct {
	t    testing.TB
	conn sdk.Stream
	r    *Reader
}

func newRawPeer(t testing.TB, conn sdk.Stream) *rawPeer {
	return &rawPeer{t: t, conn: conn, r: NewReader(conn, 0)}
}

func (p *rawPeer) send(ms ...Message) {
	p.t.Helper()
	for _, m := range ms {
		if err := WriteMessage(p.conn, m); err != nil {
			p.t.Fatalf("raw peer: write %T: %v", m, err)
		}
	}
}

// response reads the next RESPONSE.
func (p *rawPeer) response() *Response {
	p.t.Helper()
	m, err := p.r.Next()
	if err != nil {
		p.t.Fatalf("raw peer: read: %v", err)
	}
	r, ok := m.(*Response)
	if !ok {
		p.t.Fatalf("raw peer: got %s, want RESPONSE", m.Type())
	}
	return r
}

// authFast is an AUTHENTICATION of files allowing fast mode with chunk
// bytes per chunk.
func authFast(chunk int, files ...[]byte) *Authentication {
	a, err := authFor(Config{Mode: ModeFast, ChunkSize: chunk, StrictChunkSize: chunk, Window: 4}, offerOf(files...))
	if err != nil {
		panic(err)
	}
	return a
}

// chunkOf is the TRANSFER of data[off:off+n] of file.
func chunkOf(file int, data []byte, off, n int, raw bool) *Transfer {
	return &Transfer{MessageID: uuid.NewString(), Chunk: ChunkID(testTID, file, int64(off)), File: file, Offset: int64(off), Data: data[off : off+n], Raw: raw}
}

func wantOk(t *testing.T, r *Response, id string) {
	t.Helper()
	if r.MessageID != id || r.Response != Ok {
		t.Fatalf("got RESPONSE %+v, want Ok for %s", r, id)
	}
}

// TestDuplicateChunks: the same chunk sent twice (a replay with the same
// message-id, and again with a new one) and a chunk overlapping committed
// bytes are acknowledged without rewriting anything.
func TestDuplicateChunks(t *testing.T) {
	ctx := plugintest.Context(t)
	data := randomBytes(10_000, 5)
	recv := newProtocol(t, Config{})
	sink := newDiskSink(t)
	a, b := tcpPair(t)
	errc := runAsync(func() error { return recv.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	p := newRawPeer(t, a)
	auth := authFast(4000, data)
	p.send(auth)
	ok := p.response()
	wantOk(t, ok, auth.MessageID)
	if ok.Ferry == nil || ok.Ferry.Mode != ModeFast || len(ok.Ferry.Have) != 0 {
		t.Fatalf("answer to AUTHENTICATION: %+v", ok.Ferry)
	}
	c0 := chunkOf(0, data, 0, 4000, true)
	p.send(c0)
	wantOk(t, p.response(), c0.MessageID)
	p.send(c0) // replayed as is
	wantOk(t, p.response(), c0.MessageID)
	again := chunkOf(0, data, 0, 4000, true)
	p.send(again) // the same chunk, a new message
	wantOk(t, p.response(), again.MessageID)
	over := chunkOf(0, data, 2000, 4000, true) // half committed, half new
	p.send(over, over)                         // and twice in one batch
	wantOk(t, p.response(), over.MessageID)
	wantOk(t, p.response(), over.MessageID)
	last := chunkOf(0, data, 6000, 4000, true)
	p.send(last)
	r := p.response()
	wantOk(t, r, last.MessageID)
	if r.Ferry == nil || !r.Ferry.Complete || r.Ferry.File == nil || *r.Ferry.File != 0 {
		t.Errorf("the last chunk's Ok does not confirm the file: %+v", r.Ferry)
	}
	p.send(last) // after completion: still just acknowledged
	wantOk(t, p.response(), last.MessageID)
	_ = a.CloseWrite()
	if err := <-errc; err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got := sink.content(t, "f0"); !bytes.Equal(got, data) {
		t.Error("received file differs")
	}
	if _, writes, rewrites := sink.counts(); rewrites != 0 || writes != int64(len(data)) {
		t.Errorf("%d bytes written, %d writes over committed bytes; want %d and 0", writes, rewrites, len(data))
	}
}

// TestBadChunks: a chunk that does not fit is answered with RESPONSE
// Error naming the problem, and ends Receive with ErrMalformed.
func TestBadChunks(t *testing.T) {
	data := randomBytes(5000, 6)
	cases := []struct {
		name string
		t    func() *Transfer
		want string
	}{
		{"wrong chunk UUID", func() *Transfer { c := chunkOf(0, data, 0, 100, true); c.Chunk = ChunkID(testTID, 0, 1); return c }, "is not the chunk of file 0 at 0"},
		{"beyond the file", func() *Transfer { return chunkOf(0, append(bytes.Clone(data), make([]byte, 500)...), 4500, 1000, true) }, "goes beyond"},
		{"unknown file", func() *Transfer {
			c := chunkOf(0, data, 0, 10, true)
			c.File = 3
			c.Chunk = ChunkID(testTID, 3, 0)
			return c
		}, "file 3 of 1"},
		{"wrong mode", func() *Transfer { return chunkOf(0, data, 0, 10, false) }, "wrong mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := plugintest.Context(t)
			recv := newProtocol(t, Config{})
			a, b := tcpPair(t)
			errc := runAsync(func() error { return recv.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: newDiskSink(t)}) })
			p := newRawPeer(t, a)
			auth := authFast(1000, data)
			p.send(auth)
			wantOk(t, p.response(), auth.MessageID)
			bad := c.t()
			p.send(bad)
			r := p.response()
			if r.MessageID != bad.MessageID || r.Response != Error || !strings.Contains(r.Reason, c.want) {
				t.Errorf("answer %+v, want Error for %s naming %q", r, bad.MessageID, c.want)
			}
			if err := <-errc; !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Receive: %v, want ErrMalformed naming %q", err, c.want)
			}
		})
	}
}

// TestSeedPeer: an AUTHENTICATION with no ferry object (a seed peer) gets
// strict mode, and a repeat of it the same answer with one Decide; a
// second, different AUTHENTICATION is refused.
func TestSeedPeer(t *testing.T) {
	ctx := plugintest.Context(t)
	recv := newProtocol(t, Config{})
	sink := newDiskSink(t)
	a, b := tcpPair(t)
	errc := runAsync(func() error { return recv.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	p := newRawPeer(t, a)
	auth := authFast(1000, []byte("hello"))
	auth.Ferry = nil
	p.send(auth, auth)
	for range 2 {
		r := p.response()
		wantOk(t, r, auth.MessageID)
		if r.Ferry == nil || r.Ferry.Mode != ModeStrict {
			t.Errorf("answer to a seed peer: %+v, want strict mode", r.Ferry)
		}
	}
	if n := len(sink.offers); n != 1 {
		t.Errorf("Decide ran %d times, want 1", n)
	}
	other := *auth
	other.MessageID = uuid.NewString()
	p.send(&other)
	if err := <-errc; !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "second AUTHENTICATION") {
		t.Errorf("Receive: %v, want ErrMalformed about a second AUTHENTICATION", err)
	}
}

// TestTransferBeforeAuthentication: chunks before AUTHENTICATION are
// refused.
func TestTransferBeforeAuthentication(t *testing.T) {
	ctx := plugintest.Context(t)
	recv := newProtocol(t, Config{})
	a, b := tcpPair(t)
	errc := runAsync(func() error { return recv.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: newDiskSink(t)}) })
	p := newRawPeer(t, a)
	c := chunkOf(0, []byte("x"), 0, 1, false)
	p.send(c)
	if r := p.response(); r.Response != Error || r.MessageID != c.MessageID {
		t.Errorf("answer %+v, want Error", r)
	}
	if err := <-errc; !errors.Is(err, ErrMalformed) {
		t.Errorf("Receive: %v, want ErrMalformed", err)
	}
}

// TestBadTokens: whatever Decide refuses (as the core does for a missing,
// expired, forged or foreign token, or an unknown transfer) reaches the
// sender as an error wrapping sdk.ErrRefused with the reason, and nothing
// is created or written.
func TestBadTokens(t *testing.T) {
	for _, c := range []struct{ token, reason string }{
		{"", "no token: refused by receiver"},
		{"eyJ.expired.x", "token expired at 2026-01-01T00:00:00Z"},
		{"eyJ.forged.x", "token signature invalid"},
		{"eyJ.foreign.x", "token was issued to another sender"},
		{"eyJ.unknown.x", "unknown transfer"},
	} {
		for _, mode := range modes {
			t.Run(c.reason+"/"+mode, func(t *testing.T) {
				ctx := plugintest.Context(t)
				s := newProtocol(t, Config{Mode: mode})
				r := newProtocol(t, Config{Mode: mode})
				sink := newDiskSink(t)
				sink.refuse = fmt.Errorf("transfer %s: %s: %w", testTID, c.reason, sdk.ErrRefused)
				if c.reason == "unknown transfer" {
					sink.refuse = errors.New(c.reason) // not even wrapping ErrRefused
				}
				offer := offerOf([]byte("secret"))
				offer.Token = c.token
				a, b := tcpPair(t)
				sendErr, recvErr := transfer(ctx, s, r, a, b, offer, &memSource{files: [][]byte{[]byte("secret")}}, sink, nil)
				if !errors.Is(sendErr, sdk.ErrRefused) || !strings.Contains(sendErr.Error(), c.reason) {
					t.Errorf("Send: %v, want sdk.ErrRefused with the reason %q", sendErr, c.reason)
				}
				if recvErr == nil || !strings.Contains(recvErr.Error(), c.reason) {
					t.Errorf("Receive: %v, want the refusal", recvErr)
				}
				if got := sink.offers[0].Token; got != c.token {
					t.Errorf("Decide got token %q, want %q", got, c.token)
				}
				if creates, writes, _ := sink.counts(); creates != 0 || writes != 0 {
					t.Errorf("%d part files created, %d bytes written for a refused transfer", creates, writes)
				}
				if ents, _ := os.ReadDir(sink.dir); len(ents) != 0 {
					t.Errorf("files left in the receive folder: %v", ents)
				}
			})
		}
	}
}

// TestReceiveSilentSender: a sender that stops sending, before or after
// AUTHENTICATION, ends Receive after ack_timeout with sdk.ErrOffline, and
// the part files are kept (closed incomplete).
func TestReceiveSilentSender(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after-auth-%v", after), func(t *testing.T) {
			ctx := plugintest.Context(t)
			recv := newProtocol(t, Config{AckTimeout: 200 * time.Millisecond})
			sink := newDiskSink(t)
			a, b := tcpPair(t)
			errc := runAsync(func() error { return recv.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
			data := randomBytes(3000, 7)
			if after {
				p := newRawPeer(t, a)
				auth := authFast(1000, data)
				p.send(auth)
				wantOk(t, p.response(), auth.MessageID)
				c := chunkOf(0, data, 0, 1000, true)
				p.send(c)
				wantOk(t, p.response(), c.MessageID)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, sdk.ErrOffline) {
					t.Errorf("Receive: %v, want sdk.ErrOffline", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Receive still waits for a silent sender")
			}
			if after {
				if held, done := sink.state("f0"); done || held.Total() != 1000 {
					t.Errorf("part file: %v held, done %v; want the first 1000 bytes kept", held, done)
				}
			}
		})
	}
}
