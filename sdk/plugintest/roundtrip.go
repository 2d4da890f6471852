package plugintest

import (
	"bytes"
	"io"
	"testing"

	"github.com/ferry-p2p/ferry/sdk"
)

// RoundTrip checks that a few bytes cross a connected pair of streams both
// ways: from sa (the initiator's end) to sb, then back. It fails the test
// at the first write, read or mismatch.
func RoundTrip(t testing.TB, sa, sb sdk.Stream) {
	t.Helper()
	for _, dir := range []struct {
		name string
		w, r sdk.Stream
	}{{"initiator to responder", sa, sb}, {"responder to initiator", sb, sa}} {
		msg := []byte("hello " + dir.name)
		if _, err := dir.w.Write(msg); err != nil {
			t.Fatalf("%s: write: %v", dir.name, err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dir.r, got); err != nil {
			t.Fatalf("%s: read: %v", dir.name, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%s: read %q, want %q", dir.name, got, msg)
		}
	}
}
