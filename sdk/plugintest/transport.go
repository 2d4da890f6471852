package plugintest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/ferry-p2p/ferry/sdk"
)

// MakeTransports returns two configured transports of the implementation
// under test, a and b, able to connect to each other. It is called once per
// subtest, so each subtest starts on a fresh pair.
//
// The factory owns the transports' lifetime: it registers their Close with
// t.Cleanup. The suite may close them first (CloseThenCall does, and so does
// the watchdog when a subtest hangs), so the cleanup must accept a Close that
// returns an error wrapping [sdk.ErrClosed]. The factory stops the test with
// t.Fatal when it cannot build the pair.
type MakeTransports func(t *testing.T) (a, b sdk.Transport)

// TimeoutEnv names the environment variable that overrides the per-subtest
// watchdog limit, as a Go duration such as "90s" or "5m".
const TimeoutEnv = "FERRY_TEST_TIMEOUT"

// DefaultTimeout is the per-subtest watchdog limit when [TimeoutEnv] is unset.
const DefaultTimeout = 60 * time.Second

// promptly bounds how long a call that should return at once (after a
// cancel or a Close) may take before the suite reports it as stuck.
const promptly = 5 * time.Second

// TestTransport tests that a transport keeps the [sdk.Transport] contract.
// Each subtest runs on a fresh pair from mk, under a watchdog (see the
// package doc). Run it with the race detector.
func TestTransport(t *testing.T, mk MakeTransports) {
	t.Run("Info", func(t *testing.T) { run(t, mk, testInfo) })
	t.Run("ConfigSchema", func(t *testing.T) { run(t, mk, testConfigSchema) })
	t.Run("Stream", func(t *testing.T) { run(t, mk, testStream) })
	t.Run("HalfClose", func(t *testing.T) { run(t, mk, testHalfClose) })
	t.Run("LargeWrite", func(t *testing.T) { run(t, mk, testLargeWrite) })
	t.Run("ManyConcurrent", func(t *testing.T) { run(t, mk, testManyConcurrent) })
	t.Run("BadDescription", func(t *testing.T) { run(t, mk, testBadDescription) })
	t.Run("UnknownSession", func(t *testing.T) { run(t, mk, testUnknownSession) })
	t.Run("ContextCancel", func(t *testing.T) { run(t, mk, testContextCancel) })
	t.Run("CloseThenCall", func(t *testing.T) { run(t, mk, testCloseThenCall) })
}

