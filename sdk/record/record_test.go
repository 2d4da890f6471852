package record

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// states returns the two ends' states from one piece of keying material.
func states(t testing.TB) (client, server State) {
	t.Helper()
	m := make([]byte, ExporterLength)
	if _, err := rand.Read(m); err != nil {
		t.Fatal(err)
	}
	c, err := NewState(m, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewState(m, false)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// tcpPair returns two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(acc)
			return
		}
		acc <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, ok := <-acc
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pair returns two record Conns on a loopback TCP connection.
func pair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	a, b := tcpPair(t)
	cs, ss := states(t)
	ca, err := New(a, cs)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := New(b, ss)
	if err != nil {
		t.Fatal(err)
	}
	return ca, cb
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTrip sends payloads of awkward sizes, read with buffers small
// and large, and checks the end arrives as io.EOF.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		sizes  []int
		readSz int
	}{
		{"one byte", []int{1}, 1},
		{"small writes, big reads", []int{3, 100, 7, 4096}, 1 << 20},
		{"one over the max", []int{MaxPayload + 1}, 1 << 20},
		{"big writes, small reads", []int{3*MaxPayload + 17}, 1000},
		{"mixed", []int{MaxPayload, 1, MaxPayload - 1, 65536}, 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t)
			var want bytes.Buffer
			for _, n := range tt.sizes {
				want.Write(random(t, n))
			}
			go func() {
				src := want.Bytes()
				for _, n := range tt.sizes {
					if _, err := a.Write(src[:n]); err != nil {
						t.Error(err)
						return
					}
					src = src[n:]
				}
				if err := a.CloseWrite(); err != nil {
					t.Error(err)
				}
			}()
			var got bytes.Buffer
			buf := make([]byte, tt.readSz)
			for {
				n, err := b.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("got %d bytes, want %d, or they differ", got.Len(), want.Len())
			}
		})
	}
}

