package ftv2a

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

var testID = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// rawFrame builds a frame with an arbitrary id and payload (no validation).
func rawFrame(id byte, payload []byte) []byte {
	return append(appendHeader(nil, id, len(payload)), payload...)
}

// srPayload builds a FILE_SENDREQUEST payload without validation.
func srPayload(kind uint32, size uint64, name string) []byte {
	p := []byte{7}
	p = binary.BigEndian.AppendUint32(p, kind)
	p = binary.BigEndian.AppendUint64(p, size)
	p = append(p, testID[:]...)
	return append(p, name...)
}

func validFrames() []Frame {
	fs := []Frame{
		SendRequest{FileNumber: 0, Kind: KindData, Size: 0, FileID: testID, Name: "a"},
		SendRequest{FileNumber: 255, Kind: KindAvatar, Size: MaxSize, FileID: testID, Name: strings.Repeat("é", 127) + "x"},
		SendRequest{FileNumber: 3, Kind: KindData, Size: 50 << 20, Name: "dir/ファイル.txt"},
		Control{SendReceive: FileWeSend, FileNumber: 1, Type: Seek, Position: 0},
		Control{SendReceive: FileWeReceive, FileNumber: 9, Type: Seek, Position: MaxSize},
		Data{FileNumber: 4, Data: []byte{}},
		Data{FileNumber: 4, Data: []byte("hello")},
		Data{FileNumber: 200, Data: bytes.Repeat([]byte{0xAB}, DefaultMaxData)},
		Control{SendReceive: FileWeReceive, FileNumber: 7, Type: Kill, Reason: ReasonNoSpace},
		Control{SendReceive: FileWeReceive, FileNumber: 7, Type: Kill, Reason: ReasonFailed, Text: strings.Repeat("é", MaxReasonText/2)},
	}
	for _, t := range []ControlType{Accept, Pause, Kill, SendAck} {
		fs = append(fs, Control{SendReceive: FileWeReceive, FileNumber: 2, Type: t})
		fs = append(fs, Control{SendReceive: FileWeSend, FileNumber: 250, Type: t})
	}
	return fs
}

func framesEqual(a, b Frame) bool {
	da, ok1 := a.(Data)
	db, ok2 := b.(Data)
	if ok1 || ok2 {
		return ok1 && ok2 && da.FileNumber == db.FileNumber && bytes.Equal(da.Data, db.Data)
	}
	return reflect.DeepEqual(a, b)
}

func TestRoundTrip(t *testing.T) {
	for _, f := range validFrames() {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatalf("WriteFrame(%+v): %v", f, err)
		}
		enc := bytes.Clone(buf.Bytes())
		r := NewReader(&buf, 0)
		got, err := r.Next()
		if err != nil {
			t.Fatalf("Next after %T: %v", f, err)
		}
		if !framesEqual(f, got) {
			t.Errorf("round trip: wrote %+v, read %+v", f, got)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("want io.EOF after one frame, got %v", err)
		}
		// Pointers encode identically.
		var pbuf bytes.Buffer
		var p Frame
		switch v := f.(type) {
		case SendRequest:
			p = &v
		case Control:
			p = &v
		case Data:
			p = &v
		}
		if err := WriteFrame(&pbuf, p); err != nil || !bytes.Equal(pbuf.Bytes(), enc) {
			t.Errorf("pointer encoding of %T differs (err %v)", f, err)
		}
	}
}

