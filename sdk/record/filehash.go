package record

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// MetaFileHash is the first byte of the meta record the SDK sends for a
// file's SHA-256 once the sender has read the file whole: then the file's
// index in the offer (the order of the ASK's files) as an unsigned varint,
// then the 32-byte hash. A sender that offered before hashing sends it so
// the receiver can check the file before it is put in place.
const MetaFileHash = 1

// maxFiles bounds the index a file-hash meta record may name.
const maxFiles = 1 << 24

// EncodeFileHash returns the meta record that gives file index's SHA-256.
func EncodeFileHash(index int, sum []byte) []byte {
	b := []byte{MetaFileHash}
	b = binary.AppendUvarint(b, uint64(index))
	return append(b, sum...)
}

// DecodeFileHash parses a meta record. ok is false for a meta record of
// another kind, which a receiver ignores (a later SDK may send more kinds).
func DecodeFileHash(p []byte) (index int, sum []byte, ok bool, err error) {
	if len(p) == 0 || p[0] != MetaFileHash {
		return 0, nil, false, nil
	}
	v, n := binary.Uvarint(p[1:])
	switch {
	case n <= 0:
		return 0, nil, true, errors.New("file hash: bad index")
	case v >= maxFiles:
		return 0, nil, true, fmt.Errorf("file hash: index %d out of range", v)
	case len(p)-1-n != sha256.Size:
		return 0, nil, true, fmt.Errorf("file hash: %d bytes of hash, want %d", len(p)-1-n, sha256.Size)
	}
	return int(v), p[1+n:], true, nil
}