// tamper sends records from one Conn through fn, which may change the raw
// bytes, to a reader, and returns what the reader's ReadAll says.
func tamper(t *testing.T, writes [][]byte, end bool, fn func(raw []byte) []byte) ([]byte, error) {
	t.Helper()
	cs, ss := states(t)
	var raw bytes.Buffer
	w, err := New(&bufConn{w: &raw}, cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range writes {
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if end {
		if err := w.CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := New(&bufConn{r: bytes.NewReader(fn(raw.Bytes()))}, ss)
	if err != nil {
		t.Fatal(err)
	}
	return io.ReadAll(r)
}

// TestTampering: a flipped bit, a replayed, dropped or reordered record, a
// truncation and a forged end are each refused, never read as data or EOF.
func TestTampering(t *testing.T) {
	rec := HeaderSize + 100 + TagSize // one 100-byte record on the wire
	p1, p2 := random(t, 100), random(t, 100)
	tests := []struct {
		name string
		end  bool
		fn   func([]byte) []byte
		want error
	}{
		{"untouched", true, func(b []byte) []byte { return b }, nil},
		{"bit flipped in payload", true, func(b []byte) []byte { b[HeaderSize+5] ^= 1; return b }, ErrIntegrity},
		{"bit flipped in tag", true, func(b []byte) []byte { b[rec-1] ^= 0x80; return b }, ErrIntegrity},
		{"type changed", true, func(b []byte) []byte { b[0] = typeMeta; return b }, ErrIntegrity},
		{"length changed", true, func(b []byte) []byte { b[3]--; return b }, ErrIntegrity},
		{"record replayed", true, func(b []byte) []byte {
			return append(append(append([]byte{}, b[:rec]...), b[:rec]...), b[rec:]...)
		}, ErrIntegrity},
		{"records reordered", true, func(b []byte) []byte {
			return append(append(append([]byte{}, b[rec:2*rec]...), b[:rec]...), b[2*rec:]...)
		}, ErrIntegrity},
		{"record dropped", true, func(b []byte) []byte { return b[rec:] }, ErrIntegrity},
		{"end cut off", true, func(b []byte) []byte { return b[:2*rec] }, ErrTruncated},
		{"no end sent", false, func(b []byte) []byte { return b }, ErrTruncated},
		{"cut mid-record", true, func(b []byte) []byte { return b[:rec+10] }, ErrTruncated},
		{"TLS alert instead", true, func(b []byte) []byte { return []byte{0x15, 3, 3, 0, 2, 2, 42} }, ErrTLSRecord},
		{"garbage type", true, func(b []byte) []byte { return []byte{9, 0, 0, 16} }, ErrIntegrity},
		{"oversize length", true, func(b []byte) []byte { return []byte{typeData, 0xff, 0xff, 0xff} }, ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tamper(t, [][]byte{p1, p2}, tt.end, tt.fn)
			if tt.want == nil {
				if err != nil || !bytes.Equal(got, append(append([]byte{}, p1...), p2...)) {
					t.Fatalf("untouched stream: %d bytes, %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.want == ErrTruncated && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("ErrTruncated does not wrap io.ErrUnexpectedEOF: %v", err)
			}
			// Nothing after the damage is delivered as data.
			if len(got) > 2*100 {
				t.Fatalf("read %d bytes, more than was sent", len(got))
			}
		})
	}
}

// TestMeta: meta records reach OnMeta in order with the data.
func TestMeta(t *testing.T) {
	a, b := pair(t)
	var seen []string
	var dataAt []int
	total := 0
	b.OnMeta(func(p []byte) error {
		seen = append(seen, string(p))
		dataAt = append(dataAt, total)
		return nil
	})
	go func() {
		_, _ = a.Write(make([]byte, 10))
		_ = a.WriteMeta([]byte("first"))
		_, _ = a.Write(make([]byte, 5))
		_ = a.WriteMeta([]byte("second"))
		_ = a.CloseWrite()
	}()
	buf := make([]byte, 3)
	for {
		n, err := b.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 2 || seen[0] != "first" || seen[1] != "second" {
		t.Fatalf("meta seen %q", seen)
	}
	if dataAt[0] != 10 || dataAt[1] != 15 || total != 15 {
		t.Fatalf("meta after %v bytes of data (want 10 and 15), %d in all", dataAt, total)
	}
	if err := a.WriteMeta(make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("oversize meta accepted")
	}
}

// TestHandover moves both ends' state to new Conns mid-stream, with
// plaintext pending on one side, and the stream goes on.
func TestHandover(t *testing.T) {
	a, b := pair(t)
	if _, err := a.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	sa, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.State()
	if err != nil {
		t.Fatal(err)
	}
	if string(sb.Pending) != " world" {
		t.Fatalf("pending %q", sb.Pending)
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Fatal("write after State worked")
	}
	a2, err := New(a.NetConn(), sa)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := New(b.NetConn(), sb)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = a2.Write([]byte("!"))
		_ = a2.CloseWrite()
	}()
	rest, err := io.ReadAll(b2)
	if err != nil || string(rest) != " world!" {
		t.Fatalf("after handover read %q, %v", rest, err)
	}
}

// TestRekey: with a tiny key-update limit both sides change keys many times
// and stay in step; the wire shows different ciphertext for equal records.
func TestRekey(t *testing.T) {
	a, b := pair(t)
	a.limit, b.limit = 1000, 1000
	want := random(t, 50_000)
	go func() {
		for p := want; len(p) > 0; p = p[min(len(p), 333):] {
			if _, err := a.Write(p[:min(len(p), 333)]); err != nil {
				t.Error(err)
				return
			}
		}
		_ = a.CloseWrite()
	}()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if a.w.seq == uint64(len(want)/333+2) {
		t.Fatal("no key update happened")
	}
}

// TestDeadlineMidRecord: a read deadline that passes inside a record keeps
// what was read; the next Read completes the record.
func TestDeadlineMidRecord(t *testing.T) {
	ra, rb := tcpPair(t)
	cs, ss := states(t)
	var wire bytes.Buffer
	w, _ := New(&bufConn{w: &wire}, cs)
	if _, err := w.Write([]byte("patience")); err != nil {
		t.Fatal(err)
	}
	r, err := New(rb, ss)
	if err != nil {
		t.Fatal(err)
	}
	raw := wire.Bytes()
	if _, err := ra.Write(raw[:6]); err != nil { // header and two bytes
		t.Fatal(err)
	}
	_ = r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 64)
	if _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with half a record: %v, want a deadline error", err)
	}
	_ = r.SetReadDeadline(time.Time{})
	if _, err := ra.Write(raw[6:]); err != nil {
		t.Fatal(err)
	}
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "patience" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

// TestNewStateErrors: wrong sizes of material and keys are refused.
func TestNewStateErrors(t *testing.T) {
	if _, err := NewState(make([]byte, ExporterLength-1), true); err == nil {
		t.Fatal("short material accepted")
	}
	if _, err := New(&bufConn{}, State{}); err == nil {
		t.Fatal("empty state accepted")
	}
}

// bufConn is a net.Conn over a reader and a writer, for tests that look at
// or change the bytes on the wire.
type bufConn struct {
	net.Conn
	r io.Reader
	w io.Writer
}

func (c *bufConn) Read(b []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	return c.r.Read(b)
}
func (c *bufConn) Write(b []byte) (int, error) {
	if c.w == nil {
		return len(b), nil
	}
	return c.w.Write(b)
}
func (c *bufConn) Close() error                       { return nil }
func (c *bufConn) SetDeadline(t time.Time) error      { return nil }
func (c *bufConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *bufConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzRead feeds arbitrary bytes to a reader: it must never panic, and it
// must never deliver data, since nothing was sealed with its key.
func FuzzRead(f *testing.F) {
	f.Add([]byte{typeData, 0, 0, 20, 1, 2, 3})
	f.Add([]byte{typeEnd, 0, 0, 16})
	f.Add([]byte{0x15, 3, 3, 0, 2})
	f.Add([]byte{typeMeta, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, wire []byte) {
		_, ss := states(t)
		r, err := New(&bufConn{r: bytes.NewReader(wire)}, ss)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if len(got) > 0 || err == nil {
			t.Fatalf("forged stream read as %d bytes, %v", len(got), err)
		}
	})
}

// BenchmarkRecord measures a one-way 1 GiB-scale stream over loopback TCP
// with 256 KiB writes, beside crypto/tls in the core/secure benchmarks.
func BenchmarkRecord(b *testing.B) {
	a, c := pair(b)
	buf := make([]byte, MaxPayload)
	done := make(chan error, 1)
	go func() {
		rb := make([]byte, MaxPayload)
		for {
			if _, err := c.Read(rb); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
		}
	}()
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	_ = a.CloseWrite()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
