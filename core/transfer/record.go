package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// Record is what the receiver persisted when it accepted a transfer, so that
// a restarted receiver resumes it.
//
// On disk it is the folder <stateDir>/<ID>/ holding record.json (written once,
// atomically, at Accept), done.log (a framed log, see framelog.go, of the
// files finished: 'D', index uint32 LE, final name; and the SHA-256 the
// sender gave after its offer: 'H', index uint32 LE, 32 bytes), dirs.log (a framed log
// of the folders the transfer created in the receive folder: 'M', name) and
// the journals of the files in progress.
type Record struct {
	// ID is the transfer ID.
	ID string
	// Peer is the sender.
	Peer sdk.PeerID
	// PeerName is the sender's name as shown when the offer was accepted.
	PeerName string
	// Files are the files offered, with sanitised names.
	Files []sdk.FileInfo
	// Accepted is when the offer was accepted.
	Accepted time.Time
	// Done tells, for each file, whether it is received, verified and in
	// place.
	Done []bool
	// Final holds, for each done file, its final path relative to the
	// receive folder (with forward slashes): its name, or "name (1).ext"
	// and so on if the name was taken. It is "" for files not done.
	Final []string
	// Renamed maps a top-level folder of the offer to the folder its files
	// go into instead, because the name was taken in the receive folder
	// when the transfer was accepted ("photos" -> "photos (1)"). Chosen
	// once, at Accept, and kept in the record, so a resume goes on in the
	// same folder. Nil for most transfers.
	Renamed map[string]string
	// Refused holds, by index, the files refused on their own when the
	// transfer was accepted, with the reason: names the receiving file
	// system cannot hold. They count as settled; nothing is written for
	// them. Nil for most transfers.
	Refused map[int]string
	// Link is the connection the transfer last ran on (link.json beside
	// record.json); zero before the first connection is recorded.
	Link Link
}

// Dest returns where file i of the record goes, relative to the receive
// folder: its name, with its top-level folder replaced as Renamed says.
// The final name may still differ ("a (1).txt") if Dest is taken.
func (r Record) Dest(i int) string {
	name := r.Files[i].Name
	if top, rest, ok := strings.Cut(name, "/"); ok {
		if to, ok := r.Renamed[top]; ok {
			return to + "/" + rest
		}
	}
	return name
}

// Complete reports whether every file of the record is done or refused.
func (r Record) Complete() bool {
	for i, d := range r.Done {
		if _, refused := r.Refused[i]; !d && !refused {
			return false
		}
	}
	return true
}

// clone returns a deep copy of r.
func (r Record) clone() Record {
	c := r
	c.Files = make([]sdk.FileInfo, len(r.Files))
	for i, f := range r.Files {
		f.SHA256 = bytes.Clone(f.SHA256)
		c.Files[i] = f
	}
	c.Done = slices.Clone(r.Done)
	c.Final = slices.Clone(r.Final)
	c.Renamed = maps.Clone(r.Renamed)
	c.Refused = maps.Clone(r.Refused)
	return c
}

// File names inside a transfer's state folder.
const (
	recordFile  = "record.json"
	doneLogFile = "done.log"
	dirsLogFile = "dirs.log"
	recDone     = 'D'
	recDir      = 'M'
	recDoneHash = 'S'
	// recordVersion is the format of record.json.
	recordVersion = 1
	// maxRecordSize bounds what loadRecord reads: MaxFiles names of at most
	// MaxNameLen bytes, and a little for the rest, is far less.
	maxRecordSize = 1 << 30
)

type recordJSON struct {
	Version  int        `json:"version"`
	ID       string     `json:"id"`
	Peer     sdk.PeerID `json:"peer"`
	PeerName string     `json:"peer_name,omitempty"`
	Accepted time.Time  `json:"accepted"`
	Files    []fileJSON `json:"files"`
	// Renamed is Record.Renamed (absent in records of earlier versions,
	// which is read as no folder renamed).
	Renamed map[string]string `json:"renamed,omitempty"`
	// Refused is Record.Refused (absent in earlier records).
	Refused map[int]string `json:"refused,omitempty"`
}

