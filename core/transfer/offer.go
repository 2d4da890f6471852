package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-p2p/ferry/sdk"
)

// Limits on an offer the receiver accepts.
const (
	// MaxFiles is the most files one transfer may hold.
	MaxFiles = 100000
	// MaxFileSize is the largest file size accepted (1 PiB).
	MaxFileSize = 1 << 50
)

// checkOffer validates an offer from the wire and returns its files with
// sanitised names, and the files refused on their own, by index, with the
// reason: names the receiving file system cannot hold (componentMax is the
// longest component it takes). Errors wrap ErrBadOffer (and ErrBadName for
// a name) and say which file and why; an offer whose every file is refused
// is an error too.
func checkOffer(offer sdk.Offer, componentMax int) ([]sdk.FileInfo, map[int]string, error) {
	if !ValidID(offer.TransferID) {
		return nil, nil, fmt.Errorf("offer: transfer id %q is not 32 lowercase hex characters: %w", offer.TransferID, ErrBadOffer)
	}
	switch n := len(offer.Files); {
	case n == 0:
		return nil, nil, fmt.Errorf("offer %s: no files: %w", offer.TransferID, ErrBadOffer)
	case n > MaxFiles:
		return nil, nil, fmt.Errorf("offer %s: %d files, more than %d: %w", offer.TransferID, n, MaxFiles, ErrBadOffer)
	}
	files := make([]sdk.FileInfo, len(offer.Files))
	seen := make(map[string]int, len(offer.Files))
	var refused map[int]string
	var firstRefusal error
	for i, f := range offer.Files {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("offer %s: file %d (%q): %s: %w", offer.TransferID, i, f.Name, fmt.Sprintf(format, args...), ErrBadOffer)
		}
		name, err := sanitizeName(f.Name, componentMax)
		if errors.Is(err, ErrNameUnholdable) {
			// Refused on its own; its name is kept as it came, only
			// to match the protocol's offer of it.
			if refused == nil {
				refused = map[int]string{}
				firstRefusal = err
			}
			refused[i], name = err.Error(), f.Name
		} else if err != nil {
			return nil, nil, fmt.Errorf("offer %s: file %d: %w: %w", offer.TransferID, i, ErrBadOffer, err)
		}
		if f.Size < 0 || f.Size > MaxFileSize {
			return nil, nil, fail("size %d outside [0, %d]", f.Size, int64(MaxFileSize))
		}
		if len(f.SHA256) != 0 && len(f.SHA256) != 32 {
			return nil, nil, fail("sha-256 of %d bytes, want 32 or none", len(f.SHA256))
		}
		if j, dup := seen[name]; dup {
			return nil, nil, fail("same name as file %d", j)
		}
		seen[name] = i
		f.Name = name
		f.SHA256 = bytes.Clone(f.SHA256)
		files[i] = f
	}
	// A name may not also be a folder of another name ("a" and "a/b").
	for i, f := range files {
		for k := strings.IndexByte(f.Name, '/'); k >= 0; {
			if j, ok := seen[f.Name[:k]]; ok {
				return nil, nil, fmt.Errorf("offer %s: file %d (%q) is inside file %d (%q): %w",
					offer.TransferID, i, f.Name, j, files[j].Name, ErrBadOffer)
			}
			next := strings.IndexByte(f.Name[k+1:], '/')
			if next < 0 {
				break
			}
			k += 1 + next
		}
	}
	if len(refused) == len(files) {
		return nil, nil, fmt.Errorf("offer %s: every file refused, the first: %w: %w", offer.TransferID, firstRefusal, ErrBadOffer)
	}
	return files, refused, nil
}

// sameFiles reports whether two sanitised file lists name the same files:
// same names, sizes and hashes, in the same order. A hash missing on
// either side (the sender offered before it had hashed the file) matches.
func sameFiles(a, b []sdk.FileInfo) bool {
	return slices.EqualFunc(a, b, SameFile)
}

// SameFile reports whether two file descriptions are of the same file: same
// name and size, and the same SHA-256 when both have one.
func SameFile(a, b sdk.FileInfo) bool {
	return a.Name == b.Name && a.Size == b.Size &&
		(len(a.SHA256) == 0 || len(b.SHA256) == 0 || bytes.Equal(a.SHA256, b.SHA256))
}

// checkFolders validates an offer's empty folders: names that pass
// [SanitizeName], none also the name of a file of files (sanitised).
func checkFolders(id string, files []sdk.FileInfo, folders []string) error {
	if len(folders) > MaxFiles {
		return fmt.Errorf("offer %s: %d folders, more than %d: %w", id, len(folders), MaxFiles, ErrBadOffer)
	}
	if len(folders) == 0 {
		return nil
	}
	names := make(map[string]bool, len(files))
	for _, f := range files {
		names[f.Name] = true
	}
	for i, d := range folders {
		if _, err := SanitizeName(d); err != nil {
			return fmt.Errorf("offer %s: folder %d: %w: %w", id, i, ErrBadOffer, err)
		}
		if names[d] {
			return fmt.Errorf("offer %s: folder %d (%q) is also a file: %w", id, i, d, ErrBadOffer)
		}
	}
	return nil
}
