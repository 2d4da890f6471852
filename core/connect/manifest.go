package connect

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// An ASK whose file list would make it large carries a [Summary] in
// ferry.manifest instead of its files; the full list (the manifest)
// follows on the secure stream once the connection is made, before the
// protocol starts, and the receiver checks it against the summary before
// anything is written. Small offers keep the seed's message as it is.
//
// The manifest is one [File] object (the ASK's file entry) per line, JSON,
// each line ending in "\n"; an empty folder is a line {"folder": NAME}. On the stream it is framed as an 8-byte
// big-endian length and the bytes; the receiver answers with one verdict:
// a byte (0 accepted, 1 refused), a 4-byte big-endian length and either
// the reason (refused) or a JSON [Verdict] (accepted).

// InlineFilesMax is the most bytes an ASK's encoded file list may take;
// an offer whose list is longer is announced by a summary.
const InlineFilesMax = 24 << 10

// summaryTopMax is how many top-level names a summary lists.
const summaryTopMax = 16

// MaxManifestBytes bounds a manifest: [maxFiles] entries of at most a
// name's length and their other fields.
const MaxManifestBytes = 256 << 20

// maxManifestLine bounds one line of a manifest.
const maxManifestLine = maxNameLen + 512

// ErrBadManifest is wrapped by every error about a manifest that does not
// match its summary or does not parse.
var ErrBadManifest = errors.New("bad manifest")

// Summary is what an ASK says of a manifest that follows on the stream.
type Summary struct {
	// Files is the number of files in the manifest.
	Files int `json:"files"`
	// Folders is the number of empty folders in it.
	Folders int `json:"folders,omitempty"`
	// Size is the sum of the files' sizes.
	Size int64 `json:"size"`
	// Top lists the first top-level names of the files (the first part of
	// each name), in manifest order, at most 16; TopCount says how many
	// there are in all.
	Top      []string `json:"top"`
	TopCount int      `json:"top_count"`
	// Bytes is the manifest's length and SHA256 its hex SHA-256.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

func (s *Summary) check() error {
	switch {
	case s.Files < 1 || s.Files > maxFiles:
		return fmt.Errorf("%d files, want 1..%d", s.Files, maxFiles)
	case s.Folders < 0 || s.Folders > maxFiles:
		return fmt.Errorf("%d folders, want 0..%d", s.Folders, maxFiles)
	case s.Size < 0:
		return fmt.Errorf("size %d", s.Size)
	case s.Bytes < 1 || s.Bytes > MaxManifestBytes:
		return fmt.Errorf("manifest of %d bytes, want 1..%d", s.Bytes, MaxManifestBytes)
	case len(s.Top) > summaryTopMax || s.TopCount < len(s.Top) || s.TopCount > s.Files:
		return fmt.Errorf("%d top-level names of %d listed", len(s.Top), s.TopCount)
	}
	for _, t := range s.Top {
		if t == "" || len(t) > maxNameLen {
			return fmt.Errorf("top-level name of %d bytes", len(t))
		}
		// Shown in a prompt: no control characters.
		if strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }) {
			return fmt.Errorf("top-level name %q holds a control character", t)
		}
	}
	if sum, err := hex.DecodeString(s.SHA256); err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("sha256 %q is not a hex SHA-256", s.SHA256)
	}
	return nil
}

// Manifest is an offer's file list encoded for the stream, with the
// summary an ASK carries for it.
type Manifest struct {
	Bytes   []byte
	Summary Summary
}

// folderLine is a manifest line of an empty folder.
type folderLine struct {
	Folder string `json:"folder"`
}

// NeedsManifest reports whether the offer's files and empty folders are too
// many to list in an ASK, so that it carries a summary and the manifest
// follows.
func NeedsManifest(o sdk.Offer, folders []string) bool {
	n := 2
	for _, d := range folders {
		n += len(d) + 3
	}
	for _, f := range FilesOf(o) {
		if n > InlineFilesMax {
			return true
		}
		b, _ := json.Marshal(f)
		n += len(b) + 1
	}
	return n > InlineFilesMax
}

