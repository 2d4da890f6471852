package jsonchunk

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

const (
	id1 = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
	id2 = "e902893a-9d22-3c7e-a7b8-d6e313b71d9f"
)

// rawFrame builds a frame of type t around body, without checks.
func rawFrame(t MessageType, body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	b = append(b, byte(t))
	return append(b, body...)
}

func validMessages() []Message {
	file := 1
	return []Message{
		&Authentication{MessageID: id1, Token: "a.b.c", FID: "00112233-4455-6677-8899-aabbccddeeff", Files: []File{}, Tags: []string{}},
		&Authentication{
			MessageID: id1, Token: "eyJ.x.y", FID: "00112233445566778899AABBCCDDEEFF",
			Files: []File{
				{Name: "a", Size: 0},
				{Name: "dir/ファイル.txt", Size: MaxSize, Ferry: &FileExtension{SHA256: strings.Repeat("ab", 32), MediaType: "text/plain", ModTime: "2026-01-02T03:04:05.5Z"}},
			},
			Tags:  []string{"x", "y"},
			Ferry: &AuthExtension{V: 1, Modes: []string{ModeFast, ModeStrict}, ChunkSize: map[string]int{ModeFast: MaxChunkSize, ModeStrict: 1024}, Window: 16},
		},
		&Response{MessageID: id1, Response: Ok},
		&Response{MessageID: id2, Response: Error, Reason: "token expired: refused by receiver", Ferry: &ResponseExtension{Code: CodeRefused}},
		&Response{MessageID: id1, Response: Ok, Ferry: &ResponseExtension{V: 1, Mode: ModeFast, Window: 16, ChunkSize: 1 << 20,
			Have: []Held{{File: 0, Ranges: [][2]int64{{0, 0}}}, {File: 3, Ranges: [][2]int64{{0, 10}, {20, 30}}}}}},
		&Response{MessageID: id1, Response: Ok, Ferry: &ResponseExtension{Complete: true, File: &file}},
		&Response{MessageID: id1, Response: Error, Reason: "sha-256 mismatch", Ferry: &ResponseExtension{Code: CodeHashMismatch, File: &file,
			Verify: &Verify{File: 1, Block: 1 << 20, SHA256: []string{strings.Repeat("0f", 32), strings.Repeat("F0", 32)}}}},
		&Response{MessageID: id1, Response: Error, Reason: "bytes [0, 5) differ", Ferry: &ResponseExtension{File: &file, Ranges: [][2]int64{{0, 5}}}},
		&Transfer{MessageID: id1, Chunk: id2, File: 0, Offset: 0, Data: []byte("x")},
		&Transfer{MessageID: id1, Chunk: id2, File: MaxFiles - 1, Offset: MaxSize - 3, Data: []byte{0, 1, 2}, Raw: true},
		&Transfer{MessageID: id1, Chunk: id2, File: 2, Offset: 1 << 40, Data: randomBytes(70000, 9)},
		&Transfer{MessageID: id1, Chunk: id2, File: 2, Offset: 1 << 40, Data: randomBytes(70000, 9), Raw: true},
	}
}

// TestRoundTrip checks that every valid message reads back as written.
func TestRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	for _, m := range validMessages() {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatalf("WriteMessage(%+v): %v", m, err)
		}
		stream.Write(buf.Bytes())
		r := NewReader(&buf, 0)
		got, err := r.Next()
		if err != nil {
			t.Fatalf("Next after %T: %v", m, err)
		}
		if !sameMessage(m, got) {
			t.Errorf("round trip: wrote %+v, read %+v", m, got)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("want io.EOF after one message, got %v", err)
		}
	}
	// The same, back to back on one stream.
	r := NewReader(&stream, 0)
	for _, m := range validMessages() {
		got, err := r.Next()
		if err != nil || !sameMessage(m, got) {
			t.Fatalf("stream: read %+v (%v), want %+v", got, err, m)
		}
	}
}

