package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
	"github.com/ferry-p2p/ferry/sdk/record"
)

// fileProbe is a protocol that sends file 0 of its offer over the stream,
// and receives by reading the stream to its end.
type fileProbe struct{ streamProbe }

func (p *fileProbe) Send(ctx context.Context, req sdk.SendRequest) error {
	var off int64 // "at-N": resume at N, as after a receiver's SEEK
	if n, ok := strings.CutPrefix(req.Offer.TransferID, "at-"); ok {
		off, _ = strconv.ParseInt(n, 10, 64)
	}
	r, err := req.Source.Open(ctx, 0, off)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]byte, 100_000)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := req.Stream.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return req.Stream.CloseWrite()
}

func (p *fileProbe) Receive(ctx context.Context, req sdk.ReceiveRequest) error {
	_, err := io.Copy(io.Discard, req.Stream)
	return err
}

// hashSource is a core-side source whose file's hash is not known: its
// reader asks the plugin's SDK to hash (HashWanted), and FileHashed gets
// the result.
type hashSource struct {
	path   string
	from   int64 // a checkpoint: the state of the first from bytes
	fromSt []byte
	mu     sync.Mutex
	got    []byte
}

type wantedReader struct {
	f      *os.File
	from   int64
	fromSt []byte
}

func (r wantedReader) Read(b []byte) (int, error) { return r.f.Read(b) }
func (r wantedReader) Close() error               { return r.f.Close() }
func (r wantedReader) File() *os.File             { return r.f }
func (r wantedReader) HashWanted() bool           { return true }
func (r wantedReader) HashFrom() (int64, []byte)  { return r.from, r.fromSt }

func (s *hashSource) Open(ctx context.Context, i int, off int64) (io.ReadCloser, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return wantedReader{f, s.from, s.fromSt}, nil
}

func (s *hashSource) FileHashed(ctx context.Context, i int, sum []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i != 0 {
		return fmt.Errorf("hash of file %d", i)
	}
	s.got = bytes.Clone(sum)
	return nil
}

// hashSink records the hashes the sender gave.
type hashSink struct {
	nopSink
	mu  sync.Mutex
	got map[int][]byte
}

func (s *hashSink) FileHashed(ctx context.Context, i int, sum []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[i] = bytes.Clone(sum)
	return nil
}

// TestFileHashTravels: a file offered before it was hashed is hashed by the
// sending plugin's SDK as the plugin reads it; the core's source is told,
// and the receiver gets the hash in a meta record, read by the core's own
// record layer. The other way, a meta record the core sends reaches a
// receiving plugin's SDK, which passes it to the core's sink.
func TestFileHashTravels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	idA, _ := identity.Generate()
	idB, _ := identity.Generate()
	content := bytes.Repeat([]byte("hash me "), 300_000)
	want := sha256.Sum256(content)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	proto, err := plugintest.ServeInProcess(t, &fileProbe{}).Protocol()
	if err != nil {
		t.Fatal(err)
	}
	pair := func(t *testing.T) (*secure.Conn, *secure.Conn) { return securePair(ctx, t, idA, idB) }

	t.Run("sender plugin hashes", func(t *testing.T) {
		client, server := pair(t)
		var meta [][]byte
		server.OnMeta(func(p []byte) error { meta = append(meta, bytes.Clone(p)); return nil })
		src := &hashSource{path: path}
		errc := make(chan error, 1)
		go func() {
			errc <- proto.Send(ctx, sdk.SendRequest{Stream: client, Offer: sdk.Offer{TransferID: "t", Files: []sdk.FileInfo{{Name: "f", Size: int64(len(content))}}}, Source: src})
		}()
		got, err := io.ReadAll(server)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src.got, want[:]) {
			t.Errorf("source was told %x, want %x", src.got, want)
		}
		if len(meta) != 1 {
			t.Fatalf("%d meta records, want 1", len(meta))
		}
		i, sum, ok, err := record.DecodeFileHash(meta[0])
		if err != nil || !ok || i != 0 || !bytes.Equal(sum, want[:]) {
			t.Errorf("meta record gave file %d, %x (%v, %v); want file 0, %x", i, sum, ok, err, want)
		}
	})

	t.Run("resumed from a checkpoint", func(t *testing.T) {
		client, server := pair(t)
		const from, at = 1 << 20, 1<<20 + 12345
		h := sha256.New()
		h.Write(content[:from])
		st, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		src := &hashSource{path: path, from: from, fromSt: st}
		errc := make(chan error, 1)
		go func() {
			errc <- proto.Send(ctx, sdk.SendRequest{Stream: client, Offer: sdk.Offer{TransferID: fmt.Sprintf("at-%d", at), Files: []sdk.FileInfo{{Name: "f", Size: int64(len(content))}}}, Source: src})
		}()
		got, err := io.ReadAll(server)
		if err != nil || !bytes.Equal(got, content[at:]) {
			t.Fatalf("read %d bytes, %v; want the %d from %d", len(got), err, len(content)-at, at)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src.got, want[:]) {
			t.Errorf("source was told %x, want the whole file's %x", src.got, want)
		}
	})

	t.Run("receiver plugin passes it on", func(t *testing.T) {
		client, server := pair(t)
		sink := &hashSink{got: map[int][]byte{}}
		errc := make(chan error, 1)
		go func() { errc <- proto.Receive(ctx, sdk.ReceiveRequest{Stream: server, Sink: sink}) }()
		if _, err := client.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := client.WriteMeta(record.EncodeFileHash(7, want[:])); err != nil {
			t.Fatal(err)
		}
		if err := client.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sink.got[7], want[:]) {
			t.Errorf("sink got %x for file 7, want %x", sink.got[7], want)
		}
	})
}
