package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// serveSocket serves s on a socket in a new home and returns the home.
func serveSocket(t *testing.T, s *Server) string {
	t.Helper()
	home, err := os.MkdirTemp("", "api") // short: socket paths are bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	l, err := net.Listen("unix", filepath.Join(home, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.SocketHandler()}
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	return home
}

// TestClient drives the socket API through Client: no daemon, identity,
// send, an offer answered, the event stream, a refused reload.
func TestClient(t *testing.T) {
	if _, err := Dial(t.TempDir()); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Dial of a home without a daemon: %v", err)
	}
	s, f := newTestServer(t, "")
	home := serveSocket(t, s)
	c, err := Dial(home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := c.Identity(ctx)
	if err != nil || id.Name != "fake" {
		t.Fatalf("identity: %+v %v", id, err)
	}
	if _, err := c.Send(ctx, SendRequest{Paths: []string{"/x"}, To: "nobody"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("send to nobody: %v, want ErrNotFound", err)
	}
	sent, err := c.Send(ctx, SendRequest{Paths: []string{"/x", "/y"}, To: "bob"})
	if err != nil || sent.Files != 2 {
		t.Fatalf("send: %+v %v", sent, err)
	}

	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.emit(node.Event{Kind: node.EventProgress, Transfer: sent.Transfer, Bytes: 5, Total: 10})
	select {
	case e := <-events:
		if e.Kind != node.EventProgress || e.Bytes != 5 || e.Transfer != sent.Transfer {
			t.Errorf("event %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no event on the stream")
	}

	answered := make(chan string, 1)
	go func() { answered <- s.opts.Offers.Decide(ctx, ask("dddd")) }()
	waitOffers(t, s.opts.Offers, 1)
	if err := c.Answer(ctx, "", true, "not now"); err != nil {
		t.Fatal(err)
	}
	if why := <-answered; why != "not now" {
		t.Errorf("refusal reason %q", why)
	}
	if err := c.Answer(ctx, "dddd", false, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("second answer: %v", err)
	}

	f.reloadOK = false
	if _, err := c.Reload(ctx); !errors.Is(err, ErrConflict) {
		t.Errorf("refused reload: %v, want a 409", err)
	}
	if err := c.Control(ctx, "nope", "pause"); !errors.Is(err, ErrNotFound) {
		t.Errorf("pause of an unknown transfer: %v", err)
	}
}

// FuzzSendBody feeds arbitrary bodies to POST /api/v1/send: each is
// answered 202, 400 or 404, never 500, and never panics.
func FuzzSendBody(f *testing.F) {
	for _, seed := range []string{`{"paths":["/a"],"to":"bob"}`, `{"paths":[],"to":""}`, `{"paths":["/a"],"to":"nobody"}`, `{"x":1}`, `[`, ``, `{"paths":"a"}`} {
		f.Add([]byte(seed))
	}
	fb := newFake()
	s, err := New(Options{Backend: fb, Offers: NewOffers()})
	if err != nil {
		f.Fatal(err)
	}
	h := s.SocketHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", "http://ferry/api/v1/send", bytesReader(body))
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 202 && rec.Code != 400 && rec.Code != 404 {
			t.Errorf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