// sameMessage compares messages as the wire carries them: nil and empty
// lists alike, the fid in either form.
func sameMessage(a, b Message) bool {
	norm := func(m Message) Message {
		if x, ok := m.(*Authentication); ok {
			c := *x
			if c.Tags == nil {
				c.Tags = []string{}
			}
			c.FID, _ = TransferIDFromFID(c.FID)
			return &c
		}
		return m
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestWireLayout pins the bytes of a fast TRANSFER and a RESPONSE, as the
// README documents them.
func TestWireLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, &Transfer{MessageID: id1, Chunk: id2, File: 1, Offset: 1024, Data: []byte("hey"), Raw: true}); err != nil {
		t.Fatal(err)
	}
	body := `{"message-id":"` + id1 + `","chunk":"` + id2 + `","ferry":{"file":1,"offset":1024,"length":3}}`
	if want := append(rawFrame(TypeTransfer, body), "hey"...); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("fast TRANSFER:\n got %q\nwant %q", buf.Bytes(), want)
	}
	buf.Reset()
	if err := WriteMessage(&buf, &Transfer{MessageID: id1, Chunk: id2, File: 1, Offset: 1024, Data: []byte("hey")}); err != nil {
		t.Fatal(err)
	}
	body = `{"message-id":"` + id1 + `","chunk":"` + id2 + `","data":"aGV5","ferry":{"file":1,"offset":1024}}`
	if want := rawFrame(TypeTransfer, body); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("strict TRANSFER:\n got %q\nwant %q", buf.Bytes(), want)
	}
	// The hand-written JSON is what encoding/json reads.
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil || v["data"] != "aGV5" {
		t.Errorf("strict TRANSFER JSON: %v, %v", v, err)
	}
	buf.Reset()
	if err := WriteMessage(&buf, &Response{MessageID: id1, Response: Ok}); err != nil {
		t.Fatal(err)
	}
	if want := rawFrame(TypeResponse, `{"message-id":"`+id1+`","response":"Ok"}`); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("RESPONSE:\n got %q\nwant %q", buf.Bytes(), want)
	}
}

