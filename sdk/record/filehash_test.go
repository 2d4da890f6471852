package record

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

func TestFileHashCodec(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	for _, index := range []int{0, 1, 127, 128, 100000} {
		i, s, ok, err := DecodeFileHash(EncodeFileHash(index, sum[:]))
		if err != nil || !ok || i != index || !bytes.Equal(s, sum[:]) {
			t.Fatalf("index %d: decoded %d, %x, %v, %v", index, i, s, ok, err)
		}
	}
	bad := [][]byte{
		{MetaFileHash},                       // no index
		{MetaFileHash, 0x80},                 // truncated varint
		append([]byte{MetaFileHash, 0}, 1),   // short hash
		append(EncodeFileHash(0, sum[:]), 0), // long hash
		append([]byte{MetaFileHash, 0xff, 0xff, 0xff, 0x7f}, sum[:]...), // index too large
	}
	for _, p := range bad {
		if _, _, ok, err := DecodeFileHash(p); !ok || err == nil {
			t.Errorf("%x: ok %v, err %v; want an error", p, ok, err)
		}
	}
	if _, _, ok, err := DecodeFileHash([]byte{9, 1, 2}); ok || err != nil {
		t.Errorf("unknown kind: ok %v, err %v; want ignored", ok, err)
	}
}

// FuzzDecodeFileHash: no panic, and what decodes encodes back the same.
func FuzzDecodeFileHash(f *testing.F) {
	sum := sha256.Sum256(nil)
	f.Add(EncodeFileHash(3, sum[:]))
	f.Add([]byte{MetaFileHash, 0x80})
	f.Fuzz(func(t *testing.T, p []byte) {
		i, s, ok, err := DecodeFileHash(p)
		if ok && err == nil && !bytes.Equal(EncodeFileHash(i, s), p) {
			t.Fatalf("%x decodes to %d, %x, which encodes differently", p, i, s)
		}
	})
}