// NewManifest encodes the offer's files and empty folders and summarises
// them.
func NewManifest(o sdk.Offer, folders []string) (*Manifest, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	s := Summary{Files: len(o.Files), Folders: len(folders)}
	seen := map[string]bool{}
	for _, f := range FilesOf(o) {
		if err := enc.Encode(f); err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
	}
	for _, d := range folders {
		if err := enc.Encode(folderLine{d}); err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
	}
	names := make([]string, 0, len(o.Files)+len(folders))
	for _, f := range o.Files {
		s.Size += f.Size
		names = append(names, f.Name)
	}
	for _, name := range append(names, folders...) {
		top, _, _ := strings.Cut(name, "/")
		if !seen[top] {
			seen[top] = true
			if len(s.Top) < summaryTopMax {
				s.Top = append(s.Top, top)
			}
		}
	}
	s.TopCount = len(seen)
	sum := sha256.Sum256(buf.Bytes())
	s.Bytes, s.SHA256 = int64(buf.Len()), hex.EncodeToString(sum[:])
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &Manifest{Bytes: buf.Bytes(), Summary: s}, nil
}

// DecodeManifest reads a manifest of exactly s.Bytes bytes from r and
// checks it against the summary: its SHA-256, its file and folder counts
// and total size, and each entry. It reads no more than s.Bytes bytes, and
// holds one line at a time besides the files and folders it returns.
// Errors wrap [ErrBadManifest].
func DecodeManifest(r io.Reader, s Summary) ([]sdk.FileInfo, []string, error) {
	if err := s.check(); err != nil {
		return nil, nil, fmt.Errorf("%w: summary: %v", ErrBadManifest, err)
	}
	files, folders, err := decodeManifest(r, s)
	if err != nil {
		return nil, nil, err
	}
	return files, folders, nil
}

