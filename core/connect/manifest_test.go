package connect

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// offerOf returns an offer of n files spread over a few top-level folders.
func offerOf(t testing.TB, n int) sdk.Offer {
	t.Helper()
	o := sdk.Offer{TransferID: strings.Repeat("ab", 16)}
	for i := range n {
		o.Files = append(o.Files, sdk.FileInfo{
			Name: fmt.Sprintf("top%d/sub%d/file-%05d.txt", i%3, i%17, i), Size: int64(i % 4096),
			Mode: 0o644, ModTime: time.UnixMilli(1_700_000_000_000 + int64(i)),
		})
	}
	return o
}

// A small offer is listed in its ASK; a large one gets a summary, and its
// manifest goes over a stream and back to the same files, the receiver's
// token coming back with the verdict.
func TestManifestRoundTrip(t *testing.T) {
	if NeedsManifest(offerOf(t, 20), nil) {
		t.Error("an offer of 20 files needs a manifest; want it listed in the ASK")
	}
	o := offerOf(t, 3002)
	if !NeedsManifest(o, nil) {
		t.Fatal("an offer of 3002 files does not need a manifest")
	}
	m, err := NewManifest(o, []string{"top9/empty", "top0/sub0/empty"})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary
	if s.Files != 3002 || s.Folders != 2 || s.TopCount != 4 || strings.Join(s.Top, ",") != "top0,top1,top2,top9" {
		t.Errorf("summary %+v: want 3002 files and 2 folders in top0, top1, top2, top9", s)
	}
	var size int64
	for _, f := range o.Files {
		size += f.Size
	}
	if s.Size != size {
		t.Errorf("summary size %d, want %d", s.Size, size)
	}
	// The ASK carrying the summary fits a signaling message and passes
	// the message check.
	ask := &Message{Type: TypeAsk, ID: o.TransferID, Sender: User{ID: testID(t, 1)},
		Receivers: []User{{ID: testID(t, 2)}}, Time: Now(time.Now()),
		Ferry: Ferry{V: MessageVersion, Transports: []string{"tcp"}, Protocols: []string{"/p/1"}, Manifest: &s}}
	b, err := EncodeMessage(ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4096 {
		t.Errorf("ASK with a summary is %d bytes", len(b))
	}
	back, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}

	a, c := net.Pipe()
	defer a.Close()
	defer c.Close()
	type result struct {
		v   *Verdict
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := WriteManifest(a, m)
		done <- result{v, err}
	}()
	files, folders, err := ReadManifest(c, *back.Ferry.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(folders, ",") != "top9/empty,top0/sub0/empty" {
		t.Errorf("folders %q back", folders)
	}
	if err := AnswerManifest(c, Verdict{Token: "the-token", Refused: []Refusal{{File: 7, Reason: "too long"}}}, ""); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.v.Token != "the-token" || len(r.v.Refused) != 1 || r.v.Refused[0].File != 7 {
		t.Fatalf("sender got %+v, %v; want the token and file 7 refused", r.v, r.err)
	}
	if len(files) != len(o.Files) {
		t.Fatalf("%d files back, want %d", len(files), len(o.Files))
	}
	for i, f := range files {
		w := o.Files[i]
		if f.Name != w.Name || f.Size != w.Size || !f.ModTime.Equal(w.ModTime) || f.Mode != w.Mode {
			t.Fatalf("file %d = %+v, want %+v", i, f, w)
		}
	}
}

// A refusal reaches the sender as sdk.ErrRefused with its reason.
func TestManifestRefusal(t *testing.T) {
	m, err := NewManifest(offerOf(t, 500), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, c := net.Pipe()
	defer a.Close()
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := WriteManifest(a, m)
		done <- err
	}()
	if _, _, err := ReadManifest(c, m.Summary); err != nil {
		t.Fatal(err)
	}
	if err := AnswerManifest(c, Verdict{}, "no room for 500 files"); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if !errors.Is(err, sdk.ErrRefused) || !strings.Contains(err.Error(), "no room for 500 files") {
		t.Errorf("sender got %v, want a refusal naming the reason", err)
	}
}

// Manifests that do not match their summary are refused, each naming what
// is wrong.
func TestManifestMismatch(t *testing.T) {
	good, err := NewManifest(offerOf(t, 1000), nil)
	if err != nil {
		t.Fatal(err)
	}
	// resummed returns a summary of b that claims what s claims except
	// its length and digest.
	resummed := func(s Summary, b []byte) Summary {
		sum := sha256.Sum256(b)
		s.Bytes, s.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
		return s
	}
	extra := append(bytes.Clone(good.Bytes), `{"name":"top0/extra","size":"1"}`+"\n"...)
	// The last line without its newline.
	cut := good.Bytes[:len(good.Bytes)-1]
	lines := bytes.SplitAfter(good.Bytes, []byte("\n"))
	fewer := bytes.Join(lines[:len(lines)-2], nil)
	bigger := bytes.Replace(good.Bytes, []byte(`"size":"7"`), []byte(`"size":"7000"`), 1)
	long := []byte(`{"name":"` + strings.Repeat("x", 5000) + `","size":"1"}` + "\n")
	cases := []struct {
		name    string
		frame   uint64 // length in the frame's header; 0: the bytes' length
		bytes   []byte
		summary Summary
		want    string
	}{
		{"digest does not match", 0, good.Bytes, func() Summary {
			s := good.Summary
			s.SHA256 = strings.Repeat("0", 64)
			return s
		}(), "does not match"},
		{"larger than announced", uint64(len(good.Bytes) + 1), append(bytes.Clone(good.Bytes), '\n'), good.Summary, "bytes long, the ASK announced"},
		{"more files than announced", 0, extra, resummed(good.Summary, extra), "more than the 1000 files announced"},
		{"fewer files than announced", 0, fewer, resummed(good.Summary, fewer), "announced"},
		{"more bytes of files than announced", 0, bigger, resummed(good.Summary, bigger), "bytes announced"},
		{"unterminated line", 0, cut, resummed(good.Summary, cut), "does not end the line"},
		{"line too long", 0, long, resummed(Summary{Files: 1, Size: 1, TopCount: 0}, long), "longer than"},
		{"not JSON", 0, []byte("not json\n"), resummed(Summary{Files: 1, Size: 1}, []byte("not json\n")), "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n := tc.frame
			if n == 0 {
				n = uint64(len(tc.bytes))
			}
			_ = binary.Write(&buf, binary.BigEndian, n)
			buf.Write(tc.bytes)
			_, _, err := ReadManifest(&buf, tc.summary)
			if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrBadManifest saying %q", err, tc.want)
			}
		})
	}
}