type fileJSON struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	MediaType string    `json:"media_type,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	ModTime   time.Time `json:"mod_time,omitzero"`
	Mode      uint32    `json:"mode,omitempty"`
}

func recordRel(id string) string  { return id + "/" + recordFile }
func doneLogRel(id string) string { return id + "/" + doneLogFile }
func dirsLogRel(id string) string { return id + "/" + dirsLogFile }
func journalRel(id string, index int) string {
	return fmt.Sprintf("%s/%d.journal", id, index)
}

// saveRecord writes the record's record.json in state, creating its folder.
func saveRecord(state *os.Root, r Record) error {
	rj := recordJSON{Version: recordVersion, ID: r.ID, Peer: r.Peer, PeerName: r.PeerName, Accepted: r.Accepted, Renamed: r.Renamed, Refused: r.Refused}
	rj.Files = make([]fileJSON, len(r.Files))
	for i, f := range r.Files {
		rj.Files[i] = fileJSON{Name: f.Name, Size: f.Size, MediaType: f.MediaType, SHA256: hex.EncodeToString(f.SHA256), ModTime: f.ModTime, Mode: uint32(f.Mode.Perm())}
	}
	data, err := json.Marshal(rj)
	if err != nil {
		return fmt.Errorf("save transfer %s: %w", r.ID, err)
	}
	if err := state.Mkdir(r.ID, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("save transfer %s: %w", r.ID, err)
	}
	if err := syncDir(state, "."); err != nil {
		return fmt.Errorf("save transfer %s: %w", r.ID, err)
	}
	if err := writeFileAtomic(state, recordRel(r.ID), data); err != nil {
		return fmt.Errorf("save transfer %s: %w", r.ID, err)
	}
	return nil
}

// loadRecord reads the record of transfer id from state, with the files done
// so far, and the length of the valid prefix of its done log. A missing
// record gives an error wrapping sdk.ErrNotFound.
func loadRecord(state *os.Root, id string) (r Record, doneLen int64, err error) {
	if !ValidID(id) {
		return r, 0, fmt.Errorf("transfer %q: %w", id, sdk.ErrNotFound)
	}
	f, err := state.Open(native(recordRel(id)))
	if errors.Is(err, fs.ErrNotExist) {
		return r, 0, fmt.Errorf("transfer %s: %w", id, sdk.ErrNotFound)
	}
	if err != nil {
		return r, 0, fmt.Errorf("load transfer %s: %w", id, err)
	}
	defer f.Close()
	var rj recordJSON
	dec := json.NewDecoder(&limitedReader{f, maxRecordSize})
	if err := dec.Decode(&rj); err != nil {
		return r, 0, fmt.Errorf("load transfer %s: %s: %w", id, displayPath(state, recordRel(id)), err)
	}
	if rj.Version != recordVersion || rj.ID != id {
		return r, 0, fmt.Errorf("load transfer %s: %s: version %d, id %q: not a transfer record of this version",
			id, displayPath(state, recordRel(id)), rj.Version, rj.ID)
	}
	// The state folder is ours, but check the record as if it came from
	// the wire: its names become paths.
	offer := sdk.Offer{TransferID: id, Files: make([]sdk.FileInfo, len(rj.Files))}
	for i, fj := range rj.Files {
		sum, err := hex.DecodeString(fj.SHA256)
		if err != nil {
			return r, 0, fmt.Errorf("load transfer %s: file %d: sha256: %w", id, i, err)
		}
		offer.Files[i] = sdk.FileInfo{Name: fj.Name, Size: fj.Size, MediaType: fj.MediaType, SHA256: sum, ModTime: fj.ModTime, Mode: os.FileMode(fj.Mode).Perm()}
	}
	files, refused, err := checkOffer(offer, MaxComponentLen)
	if err != nil {
		return r, 0, fmt.Errorf("load transfer %s: %s: %w", id, displayPath(state, recordRel(id)), err)
	}
	if rj.Peer.IsZero() {
		return r, 0, fmt.Errorf("load transfer %s: %s: no peer", id, displayPath(state, recordRel(id)))
	}
	for from, to := range rj.Renamed {
		if err := checkRenamed(from, to); err != nil {
			return r, 0, fmt.Errorf("load transfer %s: %s: %w", id, displayPath(state, recordRel(id)), err)
		}
	}
	for i, why := range rj.Refused {
		if i < 0 || i >= len(files) {
			return r, 0, fmt.Errorf("load transfer %s: %s: refused file %d of %d", id, displayPath(state, recordRel(id)), i, len(files))
		}
		if refused == nil {
			refused = map[int]string{}
		}
		refused[i] = why
	}
	r = Record{ID: id, Peer: rj.Peer, PeerName: rj.PeerName, Files: files, Accepted: rj.Accepted,
		Done: make([]bool, len(files)), Final: make([]string, len(files)), Renamed: rj.Renamed, Refused: refused}
	doneLen, err = loadDone(state, &r)
	if err != nil {
		return r, 0, err
	}
	// The link only informs `ferry status`: a damaged one is shown as
	// none rather than making the transfer unresumable.
	r.Link, _ = loadLink(state, id)
	return r, doneLen, nil
}

// loadDone replays the done log of r into r.Done and r.Final, truncating a
// torn tail, and returns the log's valid length.
func loadDone(state *os.Root, r *Record) (int64, error) {
	rel := doneLogRel(r.ID)
	f, err := state.OpenFile(native(rel), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load transfer %s: %w", r.ID, err)
	}
	defer f.Close()
	valid, err := scanFrames(f, func(p []byte) error {
		if len(p) == 5+sha256.Size && p[0] == recDoneHash {
			// A hash the sender gave after its offer (Incoming.SetHash).
			i := int(binary.LittleEndian.Uint32(p[1:]))
			if i >= len(r.Files) {
				return errStopScan
			}
			if len(r.Files[i].SHA256) == 0 {
				r.Files[i].SHA256 = bytes.Clone(p[5:])
			}
			return nil
		}
		if len(p) < 6 || p[0] != recDone {
			return errStopScan
		}
		i := int(binary.LittleEndian.Uint32(p[1:]))
		final := string(p[5:])
		if i >= len(r.Files) {
			return errStopScan
		}
		if _, err := SanitizeName(final); err != nil {
			return errStopScan
		}
		r.Done[i], r.Final[i] = true, final
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("load transfer %s: read %s: %w", r.ID, displayPath(state, rel), err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > valid {
		if err := f.Truncate(valid); err != nil {
			return 0, fmt.Errorf("load transfer %s: truncate torn %s: %w", r.ID, displayPath(state, rel), err)
		}
	}
	return valid, nil
}

// hashRecPayload is the done-log record of file index's SHA-256, given by
// the sender after its offer.
func hashRecPayload(index int, sum []byte) []byte {
	p := []byte{recDoneHash}
	p = binary.LittleEndian.AppendUint32(p, uint32(index))
	return append(p, sum...)
}

// donePayload is the done-log record of file index, placed at final.
func donePayload(index int, final string) []byte {
	p := []byte{recDone}
	p = binary.LittleEndian.AppendUint32(p, uint32(index))
	return append(p, final...)
}

// limitedReader is io.LimitReader that fails, rather than ends, at the limit.
type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%s: larger than %d bytes", l.f.Name(), int64(maxRecordSize))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}
