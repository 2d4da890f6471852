package transfer

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a file name from the wire.
const (
	// MaxComponentLen is the longest path component, in bytes (NAME_MAX on
	// most file systems).
	MaxComponentLen = 255
	// MaxNameLen is the longest whole name, in bytes (PATH_MAX on Linux).
	MaxNameLen = 4096
	// MaxComponents is the deepest a name may nest.
	MaxComponents = 64
	// PartSuffix ends the name of every part file. No name from the wire
	// may end a component with it, so a received file can never be taken
	// for, or collide with, a part file.
	PartSuffix = ".ferry-part"
)

// SanitizeName checks a file name from the wire and returns it cleaned
// (forward slashes, NFC not required). Since every unclean form is refused
// rather than repaired, a name that passes is returned unchanged: there is
// only one spelling of each accepted path.
//
// A name is refused, with an error wrapping [ErrBadName] that says why, when
// it is empty; absolute ("/x", "C:\x", "C:x", "\\srv\x"); holds a backslash;
// has a "." or ".." component or an empty one ("a//b", a trailing "/");
// holds NUL, another control character (C0, DEL, C1) or invalid UTF-8; has a
// component over 255 bytes; is over 4096 bytes or 64 components; has a
// Windows device name as a component (CON, PRN, AUX, NUL, COM1-9, LPT1-9,
// CONIN$, CONOUT$, CLOCK$, in any case, with or without an extension); has a
// component ending in a dot or a space; or has a component ending in the
// part-file suffix ".ferry-part" (in any case). Of these, the names that are
// well formed but too long or reserved also wrap [ErrNameUnholdable].
func SanitizeName(name string) (string, error) {
	return sanitizeName(name, MaxComponentLen)
}

// sanitizeName is SanitizeName with a limit on a component's length: the
// receiving file system's, if lower.
func sanitizeName(name string, componentMax int) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("file name %q: %s: %w", name, fmt.Sprintf(format, args...), ErrBadName)
	}
	unholdable := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("file name %q: %s: %w: %w", name, fmt.Sprintf(format, args...), ErrBadName, ErrNameUnholdable)
	}
	switch {
	case name == "":
		return bad("empty")
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case name[0] == '/':
		return bad("absolute path")
	case strings.HasPrefix(name, `\\`):
		return bad("absolute (UNC) path")
	case hasDriveLetter(name):
		return bad("absolute (drive letter) path")
	case strings.ContainsRune(name, '\\'):
		return bad("holds a backslash")
	}
	for i, r := range name {
		if isControl(r) {
			return bad("holds control character %U at byte %d", r, i)
		}
	}
	parts := strings.Split(name, "/")
	var held string // why the file system cannot hold the name, if it cannot
	for i, c := range parts {
		why, hostile := checkComponent(c, componentMax)
		if hostile {
			return bad("component %d (%q) %s", i+1, c, why)
		}
		if why != "" && held == "" {
			held = fmt.Sprintf("component %d (%q) %s", i+1, c, why)
		}
	}
	switch {
	case held != "":
		return unholdable("%s", held)
	case len(name) > MaxNameLen:
		return unholdable("%d bytes, more than %d", len(name), MaxNameLen)
	case len(parts) > MaxComponents:
		return unholdable("%d components, more than %d", len(parts), MaxComponents)
	}
	return name, nil
}

// checkComponent returns why c cannot be a path component, or "", and
// whether that is because it would reach outside its folder or be taken
// for something else (hostile) rather than a name the file system cannot
// hold.
func checkComponent(c string, componentMax int) (why string, hostile bool) {
	switch {
	case c == "":
		return "is empty", true
	case c == "." || c == "..":
		return "is a relative reference", true
	case len(c) >= len(PartSuffix) && strings.EqualFold(c[len(c)-len(PartSuffix):], PartSuffix):
		return "ends in the part-file suffix " + PartSuffix, true
	case len(c) > componentMax:
		return fmt.Sprintf("is %d bytes, more than %d", len(c), componentMax), false
	case strings.HasSuffix(c, ".") || strings.HasSuffix(c, " "):
		return "ends in a dot or a space", false
	case isDeviceName(c):
		return "is a Windows device name", false
	}
	return "", false
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// hasDriveLetter reports whether name starts like "C:" (absolute "C:\x" or
// drive-relative "C:x" on Windows).
func hasDriveLetter(name string) bool {
	if len(name) < 2 || name[1] != ':' {
		return false
	}
	c := name[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// isDeviceName reports whether Windows treats component c as a device: its
// part before the first dot, less trailing spaces, is a reserved name.
func isDeviceName(c string) bool {
	stem := c
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	stem = strings.TrimRight(stem, " ")
	switch strings.ToUpper(stem) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$":
		return true
	}
	if len(stem) < 4 {
		return false
	}
	switch strings.ToUpper(stem[:3]) {
	case "COM", "LPT":
		// COM1-9 and LPT1-9, and the superscript digits Windows also
		// reserves (COM¹ and so on).
		switch stem[3:] {
		case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// partName returns the part file of file index of transfer id whose final
// name is name: ".<base>.<id[:8]>.<index>.ferry-part" in name's directory.
// The base is shortened, on a rune boundary, so that the part name fits in
// MaxComponentLen bytes; the index keeps part names distinct even then, and
// on case-insensitive file systems.
func partName(name, id string, index int) string {
	dir, base := path.Split(name)
	suffix := "." + id[:8] + "." + strconv.Itoa(index) + PartSuffix
	base = truncateUTF8(base, MaxComponentLen-1-len(suffix))
	return dir + "." + base + suffix
}

// candidateName returns the n-th final name tried for name: name itself for
// n == 0, else "stem (n).ext" ("photo (1).jpg", ".bashrc (2)"), the stem
// shortened if needed to fit in MaxComponentLen bytes.
func candidateName(name string, n int) string {
	if n == 0 {
		return name
	}
	dir, base := path.Split(name)
	stem, ext := base, ""
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		stem, ext = base[:i], base[i:]
	}
	tag := " (" + strconv.Itoa(n) + ")"
	if len(ext)+len(tag) >= MaxComponentLen {
		ext = "" // a pathological extension: keep the stem instead
	}
	stem = truncateUTF8(stem, MaxComponentLen-len(tag)-len(ext))
	return dir + stem + tag + ext
}

// truncateUTF8 returns the longest prefix of s of at most n bytes that ends
// on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
