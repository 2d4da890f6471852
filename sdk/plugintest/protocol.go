package plugintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// MakeProtocols returns a sender and a receiver instance of the protocol
// under test, configured; the factory registers their cleanup.
type MakeProtocols func(t *testing.T) (sender, receiver sdk.Protocol)

// TestProtocol runs the protocol conformance suite: Info, Transfer (three
// files of 0 bytes, 1000 bytes and 3 MiB arrive intact and complete, with
// final progress on the sending side), Refused (a refusal reaches the sender
// as an error wrapping sdk.ErrRefused and no part file is made) and Resume
// (a part file that already holds a prefix is completed from its offset).
// The streams are TCP loopback pairs; source files are *os.File and part
// files are FileBacked, as the core provides them. The offer's TransferID
// is 32 lowercase hex characters (16 bytes), as the core makes them.
//
// The test sink accepts both ways of asking [sdk.FileSink.Decide]: once
// with the whole offer, or once per file with an offer holding that file
// alone. Every offer it is asked about must carry the sent TransferID and
// only files of the sent offer; Create resolves its index in the most
// recently decided offer to the file of the sent offer by name.
func TestProtocol(t *testing.T, mk MakeProtocols) {
	t.Run("Info", func(t *testing.T) {
		s, r := mk(t)
		ctx, stop := watchdog(t, "the protocols", nil, s, r)
		defer stop()
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.ProtocolID == "" {
			t.Error("Info.ProtocolID is empty: the core uses it as the TLS ALPN value")
		}
	})
	t.Run("Transfer", func(t *testing.T) { testTransfer(t, mk, nil, nil) })
	t.Run("Refused", func(t *testing.T) {
		sink := testTransfer(t, mk, fmt.Errorf("not now: %w", sdk.ErrRefused), nil)
		if n := sink.created(); n != 0 {
			t.Errorf("%d part files created for a refused offer", n)
		}
	})
	t.Run("Resume", func(t *testing.T) { testTransfer(t, mk, nil, map[int]int64{2: 1 << 20}) })
}

// conformanceTransferID is the TransferID of the suite's offers.
const conformanceTransferID = "5f0e8d1c2b3a49687766554433221100"

func testTransfer(t *testing.T, mk MakeProtocols, refuse error, have map[int]int64) *testSink {
	t.Helper()
	sender, receiver := mk(t)
	ctx, stop := watchdog(t, "the protocols", nil, sender, receiver)
	defer stop()
	dir := t.TempDir()
	sizes := []int64{0, 1000, 3 << 20}
	src := &testSource{}
	offer := sdk.Offer{TransferID: conformanceTransferID}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		p := filepath.Join(dir, fmt.Sprintf("src-%d", i))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src.paths = append(src.paths, p)
		offer.Files = append(offer.Files, sdk.FileInfo{Name: fmt.Sprintf("file-%d.bin", i), Size: n})
	}
	sink := &testSink{dir: t.TempDir(), refuse: refuse, have: have, srcPaths: src.paths, done: map[int]bool{}}
	for _, f := range offer.Files {
		sink.names = append(sink.names, f.Name)
	}
	a, b := TCPPair(t)
	prog := &testProgress{last: map[int]int64{}}
	errc := make(chan error, 1)
	go func() { errc <- receiver.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) }()
	sendErr := sender.Send(ctx, sdk.SendRequest{Stream: a, Offer: offer, Source: src, Progress: prog})
	recvErr := <-errc
	for _, o := range sink.decided() {
		if o.TransferID != offer.TransferID {
			t.Errorf("Decide got TransferID %q, want %q", o.TransferID, offer.TransferID)
		}
		for _, f := range o.Files {
			if sink.global(f.Name) < 0 {
				t.Errorf("Decide got file %q, which is not in the offer sent", f.Name)
			}
		}
	}
	if refuse != nil {
		if !errors.Is(sendErr, sdk.ErrRefused) {
			t.Errorf("Send of a refused offer: %v, want an error wrapping sdk.ErrRefused", sendErr)
		}
		return sink
	}
	if sendErr != nil || recvErr != nil {
		t.Fatalf("Send: %v; Receive: %v", sendErr, recvErr)
	}
	for i, p := range src.paths {
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(sink.dir, offer.Files[i].Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("file %d: got %d bytes (%v), want %d identical bytes", i, len(got), err, len(want))
		}
		if !sink.isDone(i) {
			t.Errorf("file %d: part file not closed as complete", i)
		}
		if n := prog.get(i); sizes[i] > 0 && n != sizes[i] {
			t.Errorf("file %d: last progress %d, want %d", i, n, sizes[i])
		}
	}
	return sink
}