// ConnectPair connects a (as initiator, towards peerB) with b (as responder,
// towards peerA): it prepares both sides, then runs both Connect calls
// concurrently, each with the other side's local description. It returns the
// initiator's and the responder's streams, or an error naming the side that
// failed; on error no stream is left open. The caller closes the streams.
func ConnectPair(ctx context.Context, a, b sdk.Transport, peerA, peerB sdk.PeerID) (sa, sb sdk.Stream, err error) {
	pa, err := a.Prepare(ctx, sdk.PrepareRequest{Peer: peerB, Role: sdk.Initiator})
	if err != nil {
		return nil, nil, fmt.Errorf("prepare initiator: %w", err)
	}
	pb, err := b.Prepare(ctx, sdk.PrepareRequest{Peer: peerA, Role: sdk.Responder})
	if err != nil {
		return nil, nil, fmt.Errorf("prepare responder: %w", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sa, errA = a.Connect(cctx, sdk.ConnectRequest{Session: pa.Session, Remote: pb.Local})
		if errA == nil && sa == nil {
			errA = errors.New("nil stream and nil error")
		}
		if errA != nil {
			cancel() // the responder would wait for nothing
		}
	}()
	go func() {
		defer wg.Done()
		sb, errB = b.Connect(cctx, sdk.ConnectRequest{Session: pb.Session, Remote: pa.Local})
		if errB == nil && sb == nil {
			errB = errors.New("nil stream and nil error")
		}
		if errB != nil {
			cancel()
		}
	}()
	wg.Wait()
	if errA == nil && errB == nil {
		return sa, sb, nil
	}
	for _, s := range []sdk.Stream{sa, sb} {
		if s != nil {
			_ = s.Close()
		}
	}
	// When one side failed and the other only saw the cancel that followed,
	// report the cause alone.
	if errA != nil && errB != nil && ctx.Err() == nil {
		switch {
		case errors.Is(errB, context.Canceled) && !errors.Is(errA, context.Canceled):
			errB = nil
		case errors.Is(errA, context.Canceled) && !errors.Is(errB, context.Canceled):
			errA = nil
		}
	}
	switch {
	case errA != nil && errB != nil:
		return nil, nil, fmt.Errorf("connect initiator: %w; connect responder: %w", errA, errB)
	case errA != nil:
		return nil, nil, fmt.Errorf("connect initiator: %w", errA)
	default:
		return nil, nil, fmt.Errorf("connect responder: %w", errB)
	}
}

// pair is the fixture of one subtest: two transports, two peer IDs, and the
// streams opened on them, which the watchdog closes when it fires.
type pair struct {
	a, b         sdk.Transport
	peerA, peerB sdk.PeerID
	timeout      time.Duration

	mu      sync.Mutex
	streams []sdk.Stream
	done    bool
}

// track registers streams to close when the subtest ends or times out.
func (p *pair) track(ss ...sdk.Stream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range ss {
		if p.done {
			_ = s.Close()
			continue
		}
		p.streams = append(p.streams, s)
	}
}

// closeStreams closes every tracked stream, and any tracked later.
func (p *pair) closeStreams() {
	p.mu.Lock()
	ss := p.streams
	p.streams, p.done = nil, true
	p.mu.Unlock()
	for _, s := range ss {
		_ = s.Close()
	}
}

// connect is ConnectPair on the fixture's transports, for the test
// goroutine: it stops the test on error.
func (p *pair) connect(ctx context.Context, t *testing.T) (sa, sb sdk.Stream) {
	t.Helper()
	sa, sb, err := ConnectPair(ctx, p.a, p.b, p.peerA, p.peerB)
	if err != nil {
		t.Fatalf("ConnectPair: %v", err)
	}
	p.track(sa, sb)
	return sa, sb
}

type transportTest func(ctx context.Context, t *testing.T, p *pair)

// watchdogTimeout reads [TimeoutEnv].
func watchdogTimeout(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(TimeoutEnv)
	if v == "" {
		return DefaultTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive Go duration such as 90s", TimeoutEnv, v)
	}
	return d
}

// run builds a fresh pair and runs f on it under a watchdog. When the
// watchdog fires it fails the test, cancels f's context and closes the
// streams and both transports, so that f's blocked calls return.
func run(t *testing.T, mk MakeTransports, f transportTest) {
	t.Helper()
	timeout := watchdogTimeout(t)
	a, b := mk(t)
	if a == nil || b == nil {
		t.Fatal("MakeTransports returned a nil transport")
	}
	p := &pair{a: a, b: b, peerA: RandomPeerID(t), peerB: RandomPeerID(t), timeout: timeout}
	ctx, stop := watchdog(t, "streams and transports", p.closeStreams, a, b)
	defer func() {
		stop()
		p.closeStreams()
	}()
	f(ctx, t, p)
}

// testInfo tests that Info names the plugin, lists the transport role and
// speaks this SDK's API version.
func testInfo(ctx context.Context, t *testing.T, p *pair) {
	checkInfo(ctx, t, "a", p.a, sdk.RoleTransport)
	checkInfo(ctx, t, "b", p.b, sdk.RoleTransport)
}

// testConfigSchema tests that ConfigSchema answers with well-formed fields:
// named, unique, of a known type, and not both required and defaulted.
func testConfigSchema(ctx context.Context, t *testing.T, p *pair) {
	s, err := p.a.ConfigSchema(ctx)
	if err != nil {
		t.Fatalf("ConfigSchema: %v", err)
	}
	types := []string{"string", "int", "bool", "duration", "[]string"}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		if f.Name == "" {
			t.Errorf("field %d has no name", i)
		}
		if seen[f.Name] {
			t.Errorf("field %q listed twice", f.Name)
		}
		seen[f.Name] = true
		if !slices.Contains(types, f.Type) {
			t.Errorf("field %q has type %q, want one of %q", f.Name, f.Type, types)
		}
		if f.Required && f.Default != "" {
			t.Errorf("field %q is required but has default %q", f.Name, f.Default)
		}
	}
}

