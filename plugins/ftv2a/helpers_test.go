package ftv2a

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// testTID is a valid transfer ID: 32 lowercase hex characters.
const testTID = "00112233445566778899aabbccddeeff"

// logBuffer collects log lines and echoes them to t.Log.
type logBuffer = plugintest.LogBuffer

// newProtocol returns a protocol configured with cfg (zero fields take
// their defaults), logging to the returned buffer, closed when the test
// ends.
func newProtocol(t testing.TB, cfg Config) (*Protocol, *logBuffer) {
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
	return p, logs
}

// tcpPair returns a connected loopback TCP pair, closed when the test ends.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	return plugintest.TCPPair(t)
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// memSource serves files from memory.
type memSource struct {
	files [][]byte
	opens []int64 // offsets asked of Open, in order
	mu    sync.Mutex
}

func (s *memSource) Open(_ context.Context, index int, offset int64) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < 0 || index >= len(s.files) {
		return nil, fmt.Errorf("open file %d: %w", index, sdk.ErrNotFound)
	}
	s.opens = append(s.opens, offset)
	return io.NopCloser(bytes.NewReader(s.files[index][offset:])), nil
}

// memSink records what the receiver asks of it and keeps part files in
// memory.
type memSink struct {
	refuse    error             // Decide's answer
	have      map[string][]byte // name -> what a part file starts with
	closeErr  error             // Close(complete=true)'s answer
	createErr error             // Create's answer, if set
	writeErr  error             // WriteAt's answer, if set
	// commitDelay makes each Commit take this long, as a slow fsync.
	commitDelay time.Duration

	mu     sync.Mutex
	offers []sdk.Offer
	parts  []*memPart
}

func (s *memSink) Decide(_ context.Context, o sdk.Offer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers = append(s.offers, o)
	return s.refuse
}

func (s *memSink) Create(_ context.Context, index int) (sdk.PartFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return nil, s.createErr
	}
	if len(s.offers) == 0 || index < 0 || index >= len(s.offers[len(s.offers)-1].Files) {
		return nil, fmt.Errorf("create file %d: %w", index, sdk.ErrNotFound)
	}
	name := s.offers[len(s.offers)-1].Files[index].Name
	prefix := s.have[name]
	n := int64(len(prefix))
	p := &memPart{sink: s, name: name, off: n, committed: n, data: bytes.Clone(prefix)}
	s.parts = append(s.parts, p)
	return p, nil
}

func (s *memSink) decided() []sdk.Offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sdk.Offer(nil), s.offers...)
}

func (s *memSink) created() []*memPart {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*memPart(nil), s.parts...)
}

// memPart is a part file in memory.
type memPart struct {
	sink *memSink
	name string
	off  int64

	mu        sync.Mutex
	data      []byte
	committed int64 // end of the last committed range
	closed    bool
	complete  bool
	maxLag    int64 // the most bytes ever written past committed
}

func (p *memPart) Offset() int64 { return p.off }

func (p *memPart) WriteAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errors.New("write after close")
	}
	if p.sink.writeErr != nil {
		return 0, p.sink.writeErr
	}
	if end := off + int64(len(b)); end > int64(len(p.data)) {
		p.data = append(p.data, make([]byte, end-int64(len(p.data)))...)
	}
	copy(p.data[off:], b)
	p.maxLag = max(p.maxLag, off+int64(len(b))-p.committed)
	return len(b), nil
}

func (p *memPart) Commit(_ context.Context, off, n int64) error {
	time.Sleep(p.sink.commitDelay)
	p.mu.Lock()
	defer p.mu.Unlock()
	if off != p.committed {
		return fmt.Errorf("commit [%d, +%d) does not follow the last commit at %d", off, n, p.committed)
	}
	p.committed = off + n
	return nil
}

func (p *memPart) Close(_ context.Context, complete bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("part file closed twice")
	}
	p.closed, p.complete = true, complete
	if complete && p.sink.closeErr != nil {
		p.complete = false
		return p.sink.closeErr
	}
	return nil
}

// state returns a copy of the part file's content and its flags.
func (p *memPart) state() (data []byte, committed int64, closed, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.data), p.committed, p.closed, p.complete
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

// peer is the hand-written other end of a conversation: the frame codec
// on a TCP connection.
type peer struct {
	t    testing.TB
	conn *net.TCPConn
	r    *Reader
}

func newPeer(t testing.TB, conn *net.TCPConn) *peer {
	return &peer{t: t, conn: conn, r: NewReader(conn, MaxDataLimit)}
}

// write writes frames; errors go to the returned error, as the peer runs
// in its own goroutine.
func (p *peer) write(fs ...Frame) error {
	for _, f := range fs {
		if err := WriteFrame(p.conn, f); err != nil {
			return err
		}
	}
	return nil
}

// ack, seek, accept and kill build the controls a receiver sends about file
// fn.
func ack(fn uint8) Control  { return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: SendAck} }
func acc(fn uint8) Control  { return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Accept} }
func kill(fn uint8) Control { return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Kill} }

// hello is the sender's first frame: it reads KILL reasons.
func hello() Control { return Control{SendReceive: FileWeSend, Type: SendAck} }

// killWhy is a KILL with a reason, as a receiver sends to a sender that
// said hello.
func killWhy(fn, why uint8, text string) Control {
	return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Kill, Reason: why, Text: text}
}
func pause(fn uint8) Control {
	return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Pause}
}
func seek(fn uint8, pos uint64) Control {
	return Control{SendReceive: FileWeReceive, FileNumber: fn, Type: Seek, Position: pos}
}

// runAsync runs fn in a goroutine and returns a channel with its error.
func runAsync(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}
