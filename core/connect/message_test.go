package connect

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

func testID(t testing.TB, b byte) string {
	t.Helper()
	var id sdk.PeerID
	for i := range id {
		id[i] = b
	}
	return id.String()
}

func validAsk(t testing.TB) *Message {
	return &Message{
		Type: TypeAsk, ID: strings.Repeat("ab", 16),
		Sender:    User{Name: "John Appleseed", IP: "127.0.0.1", ID: testID(t, 1)},
		Receivers: []User{{Name: "Bob Dole", ID: testID(t, 2)}},
		Files:     []File{{Name: "todo2017-05-05.txt", Size: "75", Type: "text/plain", Hash: strings.Repeat("0f", 32)}},
		Time:      Now(time.Date(2017, 5, 5, 14, 33, 32, 0, time.UTC)),
		Ferry:     Ferry{V: 1, Transports: []string{"tcp"}, Protocols: []string{"/ferry/ftv2a/1"}},
	}
}

func TestRoundTrip(t *testing.T) {
	m := validAsk(t)
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"ASK"`, `"size":"75"`, `"time":"2017-05-05 14:33:32"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("encoding lacks %s: %s", want, b)
		}
	}
	back, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	o, err := back.Offer()
	if err != nil || len(o.Files) != 1 || o.Files[0].Size != 75 || len(o.Files[0].SHA256) != 32 {
		t.Fatalf("Offer = %+v, %v", o, err)
	}
	// Unknown fields are ignored.
	if _, err := DecodeMessage(append(b[:len(b)-1], []byte(`,"future":{"x":1}}`)...)); err != nil {
		t.Errorf("unknown field refused: %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := map[string]func(m *Message){
		"unknown type":   func(m *Message) { m.Type = "GIMME" },
		"no version":     func(m *Message) { m.Ferry.V = 0 },
		"short id":       func(m *Message) { m.ID = "abc" },
		"bad sender":     func(m *Message) { m.Sender.ID = "nope" },
		"bad time":       func(m *Message) { m.Time = "yesterday" },
		"no receivers":   func(m *Message) { m.Receivers = nil },
		"bad receiver":   func(m *Message) { m.Receivers[0].ID = "x" },
		"no files":       func(m *Message) { m.Files = nil },
		"negative size":  func(m *Message) { m.Files[0].Size = "-1" },
		"absurd size":    func(m *Message) { m.Files[0].Size = "99999999999999999999999" },
		"numeric junk":   func(m *Message) { m.Files[0].Size = "12abc" },
		"bad hash":       func(m *Message) { m.Files[0].Hash = "zz" },
		"empty name":     func(m *Message) { m.Files[0].Name = "" },
		"no protocols":   func(m *Message) { m.Ferry.Protocols = nil },
		"accept no recv": func(m *Message) { m.Type = TypeAccept },
		"probe with files": func(m *Message) {
			m.Ferry.Probe, m.Ferry.Protocols = true, []string{ProbeProtocol}
		},
		"probe of a transfer protocol": func(m *Message) {
			m.Files, m.Ferry.Probe = nil, true
		},
		"candidate without transport": func(m *Message) {
			toAccept(t, m)
			m.SetCandidates([]sdk.Description{{Transport: "tcp", Data: []byte("x")}, {Data: []byte("y")}})
		},
		"candidate bad base64": func(m *Message) {
			toAccept(t, m)
			m.SetCandidates([]sdk.Description{{Transport: "tcp", Data: []byte("x")}})
			m.Ferry.Candidates[0].Description = "%%%"
		},
		"too many candidates": func(m *Message) {
			toAccept(t, m)
			m.SetCandidates(make([]sdk.Description, maxCandidates+1))
			for i := range m.Ferry.Candidates {
				m.Ferry.Candidates[i].Transport = "t"
			}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := validAsk(t)
			mutate(m)
			if _, err := EncodeMessage(m); !errors.Is(err, ErrBadMessage) {
				t.Errorf("EncodeMessage: %v, want ErrBadMessage", err)
			}
		})
	}
	for _, raw := range []string{"", "{", "[]", `{"type":1}`, "null"} {
		if _, err := DecodeMessage([]byte(raw)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("DecodeMessage(%q): %v", raw, err)
		}
	}
}

// TestProbeAsk: an ASK that tests a connection carries no files and only
// the probe protocol, and survives the wire as one.
func TestProbeAsk(t *testing.T) {
	m := validAsk(t)
	m.Files, m.Ferry.Probe, m.Ferry.Protocols = nil, true, []string{ProbeProtocol}
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatalf("EncodeMessage: %v", err)
	}
	back, err := DecodeMessage(b)
	if err != nil || !back.Ferry.Probe || len(back.Files) != 0 {
		t.Fatalf("DecodeMessage = %+v, %v; want a probe ASK", back, err)
	}
}

// toAccept turns the valid ASK into a valid ACCEPT.
func toAccept(t testing.TB, m *Message) {
	t.Helper()
	m.Type, m.Receivers, m.Files = TypeAccept, nil, nil
	m.Receiver = &User{Name: "Bob", ID: testID(t, 2)}
	m.Ferry = Ferry{V: MessageVersion, Protocol: "/ferry/ftv2a/1", Transport: "tcp"}
}

// TestCandidates checks that an ACCEPT's candidates survive the wire in
// order, that the first is repeated for version-1 senders, and that a
// version-1 ACCEPT reads as its single transport.
func TestCandidates(t *testing.T) {
	m := validAsk(t)
	toAccept(t, m)
	m.Ferry.Attempt = 3
	want := []sdk.Description{{Transport: "ice", Data: []byte("ufrag pwd")}, {Transport: "tcp", Data: []byte(`{"v":1}`)}}
	m.SetCandidates(want)
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Offered()
	if len(got) != 2 || got[0].Transport != "ice" || string(got[0].Data) != "ufrag pwd" || got[1].Transport != "tcp" || string(got[1].Data) != `{"v":1}` {
		t.Errorf("Offered = %+v, want %+v", got, want)
	}
	if back.Ferry.Transport != "ice" || string(back.DescriptionBytes()) != "ufrag pwd" || back.Ferry.Attempt != 3 {
		t.Errorf("version-1 fields %q %q attempt %d, want the first candidate and attempt 3", back.Ferry.Transport, back.DescriptionBytes(), back.Ferry.Attempt)
	}
	v1 := validAsk(t)
	toAccept(t, v1)
	v1.Ferry.V, v1.Ferry.Description = 1, "aGk="
	if got := v1.Offered(); len(got) != 1 || got[0].Transport != "tcp" || string(got[0].Data) != "hi" {
		t.Errorf("version-1 Offered = %+v", got)
	}
}

func TestStateZeroIsUnknown(t *testing.T) {
	var s State
	if s != Unknown || s.String() != "unknown" {
		t.Errorf("zero State is %v (%q), want Unknown", int(s), s)
	}
	for st, name := range map[State]string{Discovering: "discovering", Connected: "connected", Failed: "failed", State(99): "unknown"} {
		if st.String() != name {
			t.Errorf("State(%d) = %q, want %q", int(st), st, name)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	b, _ := EncodeMessage(validAsk(f))
	f.Add(b)
	f.Add([]byte(`{"type":"REFUSE"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if _, err := EncodeMessage(m); err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		if m.Type == TypeAsk {
			if _, err := m.Offer(); err != nil {
				t.Fatalf("checked ASK has a bad offer: %v", err)
			}
		}
	})
}
