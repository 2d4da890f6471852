package jsonchunk

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-p2p/ferry/sdk/lifecycle"
	"github.com/ferry-p2p/ferry/sdk/plugintest"
	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// TestAbortKeepsChunksRead ends a receiving call with one chunk written
// and not yet committed and two more read and queued, as when the call is
// cancelled or cut while the reader is ahead: all three are committed, so
// a resume does not ask for them again (issue 18, item 2).
func TestAbortKeepsChunksRead(t *testing.T) {
	const chunk = 1024
	data := randomBytes(4*chunk, 18)
	ctx := plugintest.Context(t)
	sink := newDiskSink(t)
	offer := offerOf(data)
	if err := sink.Decide(ctx, offer); err != nil {
		t.Fatal(err)
	}
	part, err := sink.Create(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{
		Call: &lifecycle.Call[Config]{Log: slog.New(slog.DiscardHandler)},
		sink: sink, in: make(chan inMsg, 4), pool: newBufPool(chunk, 4),
		tid: testTID, mode: ModeFast, chunk: chunk, window: 4,
		files: []*inFile{{info: offer.Files[0], part: part}},
	}
	if err := r.onChunk(ctx, chunkOf(0, data, 0, chunk, true)); err != nil {
		t.Fatal(err)
	}
	r.in <- inMsg{m: chunkOf(0, data, chunk, chunk, true)}
	r.in <- inMsg{m: chunkOf(0, data, 2*chunk, chunk, true)}
	r.in <- inMsg{err: io.ErrUnexpectedEOF}
	r.abort(ctx)

	held, done := sink.state("f0")
	if want := (ranges.Set{{0, 3 * chunk}}); done || !slices.Equal(held, want) {
		t.Errorf("after the interruption the part holds %v (done %v), want %v", held, done, want)
	}
	got, err := os.ReadFile(filepath.Join(sink.dir, "f0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 3*chunk || !bytes.Equal(got[:3*chunk], data[:3*chunk]) {
		t.Error("the part file does not hold the chunks read")
	}
}