// TCPPair returns a connected loopback TCP pair, closed when the test
// ends: the streams a protocol test runs on.
func TCPPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		_ = a.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = r.c.Close()
	})
	return a.(*net.TCPConn), r.c.(*net.TCPConn)
}

type testSource struct{ paths []string }

func (s *testSource) Open(_ context.Context, index int, offset int64) (io.ReadCloser, error) {
	if index < 0 || index >= len(s.paths) {
		return nil, fmt.Errorf("open file %d: %w", index, sdk.ErrNotFound)
	}
	f, err := os.Open(s.paths[index])
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// testSink writes part files into dir. names are the file names of the
// offer sent, in order; a file's place among them is its global index, by
// which have, done and the part files are keyed whatever offers Decide saw.
type testSink struct {
	dir      string
	refuse   error
	have     map[int]int64 // global index -> bytes an earlier connection left
	srcPaths []string
	names    []string
	mu       sync.Mutex
	offers   []sdk.Offer // every offer Decide was asked about, in order
	made     int
	done     map[int]bool // global index -> closed as complete
}

func (s *testSink) Decide(_ context.Context, o sdk.Offer) error {
	s.mu.Lock()
	s.offers = append(s.offers, o)
	s.mu.Unlock()
	return s.refuse
}

// Create opens the part file of file index of the most recently decided
// offer, found in the sent offer by name.
func (s *testSink) Create(_ context.Context, index int) (sdk.PartFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.offers) == 0 {
		return nil, fmt.Errorf("create file %d before any Decide: %w", index, sdk.ErrNotFound)
	}
	last := s.offers[len(s.offers)-1]
	if index < 0 || index >= len(last.Files) {
		return nil, fmt.Errorf("create file %d of an offer of %d: %w", index, len(last.Files), sdk.ErrNotFound)
	}
	name := last.Files[index].Name
	g := s.global(name)
	if g < 0 {
		return nil, fmt.Errorf("create file %q, not in the offer sent: %w", name, sdk.ErrNotFound)
	}
	s.made++
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	var off int64
	if n := s.have[g]; n > 0 {
		// Pretend an earlier connection delivered the first n bytes.
		data, err := os.ReadFile(s.srcPaths[g])
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		if _, err := f.WriteAt(data[:n], 0); err != nil {
			_ = f.Close()
			return nil, err
		}
		off = n
	}
	return &testPart{f: f, off: off, sink: s, index: g}, nil
}

// global returns the index of the file called name in the offer sent, or
// -1. names never changes, so it needs no lock.
func (s *testSink) global(name string) int {
	for i, n := range s.names {
		if n == name {
			return i
		}
	}
	return -1
}

func (s *testSink) decided() []sdk.Offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sdk.Offer(nil), s.offers...)
}

func (s *testSink) created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.made
}

func (s *testSink) isDone(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[i]
}

type testPart struct {
	f     *os.File
	off   int64
	sink  *testSink
	index int // global index in the offer sent
}

func (p *testPart) Offset() int64                            { return p.off }
func (p *testPart) File() *os.File                           { return p.f }
func (p *testPart) WriteAt(b []byte, off int64) (int, error) { return p.f.WriteAt(b, off) }

func (p *testPart) Commit(context.Context, int64, int64) error { return p.f.Sync() }

func (p *testPart) Close(_ context.Context, complete bool) error {
	p.sink.mu.Lock()
	p.sink.done[p.index] = complete
	p.sink.mu.Unlock()
	return p.f.Close()
}

type testProgress struct {
	mu   sync.Mutex
	last map[int]int64
}

func (p *testProgress) Update(i int, n int64) {
	p.mu.Lock()
	p.last[i] = n
	p.mu.Unlock()
}

func (p *testProgress) get(i int) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last[i]
}
