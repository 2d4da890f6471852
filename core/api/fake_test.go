package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/sdk"
)

// fakeBackend is a Backend for the server's unit tests: it records what
// it was asked and emits events on demand.
type fakeBackend struct {
	mu       sync.Mutex
	subs     map[int]func(node.Event)
	next     int
	sent     []SendRequest
	reloadOK bool
}

func newFake() *fakeBackend { return &fakeBackend{subs: map[int]func(node.Event){}, reloadOK: true} }

func (f *fakeBackend) Identity() Identity { return Identity{ID: "AAAAAAA-BBBBBBB", Name: "fake"} }
func (f *fakeBackend) Peers() []sdk.PeerInfo {
	return []sdk.PeerInfo{{Name: "bob", Source: "lan", Seen: time.Unix(0, 0)}}
}

func (f *fakeBackend) Send(_ context.Context, req SendRequest) (Sent, error) {
	if req.To == "nobody" {
		return Sent{}, fmt.Errorf("%w: no peer %q", ErrNotFound, req.To)
	}
	f.mu.Lock()
	f.sent = append(f.sent, req)
	f.mu.Unlock()
	return Sent{Transfer: "0123456789abcdef0123456789abcdef", Files: len(req.Paths)}, nil
}

func (f *fakeBackend) Transfers() ([]Transfer, error) { return []Transfer{}, nil }
func (f *fakeBackend) Pause(id string) error          { return f.known(id) }
func (f *fakeBackend) Resume(id string) error         { return f.known(id) }
func (f *fakeBackend) Cancel(id string) error         { return f.known(id) }

func (f *fakeBackend) known(id string) error {
	if id != "0123" {
		return fmt.Errorf("%w: no transfer %q", ErrNotFound, id)
	}
	return nil
}

func (f *fakeBackend) Reload(context.Context) (string, error) {
	if !f.reloadOK {
		return "", fmt.Errorf("%w: bad config", ErrRefused)
	}
	return "reloaded", nil
}

func (f *fakeBackend) Plugins(context.Context) any { return []string{"lan"} }

func (f *fakeBackend) Subscribe(fn func(node.Event)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.subs[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, id)
	}
}

func (f *fakeBackend) emit(e node.Event) {
	f.mu.Lock()
	fns := make([]func(node.Event), 0, len(f.subs))
	for _, fn := range f.subs {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// newTestServer makes a server over a fake backend, with key.
func newTestServer(t *testing.T, key string) (*Server, *fakeBackend) {
	t.Helper()
	f := newFake()
	s, err := New(Options{Backend: f, Offers: NewOffers(), Key: key, UploadDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, f
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
