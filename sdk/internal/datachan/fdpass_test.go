package datachan

import (
	"syscall"
	"testing"
)

// FuzzParseFDMessage feeds arbitrary bodies and control data to the
// descriptor-message parser: it must refuse what it cannot use, never panic.
func FuzzParseFDMessage(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0}, []byte{})
	f.Add([]byte{1, 2, 3}, []byte{16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body, oob []byte) {
		if len(oob) >= syscall.SizeofCmsghdr {
			// Never let the fuzzer name real descriptors of this process.
			oob = oob[:syscall.SizeofCmsghdr]
		}
		c, _, err := parseFDMessage(body, oob)
		if err == nil && c != nil {
			t.Fatalf("accepted a message without a descriptor: body %x oob %x", body, oob)
		}
	})
}

func TestParseFDMessageRefusesNoDescriptor(t *testing.T) {
	if _, _, err := parseFDMessage([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0}, nil); err == nil {
		t.Fatal("a message with no descriptor was accepted")
	}
}