// testStream tests that the streams ConnectPair makes pass
// nettest.TestConn: basic I/O, ping-pong, racy reads and writes, deadlines
// and concurrent method calls.
func testStream(ctx context.Context, t *testing.T, p *pair) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		defer cancel()
		sa, sb, err := ConnectPair(cctx, p.a, p.b, p.peerA, p.peerB)
		if err != nil {
			return nil, nil, nil, err
		}
		p.track(sa, sb)
		return sa, sb, func() {
			_ = sa.Close()
			_ = sb.Close()
		}, nil
	})
}

// testHalfClose tests that after CloseWrite the peer reads the data and
// then io.EOF, and can still write back to the half-closed side.
func testHalfClose(ctx context.Context, t *testing.T, p *pair) {
	sa, sb := p.connect(ctx, t)
	ping := []byte("ping from the initiator, then CloseWrite")
	pong := []byte("pong from the responder after it read EOF")

	errc := make(chan error, 1)
	go func() { errc <- writeThenCloseWrite(sa, ping) }()
	got, rerr := io.ReadAll(sb)
	if rerr != nil {
		_ = sa.Close() // unblock the writer
	}
	if err := <-errc; err != nil {
		t.Fatalf("initiator: %v", err)
	}
	if rerr != nil {
		t.Fatalf("responder: read until EOF: %v", rerr)
	}
	if !bytes.Equal(got, ping) {
		t.Fatalf("responder read %q, want %q", got, ping)
	}

	go func() { errc <- writeThenCloseWrite(sb, pong) }()
	got, rerr = io.ReadAll(sa)
	if rerr != nil {
		_ = sb.Close()
	}
	if err := <-errc; err != nil {
		t.Fatalf("responder: write after reading EOF: %v", err)
	}
	if rerr != nil {
		t.Fatalf("initiator: read after its own CloseWrite: %v", rerr)
	}
	if !bytes.Equal(got, pong) {
		t.Fatalf("initiator read %q, want %q", got, pong)
	}
}

func writeThenCloseWrite(s sdk.Stream, b []byte) error {
	if _, err := s.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		return fmt.Errorf("close write: %w", err)
	}
	return nil
}

// largeSize is how many bytes LargeWrite sends.
const largeSize = 64 << 20

// testLargeWrite tests that 64 MiB of deterministic data from a seeded
// source arrive complete and unchanged, compared by SHA-256.
func testLargeWrite(ctx context.Context, t *testing.T, p *pair) {
	sa, sb := p.connect(ctx, t)

	type sent struct {
		sum []byte
		err error
	}
	done := make(chan sent, 1)
	go func() {
		h := sha256.New()
		src := rand.NewChaCha8([32]byte{'f', 'e', 'r', 'r', 'y'})
		buf := make([]byte, 128<<10)
		var err error
		for n := 0; n < largeSize && err == nil; n += len(buf) {
			_, _ = src.Read(buf) // ChaCha8.Read never fails
			h.Write(buf)
			_, err = sa.Write(buf)
		}
		if err == nil {
			err = sa.CloseWrite()
		}
		if err != nil {
			_ = sa.Close() // the reader sees the end instead of waiting
		}
		done <- sent{h.Sum(nil), err}
	}()

	h := sha256.New()
	n, rerr := io.Copy(h, sb)
	if rerr != nil {
		_ = sa.Close() // unblock the writer
	}
	s := <-done
	if s.err != nil {
		t.Fatalf("initiator: write: %v", s.err)
	}
	if rerr != nil {
		t.Fatalf("responder: read after %d bytes: %v", n, rerr)
	}
	if n != largeSize {
		t.Fatalf("responder read %d bytes, want %d", n, largeSize)
	}
	if got := h.Sum(nil); !bytes.Equal(got, s.sum) {
		t.Fatalf("sha256 of received data is %x, want %x", got, s.sum)
	}
}

// concurrentAttempts is how many connection attempts ManyConcurrent runs
// at once.
const concurrentAttempts = 8

