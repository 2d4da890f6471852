package jsonchunk

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
)

// statefulSink is a diskSink that says what it holds (sdk.StatefulSink).
type statefulSink struct{ *diskSink }

func (s statefulSink) State(context.Context) (sdk.SinkState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st sdk.SinkState
	o := s.offers[len(s.offers)-1]
	for i, f := range o.Files {
		switch df := s.files[f.Name]; {
		case df == nil:
		case df.done:
			st.Done = append(st.Done, i)
		default:
			st.Started = append(st.Started, i)
		}
	}
	return st, nil
}

// TestPartsOpenedLazily: offered many files by a sink that says what it
// holds, the receiver opens a file's part file when its first chunk comes
// (an empty file at once) and closes it when the file is whole, so only a
// few are open at any time, and every file arrives. Offered them again,
// it opens only the files held (all done), and nothing is written.
func TestPartsOpenedLazily(t *testing.T) {
	const n = 300
	files := make([][]byte, n)
	for i := range files {
		files[i] = randomBytes(i%7*500, uint64(i+1)) // every seventh is empty
	}
	sink := statefulSink{newDiskSink(t)}
	send := func() {
		t.Helper()
		ctx := plugintest.Context(t)
		s := newProtocol(t, Config{Mode: ModeFast, ChunkSize: 65536, Window: 8})
		r := newProtocol(t, Config{Mode: ModeFast, Window: 8})
		a, b := tcpPair(t)
		errc := runAsync(func() error { return r.Receive(ctx, sdk.ReceiveRequest{Stream: b, Sink: sink}) })
		if err := s.Send(ctx, sdk.SendRequest{Stream: a, Offer: offerOf(files...), Source: &memSource{files: files}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("Receive: %v", err)
		}
	}
	send()
	for i, want := range files {
		name := fmt.Sprintf("f%d", i)
		if got := sink.content(t, name); !slices.Equal(got, want) {
			t.Fatalf("%s: got %d bytes, want %d identical", name, len(got), len(want))
		}
	}
	check := func(what string, most int) (creates int, writes int64) {
		t.Helper()
		sink.mu.Lock()
		defer sink.mu.Unlock()
		t.Logf("%s: %d part files created in all, at most %d open at once", what, sink.creates, sink.maxOpen)
		if sink.maxOpen > most {
			t.Errorf("%s: %d part files open at once, want at most %d", what, sink.maxOpen, most)
		}
		sink.maxOpen = 0
		return sink.creates, sink.writes
	}
	// A window's worth of files at a time (two while one batch commits).
	creates, writes := check("sent", 2*8)
	send()
	// All done: each opened and closed in turn, nothing written.
	creates2, writes2 := check("sent again", 1)
	if creates2 != 2*creates || writes2 != writes {
		t.Errorf("offered again: %d more creates and %d more bytes written, want %d and 0", creates2-creates, writes2-writes, creates)
	}
}