// TestDecodeErrors feeds malformed input and checks each error says what
// is wrong.
func TestDecodeErrors(t *testing.T) {
	auth := func(fields string) []byte {
		return rawFrame(TypeAuthentication, `{"message-id":"`+id1+`","token":"t","fid":"`+id2+`",`+fields+`}`)
	}
	transfer := func(rest string) []byte {
		return rawFrame(TypeTransfer, `{"message-id":"`+id1+`","chunk":"`+id2+`",`+rest+`}`)
	}
	huge := binary.BigEndian.AppendUint32(nil, MaxFrame+1)
	cases := []struct {
		name  string
		in    []byte
		want  string
		large bool
	}{
		{"short header", []byte{0, 0, 0}, "unexpected EOF", false},
		{"zero length", []byte{0, 0, 0, 0, 1}, "no room for its type", false},
		{"oversized frame", append(huge, 1), "over the limit", true},
		{"unknown type 0", rawFrame(0, `{}`), "unknown message type 0", false},
		{"unknown type 4", rawFrame(4, `{}`), "unknown message type 4", false},
		{"truncated body", rawFrame(TypeResponse, `{"message-id":"`+id1+`"}`)[:20], "unexpected EOF", false},
		{"not JSON", rawFrame(TypeResponse, `{"message-id":`), "not valid JSON", false},
		{"JSON array", rawFrame(TypeResponse, `[1,2]`), "not a JSON object", false},
		{"JSON null", rawFrame(TypeResponse, `null`), "not a JSON object", false},
		{"trailing data", rawFrame(TypeResponse, `{"message-id":"`+id1+`","response":"Ok"} {}`), "not valid JSON", false},
		{"no message-id", rawFrame(TypeResponse, `{"response":"Ok"}`), "no message-id", false},
		{"bad message-id", rawFrame(TypeResponse, `{"message-id":"nope","response":"Ok"}`), "not a UUID", false},
		{"message-id number", rawFrame(TypeResponse, `{"message-id":5,"response":"Ok"}`), "wrong JSON type", false},
		{"bad response", rawFrame(TypeResponse, `{"message-id":"`+id1+`","response":"ok"}`), "neither", false},
		{"bad have range", rawFrame(TypeResponse, `{"message-id":"`+id1+`","response":"Ok","ferry":{"have":[{"file":0,"ranges":[[5,2]]}]}}`), "out of bounds", false},
		{"bad verify hash", rawFrame(TypeResponse, `{"message-id":"`+id1+`","response":"Error","ferry":{"verify":{"file":0,"block":1,"sha256":["xy"]}}}`), "not 64 hex", false},
		{"no files", auth(`"tags":[]`), "no files", false},
		{"files not a list", auth(`"files":{}`), "wrong JSON type", false},
		{"size negative", auth(`"files":[{"name":"a","size":-1}]`), "wrong JSON type", false},
		{"size fraction", auth(`"files":[{"name":"a","size":1.5}]`), "wrong JSON type", false},
		{"size string", auth(`"files":[{"name":"a","size":"1"}]`), "wrong JSON type", false},
		{"size over 2^62", auth(`"files":[{"name":"a","size":4611686018427387905}]`), "over 2^62", false},
		{"size over 2^64", auth(`"files":[{"name":"a","size":18446744073709551616}]`), "wrong JSON type", false},
		{"empty name", auth(`"files":[{"name":"","size":1}]`), "empty name", false},
		{"NUL in name", auth(`"files":[{"name":"a\u0000b","size":1}]`), "NUL", false},
		{"bad sha256", auth(`"files":[{"name":"a","size":1,"ferry":{"sha256":"abc"}}]`), "not 64 hex", false},
		{"tags not strings", auth(`"files":[],"tags":[1]`), "wrong JSON type", false},
		{"bad fid", rawFrame(TypeAuthentication, `{"message-id":"`+id1+`","fid":"x","files":[]}`), "fid", false},
		{"bad chunk size", auth(`"files":[],"ferry":{"v":1,"modes":["fast"],"chunk_size":{"fast":0}}`), "chunk_size", false},
		{"no ferry place", transfer(`"data":"aGV5"`), "no ferry.file", false},
		{"negative offset", transfer(`"data":"aGV5","ferry":{"file":0,"offset":-1}`), "offset", false},
		{"data and length", transfer(`"data":"aGV5","ferry":{"file":0,"offset":0,"length":3}`), "both data", false},
		{"no data", transfer(`"ferry":{"file":0,"offset":0}`), "neither data", false},
		{"data not string", transfer(`"data":[1,2],"ferry":{"file":0,"offset":0}`), "not a JSON string", false},
		{"data not base64", transfer(`"data":"!!!!","ferry":{"file":0,"offset":0}`), "not base64", false},
		{"empty data", transfer(`"data":"","ferry":{"file":0,"offset":0}`), "no data", false},
		{"zero length data", transfer(`"ferry":{"file":0,"offset":0,"length":0}`), "length is 0", false},
		{"huge length", transfer(`"ferry":{"file":0,"offset":0,"length":1099511627776}`), "over the chunk limit", true},
		{"raw data cut", append(transfer(`"ferry":{"file":0,"offset":0,"length":3}`), 'h'), "unexpected EOF", false},
		{"raw newline in data", transfer(`"data":"aGV5` + "\n" + `AA==","ferry":{"file":0,"offset":0}`), "not valid JSON", false},
		{"escaped newline in data", transfer(`"data":"aGV5\nAA==","ferry":{"file":0,"offset":0}`), "not base64", false},
		{"data unterminated", transfer(`"data":"aGV5`), "not valid JSON", false},
		{"file string", transfer(`"data":"aGV5","ferry":{"file":"0","offset":0}`), "wrong JSON type", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewReader(bytes.NewReader(c.in), 0).Next()
			if m != nil {
				t.Errorf("Next returned %#v with its error", m)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if c.want != "unexpected EOF" && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
			if c.want == "unexpected EOF" && (errors.Is(err, ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Errorf("%v: a cut stream is a link failure (io.ErrUnexpectedEOF), not a malformed message", err)
			}
			if errors.Is(err, ErrTooLarge) != c.large {
				t.Errorf("%v: wraps ErrTooLarge %v, want %v", err, !c.large, c.large)
			}
		})
	}
}

// TestEscapedBase64 checks that strict data with JSON escapes ("\/")
// decodes.
func TestEscapedBase64(t *testing.T) {
	in := rawFrame(TypeTransfer, `{"message-id":"`+id1+`","chunk":"`+id2+`","data":"\/\/8=","ferry":{"file":0,"offset":0}}`)
	m, err := NewReader(bytes.NewReader(in), 0).Next()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*Transfer).Data; !bytes.Equal(got, []byte{0xff, 0xff}) {
		t.Errorf("data %x, want ffff", got)
	}
}