// testManyConcurrent tests that several connection attempts between the
// same two peers, run at once, each get their own stream: the data written
// on each initiator stream arrives on its own responder stream and back.
func testManyConcurrent(ctx context.Context, t *testing.T, p *pair) {
	errs := make(chan error, concurrentAttempts)
	var wg sync.WaitGroup
	for i := range concurrentAttempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.exchange(ctx, i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// exchange connects one pair of streams, sends attempt i's request one way
// and its reply the other, and checks both arrived unchanged.
func (p *pair) exchange(ctx context.Context, i int) error {
	sa, sb, err := ConnectPair(ctx, p.a, p.b, p.peerA, p.peerB)
	if err != nil {
		return fmt.Errorf("attempt %d: %w", i, err)
	}
	p.track(sa, sb)
	defer sa.Close()
	defer sb.Close()

	req, resp := payload(i, "request"), payload(i, "reply")
	if err := oneWay(sa, sb, req); err != nil {
		return fmt.Errorf("attempt %d: initiator to responder: %w", i, err)
	}
	if err := oneWay(sb, sa, resp); err != nil {
		return fmt.Errorf("attempt %d: responder to initiator: %w", i, err)
	}
	return nil
}

// payload returns attempt i's data: a header naming it, then seeded bytes.
func payload(i int, kind string) []byte {
	b := fmt.Appendf(nil, "plugintest attempt %02d %s\n", i, kind)
	body := make([]byte, 32<<10+i*997)
	_, _ = rand.NewChaCha8([32]byte{byte(i), kind[0]}).Read(body)
	return append(b, body...)
}

// oneWay writes want on w, half-closes it, and checks that r reads exactly
// want and then EOF.
func oneWay(w, r sdk.Stream, want []byte) error {
	errc := make(chan error, 1)
	go func() { errc <- writeThenCloseWrite(w, want) }()
	got, rerr := io.ReadAll(r)
	if rerr != nil {
		_ = w.Close()
	}
	if err := <-errc; err != nil {
		return err
	}
	if rerr != nil {
		return fmt.Errorf("read: %w", rerr)
	}
	if !bytes.Equal(got, want) {
		head, _, _ := bytes.Cut(got, []byte("\n"))
		return fmt.Errorf("read %d bytes starting %q, want %d bytes starting %q (streams crossed?)",
			len(got), head, len(want), want[:bytes.IndexByte(want, '\n')])
	}
	return nil
}

// garbage is not a description for any transport (see the package doc).
var garbage = []byte("\x00\xff plugintest: this is not a transport description \xfe\x00")

// testBadDescription tests that an initiator refuses a remote description
// it cannot decode, with an error wrapping sdk.ErrInvalidDescription, and
// one made by another transport.
func testBadDescription(ctx context.Context, t *testing.T, p *pair) {
	good, err := p.b.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerA, Role: sdk.Responder})
	if err != nil {
		t.Fatalf("Prepare responder: %v", err)
	}
	cases := []struct {
		name        string
		remote      sdk.Description
		wantInvalid bool
	}{
		{"garbage data", sdk.Description{Transport: good.Local.Transport, Data: garbage}, true},
		{"other transport", sdk.Description{Transport: good.Local.Transport + "-plugintest-other", Data: good.Local.Data}, false},
	}
	for _, c := range cases {
		prep, err := p.a.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerB, Role: sdk.Initiator})
		if err != nil {
			t.Fatalf("%s: Prepare initiator: %v", c.name, err)
		}
		s, err := p.a.Connect(ctx, sdk.ConnectRequest{Session: prep.Session, Remote: c.remote})
		switch {
		case err == nil:
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: Connect succeeded, want an error", c.name)
		case c.wantInvalid && !errors.Is(err, sdk.ErrInvalidDescription):
			t.Errorf("%s: Connect: %v, want an error wrapping sdk.ErrInvalidDescription", c.name, err)
		}
	}
}

// testUnknownSession tests that Connect with a session that was never
// prepared fails with an error wrapping sdk.ErrNotFound, on both roles.
func testUnknownSession(ctx context.Context, t *testing.T, p *pair) {
	const unknown = "plugintest-session-never-prepared"
	pa, err := p.a.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerB, Role: sdk.Initiator})
	if err != nil {
		t.Fatalf("Prepare initiator: %v", err)
	}
	pb, err := p.b.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerA, Role: sdk.Responder})
	if err != nil {
		t.Fatalf("Prepare responder: %v", err)
	}
	for _, c := range []struct {
		name   string
		tr     sdk.Transport
		remote sdk.Description
	}{{"initiator side", p.a, pb.Local}, {"responder side", p.b, pa.Local}} {
		s, err := c.tr.Connect(ctx, sdk.ConnectRequest{Session: unknown, Remote: c.remote})
		if err == nil {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: Connect with an unknown session succeeded", c.name)
			continue
		}
		if !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("%s: Connect with an unknown session: %v, want an error wrapping sdk.ErrNotFound", c.name, err)
		}
	}
}