func decodeManifest(r io.Reader, s Summary) ([]sdk.FileInfo, []string, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(io.LimitReader(r, s.Bytes), h), 64<<10)
	files := make([]sdk.FileInfo, 0, min(s.Files, 4096))
	var folders []string
	var total int64
	var read int64
	for line := 1; ; line++ {
		b, err := readLine(br, maxManifestLine)
		read += int64(len(b))
		if err == io.EOF && len(b) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("%w: line %d: %v", ErrBadManifest, line, err)
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			return nil, nil, fmt.Errorf("%w: line %d does not end the line", ErrBadManifest, line)
		}
		var f struct {
			File
			Folder *string `json:"folder"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %v", ErrBadManifest, line, err)
		}
		if f.Folder != nil {
			if len(folders) == s.Folders {
				return nil, nil, fmt.Errorf("%w: more than the %d folders announced", ErrBadManifest, s.Folders)
			}
			if *f.Folder == "" || len(*f.Folder) > maxNameLen || f.Name != "" {
				return nil, nil, fmt.Errorf("%w: line %d: a folder of %d bytes", ErrBadManifest, line, len(*f.Folder))
			}
			folders = append(folders, *f.Folder)
			continue
		}
		if len(files) == s.Files {
			return nil, nil, fmt.Errorf("%w: more than the %d files announced", ErrBadManifest, s.Files)
		}
		fi, err := f.info()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %v", ErrBadManifest, line, err)
		}
		total += fi.Size
		if fi.Size > s.Size || total > s.Size {
			return nil, nil, fmt.Errorf("%w: files of more than the %d bytes announced", ErrBadManifest, s.Size)
		}
		files = append(files, fi)
	}
	if read != s.Bytes {
		return nil, nil, fmt.Errorf("%w: %d bytes, %d announced", ErrBadManifest, read, s.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
		return nil, nil, fmt.Errorf("%w: SHA-256 %s does not match the %s the ASK announced", ErrBadManifest, got[:16], s.SHA256[:16])
	}
	if len(files) != s.Files || total != s.Size || len(folders) != s.Folders {
		return nil, nil, fmt.Errorf("%w: %d files of %d bytes and %d folders, %d files of %d bytes and %d folders announced", ErrBadManifest, len(files), total, len(folders), s.Files, s.Size, s.Folders)
	}
	return files, folders, nil
}

// readLine reads up to and including the next "\n", refusing a line longer
// than limit.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		b, err := br.ReadSlice('\n')
		out = append(out, b...)
		if len(out) > limit {
			return nil, fmt.Errorf("a line longer than %d bytes", limit)
		}
		if err != bufio.ErrBufferFull {
			return out, err
		}
	}
}

// Verdict is a receiver's acceptance of a manifest.
type Verdict struct {
	// Token is the transfer token issued for the manifest's files.
	Token string `json:"token"`
	// Refused lists the files refused on their own, as in an ACCEPT.
	Refused []Refusal `json:"refused,omitempty"`
}

// maxVerdict bounds a verdict: a token and a reason for many files.
const maxVerdict = 64 << 20

// WriteManifest sends m on the stream (sender's side, before the protocol
// starts) and waits for the receiver's verdict: its acceptance (the
// transfer token it issued for the manifest's files, and the files it
// refuses on their own), or an error wrapping [sdk.ErrRefused] with its
// reason. The verdict is read while the manifest is written, since a
// receiver may refuse it from its header and read no further; the write is
// then stopped through rw's write deadline.
func WriteManifest(rw io.ReadWriter, m *Manifest) (*Verdict, error) {
	werr := make(chan error, 1)
	go func() { werr <- writeFrame(rw, m.Bytes) }()
	var v [5]byte
	_, err := io.ReadFull(rw, v[:])
	var text []byte
	if err == nil {
		n := binary.BigEndian.Uint32(v[1:])
		if n > maxVerdict {
			err = fmt.Errorf("a verdict of %d bytes", n)
		} else {
			text = make([]byte, n)
			_, err = io.ReadFull(rw, text)
		}
	}
	if err == nil && v[0] != 0 {
		// Refused: the receiver may not read the rest.
		if d, ok := rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = d.SetWriteDeadline(time.Unix(1, 0))
		}
	}
	wrote := <-werr
	switch {
	case err != nil && wrote != nil:
		return nil, fmt.Errorf("send manifest: %w", wrote)
	case err != nil:
		return nil, fmt.Errorf("manifest sent; no verdict from the receiver: %w", err)
	case v[0] == 1:
		return nil, fmt.Errorf("the receiver refused the manifest: %s: %w", text, sdk.ErrRefused)
	case v[0] != 0:
		return nil, fmt.Errorf("manifest sent; unknown verdict %d from the receiver", v[0])
	case wrote != nil:
		return nil, fmt.Errorf("send manifest: %w", wrote)
	}
	var ok Verdict
	if err := json.Unmarshal(text, &ok); err != nil {
		return nil, fmt.Errorf("manifest accepted; its verdict does not parse: %w", err)
	}
	for _, r := range ok.Refused {
		if r.File < 0 || r.File >= m.Summary.Files {
			return nil, fmt.Errorf("manifest accepted; the verdict refuses file %d of %d", r.File, m.Summary.Files)
		}
	}
	return &ok, nil
}

// writeFrame writes b after its 8-byte length.
func writeFrame(w io.Writer, b []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(len(b), 1<<20)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// ReadManifest reads the manifest the sender sends on the stream
// (receiver's side), checked against s by [DecodeManifest]. A length other
// than the one announced is refused from the frame's header, before the
// manifest is read. The caller answers with [AnswerManifest].
func ReadManifest(r io.Reader, s Summary) ([]sdk.FileInfo, []string, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("read manifest: %w", err)
	}
	if n := binary.BigEndian.Uint64(hdr[:]); n != uint64(s.Bytes) {
		return nil, nil, fmt.Errorf("%w: %d bytes long, the ASK announced %d", ErrBadManifest, n, s.Bytes)
	}
	return DecodeManifest(r, s)
}

// AnswerManifest gives the sender the verdict on its manifest: refused
// for that reason when refuse is not "", else accepted with ok.
func AnswerManifest(w io.Writer, ok Verdict, refuse string) error {
	var text []byte
	if refuse != "" {
		text = []byte(refuse[:min(len(refuse), 4096)])
	} else {
		var err error
		if text, err = json.Marshal(ok); err != nil {
			return fmt.Errorf("answer manifest: %w", err)
		}
		if len(text) > maxVerdict {
			return fmt.Errorf("answer manifest: a verdict of %d bytes", len(text))
		}
	}
	b := make([]byte, 5, 5+len(text))
	if refuse != "" {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(text)))
	b = append(b, text...)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("answer manifest: %w", err)
	}
	return nil
}
