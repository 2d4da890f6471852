package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// LocalFile is one file the sender offers.
type LocalFile struct {
	// Path is the file's absolute local path.
	Path string
	// Info is what is offered: Info.Name is the wire name.
	Info sdk.FileInfo

	scanned os.FileInfo // as Scan saw it, to tell a replaced file
}

// Manifest is the sender's list of files, as [Scan] made it.
type Manifest struct {
	// Files are the files to send, in offer order.
	Files []LocalFile
	// Skipped lists what was found but is not sent, one "path: reason"
	// each: symbolic links, devices, sockets and pipes, files whose names
	// a receiver would refuse, and folders or files that cannot be read.
	Skipped []string
	// Folders are the wire names of the folders under the paths given
	// that hold no file to send, nor such a folder: the receiver makes
	// them (their parents come with them), so that empty folders arrive.
	Folders []string
}

// hashBuf is the read size when hashing.
const hashBuf = 1 << 20

// Scan walks paths and returns the files to send. A regular file becomes one
// file named by its base name; a directory D becomes every regular file
// under it, named "base(D)/rel/path" with forward slashes, in lexical order
// of those names. Symbolic links (also as paths given) and special files are
// not followed but listed in Skipped, as are files whose names
// [SanitizeName] would refuse and entries that cannot be read.
//
// Scan fills each file's Size, ModTime, MediaType (by extension with
// mime.TypeByExtension, else sniffed with http.DetectContentType from the
// first 512 bytes, and application/octet-stream for an empty file) and
// SHA256 (32 bytes). Two files with the same wire name, or one named as a
// folder of another, are an error, as is a file that changes while it is
// hashed. hashed, if not nil, is called as each file is hashed with the
// bytes of it done and its size.
func Scan(ctx context.Context, paths []string, hashed func(name string, done, total int64)) (*Manifest, error) {
	return ScanWith(ctx, paths, ScanOptions{Hashed: hashed})
}

// ScanOptions change what [ScanWith] does beyond [Scan].
type ScanOptions struct {
	// Hashed, if not nil, is called as each file is hashed.
	Hashed func(name string, done, total int64)
	// Cache, if not nil, gives the SHA-256 of files it knows unchanged,
	// which are then not read; files hashed are stored in it.
	Cache *HashCache
	// Defer leaves SHA256 unset for the files the cache does not know, so
	// the offer can go out at once: they are hashed as they are sent (see
	// [Manifest.HashMissing] for a transfer that resumes).
	Defer bool
}

// ScanWith is [Scan] with options: a hash cache, and hashing deferred.
func ScanWith(ctx context.Context, paths []string, opts ScanOptions) (*Manifest, error) {
	m := &Manifest{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		if err := m.collect(p); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
	}
	if err := m.checkNames(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	kept := m.Files[:0]
	for _, lf := range m.Files {
		err := lf.prepare(ctx, opts)
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s: %v", lf.Path, err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		kept = append(kept, lf)
	}
	m.Files = kept
	return m, nil
}

// collect adds path p: a file, or the files under a folder.
func (m *Manifest) collect(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	base := filepath.Base(abs)
	switch {
	case st.Mode().IsRegular():
		m.add(abs, base, st)
		return nil
	case !st.IsDir():
		m.Skipped = append(m.Skipped, fmt.Sprintf("%s: %s", abs, kind(st.Mode())))
		return nil
	}
	var found []LocalFile
	var dirs []string
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == abs {
				return err
			}
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s: %v", path, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			rel, err := filepath.Rel(abs, path)
			if err != nil {
				return err
			}
			name := base
			if rel != "." {
				name += "/" + filepath.ToSlash(rel)
			}
			if _, err := SanitizeName(name); err != nil {
				m.Skipped = append(m.Skipped, fmt.Sprintf("%s: a receiver would refuse it: %v", path, err))
				return fs.SkipDir
			}
			dirs = append(dirs, name)
			return nil
		}
		if !d.Type().IsRegular() {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s: %s", path, kind(d.Type())))
			return nil
		}
		info, err := d.Info()
		if err != nil {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s: %v", path, err))
			return nil
		}
		rel, err := filepath.Rel(abs, path)
		if err != nil {
			return err
		}
		name := base + "/" + filepath.ToSlash(rel)
		if _, err := SanitizeName(name); err != nil {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s: a receiver would refuse it: %v", path, err))
			return nil
		}
		found = append(found, LocalFile{Path: path, Info: sdk.FileInfo{Name: name, Size: info.Size(), ModTime: info.ModTime(), Mode: info.Mode().Perm()}, scanned: info})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b LocalFile) int { return strings.Compare(a.Info.Name, b.Info.Name) })
	m.Files = append(m.Files, found...)
	m.Folders = append(m.Folders, emptyFolders(dirs, found)...)
	return nil
}