type connectResult struct {
	s   sdk.Stream
	err error
}

// awaitConnect waits for a Connect started in the background, for at most
// promptly after what should have ended it. If it is stuck, it reports so,
// closes tr to release it and still waits, so no goroutine outlives the
// test; stuck tells the caller that tr is closed now.
func awaitConnect(t *testing.T, tr sdk.Transport, res <-chan connectResult, what string) (r connectResult, stuck bool) {
	t.Helper()
	timer := time.NewTimer(promptly)
	defer timer.Stop()
	select {
	case r := <-res:
		return r, false
	case <-timer.C:
		t.Errorf("Connect still blocked %v after %s; closing the transport", promptly, what)
		cctx, cancel := context.WithTimeout(context.Background(), promptly)
		defer cancel()
		_ = tr.Close(cctx)
		return <-res, true
	}
}

// testContextCancel tests that a responder's Connect with no initiator
// returns ctx's error promptly once ctx is cancelled, whether it was
// cancelled before the call or during it.
func testContextCancel(ctx context.Context, t *testing.T, p *pair) {
	for _, early := range []bool{true, false} {
		name := "cancelled while waiting"
		if early {
			name = "cancelled before the call"
		}
		pa, err := p.a.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerB, Role: sdk.Initiator})
		if err != nil {
			t.Fatalf("Prepare initiator: %v", err)
		}
		pb, err := p.b.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerA, Role: sdk.Responder})
		if err != nil {
			t.Fatalf("Prepare responder: %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		if early {
			cancel()
		}
		res := make(chan connectResult, 1)
		go func() {
			s, err := p.b.Connect(cctx, sdk.ConnectRequest{Session: pb.Session, Remote: pa.Local})
			res <- connectResult{s, err}
		}()
		if !early {
			// Not an assertion: this only makes it likely that Connect
			// is already waiting when the cancel comes.
			trigger := time.AfterFunc(50*time.Millisecond, cancel)
			defer trigger.Stop()
		}
		r, stuck := awaitConnect(t, p.b, res, "its context was cancelled")
		cancel()
		if stuck {
			if r.s != nil {
				_ = r.s.Close()
			}
			return
		}
		if r.err == nil {
			if r.s != nil {
				_ = r.s.Close()
			}
			t.Errorf("%s: Connect with no initiator succeeded", name)
			continue
		}
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("%s: Connect: %v, want an error wrapping context.Canceled", name, r.err)
		}
	}
}

// testCloseThenCall tests that Close ends a waiting Connect, and that calls
// after Close fail with an error wrapping sdk.ErrClosed.
func testCloseThenCall(ctx context.Context, t *testing.T, p *pair) {
	pa, err := p.a.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerB, Role: sdk.Initiator})
	if err != nil {
		t.Fatalf("Prepare initiator: %v", err)
	}
	pb, err := p.b.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerA, Role: sdk.Responder})
	if err != nil {
		t.Fatalf("Prepare responder: %v", err)
	}

	// A responder waiting in Connect when its transport closes.
	res := make(chan connectResult, 1)
	go func() {
		s, err := p.b.Connect(ctx, sdk.ConnectRequest{Session: pb.Session, Remote: pa.Local})
		res <- connectResult{s, err}
	}()
	if err := p.b.Close(ctx); err != nil {
		t.Errorf("b: Close: %v", err)
	}
	if r, _ := awaitConnect(t, p.b, res, "Close"); r.err == nil {
		if r.s != nil {
			_ = r.s.Close()
		}
		t.Error("b: Connect waiting during Close succeeded, want an error")
	}

	// Calls after Close.
	if err := p.a.Close(ctx); err != nil {
		t.Errorf("a: Close: %v", err)
	}
	if _, err := p.a.Prepare(ctx, sdk.PrepareRequest{Peer: p.peerB, Role: sdk.Initiator}); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("a: Prepare after Close: %v, want an error wrapping sdk.ErrClosed", err)
	}
	s, err := p.a.Connect(ctx, sdk.ConnectRequest{Session: pa.Session, Remote: pb.Local})
	if s != nil {
		_ = s.Close()
	}
	if !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("a: Connect after Close: %v, want an error wrapping sdk.ErrClosed", err)
	}
	if err := p.a.Close(ctx); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("a: second Close: %v, want an error wrapping sdk.ErrClosed", err)
	}
}
