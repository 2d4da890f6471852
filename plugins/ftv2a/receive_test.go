package ftv2a

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// request builds the FILE_SENDREQUEST of a data file in the test transfer.
func request(fn uint8, size uint64, name string) SendRequest {
	r := SendRequest{FileNumber: fn, Kind: KindData, Size: size, Name: name}
	copy(r.FileID[:], []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff})
	return r
}

func encode(t testing.TB, fs ...Frame) []byte {
	t.Helper()
	var b []byte
	for _, f := range fs {
		var err error
		if b, err = appendFrame(b, f); err != nil {
			t.Fatalf("encode %#v: %v", f, err)
		}
	}
	return b
}

// receiveFrom runs Receive on one end of a TCP pair while a hand-written
// sender writes wire to the other end, then closes its write side, and
// reads what the receiver answers until it closes. It returns the
// receiver's answers and Receive's error.
func receiveFrom(t *testing.T, p *Protocol, sink sdk.FileSink, wire []byte) ([]Control, error) {
	t.Helper()
	a, b := tcpPair(t)
	var got []Control
	answers := runAsync(func() error {
		r := NewReader(a, 0)
		for {
			f, err := r.Next()
			if err != nil {
				return nil
			}
			c, ok := f.(Control)
			if !ok {
				return fmt.Errorf("receiver sent %#v", f)
			}
			got = append(got, c)
		}
	})
	errc := runAsync(func() error { return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	if _, err := a.Write(wire); err != nil {
		t.Errorf("sender write: %v", err)
	}
	_ = a.CloseWrite()
	err := <-errc
	_ = b.Close()
	if aerr := <-answers; aerr != nil {
		t.Error(aerr)
	}
	return got, err
}

// TestReceiveBadSender feeds Receive what a broken or hostile sender might
// send: each must end Receive with a clear error, without a panic and
// without a part file closed as complete.
func TestReceiveBadSender(t *testing.T) {
	huge := rawFrame(PacketFileSendRequest, srPayload(KindData, MaxSize+1, "huge.bin"))
	cases := []struct {
		name    string
		wire    func(t testing.TB) []byte
		mention string // in the error
		offline bool   // the error wraps sdk.ErrOffline, not ErrMalformed
		parts   int    // part files created
	}{
		{"SizeAboveMax", func(testing.TB) []byte { return huge }, "absurd", false, 0},
		{"OversizedHeader", func(testing.TB) []byte { return []byte{PacketFileData, 0xff, 0xff, 0xff, 0} }, "exceeds limit", false, 0},
		{"Garbage", func(testing.TB) []byte { return []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n") }, "unknown packet id 71", false, 0},
		{"DataBeyondSize", func(t testing.TB) []byte {
			return encode(t, request(0, 10, "ten"), Data{Data: []byte("0123456")}, Data{Data: []byte("789X")})
		}, "beyond its size 10", false, 1},
		{"DataForUnknownFile", func(t testing.TB) []byte {
			return encode(t, request(0, 10, "ten"), Data{FileNumber: 7, Data: []byte("0123")})
		}, "FILE_DATA for file 7", false, 1},
		{"DataBeforeRequest", func(t testing.TB) []byte { return encode(t, Data{Data: []byte("x")}) }, "FILE_DATA for file 0", false, 0},
		{"RequestMidFile", func(t testing.TB) []byte {
			return encode(t, request(0, 10, "ten"), Data{Data: []byte("01")}, request(1, 10, "other"))
		}, "still being received", false, 1},
		{"TruncatedFrame", func(t testing.TB) []byte {
			return append(encode(t, request(0, 10, "ten"), Data{Data: []byte("012")}), PacketFileData, 0, 0, 5, 0)
		}, `3 of 10 bytes of "ten"`, true, 1},
		{"EOFMidFile", func(t testing.TB) []byte {
			return encode(t, request(0, 10, "ten"), Data{Data: []byte("0123")})
		}, `4 of 10 bytes of "ten"`, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProtocol(t, Config{})
			sink := &memSink{}
			_, err := receiveFrom(t, p, sink, tc.wire(t))
			t.Logf("Receive: %v", err)
			switch {
			case err == nil:
				t.Fatal("Receive succeeded")
			case !strings.Contains(err.Error(), tc.mention):
				t.Errorf("Receive: %v, want it to mention %q", err, tc.mention)
			case tc.offline && !errors.Is(err, sdk.ErrOffline):
				t.Errorf("Receive: %v, want an error wrapping sdk.ErrOffline", err)
			case !tc.offline && (!errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "ftv2a: bad frame from sender: ")):
				t.Errorf("Receive: %v, want \"ftv2a: bad frame from sender: ...\" wrapping ErrMalformed", err)
			}
			parts := sink.created()
			if len(parts) != tc.parts {
				t.Errorf("%d part files created, want %d", len(parts), tc.parts)
			}
			for _, pt := range parts {
				data, committed, closed, complete := pt.state()
				if !closed || complete {
					t.Errorf("part file %q: closed %v, complete %v; want closed incomplete", pt.name, closed, complete)
				}
				if committed != int64(len(data)) {
					t.Errorf("part file %q: %d bytes committed of %d written, want all", pt.name, committed, len(data))
				}
			}
		})
	}
}

// TestReceiveRetriedRequest checks that a repeated FILE_SENDREQUEST gets the
// same answer again, SEND_ACK or KILL, and that Decide and Create run once.
func TestReceiveRetriedRequest(t *testing.T) {
	cases := []struct {
		name   string
		refuse error
		data   []Frame
		want   []Control
	}{
		{"Accepted", nil, []Frame{Data{Data: []byte("0123456789")}},
			[]Control{ack(0), acc(0), ack(0), kill(0)}},
		{"Refused", fmt.Errorf("no: %w", sdk.ErrRefused), nil,
			[]Control{kill(0), kill(0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProtocol(t, Config{})
			sink := &memSink{refuse: tc.refuse}
			req := request(0, 10, "ten")
			got, err := receiveFrom(t, p, sink, encode(t, append([]Frame{req, req}, tc.data...)...))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if !equalControls(got, tc.want) {
				t.Errorf("answers %v, want %v", got, tc.want)
			}
			if n := len(sink.decided()); n != 1 {
				t.Errorf("Decide called %d times, want 1", n)
			}
			want := 1
			if tc.refuse != nil {
				want = 0
			}
			if n := len(sink.created()); n != want {
				t.Errorf("Create called %d times, want %d", n, want)
			}
		})
	}
}

func equalControls(a, b []Control) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReceiveConversation checks the receiver's answers and part files
// through whole conversations.
func TestReceiveConversation(t *testing.T) {
	data := randomBytes(5000, 5)
	chunks := func(fn uint8, b []byte, n int) []Frame {
		var fs []Frame
		for len(b) > 0 {
			k := min(n, len(b))
			fs = append(fs, Data{FileNumber: fn, Data: b[:k]})
			b = b[k:]
		}
		return fs
	}
	cases := []struct {
		name     string
		sink     *memSink
		wire     []Frame
		want     []Control
		wantErr  string
		complete []bool // per part file created
	}{
		{
			name: "TwoFiles", sink: &memSink{},
			wire: append(append([]Frame{request(0, 5000, "a")}, chunks(0, data, 999)...), request(1, 0, "empty")),
			want: []Control{ack(0), acc(0), kill(0), ack(1), acc(1), kill(1)}, complete: []bool{true, true},
		},
		{
			name: "Resume", sink: &memSink{have: map[string][]byte{"a": data[:1000]}},
			wire: append([]Frame{request(0, 5000, "a")}, chunks(0, data[1000:], 1024)...),
			want: []Control{ack(0), seek(0, 1000), acc(0), kill(0)}, complete: []bool{true},
		},
		{
			name: "AlreadyWhole", sink: &memSink{have: map[string][]byte{"a": data}},
			wire: []Frame{request(0, 5000, "a")},
			want: []Control{ack(0), seek(0, 5000), acc(0), kill(0)}, complete: []bool{true},
		},
		{
			name: "SenderKill", sink: &memSink{},
			wire: append(append([]Frame{request(0, 5000, "a")}, chunks(0, data[:2000], 1000)...),
				Control{SendReceive: FileWeSend, FileNumber: 0, Type: Kill}, request(1, 0, "next")),
			want: []Control{ack(0), acc(0), ack(1), acc(1), kill(1)}, complete: []bool{false, true},
		},
		{
			name: "Refused", sink: &memSink{refuse: fmt.Errorf("policy: %w", sdk.ErrRefused)},
			wire: []Frame{request(0, 5000, "a"), request(1, 7, "b")},
			want: []Control{kill(0), kill(1)},
		},
		{
			name: "AvatarRefused", sink: &memSink{},
			wire: []Frame{SendRequest{FileNumber: 3, Kind: KindAvatar, Size: 1, Name: "me.png"}},
			want: []Control{kill(3)},
		},
		{
			name: "CloseFails", sink: &memSink{closeErr: errors.New("hash mismatch")},
			wire: append([]Frame{request(0, 5000, "a")}, chunks(0, data, 4096)...),
			want: []Control{ack(0), acc(0)}, wantErr: "hash mismatch", complete: []bool{false},
		},
		{
			name: "IgnoredControls", sink: &memSink{},
			wire: append([]Frame{
				Control{SendReceive: FileWeSend, FileNumber: 9, Type: Kill},
				request(0, 5000, "a"),
				Control{SendReceive: FileWeSend, FileNumber: 0, Type: Pause},
				Control{SendReceive: FileWeReceive, FileNumber: 0, Type: Kill},
				Control{SendReceive: FileWeSend, FileNumber: 0, Type: Accept},
			}, chunks(0, data, 5000)...),
			want: []Control{ack(0), acc(0), kill(0)}, complete: []bool{true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProtocol(t, Config{CommitBytes: 1500})
			got, err := receiveFrom(t, p, tc.sink, encode(t, tc.wire...))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Receive: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Receive: %v, want an error mentioning %q", err, tc.wantErr)
			}
			if !equalControls(got, tc.want) {
				t.Errorf("answers %v, want %v", got, tc.want)
			}
			parts := tc.sink.created()
			if len(parts) != len(tc.complete) {
				t.Fatalf("%d part files, want %d", len(parts), len(tc.complete))
			}
			for i, pt := range parts {
				content, committed, closed, complete := pt.state()
				if !closed || complete != tc.complete[i] {
					t.Errorf("part file %q: closed %v, complete %v; want closed, complete %v", pt.name, closed, complete, tc.complete[i])
				}
				if committed != int64(len(content)) {
					t.Errorf("part file %q: %d of %d bytes committed", pt.name, committed, len(content))
				}
				if complete && pt.name == "a" && !bytes.Equal(content, data) {
					t.Errorf("part file %q: content differs", pt.name)
				}
			}
			for _, o := range tc.sink.decided() {
				if o.TransferID != testTID || len(o.Files) != 1 || o.Files[0].SHA256 != nil {
					t.Errorf("Decide got %+v, want TransferID %s and one file without a hash", o, testTID)
				}
			}
		})
	}
}

// TestNamesPassedUnchanged sends files whose names a receiving core must
// sanitise: the plugin passes them to Decide (and the part file) as they
// are, end to end.
func TestNamesPassedUnchanged(t *testing.T) {
	names := []string{"../../etc/passwd", "/etc/shadow", `..\..\windows\system32`, "a/../../b", "..", "dir/sub/file.txt", "CON", " lead and trail ", "ünïcødé/ファイル"}
	p, _ := newProtocol(t, Config{})
	for _, name := range names {
		t.Run(strings.ReplaceAll(name, "/", "|"), func(t *testing.T) {
			a, b := tcpPair(t)
			sink := &memSink{}
			offer, src := oneFile(name, []byte("content"))
			errc := runAsync(func() error { return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: sink}) })
			if err := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Receive: %v", err)
			}
			offers := sink.decided()
			if len(offers) != 1 || len(offers[0].Files) != 1 || offers[0].Files[0].Name != name {
				t.Errorf("Decide got %+v, want the name %q unchanged", offers, name)
			}
		})
	}
}