// emptyFolders returns the folders of dirs under which no file of found
// lies, nor another folder of dirs: the ones the receiver must make
// itself, in lexical order.
func emptyFolders(dirs []string, found []LocalFile) []string {
	holds := map[string]bool{} // folders with something under them
	mark := func(name string) {
		for i := len(name) - 1; i > 0; i-- {
			if name[i] == '/' {
				if holds[name[:i]] {
					return
				}
				holds[name[:i]] = true
			}
		}
	}
	for _, lf := range found {
		mark(lf.Info.Name)
	}
	for _, d := range dirs {
		mark(d)
	}
	var out []string
	for _, d := range dirs {
		if !holds[d] {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// add adds the regular file abs under the wire name name, or skips it if a
// receiver would refuse the name.
func (m *Manifest) add(abs, name string, st os.FileInfo) {
	if _, err := SanitizeName(name); err != nil {
		m.Skipped = append(m.Skipped, fmt.Sprintf("%s: a receiver would refuse it: %v", abs, err))
		return
	}
	m.Files = append(m.Files, LocalFile{Path: abs, Info: sdk.FileInfo{Name: name, Size: st.Size(), ModTime: st.ModTime(), Mode: st.Mode().Perm()}, scanned: st})
}

// kind describes a file that is not sent.
func kind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		return "symbolic link, not followed"
	case mode&fs.ModeDevice != 0:
		return "device, not sent"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe, not sent"
	case mode&fs.ModeSocket != 0:
		return "socket, not sent"
	default:
		return fmt.Sprintf("special file (%v), not sent", mode.Type())
	}
}

// checkNames refuses two files with one wire name, and a file named as a
// folder of another: a receiver would refuse the offer.
func (m *Manifest) checkNames() error {
	byName := make(map[string]string, len(m.Files))
	for _, lf := range m.Files {
		if other, dup := byName[lf.Info.Name]; dup {
			return fmt.Errorf("%s and %s would both be sent as %q", other, lf.Path, lf.Info.Name)
		}
		byName[lf.Info.Name] = lf.Path
	}
	for _, lf := range m.Files {
		name := lf.Info.Name
		for i := 0; i < len(name); i++ {
			if name[i] != '/' {
				continue
			}
			if other, ok := byName[name[:i]]; ok {
				return fmt.Errorf("%s would be sent as %q, which %s needs as a folder", other, name[:i], lf.Path)
			}
		}
	}
	return nil
}

// prepare fills lf's MediaType and, from the cache or by reading the file
// (unless opts.Defer), its SHA256.
func (lf *LocalFile) prepare(ctx context.Context, opts ScanOptions) error {
	if lf.Info.Size == 0 {
		sum := sha256.Sum256(nil)
		lf.Info.SHA256 = sum[:]
		return lf.sniff()
	}
	if sum := opts.Cache.Lookup(lf.scanned); sum != nil || opts.Defer {
		if err := lf.sniff(); err != nil {
			return err
		}
		lf.Info.SHA256 = sum
		return nil
	}
	if err := hashFile(ctx, lf, opts.Hashed); err != nil {
		return err
	}
	_ = opts.Cache.Store(lf.scanned, lf.Info.SHA256) // a cache that fails costs a hashing pass later
	return nil
}

// sniff fills lf's MediaType from its first bytes, checking that the file
// is still the one scanned.
func (lf *LocalFile) sniff() error {
	f, err := os.Open(lf.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkUnchanged(f, lf); err != nil {
		return err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read %s: %w", lf.Path, err)
	}
	lf.Info.MediaType = mediaType(lf.Path, head[:n])
	return nil
}

// HashMissing hashes the files whose SHA256 is not known yet (a transfer
// that resumes must offer every hash: the receiver may hold a prefix that
// the sender will not read again), storing them in cache if not nil. A
// file with a checkpoint in cache is hashed from there on.
func (m *Manifest) HashMissing(ctx context.Context, cache *HashCache) error {
	return m.hashMissing(ctx, cache, false)
}

// HashMissingUnlessCheckpointed is HashMissing for the files that have no
// checkpoint either: a file with one is hashed as it is resumed, from the
// checkpoint on.
func (m *Manifest) HashMissingUnlessCheckpointed(ctx context.Context, cache *HashCache) error {
	return m.hashMissing(ctx, cache, true)
}

func (m *Manifest) hashMissing(ctx context.Context, cache *HashCache, skipCheckpointed bool) error {
	for i := range m.Files {
		lf := &m.Files[i]
		if len(lf.Info.SHA256) > 0 {
			continue
		}
		off, state := cache.Checkpoint(lf.scanned)
		switch {
		case state != nil && skipCheckpointed:
			continue
		case state != nil && hashFrom(ctx, lf, off, state) == nil:
			// Hashed from the checkpoint on.
		default:
			// No checkpoint, or one that does not fit: a full pass.
			if err := hashFile(ctx, lf, nil); err != nil {
				return fmt.Errorf("hash %q: %w", lf.Info.Name, err)
			}
		}
		_ = cache.Store(lf.scanned, lf.Info.SHA256)
	}
	return nil
}

// SetCheckpoint records, in cache, the SHA-256 state of file i's first
// off bytes, hashed as it was sent.
func (m *Manifest) SetCheckpoint(i int, off int64, state []byte, cache *HashCache) error {
	if i < 0 || i >= len(m.Files) {
		return fmt.Errorf("checkpoint of file %d of %d", i, len(m.Files))
	}
	return cache.StoreCheckpoint(m.Files[i].scanned, off, state)
}

// Checkpoint returns the hash cache's checkpoint of file i: the SHA-256
// state of its first off bytes, or a nil state.
func (m *Manifest) Checkpoint(i int, cache *HashCache) (off int64, state []byte) {
	if i < 0 || i >= len(m.Files) {
		return 0, nil
	}
	return cache.Checkpoint(m.Files[i].scanned)
}

// hashFrom fills lf's SHA256 from the state of its first off bytes,
// reading only the rest.
func hashFrom(ctx context.Context, lf *LocalFile, off int64, state []byte) error {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return err
	}
	if len(state) < 8 || int64(binary.BigEndian.Uint64(state[len(state)-8:])) != off || off > lf.Info.Size {
		return fmt.Errorf("checkpoint does not cover %d bytes", off)
	}
	return lf.hashRest(ctx, h, off, nil)
}

// SetHash records sum as file i's SHA-256, learnt as it was sent, and
// stores it in cache if not nil. It is not safe for use while another
// goroutine reads m.
func (m *Manifest) SetHash(i int, sum []byte, cache *HashCache) error {
	if i < 0 || i >= len(m.Files) || len(sum) != sha256.Size {
		return fmt.Errorf("hash of file %d of %d: %d bytes", i, len(m.Files), len(sum))
	}
	lf := &m.Files[i]
	if len(lf.Info.SHA256) > 0 && !bytes.Equal(lf.Info.SHA256, sum) {
		return fmt.Errorf("%s (%q): read as sha-256 %x, hashed before as %x: %w", lf.Path, lf.Info.Name, sum, lf.Info.SHA256, ErrFileChanged)
	}
	lf.Info.SHA256 = bytes.Clone(sum)
	return cache.Store(lf.scanned, sum)
}

// hashFile fills lf's SHA256 and MediaType, checking that the file is still
// the one scanned.
func hashFile(ctx context.Context, lf *LocalFile, progress func(name string, done, total int64)) error {
	return lf.hashRest(ctx, sha256.New(), 0, progress)
}

// hashRest feeds h, which holds the file's first off bytes, the rest of the
// file, and fills lf's SHA256 (and, from off 0, its MediaType), checking
// that the file is still the one scanned.
func (lf *LocalFile) hashRest(ctx context.Context, h hash.Hash, off int64, progress func(name string, done, total int64)) error {
	f, err := os.Open(lf.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkUnchanged(f, lf); err != nil {
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("hash %s: %w", lf.Path, err)
	}
	buf := make([]byte, hashBuf)
	var head []byte
	done := off
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.Read(buf)
		if n > 0 {
			if head == nil && off == 0 {
				head = bytes.Clone(buf[:min(n, 512)])
			}
			h.Write(buf[:n])
			done += int64(n)
			if progress != nil {
				progress(lf.Info.Name, done, lf.Info.Size)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("hash %s: %w", lf.Path, err)
		}
	}
	if done != lf.Info.Size {
		return fmt.Errorf("hash %s: read %d bytes, it had %d: %w", lf.Path, done, lf.Info.Size, ErrFileChanged)
	}
	if err := checkUnchanged(f, lf); err != nil {
		return err
	}
	if done == 0 && progress != nil {
		progress(lf.Info.Name, 0, 0)
	}
	lf.Info.SHA256 = h.Sum(nil)
	if off == 0 {
		lf.Info.MediaType = mediaType(lf.Path, head)
	}
	return nil
}

// checkUnchanged returns an error wrapping ErrFileChanged if the open file
// f is not the file lf as scanned: another file, or another size or
// modification time.
func checkUnchanged(f *os.File, lf *LocalFile) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", lf.Path, err)
	}
	switch {
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s (%q) is no longer a regular file: %w", lf.Path, lf.Info.Name, ErrFileChanged)
	case lf.scanned != nil && !os.SameFile(st, lf.scanned):
		return fmt.Errorf("%s (%q) was replaced by another file: %w", lf.Path, lf.Info.Name, ErrFileChanged)
	case st.Size() != lf.Info.Size:
		return fmt.Errorf("%s (%q) is now %d bytes, was %d: %w", lf.Path, lf.Info.Name, st.Size(), lf.Info.Size, ErrFileChanged)
	case !st.ModTime().Equal(lf.Info.ModTime):
		return fmt.Errorf("%s (%q) was modified at %s: %w", lf.Path, lf.Info.Name, st.ModTime().Format("2006-01-02 15:04:05.999999999"), ErrFileChanged)
	}
	return nil
}

// mediaType returns the MIME type of the file at p, whose first bytes are
// head.
func mediaType(p string, head []byte) string {
	if t := mime.TypeByExtension(filepath.Ext(p)); t != "" {
		return t
	}
	if len(head) == 0 {
		return "application/octet-stream"
	}
	return http.DetectContentType(head)
}

// TotalSize returns the sum of the files' sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, lf := range m.Files {
		n += lf.Info.Size
	}
	return n
}

// Offer returns the offer of the manifest's files under transfer ID id.
func (m *Manifest) Offer(id string) sdk.Offer {
	o := sdk.Offer{TransferID: id, Files: make([]sdk.FileInfo, len(m.Files))}
	for i, lf := range m.Files {
		fi := lf.Info
		fi.SHA256 = bytes.Clone(fi.SHA256)
		o.Files[i] = fi
	}
	return o
}
