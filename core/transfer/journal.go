package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"syscall"

	"github.com/ferry-p2p/ferry/sdk/ranges"
)

// A journal records which byte ranges of one part file are committed:
// written and fsynced, so a protocol may have acknowledged them. It is a
// framed log (see framelog.go) under the state folder, <id>/<index>.journal,
// holding
//
//	a header record:  'H', file size (int64 LE), file index (uint32 LE)
//	commit records:   'C', offset (int64 LE), length (int64 LE)
//	hash records:     'S', offset (int64 LE), SHA-256 state
//	a closing stamp:  'T', the part file's inode, size, mtime and ctime
//	                  (4 × int64 LE) when it was last closed cleanly
//
// The set of committed ranges is the union of the commit records, so a
// replayed commit changes nothing. A hash record holds the marshalled
// state of a crypto/sha256 digest (encoding.BinaryMarshaler) that has
// hashed the file's bytes [0, offset): it follows, in the same append, the
// commit record that made those bytes committed, so that a reopened part
// need not read the saved prefix back. Only the last hash record counts;
// the part checks it (see openPart) and hashes from the start when it is
// unusable.
//
// Every hash record is kept (one per commit that grew the hashed prefix,
// so about one per commit window), and together they are block hashes:
// the state at offset a, fed the part file's bytes [a, b), must give the
// state saved at b. A part reopened after its process died (no closing
// stamp, or one the part file no longer matches: it was written since)
// checks each block of its committed prefix that way, and forgets the
// blocks that do not match, so that only they are fetched again; see
// Part.checkBlocks. Journals without hash records (from before they existed, or
// of files without an announced SHA-256) are read as before; a receiver
// from before hash records stops reading at the first one, so it resumes
// from an earlier offset, never a wrong one. A journal whose header is missing,
// damaged or for another size is treated as empty: the file starts over.
// On reopen the journal is compacted: rewritten, through a temporary file
// and a rename, to the header and one record per merged range.

const (
	recHeader = 'H'
	recCommit = 'C'
	recHash   = 'S'
	recStamp  = 'T'
)

type journal struct {
	state  *os.Root
	rel    string // e.g. "<id>/3.journal"
	size   int64  // size of the file journaled
	index  int
	log    logFile
	ranges ranges.Set // committed

	// The last hash record: the SHA-256 state after [0, hashOff), or
	// hashState nil.
	hashOff   int64
	hashState []byte
	// Every hash record, by offset: the block hashes.
	states map[int64][]byte
	// The closing stamp, if it is the journal's last record.
	stamp []byte
}

// stampPayload is the closing stamp of a part file whose status is st: it
// changes whenever the file is written (ctime cannot be set back).
func stampPayload(st os.FileInfo) []byte {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	p := []byte{recStamp}
	p = binary.LittleEndian.AppendUint64(p, sys.Ino)
	p = binary.LittleEndian.AppendUint64(p, uint64(st.Size()))
	p = binary.LittleEndian.AppendUint64(p, uint64(st.ModTime().UnixNano()))
	return binary.LittleEndian.AppendUint64(p, uint64(sys.Ctim.Nano()))
}

func hashPayload(off int64, state []byte) []byte {
	p := []byte{recHash}
	p = binary.LittleEndian.AppendUint64(p, uint64(off))
	return append(p, state...)
}

func headerPayload(size int64, index int) []byte {
	p := []byte{recHeader}
	p = binary.LittleEndian.AppendUint64(p, uint64(size))
	return binary.LittleEndian.AppendUint32(p, uint32(index))
}

func commitPayload(off, n int64) []byte {
	p := []byte{recCommit}
	p = binary.LittleEndian.AppendUint64(p, uint64(off))
	return binary.LittleEndian.AppendUint64(p, uint64(n))
}

