package jsonchunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// testTID is a valid transfer ID: 32 lowercase hex characters.
const testTID = "00112233445566778899aabbccddeeff"

// modes are the two modes every transfer test runs in.
var modes = []string{ModeFast, ModeStrict}

// newProtocol returns a protocol configured with cfg (zero fields take
// their defaults), logging to the test, closed when the test ends.
func newProtocol(t testing.TB, cfg Config) *Protocol {
	t.Helper()
	logs := plugintest.NewLogBuffer(t)
	p := New(WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err := p.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil && !errors.Is(err, sdk.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// quietProtocol is newProtocol without the logs, for benchmarks.
func quietProtocol(t testing.TB, cfg Config) *Protocol {
	t.Helper()
	p := New(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := p.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// runAsync runs fn in a goroutine and returns a channel with its error.
func runAsync(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// memSource serves files from memory and counts the bytes read from it:
// the chunk bytes a sender sent, or tried to.
type memSource struct {
	mu    sync.Mutex
	files [][]byte
	read  atomic.Int64
}

func (s *memSource) Open(_ context.Context, index int, offset int64) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < 0 || index >= len(s.files) {
		return nil, fmt.Errorf("open file %d: %w", index, sdk.ErrNotFound)
	}
	return io.NopCloser(&countingReader{r: bytes.NewReader(bytes.Clone(s.files[index][offset:])), n: &s.read}), nil
}

// set replaces file i's content.
func (s *memSource) set(i int, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[i] = b
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// offerOf returns the offer of files named f0, f1, ... with their hashes.
func offerOf(files ...[]byte) sdk.Offer {
	o := sdk.Offer{TransferID: testTID, Token: "token-" + testTID}
	for i, b := range files {
		sum := sha256.Sum256(b)
		o.Files = append(o.Files, sdk.FileInfo{Name: fmt.Sprintf("f%d", i), Size: int64(len(b)), SHA256: sum[:], MediaType: "application/octet-stream"})
	}
	return o
}

// diskSink is a FileSink on real files that, like the core's, keeps its
// part files and their committed ranges.Set across connections, knows the
// ranges it misses (sdk.RangedPart), checks the SHA-256 on Close and
// deletes the part on a mismatch.
type diskSink struct {
	dir    string
	refuse error
	// afterCommit, if set, runs after each Commit (to corrupt a file).
	afterCommit func(name string, f *os.File, off, n int64)
	// createErr and writeErr, if set, are what Create and WriteAt
	// answer (a full disk).
	createErr, writeErr error

	mu       sync.Mutex
	offers   []sdk.Offer
	files    map[string]*diskFile
	creates  int
	writes   int64 // bytes written
	rewrites int   // writes over committed bytes
	open     int   // part files open now
	maxOpen  int   // the most part files open at once
}

// diskFile is one file's state across connections.
type diskFile struct {
	path      string
	size      int64
	sha       []byte
	committed ranges.Set
	done      bool
}

func newDiskSink(t testing.TB) *diskSink {
	return &diskSink{dir: t.TempDir(), files: map[string]*diskFile{}}
}

func (s *diskSink) Decide(_ context.Context, o sdk.Offer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers = append(s.offers, o)
	return s.refuse
}

func (s *diskSink) Create(_ context.Context, index int) (sdk.PartFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.offers) == 0 || s.refuse != nil {
		return nil, errors.New("create before an accepted Decide")
	}
	if s.createErr != nil {
		return nil, s.createErr
	}
	o := s.offers[len(s.offers)-1]
	if index < 0 || index >= len(o.Files) {
		return nil, fmt.Errorf("create file %d of %d: %w", index, len(o.Files), sdk.ErrNotFound)
	}
	fi := o.Files[index]
	df := s.files[fi.Name]
	if df == nil {
		df = &diskFile{path: filepath.Join(s.dir, fi.Name), size: fi.Size, sha: fi.SHA256}
		s.files[fi.Name] = df
	}
	f, err := os.OpenFile(df.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	s.creates++
	s.open++
	s.maxOpen = max(s.maxOpen, s.open)
	return &diskPart{s: s, df: df, name: fi.Name, f: f}, nil
}

// state returns file name's committed ranges.Set and whether it is done.
func (s *diskSink) state(name string) (ranges.Set, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	df := s.files[name]
	if df == nil {
		return nil, false
	}
	return df.committed.Clone(), df.done
}

func (s *diskSink) counts() (creates int, writes int64, rewrites int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates, s.writes, s.rewrites
}

type diskPart struct {
	s      *diskSink
	df     *diskFile
	name   string
	f      *os.File
	closed bool
}

func (p *diskPart) File() *os.File { return p.f }

func (p *diskPart) Offset() int64 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.df.done {
		return p.df.size
	}
	if len(p.df.committed) > 0 && p.df.committed[0][0] == 0 {
		return p.df.committed[0][1]
	}
	return 0
}

func (p *diskPart) Missing() [][2]int64 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.df.done {
		return nil
	}
	return p.df.committed.Gaps(0, p.df.size)
}

func (p *diskPart) WriteAt(b []byte, off int64) (int, error) {
	p.s.mu.Lock()
	switch {
	case p.closed:
		p.s.mu.Unlock()
		return 0, errors.New("write after close")
	case off < 0 || off+int64(len(b)) > p.df.size:
		p.s.mu.Unlock()
		return 0, fmt.Errorf("write [%d, %d) outside %d bytes", off, off+int64(len(b)), p.df.size)
	case p.s.writeErr != nil:
		p.s.mu.Unlock()
		return 0, p.s.writeErr
	}
	if len(p.df.committed.Gaps(off, off+int64(len(b)))) != 1 || p.df.committed.Gaps(off, off+int64(len(b)))[0] != [2]int64{off, off + int64(len(b))} {
		p.s.rewrites++
	}
	p.s.writes += int64(len(b))
	p.s.mu.Unlock()
	return p.f.WriteAt(b, off)
}

func (p *diskPart) Commit(_ context.Context, off, n int64) error {
	p.s.mu.Lock()
	if p.closed {
		p.s.mu.Unlock()
		return errors.New("commit after close")
	}
	p.df.committed.Add(off, off+n)
	hook := p.s.afterCommit
	p.s.mu.Unlock()
	if hook != nil {
		hook(p.name, p.f, off, n)
	}
	return nil
}

func (p *diskPart) Close(_ context.Context, complete bool) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.closed {
		return errors.New("part closed twice")
	}
	p.closed = true
	p.s.open--
	defer p.f.Close()
	if !complete || p.df.done {
		return nil
	}
	if miss := p.df.committed.Gaps(0, p.df.size); len(miss) > 0 {
		return fmt.Errorf("incomplete: %v missing", miss)
	}
	if p.df.sha != nil {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(p.f, 0, p.df.size)); err != nil {
			return err
		}
		if got := h.Sum(nil); !bytes.Equal(got, p.df.sha) {
			_ = os.Remove(p.df.path)
			p.df.committed = nil
			return fmt.Errorf("%s: got sha-256 %x, want %x; part file deleted: %w", p.name, got, p.df.sha, sdk.ErrHashMismatch)
		}
	}
	p.df.done = true
	return nil
}

// content returns file name's bytes on disk.
func (s *diskSink) content(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		t.Fatalf("read received %s: %v", name, err)
	}
	return b
}

// lastProgress records the last progress figure per file.
type lastProgress struct {
	mu   sync.Mutex
	last map[int]int64
}

func (p *lastProgress) Update(i int, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[int]int64{}
	}
	p.last[i] = n
}

