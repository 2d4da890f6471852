package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
)

// File system helpers. Every receive-side operation goes through an
// [os.Root], so that no name, and no symbolic link planted in the receive
// or state folder, can reach outside it. Names passed around are relative,
// with forward slashes; native converts them for the OS.

// native converts a slash-separated relative name to the OS form. Names
// never hold a backslash (SanitizeName refuses it), so this is exact.
func native(rel string) string { return filepath.FromSlash(rel) }

// syncDir fsyncs directory rel of r, making the entries created, renamed or
// removed in it durable. Windows cannot fsync a directory (NTFS journals
// its metadata), so there it does nothing.
func syncDir(r *os.Root, rel string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := r.Open(native(rel))
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", displayPath(r, rel), err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", displayPath(r, rel), err)
	}
	return nil
}

// writeFileAtomic replaces (or creates) file rel of r with data, so that
// readers and a crash see either the old or the new content: it writes
// rel.tmp, fsyncs it, renames it over rel and fsyncs the folder.
func writeFileAtomic(r *os.Root, rel string, data []byte) error {
	return replaceFile(r, rel, data, true)
}

// writeFileQuick replaces rel in r with data as writeFileAtomic does, but
// without waiting for the disk: for files that only inform (a crash may
// leave the old one, none, or an empty one, which readers take as none).
func writeFileQuick(r *os.Root, rel string, data []byte) error {
	return replaceFile(r, rel, data, false)
}

// replaceFile writes rel.tmp and renames it over rel; with durable, the
// file is fsynced before the rename and its folder after.
func replaceFile(r *os.Root, rel string, data []byte, durable bool) error {
	tmp := rel + ".tmp"
	f, err := r.OpenFile(native(tmp), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", displayPath(r, rel), err)
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(native(tmp), native(rel))
	}
	if err != nil {
		_ = r.Remove(native(tmp))
		return fmt.Errorf("write %s: %w", displayPath(r, rel), err)
	}
	if !durable {
		return nil
	}
	return syncDir(r, path.Dir(rel))
}

// removeIfExists removes rel from r; a missing file is not an error.
func removeIfExists(r *os.Root, rel string) error {
	if err := r.Remove(native(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", displayPath(r, rel), err)
	}
	return nil
}

// displayPath returns the local path of rel in r, for messages.
func displayPath(r *os.Root, rel string) string {
	return filepath.Join(r.Name(), native(rel))
}
