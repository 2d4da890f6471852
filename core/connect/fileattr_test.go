package connect

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// An ASK carries each file's permission bits (left out when 0644) and
// modification time, and an entry without them reads as 0644 and no time.
func TestAskFileModeAndTime(t *testing.T) {
	mtime := time.Date(2024, 3, 1, 12, 30, 45, 123e6, time.UTC)
	offer := sdk.Offer{TransferID: validAsk(t).ID, Files: []sdk.FileInfo{
		{Name: "run.sh", Size: 1, Mode: 0o755, ModTime: mtime},
		{Name: "a.txt", Size: 1, Mode: 0o644},
		{Name: "old.txt", Size: 1}, // from a sender that knows no mode
	}}
	m := validAsk(t)
	m.Files = FilesOf(offer)
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"mode":"755","mtime":1709296245123`)) {
		t.Errorf("encoding lacks the mode and mtime of run.sh: %s", b)
	}
	if n := bytes.Count(b, []byte(`"mode"`)); n != 1 {
		t.Errorf("%d mode fields, want 1 (0644 and unknown are left out): %s", n, b)
	}
	back, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Offer()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		mode  os.FileMode
		mtime time.Time
	}{{0o755, mtime}, {0o644, time.Time{}}, {0o644, time.Time{}}}
	for i, w := range want {
		f := got.Files[i]
		if f.Mode != w.mode || !f.ModTime.Equal(w.mtime) {
			t.Errorf("file %d: mode %o, mtime %v; want %o, %v", i, f.Mode, f.ModTime, w.mode, w.mtime)
		}
	}
	for _, bad := range []string{"9", "1000", "rwx", "-1"} {
		m := validAsk(t)
		m.Files[0].Mode = bad
		if _, err := EncodeMessage(m); err == nil {
			t.Errorf("mode %q accepted", bad)
		}
	}
}