// openJournal opens the journal rel of a file of size bytes, reading the
// ranges it holds and compacting it. existed is false when there was no
// usable journal, in which case a new, empty one was written.
func openJournal(state *os.Root, rel string, size int64, index int) (j *journal, existed bool, err error) {
	j = &journal{state: state, rel: rel, size: size, index: index, states: map[int64][]byte{}}
	name := displayPath(state, rel)
	f, err := state.OpenFile(native(rel), os.O_RDONLY, 0)
	switch {
	case err == nil:
		existed, err = j.read(f)
		_ = f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("read journal %s: %w", name, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, false, fmt.Errorf("open journal %s: %w", name, err)
	}
	if !existed {
		j.ranges, j.hashState, j.states, j.stamp = nil, nil, map[int64][]byte{}, nil
	}
	if err := j.rewrite(); err != nil {
		return nil, false, err
	}
	return j, existed, nil
}

// read loads the committed ranges of f; ok is false if f has no valid
// header for this file.
func (j *journal) read(f *os.File) (ok bool, err error) {
	want := headerPayload(j.size, j.index)
	if j.states == nil {
		j.states = map[int64][]byte{} // a journal made for reading only (Inbox.Received)
	}
	first := true
	_, err = scanFrames(f, func(p []byte) error {
		if first {
			first = false
			if string(p) != string(want) {
				return errStopScan
			}
			ok = true
			return nil
		}
		if len(p) > 9 && p[0] == recHash {
			off := int64(binary.LittleEndian.Uint64(p[1:]))
			if off < 0 || off > j.size {
				return errStopScan
			}
			j.hashOff, j.hashState = off, slices.Clone(p[9:])
			j.states[off], j.stamp = j.hashState, nil
			return nil
		}
		if len(p) == 33 && p[0] == recStamp {
			j.stamp = slices.Clone(p)
			return nil
		}
		if len(p) != 17 || p[0] != recCommit {
			return errStopScan
		}
		off := int64(binary.LittleEndian.Uint64(p[1:]))
		n := int64(binary.LittleEndian.Uint64(p[9:]))
		if off < 0 || n < 0 || off > j.size || n > j.size-off {
			return errStopScan
		}
		j.ranges.Add(off, off+n)
		j.stamp = nil
		return nil
	})
	return ok, err
}

// rewrite replaces the journal file with a compact one holding j.ranges and
// leaves it open for appending.
func (j *journal) rewrite() error {
	buf := appendFrame(nil, headerPayload(j.size, j.index))
	for _, r := range j.ranges {
		buf = appendFrame(buf, commitPayload(r[0], r[1]-r[0]))
	}
	// The block hashes in order, then the current state last: a reader
	// takes the last hash record as the state to go on from.
	for _, off := range slices.Sorted(maps.Keys(j.states)) {
		if j.hashState == nil || off != j.hashOff {
			buf = appendFrame(buf, hashPayload(off, j.states[off]))
		}
	}
	if j.hashState != nil {
		buf = appendFrame(buf, hashPayload(j.hashOff, j.hashState))
	}
	if j.stamp != nil {
		buf = appendFrame(buf, j.stamp)
	}
	if err := writeFileAtomic(j.state, j.rel, buf); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	f, err := j.state.OpenFile(native(j.rel), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open journal %s: %w", displayPath(j.state, j.rel), err)
	}
	j.log = logFile{f: f, name: "journal " + displayPath(j.state, j.rel), size: int64(len(buf))}
	return nil
}

// commit durably records [off, off+n) as committed and, if state is not
// nil, that state is the SHA-256 state after [0, hashOff): both in one
// append, so one fsync.
func (j *journal) commit(off, n, hashOff int64, state []byte) error {
	buf := appendFrame(nil, commitPayload(off, n))
	if state != nil {
		buf = appendFrame(buf, hashPayload(hashOff, state))
	}
	if err := j.log.append(buf); err != nil {
		return err
	}
	j.ranges.Add(off, off+n)
	j.stamp = nil
	if state != nil {
		j.hashOff, j.hashState = hashOff, state
		j.states[hashOff] = state
	}
	return nil
}

// closeStamp stamps the journal with the part file's status st, which a reopen
// compares to tell whether the part was written since: its process died,
// or something else wrote it.
func (j *journal) closeStamp(st os.FileInfo) error {
	p := stampPayload(st)
	if p == nil {
		return nil
	}
	if err := j.log.append(appendFrame(nil, p)); err != nil {
		return err
	}
	j.stamp = p
	return nil
}

// stamped reports whether the journal's closing stamp matches the part
// file's status st: the part was closed cleanly and not written since.
func (j *journal) stamped(st os.FileInfo) bool {
	return j.stamp != nil && bytes.Equal(j.stamp, stampPayload(st))
}

// forget takes damaged blocks, [off, end) each, out of the committed
// ranges, durably, so that they are fetched again.
func (j *journal) forget(blocks [][2]int64) error {
	for _, b := range blocks {
		j.ranges.Remove(b[0], b[1])
	}
	_ = j.log.close()
	return j.rewrite()
}

// close closes the journal file, keeping it.
func (j *journal) close() error { return j.log.close() }

// discard closes and deletes the journal, without syncing its folder: for
// a file recorded done, whose journal is a mere leftover.
func (j *journal) discard() error {
	_ = j.log.close()
	return removeIfExists(j.state, j.rel)
}

// remove closes and deletes the journal.
func (j *journal) remove() error {
	_ = j.log.close()
	if err := removeIfExists(j.state, j.rel); err != nil {
		return err
	}
	return syncDir(j.state, path.Dir(j.rel))
}