func TestStreamOfFrames(t *testing.T) {
	var buf bytes.Buffer
	fs := validFrames()
	for _, f := range fs {
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf, DefaultMaxData)
	for i, want := range fs {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !framesEqual(want, got) {
			t.Fatalf("frame %d: want %+v, got %+v", i, want, got)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("want io.EOF, got %v", err)
	}
}

func TestWireLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, Control{SendReceive: 1, FileNumber: 5, Type: Seek, Position: 0x0102030405060708}); err != nil {
		t.Fatal(err)
	}
	want := []byte{81, 0, 0, 11, 1, 5, 3, 1, 2, 3, 4, 5, 6, 7, 8}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("SEEK encoding %v, want %v", buf.Bytes(), want)
	}
	buf.Reset()
	if err := WriteFrame(&buf, Control{SendReceive: 1, FileNumber: 5, Type: SendAck}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{81, 0, 0, 3, 1, 5, 4}; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("SEND_ACK encoding %v, want %v", buf.Bytes(), want)
	}
	buf.Reset()
	if err := WriteFrame(&buf, SendRequest{FileNumber: 7, Kind: 1, Size: 9, FileID: testID, Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if want := rawFrame(80, srPayload(1, 9, "n")); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("SENDREQUEST encoding %v, want %v", buf.Bytes(), want)
	}
	buf.Reset()
	if err := WriteFrame(&buf, Data{FileNumber: 2, Data: []byte("xy")}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{82, 0, 0, 3, 2, 'x', 'y'}; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("DATA encoding %v, want %v", buf.Bytes(), want)
	}
}

func TestControlTypeString(t *testing.T) {
	for ct, want := range map[ControlType]string{Accept: "ACCEPT", Pause: "PAUSE", Kill: "KILL", Seek: "SEEK", SendAck: "SEND_ACK", 9: "ControlType(9)"} {
		if got := ct.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(ct), got, want)
		}
	}
	if Accept != 0 || Pause != 1 || Kill != 2 || Seek != 3 || SendAck != 4 {
		t.Error("control type values differ from toxcore/ftv2a")
	}
}