// TestStrictDataPaths checks that the fast path for strict data reads
// what encoding/json reads, whatever else the JSON holds.
func TestStrictDataPaths(t *testing.T) {
	head := `{"message-id":"` + id1 + `","chunk":"` + id2 + `",`
	tail := `"ferry":{"file":0,"offset":0}}`
	for _, body := range []string{
		head + `"data":"aGV5",` + tail,
		head + `"x":{"data":"AAAA"},"data":"aGV5",` + tail,
		head + `"data":"aGV5","x":{"data":"AAAA"},` + tail,
		head + `"data":"AAAA","data":"aGV5",` + tail,
		head + `"data" : "aGV5",` + tail,
		head + `"DATA":"aGV5",` + tail,
		head + `"note":"\"data\":\"AAAA","data":"aGV5",` + tail,
	} {
		m, err := NewReader(bytes.NewReader(rawFrame(TypeTransfer, body)), 0).Next()
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if got := m.(*Transfer).Data; string(got) != "hey" {
			t.Errorf("%s: data %q, want \"hey\"", body, got)
		}
	}
}

// TestChunkLimit checks that a Reader refuses chunks over its limit.
func TestChunkLimit(t *testing.T) {
	for _, raw := range []bool{true, false} {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, &Transfer{MessageID: id1, Chunk: id2, Data: make([]byte, 1001), Raw: raw}); err != nil {
			t.Fatal(err)
		}
		if _, err := NewReader(&buf, 1000).Next(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("raw %v: a chunk of 1001 bytes over a limit of 1000: %v, want ErrTooLarge", raw, err)
		}
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestHugeLengthRefusedBeforeAllocating checks that an oversized frame is
// refused from its header, and that a large length announced but not sent
// costs no more memory than what arrived.
func TestHugeLengthRefusedBeforeAllocating(t *testing.T) {
	in := &countReader{r: io.MultiReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 1}), neverEnding{})}
	if _, err := NewReader(in, 0).Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if in.n != HeaderSize {
		t.Errorf("read %d bytes, want only the %d-byte header", in.n, HeaderSize)
	}
	// 15 MiB announced, 10 bytes sent.
	short := append(binary.BigEndian.AppendUint32(nil, 15<<20), byte(TypeResponse))
	short = append(short, `{"message-`...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(short), 0).Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("allocated %d bytes for a frame cut after 10 bytes", n)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestWriteRefusesInvalid checks that WriteMessage writes nothing for a
// message the Reader would refuse.
func TestWriteRefusesInvalid(t *testing.T) {
	for _, m := range []Message{
		&Response{MessageID: "x", Response: Ok},
		&Response{MessageID: id1, Response: "maybe"},
		&Transfer{MessageID: id1, Chunk: id2},
		&Transfer{MessageID: id1, Chunk: id2, Data: make([]byte, MaxStrictChunkSize+1)},
		&Transfer{MessageID: id1, Chunk: "no", Data: []byte{1}},
		&Authentication{MessageID: id1, FID: "00112233-4455-6677-8899-aabbccddeeff", Files: []File{{Name: "a", Size: MaxSize + 1}}},
		&Authentication{MessageID: id1, FID: "nope"},
		nil,
	} {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); !errors.Is(err, ErrMalformed) || buf.Len() != 0 {
			t.Errorf("WriteMessage(%+v): %v, %d bytes written; want ErrMalformed and nothing", m, err, buf.Len())
		}
	}
}

