package filehash

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func tempFile(t *testing.T, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestReader: the whole-file hash comes once, after the last byte, with a
// checkpoint every CheckpointEvery bytes; a resume from a checkpoint gives
// the same hash; a state that does not fit is refused.
func TestReader(t *testing.T) {
	data := make([]byte, 2*CheckpointEvery+12345)
	_, _ = rand.NewChaCha8([32]byte{9}).Read(data)
	want := sha256.Sum256(data)

	f := tempFile(t, data)
	var sums [][]byte
	var checks []int64
	var states [][]byte
	r := NewReader(f, int64(len(data)), func(s []byte) { sums = append(sums, s) }, func(off int64, st []byte) {
		checks = append(checks, off)
		states = append(states, st)
	})
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || !bytes.Equal(sums[0], want[:]) {
		t.Fatalf("hashes reported %x, want one: %x", sums, want)
	}
	if len(checks) != 2 || checks[0] < CheckpointEvery || checks[1] < 2*CheckpointEvery {
		t.Fatalf("checkpoints at %v, want two, one per %d bytes", checks, CheckpointEvery)
	}

	// Resume 100 bytes past the second checkpoint.
	at := checks[1] + 100
	f2 := tempFile(t, data)
	if _, err := f2.Seek(at, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var got []byte
	r2 := NewReader(f2, int64(len(data)), func(s []byte) { got = s }, nil)
	if err := r2.Resume(checks[0], states[1], at); err == nil {
		t.Fatal("a state for another offset was taken")
	}
	if err := r2.Resume(checks[1], states[1], at); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r2)
	if err != nil || !bytes.Equal(rest, data[at:]) {
		t.Fatalf("read %d bytes after the resume, %v", len(rest), err)
	}
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("resumed hash %x, want %x", got, want)
	}
	if from, st := r2.From(); from != checks[1] || !bytes.Equal(st, states[1]) {
		t.Fatalf("From() = %d, want %d", from, checks[1])
	}

	// A state of other bytes passes the length check but gives another
	// hash: the receiver's check is what catches it.
	other := sha256.New()
	other.Write(make([]byte, checks[0]))
	bad, _ := other.(encoding.BinaryMarshaler).MarshalBinary()
	f3 := tempFile(t, data)
	_, _ = f3.Seek(checks[0], io.SeekStart)
	var badSum []byte
	r3 := NewReader(f3, int64(len(data)), func(s []byte) { badSum = s }, nil)
	if err := r3.Resume(checks[0], bad, checks[0]); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, r3)
	if bytes.Equal(badSum, want[:]) {
		t.Fatal("a wrong state gave the right hash")
	}

	// An empty file's hash comes at once.
	var empty []byte
	NewReader(tempFile(t, nil), 0, func(s []byte) { empty = s }, nil)
	if e := sha256.Sum256(nil); !bytes.Equal(empty, e[:]) {
		t.Fatalf("empty file: %x", empty)
	}
}