// TestReceiveStreamReset checks that a stream reset inside a file ends
// Receive with an error wrapping sdk.ErrOffline and keeps the part file
// incomplete.
func TestReceiveStreamReset(t *testing.T) {
	p, _ := newProtocol(t, Config{})
	a, b := tcpPair(t)
	sink := &memSink{}
	errc := runAsync(func() error { return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	pr := newPeer(t, a)
	if err := pr.write(request(0, 100, "x"), Data{Data: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // SEND_ACK, ACCEPT
		if _, err := pr.r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.SetLinger(0)
	_ = a.Close() // a reset, not a clean end
	err := <-errc
	var ne net.Error
	if !errors.Is(err, sdk.ErrOffline) || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("Receive after a reset: %v, want an error wrapping sdk.ErrOffline", err)
	}
	parts := sink.created()
	if len(parts) != 1 {
		t.Fatalf("%d part files, want 1", len(parts))
	}
	if _, _, closed, complete := parts[0].state(); !closed || complete {
		t.Errorf("part file closed %v complete %v, want closed incomplete", closed, complete)
	}
}

// TestFinishFailsEndToEnd has the receiving core refuse the finished file
// (its Close fails, as on a hash mismatch): the receiver sends no
// confirmation but a KILL with the reason, and the sender fails with an
// error wrapping sdk.ErrHashMismatch that says it was not confirmed.
func TestFinishFailsEndToEnd(t *testing.T) {
	p, _ := newProtocol(t, Config{})
	a, b := tcpPair(t)
	sink := &memSink{closeErr: fmt.Errorf("sha256 mismatch: %w", sdk.ErrHashMismatch)}
	offer, src := oneFile("bad.bin", randomBytes(100_000, 6))
	errc := runAsync(func() error { return p.Receive(plugintest.Context(t), sdk.ReceiveRequest{Stream: b, Sink: sink}) })
	sendErr := p.Send(plugintest.Context(t), sdk.SendRequest{Stream: a, Offer: offer, Source: src})
	recvErr := <-errc
	if recvErr == nil || !strings.Contains(recvErr.Error(), "sha256 mismatch") {
		t.Errorf("Receive: %v, want the Close error", recvErr)
	}
	if !errors.Is(sendErr, sdk.ErrHashMismatch) || !strings.Contains(sendErr.Error(), "sha256 mismatch") {
		t.Errorf("Send: %v, want an unconfirmed file wrapping sdk.ErrHashMismatch", sendErr)
	}
}

// TestCommitWindow receives a file into a part whose commits are slow (as
// fsyncs on a busy disk) compared with the data arriving: bytes written
// but not committed, which a cut would make the sender send again, must
// never exceed commit_bytes (issue 18, item 2).
func TestCommitWindow(t *testing.T) {
	const (
		size        = 4 << 20
		chunk       = 16 << 10
		commitBytes = 256 << 10
	)
	data := randomBytes(size, 18)
	p, _ := newProtocol(t, Config{CommitBytes: commitBytes})
	sink := &memSink{commitDelay: 5 * time.Millisecond}
	var wire []Frame
	wire = append(wire, request(0, size, "a"))
	for off := 0; off < size; off += chunk {
		wire = append(wire, Data{FileNumber: 0, Data: data[off : off+chunk]})
	}
	if _, err := receiveFrom(t, p, sink, encode(t, wire...)); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	parts := sink.created()
	if len(parts) != 1 {
		t.Fatalf("%d part files, want 1", len(parts))
	}
	content, committed, _, complete := parts[0].state()
	if !complete || committed != size || !bytes.Equal(content, data) {
		t.Fatalf("part file: complete %v, %d of %d bytes committed", complete, committed, size)
	}
	parts[0].mu.Lock()
	lag := parts[0].maxLag
	parts[0].mu.Unlock()
	if lag > commitBytes {
		t.Errorf("up to %d bytes were written and not committed, more than commit_bytes (%d)", lag, commitBytes)
	}
	t.Logf("at most %d bytes written ahead of the commits (commit_bytes %d)", lag, commitBytes)
}
