package dht

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// helloTimeout bounds one hello exchange.
const helloTimeout = 5 * time.Second

// errFrameLength is returned by readFrame for a length prefix out of range.
var errFrameLength = errors.New("frame length out of range")

// writeFrame writes a 4-byte big-endian length and b.
func writeFrame(w io.Writer, b []byte) error {
	buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

// readFrame reads what writeFrame wrote, refusing (before reading the
// body) a length below lo or above hi.
func readFrame(r io.Reader, lo, hi int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("length prefix: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < uint32(lo) || n > uint32(hi) {
		return nil, fmt.Errorf("%w: %d, want %d to %d", errFrameLength, n, lo, hi)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%d-byte body: %w", n, err)
	}
	return b, nil
}

// streamSource names the far end of a stream for logs: its libp2p peer ID
// and address.
func streamSource(st network.Stream) string {
	c := st.Conn()
	return c.RemotePeer().String() + " at " + c.RemoteMultiaddr().String()
}

// hello exchanges records with neighbour id: it sends this device's
// current record (an empty frame before Announce) and takes the
// neighbour's.
func (s *session) hello(id peer.ID) {
	ctx, cancel := context.WithTimeout(s.ctx, helloTimeout)
	defer cancel()
	st, err := s.n.h.NewStream(network.WithNoDial(ctx, "hello a connected neighbour"), id, s.helloProto)
	if err != nil {
		s.p.log.Debug("dht: hello", "peer", id.String(), "err", err)
		return
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.Reset() }) // Close does not wait for a slow neighbour
	defer stop()
	_ = st.SetDeadline(time.Now().Add(helloTimeout))
	if err := writeFrame(st, s.current()); err != nil {
		st.Reset()
		s.p.log.Debug("dht: hello: write", "peer", id.String(), "err", err)
		return
	}
	_ = st.CloseWrite()
	b, err := readFrame(st, 0, MaxRecordSize)
	if err != nil {
		st.Reset()
		s.helloRefused(st, err)
		return
	}
	s.acceptHello(st, b)
}

// handleHello serves a neighbour's hello: its record first, then ours.
func (s *session) handleHello(st network.Stream) {
	select {
	case s.inSem <- struct{}{}:
		defer func() { <-s.inSem }()
	default:
		st.Reset()
		s.p.refuser().refuse("hello", streamSource(st), reasonBusy, fmt.Errorf("%d streams being served", maxInbound))
		return
	}
	_ = st.SetDeadline(time.Now().Add(helloTimeout))
	b, err := readFrame(st, 0, MaxRecordSize)
	if err != nil {
		st.Reset()
		s.helloRefused(st, err)
		return
	}
	if err := writeFrame(st, s.current()); err != nil {
		st.Reset()
		return
	}
	_ = st.Close()
	s.acceptHello(st, b)
}

// helloRefused logs a hello frame that could not be read.
func (s *session) helloRefused(st network.Stream, err error) {
	if s.ctx.Err() != nil {
		return
	}
	reason := reasonShortFrame
	if errors.Is(err, errFrameLength) {
		reason = reasonFrameLength
	}
	s.p.refuser().refuse("hello", streamSource(st), reason, err)
}

// acceptHello checks a neighbour's record (empty: it has not announced)
// and learns it. The record must validate and be the neighbour's own:
// signed by the key of the connection it came over.
func (s *session) acceptHello(st network.Stream, b []byte) {
	if len(b) == 0 {
		return
	}
	src := streamSource(st)
	sr, err := DecodeRecord(b)
	if err == nil {
		err = verifyRecord(Key(sr.Record.ID), sr, time.Now())
	}
	if err != nil {
		s.p.refuser().refuse("hello record", src, recordReason(err), err)
		return
	}
	if pk := st.Conn().RemotePublicKey(); pk == nil || !keyEqual(pk, sr.Cert.Key) {
		s.p.refuser().refuse("hello record", src, reasonNotNeighbour,
			fmt.Errorf("the record of %s is signed by another key than the neighbour's", sr.Record.ID.Short()))
		return
	}
	s.p.learn(sr, b, time.Now())
}

// keyEqual reports whether a libp2p public key is the ed25519 key k.
func keyEqual(pk interface{ Raw() ([]byte, error) }, k []byte) bool {
	raw, err := pk.Raw()
	return err == nil && bytes.Equal(raw, k)
}