// Summaries that cannot be right are refused in the ASK already.
func TestSummaryCheck(t *testing.T) {
	ok := Summary{Files: 2, Size: 3, Top: []string{"a"}, TopCount: 1, Bytes: 10, SHA256: strings.Repeat("a", 64)}
	cases := []struct {
		name   string
		change func(*Summary)
	}{
		{"no files", func(s *Summary) { s.Files = 0 }},
		{"too many files", func(s *Summary) { s.Files = maxFiles + 1 }},
		{"negative size", func(s *Summary) { s.Size = -1 }},
		{"empty manifest", func(s *Summary) { s.Bytes = 0 }},
		{"huge manifest", func(s *Summary) { s.Bytes = MaxManifestBytes + 1 }},
		{"bad digest", func(s *Summary) { s.SHA256 = "xyz" }},
		{"control character in a top name", func(s *Summary) { s.Top = []string{"a\x1b[2J"} }},
		{"more top names than counted", func(s *Summary) { s.Top, s.TopCount = []string{"a", "b"}, 1 }},
	}
	if err := ok.check(); err != nil {
		t.Fatalf("good summary refused: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			s.Top = append([]string(nil), ok.Top...)
			tc.change(&s)
			if err := s.check(); err == nil {
				t.Errorf("summary %+v passed", s)
			}
		})
	}
}

// FuzzDecodeManifest feeds DecodeManifest arbitrary bytes under a summary
// that matches them: it must not panic, and what it returns must agree
// with the summary.
func FuzzDecodeManifest(f *testing.F) {
	m, err := NewManifest(offerOf(f, 5), []string{"a/b"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.Bytes, 5, int64(m.Summary.Size))
	f.Add([]byte(`{"name":"a","size":"1"}`+"\n"+`{"folder":"b/c"}`+"\n"), 1, int64(1))
	f.Add([]byte(`{"name":"a","size":"1","mode":"755","mtime":5}`+"\n"), 1, int64(1))
	f.Add([]byte(`{"name":"a","size":"-1"}`+"\n"), 1, int64(0))
	f.Fuzz(func(t *testing.T, b []byte, files int, size int64) {
		if len(b) == 0 {
			return
		}
		sum := sha256.Sum256(b)
		s := Summary{Files: files, Size: size, Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
		s.Folders = bytes.Count(b, []byte(`"folder"`))
		got, _, err := DecodeManifest(bytes.NewReader(b), s)
		if err != nil {
			return
		}
		var total int64
		for _, f := range got {
			total += f.Size
		}
		if len(got) != files || total != size {
			t.Errorf("decoded %d files of %d bytes under a summary of %d of %d", len(got), total, files, size)
		}
	})
}