func TestDecodeErrors(t *testing.T) {
	seekShort := []byte{0, 1, byte(Seek), 0, 0, 0}
	tests := []struct {
		name    string
		in      []byte
		maxData int
		tooBig  bool
		field   string
	}{
		{"unknown packet id", rawFrame(99, []byte{1}), 0, false, "unknown packet id 99"},
		{"sendrequest too long", rawFrame(80, srPayload(0, 1, strings.Repeat("a", 256))), 0, true, "name over 255"},
		{"control too long", rawFrame(81, make([]byte, MaxControlPayload+1)), 0, true, "FILE_CONTROL payload length 205"},
		{"accept with a tail", rawFrame(81, []byte{1, 0, 0, 9}), 0, false, "FILE_CONTROL ACCEPT payload is 4 bytes, want 3"},
		{"kill reason 0", rawFrame(81, []byte{1, 0, 2, 0}), 0, false, "KILL with reason 0"},
		{"kill reason unknown", rawFrame(81, []byte{1, 0, 2, 7, 'x'}), 0, false, "KILL reason 7 unknown"},
		{"kill reason text not utf-8", rawFrame(81, []byte{1, 0, 2, 2, 0xff}), 0, false, "not valid UTF-8"},
		{"data over maxData", rawFrame(82, make([]byte, 1+17)), 16, true, "FILE_DATA payload"},
		{"data over default", rawFrame(82, make([]byte, 2+DefaultMaxData)), 0, true, "FILE_DATA payload"},
		{"sendrequest short", rawFrame(80, srPayload(0, 1, "")[:20]), 0, false, "FILE_SENDREQUEST payload is 20 bytes"},
		{"name empty", rawFrame(80, srPayload(0, 1, "")), 0, false, "name is empty"},
		{"name invalid utf8", rawFrame(80, srPayload(0, 1, "a\xffb")), 0, false, "name is not valid UTF-8"},
		{"name with NUL", rawFrame(80, srPayload(0, 1, "a\x00b")), 0, false, "name contains NUL"},
		{"absurd size", rawFrame(80, srPayload(0, MaxSize+1, "f")), 0, false, "size 4611686018427387905 is absurd"},
		{"negative size", rawFrame(80, srPayload(0, ^uint64(0), "f")), 0, false, "is absurd"},
		{"unknown kind", rawFrame(80, srPayload(2, 1, "f")), 0, false, "kind 2 unknown"},
		{"control short", rawFrame(81, []byte{0, 1}), 0, false, "FILE_CONTROL payload is 2 bytes"},
		{"control empty", rawFrame(81, nil), 0, false, "FILE_CONTROL payload is 0 bytes"},
		{"control bad send_receive", rawFrame(81, []byte{2, 1, 0}), 0, false, "send_receive 2"},
		{"control unknown type", rawFrame(81, []byte{0, 1, 5}), 0, false, "control type 5 unknown"},
		{"accept with position", rawFrame(81, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0, false, "ACCEPT payload is 11 bytes, want 3"},
		{"send_ack too long", rawFrame(81, []byte{0, 1, 4, 0}), 0, false, "SEND_ACK payload is 4 bytes, want 3"},
		{"seek short", rawFrame(81, seekShort), 0, false, "SEEK payload is 6 bytes, want 11"},
		{"seek without position", rawFrame(81, []byte{0, 1, 3}), 0, false, "SEEK payload is 3 bytes, want 11"},
		{"seek absurd", rawFrame(81, []byte{0, 1, 3, 0xff, 0, 0, 0, 0, 0, 0, 0}), 0, false, "SEEK position"},
		{"data empty payload", rawFrame(82, nil), 0, false, "FILE_DATA payload is empty"},
		{"truncated header", []byte{82, 0}, 0, false, "truncated frame header"},
		{"truncated payload", rawFrame(82, []byte{1, 2, 3})[:5], 0, false, "truncated payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewReader(bytes.NewReader(tc.in), tc.maxData).Next()
			if err == nil {
				t.Fatalf("decoded %+v, want error", f)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if tc.tooBig != errors.Is(err, ErrTooLarge) {
				t.Errorf("error %v: wraps ErrTooLarge = %v, want %v", err, !tc.tooBig, tc.tooBig)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not mention %q", err, tc.field)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name   string
		f      Frame
		tooBig bool
		field  string
	}{
		{"name empty", SendRequest{Name: ""}, false, "name is empty"},
		{"name too long", SendRequest{Name: strings.Repeat("a", 256)}, true, "name is 256 bytes"},
		{"name invalid utf8", SendRequest{Name: "\xc3"}, false, "not valid UTF-8"},
		{"name NUL", SendRequest{Name: "\x00"}, false, "contains NUL"},
		{"absurd size", SendRequest{Name: "a", Size: MaxSize + 1}, false, "absurd"},
		{"bad kind", SendRequest{Name: "a", Kind: 7}, false, "kind 7"},
		{"bad send_receive", Control{SendReceive: 3}, false, "send_receive 3"},
		{"bad control type", Control{Type: 200}, false, "control type 200"},
		{"position on accept", Control{Type: Accept, Position: 1}, false, "ACCEPT has position"},
		{"absurd seek", Control{Type: Seek, Position: ^uint64(0)}, false, "SEEK position"},
		{"data too large", Data{Data: make([]byte, MaxDataLimit+1)}, true, "FILE_DATA data"},
		{"nil frame", nil, false, "nil frame"},
		{"nil pointer", (*Data)(nil), false, "nil *Data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteFrame(&buf, tc.f)
			if err == nil {
				t.Fatal("want error")
			}
			if !errors.Is(err, ErrMalformed) || tc.tooBig != errors.Is(err, ErrTooLarge) {
				t.Errorf("error %v: wrong sentinels", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not mention %q", err, tc.field)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written for an invalid frame", buf.Len())
			}
		})
	}
}

// countingReader serves only the header, counts bytes asked for and fails
// if the reader tries to read beyond it.
type countingReader struct {
	data []byte
	read int
	t    *testing.T
}

func (c *countingReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		c.t.Errorf("reader read past the header (asked for %d more bytes)", len(p))
		return 0, io.EOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	c.read += n
	return n, nil
}

func TestHugeLengthRefusedFromHeader(t *testing.T) {
	for _, id := range []byte{PacketFileSendRequest, PacketFileControl, PacketFileData} {
		cr := &countingReader{data: []byte{id, 0xff, 0xff, 0xff}, t: t}
		r := NewReader(cr, MaxDataLimit)
		_, err := r.Next()
		if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("id %d: want ErrTooLarge, got %v", id, err)
		}
		if cr.read != HeaderSize {
			t.Errorf("id %d: read %d bytes, want only the %d-byte header", id, cr.read, HeaderSize)
		}
		if cap(r.buf) != 0 {
			t.Errorf("id %d: allocated a %d-byte buffer for a refused frame", id, cap(r.buf))
		}
	}
	// Allocation stays small and independent of the declared length.
	hdr := []byte{PacketFileData, 0xff, 0xff, 0xff}
	var sink error
	allocs := testing.AllocsPerRun(50, func() {
		_, sink = NewReader(bytes.NewReader(hdr), 0).Next()
	})
	_ = sink
	if allocs > 20 {
		t.Errorf("refusing a huge frame took %.0f allocations", allocs)
	}
}

func TestNewReaderClamp(t *testing.T) {
	for in, want := range map[int]int{-5: DefaultMaxData, 0: DefaultMaxData, 1: 1, 4096: 4096, MaxDataLimit: MaxDataLimit, MaxDataLimit + 1: MaxDataLimit, 1 << 30: MaxDataLimit} {
		if got := NewReader(nil, in).MaxData(); got != want {
			t.Errorf("NewReader(_, %d).MaxData() = %d, want %d", in, got, want)
		}
	}
	// The clamped limit is enforced: 1 MiB of data passes, 1 MiB + 1 does not.
	var buf bytes.Buffer
	if err := WriteFrame(&buf, Data{Data: make([]byte, MaxDataLimit)}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(&buf, 1<<30).Next(); err != nil {
		t.Fatalf("1 MiB chunk refused: %v", err)
	}
	big := rawFrame(PacketFileData, make([]byte, 2+MaxDataLimit))
	if _, err := NewReader(bytes.NewReader(big), 1<<30).Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1 MiB + 1 chunk: want ErrTooLarge, got %v", err)
	}
}

func TestDataBufferReused(t *testing.T) {
	var buf bytes.Buffer
	WriteFrame(&buf, Data{FileNumber: 1, Data: []byte("first")})
	WriteFrame(&buf, Data{FileNumber: 1, Data: []byte("again")})
	r := NewReader(&buf, 0)
	f1, _ := r.Next()
	d1 := f1.(Data).Data
	f2, _ := r.Next()
	if string(f2.(Data).Data) != "again" {
		t.Fatalf("second frame %q", f2.(Data).Data)
	}
	if string(d1) != "again" {
		t.Logf("note: buffer not reused (%q)", d1)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestTransportErrorNotMalformed(t *testing.T) {
	_, err := NewReader(errReader{}, 0).Next()
	if !errors.Is(err, io.ErrClosedPipe) || errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want the transport error unwrapped by ErrMalformed", err)
	}
}

// countReader counts bytes consumed so the fuzzer can locate each frame.
type countReader struct {
	r *bytes.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzReader(f *testing.F) {
	for _, fr := range validFrames() {
		if d, ok := fr.(Data); ok && len(d.Data) > 64 {
			continue
		}
		b, err := appendFrame(nil, fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var all []byte
	for _, fr := range validFrames()[:6] {
		all, _ = appendFrame(all, fr)
	}
	f.Add(all)
	f.Add(rawFrame(80, srPayload(0, MaxSize+1, "f")))
	f.Add(rawFrame(81, []byte{0, 1, 3, 0, 0, 0}))
	f.Add([]byte{82, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := &countReader{r: bytes.NewReader(in)}
		r := NewReader(cr, 1024)
		for {
			start := cr.n
			fr, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v neither io.EOF nor ErrMalformed", err)
				}
				return
			}
			// Re-encode before the next Next (Data aliases the buffer).
			enc, err := appendFrame(nil, fr)
			if err != nil {
				t.Fatalf("decoded frame %+v does not re-encode: %v", fr, err)
			}
			if !bytes.Equal(enc, in[start:cr.n]) {
				t.Fatalf("re-encoding differs:\n in  %x\n out %x", in[start:cr.n], enc)
			}
			again, err := NewReader(bytes.NewReader(enc), 1024).Next()
			if err != nil {
				t.Fatalf("re-encoded frame does not decode: %v", err)
			}
			if !framesEqual(fr, again) {
				t.Fatalf("re-decoded %+v, want %+v", again, fr)
			}
		}
	})
}
