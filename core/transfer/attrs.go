package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// What a received file and folder look like: the sender's permission bits
// and modification time, under the receiver's umask, as cp -p would leave
// them; and a folder of a transfer never merges into one that was there
// before it.

// dirMode is what folders in the receive folder are created with; the
// umask applies.
const dirMode = 0o755

// fallbackMode is the permission bits of a file whose sender did not say
// (a record written before modes were kept); the umask applies.
const fallbackMode = 0o644

// applyAttrs gives the file placed at final the sender's permission bits,
// less the umask, and modification time. It runs once the file is verified
// and recorded done; until then the part file stays 0600, private and
// writable for a resume. Best effort: a file system that refuses either
// (FAT, some network mounts) keeps the file as it is. p.mu is held; the
// part file is closed.
func (p *Part) applyAttrs(final string) {
	fi := p.t.rec.Files[p.index]
	mode := fi.Mode.Perm()
	if mode == 0 {
		mode = fallbackMode
	}
	root := p.t.in.root
	if err := root.Chmod(native(final), mode&^umask()); err != nil {
		return
	}
	if !fi.ModTime.IsZero() {
		_ = root.Chtimes(native(final), time.Time{}, fi.ModTime)
	}
}

// checkRenamed checks a Renamed entry of a record: both sides single
// components that pass SanitizeName.
func checkRenamed(from, to string) error {
	for _, s := range []string{from, to} {
		if strings.Contains(s, "/") {
			return fmt.Errorf("renamed folder %q -> %q: not a top-level folder: %w", from, to, ErrBadOffer)
		}
		if _, err := SanitizeName(s); err != nil {
			return fmt.Errorf("renamed folder %q -> %q: %w", from, to, err)
		}
	}
	return nil
}

// folderName returns the n-th name tried for top-level folder top: top
// itself for n == 0, else "top (n)", shortened to fit in MaxComponentLen.
func folderName(top string, n int) string {
	if n == 0 {
		return top
	}
	tag := " (" + strconv.Itoa(n) + ")"
	return truncateUTF8(top, MaxComponentLen-len(tag)) + tag
}

// claimFolders creates, in the receive folder, each top-level folder that
// the files of an offer go into (or that is one of its empty folders), under the first free name: "photos", or
// "photos (1)", "photos (2)", ... when that is taken by anything, such as
// the folder of an earlier transfer. Creating them at once claims the name
// against a transfer accepted a moment later. It returns the folders it
// renamed (offered name -> name used) and every folder it made. in.mu is
// held.
func (in *Inbox) claimFolders(files []sdk.FileInfo, folders []string) (renamed map[string]string, made []string, err error) {
	var tops []string
	seen := map[string]bool{}
	for _, f := range files {
		if top, _, ok := strings.Cut(f.Name, "/"); ok && !seen[top] {
			seen[top] = true
			tops = append(tops, top)
		}
	}
	for _, d := range folders {
		if top, _, _ := strings.Cut(d, "/"); !seen[top] {
			seen[top] = true
			tops = append(tops, top)
		}
	}
	undo := func() {
		for _, d := range made {
			_ = in.root.Remove(native(d))
		}
	}
	for _, top := range tops {
		n := 0
		for ; n < maxCandidates; n++ {
			cand := folderName(top, n)
			if _, err := in.root.Lstat(native(cand)); err == nil {
				continue
			} else if !errors.Is(err, fs.ErrNotExist) {
				undo()
				return nil, nil, fmt.Errorf("folder %s: %w", displayPath(in.root, cand), err)
			}
			err := in.root.Mkdir(native(cand), dirMode)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				undo()
				return nil, nil, fmt.Errorf("create folder %s: %w", displayPath(in.root, cand), err)
			}
			made = append(made, cand)
			if n > 0 {
				if renamed == nil {
					renamed = map[string]string{}
				}
				renamed[top] = cand
			}
			break
		}
		if n == maxCandidates {
			undo()
			return nil, nil, fmt.Errorf("folders %q to %q are all taken", top, folderName(top, maxCandidates-1))
		}
	}
	if len(made) > 0 {
		if err := syncDir(in.root, "."); err != nil {
			undo()
			return nil, nil, err
		}
	}
	return renamed, made, nil
}

// noteDirs records folders made for transfer id in its dirs.log, so that
// Discard removes them if they are left empty. Best effort, as makeDirs.
func (in *Inbox) noteDirs(id string, dirs []string) {
	if len(dirs) == 0 {
		return
	}
	f, err := in.state.OpenFile(native(dirsLogRel(id)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	var b []byte
	for _, d := range dirs {
		b = appendFrame(b, append([]byte{recDir}, d...))
	}
	_, _ = f.Write(b)
}