func TestMessageTypeString(t *testing.T) {
	for typ, want := range map[MessageType]string{1: "AUTHENTICATION", 2: "RESPONSE", 3: "TRANSFER", 9: "MessageType(9)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", typ, got, want)
		}
	}
}

// TestChunkID pins the chunk UUID scheme: version 5, deterministic, and
// different for every place.
func TestChunkID(t *testing.T) {
	a := ChunkID(testTID, 0, 0)
	if a != ChunkID(testTID, 0, 0) || a[14] != '5' {
		t.Errorf("ChunkID %s: want a deterministic version 5 UUID", a)
	}
	seen := map[string]bool{}
	for _, c := range [][2]int64{{0, 0}, {0, 1}, {1, 0}, {0, 1 << 20}, {10, 0}, {1, 10}} {
		id := ChunkID(testTID, int(c[0]), c[1])
		if seen[id] {
			t.Errorf("ChunkID collides at %v", c)
		}
		seen[id] = true
	}
	if ChunkID(testTID, 0, 0) == ChunkID("ffeeddccbbaa99887766554433221100", 0, 0) {
		t.Error("ChunkID does not depend on the transfer")
	}
	// Pinned, so that the scheme cannot change unnoticed; Python agrees:
	// uuid5(uuid5(NAMESPACE_URL, ".../plugins/jsonchunk"), "TID/2/4096").
	if got, want := ChunkID(testTID, 2, 4096), "a322a6f5-a840-5c7c-a039-ebc44b7d1c1a"; got != want {
		t.Errorf("ChunkID(%s, 2, 4096) = %s, want %s", testTID, got, want)
	}
}

func TestFID(t *testing.T) {
	fid, err := FIDFromTransferID(testTID)
	if err != nil || fid != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Fatalf("FIDFromTransferID: %q, %v", fid, err)
	}
	for _, in := range []string{fid, strings.ToUpper(fid), testTID} {
		if got, err := TransferIDFromFID(in); err != nil || got != testTID {
			t.Errorf("TransferIDFromFID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "{" + fid + "}", "urn:uuid:" + fid, "zz112233445566778899aabbccddeeff"} {
		if _, err := TransferIDFromFID(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("TransferIDFromFID(%q): %v, want ErrMalformed", in, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the Reader: it must never panic,
// every error must be classified, and every message it accepts must
// encode and decode to itself.
func FuzzDecode(f *testing.F) {
	for _, m := range validMessages() {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(rawFrame(TypeAuthentication, `{"message-id":"`+id1+`","fid":"`+id2+`","files":[{"name":"a","size":1e30}]}`))
	f.Add(rawFrame(TypeTransfer, `{"message-id":"`+id1+`","chunk":"`+id2+`","ferry":{"file":0,"offset":0,"length":99999999999}}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 3})
	f.Add(rawFrame(7, `{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 1<<16)
		for range 8 {
			m, err := r.Next()
			if err != nil {
				if m != nil {
					t.Fatalf("Next returned %#v with its error %v", m, err)
				}
				if err != io.EOF && !errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unclassified error %v", err)
				}
				return
			}
			var buf bytes.Buffer
			if err := WriteMessage(&buf, m); err != nil {
				t.Fatalf("accepted %+v but cannot write it: %v", m, err)
			}
			back, err := NewReader(&buf, 1<<16).Next()
			if err != nil || !sameMessage(m, back) {
				t.Fatalf("re-encoding %+v read back %+v, %v", m, back, err)
			}
		}
	})
}
