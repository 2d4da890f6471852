package datachan

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// OpenStream opens a stream to the other side with nothing behind it here:
// the returned conn is this side's end.
func (dc *Channel) OpenStream() (uint64, net.Conn, error) {
	id := dc.newID()
	s, err := dc.openWithID(id)
	if err != nil {
		return 0, nil, err
	}
	return id, &muxStream{Stream: s}, nil
}

// openWithID opens a yamux stream and writes its id, the 8-byte big-endian
// header every data-channel stream begins with.
func (dc *Channel) openWithID(id uint64) (*yamux.Stream, error) {
	s, err := dc.sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("data channel: open stream: %w", err)
	}
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], id)
	if _, err := s.Write(hdr[:]); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("data channel: stream header: %w", err)
	}
	return s, nil
}

// acceptStreams delivers each stream the other side opens under the id in
// its header, until the session ends.
func (dc *Channel) acceptStreams() {
	for {
		s, err := dc.sess.AcceptStream()
		if err != nil {
			dc.Close()
			return
		}
		go func() {
			var hdr [8]byte
			_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(s, hdr[:]); err != nil {
				_ = s.Close()
				return
			}
			_ = s.SetReadDeadline(time.Time{})
			dc.deliver(binary.BigEndian.Uint64(hdr[:]), &muxStream{Stream: s})
		}()
	}
}

// muxStream adapts a yamux stream to sdk.Stream: yamux's Close is a
// half-close, so CloseWrite maps to it and Close also stops reading.
type muxStream struct {
	*yamux.Stream
	once sync.Once
	mu   sync.Mutex
	wdl  time.Time // write deadline; yamux only checks it when it must wait
}

// Write honours a past write deadline even when the window has room.
func (m *muxStream) Write(b []byte) (int, error) {
	m.mu.Lock()
	dl := m.wdl
	m.mu.Unlock()
	if !dl.IsZero() && !time.Now().Before(dl) {
		return 0, os.ErrDeadlineExceeded
	}
	return m.Stream.Write(b)
}

// SetWriteDeadline sets the write deadline.
func (m *muxStream) SetWriteDeadline(t time.Time) error {
	m.mu.Lock()
	m.wdl = t
	m.mu.Unlock()
	return m.Stream.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (m *muxStream) SetDeadline(t time.Time) error {
	if err := m.SetWriteDeadline(t); err != nil {
		return err
	}
	return m.Stream.SetReadDeadline(t)
}

// CloseWrite sends FIN; reading goes on.
func (m *muxStream) CloseWrite() error { return m.Stream.Close() }

// Close ends both directions.
func (m *muxStream) Close() error {
	var err error
	m.once.Do(func() {
		err = m.Stream.Close()
		// Unblock readers: yamux keeps the read side open after FIN.
		_ = m.Stream.SetReadDeadline(time.Unix(1, 0))
	})
	return err
}
