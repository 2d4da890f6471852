package datachan

import (
	"io"
	"net"
	"sync"
)

// pumpBuffer is each direction's copy buffer: large, so that a plugin
// writing 256 KiB at a time is read in one call and TLS gets full records.
const pumpBuffer = 256 << 10

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }

// pump copies both ways between a and b until both directions end. It is
// the one byte pump of the data channel: between a plugin's stream and its
// yamux twin, and between the host's stream and its end of a socketpair.
//
// When one side's reads end, the other side is half-closed: CloseWrite when
// it has one, else Close (a raw yamux stream's Close is its half-close, a
// FIN). When a write fails (that side broke), the broken side is closed, to
// stop the other direction reading it, and the other side is still read to
// its end, so that its writer never blocks: yamux has no reset, so a writer
// into a yamux stream learns of the break only from its read side.
func pump(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	one := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, pumpBuffer)
		if _, err := io.CopyBuffer(dst, onlyReader{src}, buf); err != nil {
			// Unblock the other direction's reader of dst, then drain src.
			_ = dst.Close()
			_, _ = io.Copy(io.Discard, src)
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go one(a, b)
	go one(b, a)
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}
