package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A framed log is a file of records, each framed as
//
//	length  uint32, little endian: length of payload
//	crc     uint32, little endian: CRC-32C (Castagnoli) of payload
//	payload length bytes
//
// Records are appended and fsynced one batch at a time. A crash mid-append
// leaves a torn last record: too short, or failing its CRC. Readers stop at
// the first such record and ignore everything after it; writers then
// truncate the file there so that new records follow a valid one.

const (
	frameHeaderLen = 8
	// maxFramePayload bounds a record; larger lengths mark a corrupt frame.
	maxFramePayload = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends payload, framed, to buf.
func appendFrame(buf, payload []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(payload, castagnoli))
	return append(buf, payload...)
}

// scanFrames calls fn with the payload of each whole, intact record of r in
// order, and returns the length of that valid prefix. It stops without error
// at a torn or corrupt record, or when fn returns errStopScan; other errors
// (from reading or from fn) are returned. fn must not keep payload.
func scanFrames(r io.Reader, fn func(payload []byte) error) (valid int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [frameHeaderLen]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return valid, nil
			}
			return valid, err
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > maxFramePayload {
			return valid, nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return valid, nil
			}
			return valid, err
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return valid, nil
		}
		if err := fn(payload); err != nil {
			if errors.Is(err, errStopScan) {
				return valid, nil
			}
			return valid, err
		}
		valid += frameHeaderLen + int64(n)
	}
}

// errStopScan, returned by a scanFrames callback, ends the scan at the
// record before the one it was given, as if that record were corrupt.
var errStopScan = errors.New("stop scan")

// logFile is an open framed log that records are appended to.
type logFile struct {
	f    *os.File
	name string // for errors
	size int64  // length of the valid prefix; the next record goes here
}

// append writes the framed records in frames at the end of the valid prefix
// and fsyncs the file. On failure the valid prefix is unchanged (the next
// append overwrites what this one left) and the file is truncated back to
// it, best effort.
func (l *logFile) append(frames []byte) error {
	if _, err := l.f.WriteAt(frames, l.size); err != nil {
		_ = l.f.Truncate(l.size)
		return fmt.Errorf("append to %s: %w", l.name, err)
	}
	if err := l.f.Sync(); err != nil {
		_ = l.f.Truncate(l.size)
		return fmt.Errorf("sync %s: %w", l.name, err)
	}
	l.size += int64(len(frames))
	return nil
}

// appendUnsynced is append without the fsync: the records become durable
// with the next append that syncs (or are lost in a crash before it).
func (l *logFile) appendUnsynced(frames []byte) error {
	if _, err := l.f.WriteAt(frames, l.size); err != nil {
		_ = l.f.Truncate(l.size)
		return fmt.Errorf("append to %s: %w", l.name, err)
	}
	l.size += int64(len(frames))
	return nil
}

// close closes the file.
func (l *logFile) close() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", l.name, err)
	}
	return nil
}
