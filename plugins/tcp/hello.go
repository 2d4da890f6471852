package tcp

import (
	"fmt"
)

// makeHello builds the hello an initiator sends: magic, version, token.
func makeHello(token [tokenLen]byte) [helloLen]byte {
	var h [helloLen]byte
	copy(h[:], helloMagic)
	h[len(helloMagic)] = helloVersion
	copy(h[len(helloMagic)+1:], token[:])
	return h
}

// parseHello checks a hello and returns its token.
func parseHello(b []byte) ([tokenLen]byte, error) {
	var token [tokenLen]byte
	switch {
	case len(b) != helloLen:
		return token, fmt.Errorf("hello of %d bytes, want %d", len(b), helloLen)
	case string(b[:len(helloMagic)]) != helloMagic:
		return token, fmt.Errorf("bad magic %q, want %q", b[:len(helloMagic)], helloMagic)
	case b[len(helloMagic)] != helloVersion:
		return token, fmt.Errorf("hello version %d, want %d", b[len(helloMagic)], helloVersion)
	}
	copy(token[:], b[len(helloMagic)+1:])
	return token, nil
}
