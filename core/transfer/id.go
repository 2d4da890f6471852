package transfer

import (
	"crypto/rand"
	"encoding/hex"
)

// idBytes is the number of random bytes in a transfer ID.
const idBytes = 16

// NewID returns a fresh transfer ID: 16 random bytes as 32 lowercase hex
// characters.
func NewID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form [NewID] gives: 32 lowercase hex
// characters. Only valid IDs are ever used in a path.
func ValidID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