func (p *lastProgress) get(i int) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last[i]
}

// streamPair makes a connected pair of streams; the transports a test runs
// over.
type streamPair func(t testing.TB) (sdk.Stream, sdk.Stream)

// tcpPair is a loopback TCP pair.
func tcpPair(t testing.TB) (sdk.Stream, sdk.Stream) {
	t.Helper()
	a, b := plugintest.TCPPair(t)
	return a, b
}

// unixPair is a connected pair of Unix stream sockets.
func unixPair(t testing.TB) (sdk.Stream, sdk.Stream) {
	t.Helper()
	dir, err := os.MkdirTemp("", "jc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan *net.UnixConn, 1)
	go func() {
		c, _ := ln.AcceptUnix()
		ch <- c
	}()
	a, err := net.DialUnix("unix", nil, ln.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	return a, b
}

// transfer runs Send and Receive over one stream pair and returns their
// errors.
func transfer(ctx context.Context, sender, receiver sdk.Protocol, a, b sdk.Stream, offer sdk.Offer, src sdk.FileSource, sink sdk.FileSink, prog sdk.Progress) (sendErr, recvErr error) {
	errc := runAsync(func() error { return receiver.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	sendErr = sender.Send(ctx, sdk.SendRequest{Stream: a, Offer: offer, Source: src, Progress: prog})
	if sendErr != nil {
		// As the core does: a failed call's stream is torn down.
		_ = a.Close()
	}
	return sendErr, <-errc
}
