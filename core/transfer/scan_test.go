package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-p2p/ferry/core/transfer"
)

// writeTree creates files (name -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScan(t *testing.T) {
	base := t.TempDir()
	files := map[string]string{
		"single.txt":           "just one file\n",
		"photos/b.jpg":         "\xff\xd8\xff\xe0 not really a jpeg",
		"photos/x.txt":         "x",
		"photos/x/y.dat":       "y",
		"photos/sub/page":      "<html><body>sniffed</body></html>",
		"photos/sub/empty":     "",
		"photos/sub/deep/z.md": "# z",
	}
	writeTree(t, base, files)
	if err := os.Symlink(filepath.Join(base, "single.txt"), filepath.Join(base, "photos", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "photos"), filepath.Join(base, "photos-link")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	progress := map[string]int64{}
	m, err := transfer.Scan(context.Background(),
		[]string{filepath.Join(base, "single.txt"), filepath.Join(base, "photos"), filepath.Join(base, "photos-link")},
		func(name string, done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if done > total {
				t.Errorf("progress %s: %d of %d", name, done, total)
			}
			progress[name] = done
		})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var names []string
	for _, lf := range m.Files {
		names = append(names, lf.Info.Name)
	}
	// Lexical order of the wire names: "x.txt" before "x/y.dat".
	want := []string{"single.txt", "photos/b.jpg", "photos/sub/deep/z.md", "photos/sub/empty", "photos/sub/page", "photos/x.txt", "photos/x/y.dat"}
	if !slices.Equal(names, want) {
		t.Fatalf("names = %q\nwant    %q", names, want)
	}
	types := map[string]string{
		"single.txt":       "text/plain; charset=utf-8",
		"photos/b.jpg":     "image/jpeg",
		"photos/sub/page":  "text/html; charset=utf-8",
		"photos/sub/empty": "application/octet-stream",
	}
	var total int64
	for _, lf := range m.Files {
		rel := lf.Info.Name
		content := files[rel]
		if !filepath.IsAbs(lf.Path) || lf.Path != filepath.Join(base, filepath.FromSlash(rel)) {
			t.Errorf("%s: Path %s", rel, lf.Path)
		}
		if lf.Info.Size != int64(len(content)) || !bytes.Equal(lf.Info.SHA256, sum([]byte(content))) {
			t.Errorf("%s: size %d, sha256 %x; want %d, %x", rel, lf.Info.Size, lf.Info.SHA256, len(content), sum([]byte(content)))
		}
		if wt, ok := types[rel]; ok && lf.Info.MediaType != wt {
			t.Errorf("%s: media type %q, want %q", rel, lf.Info.MediaType, wt)
		}
		if lf.Info.ModTime.IsZero() {
			t.Errorf("%s: no ModTime", rel)
		}
		if progress[rel] != int64(len(content)) {
			t.Errorf("%s: hashing progress ended at %d", rel, progress[rel])
		}
		total += int64(len(content))
	}
	if m.TotalSize() != total {
		t.Errorf("TotalSize() = %d, want %d", m.TotalSize(), total)
	}
	if len(m.Skipped) != 2 || !strings.Contains(m.Skipped[0]+m.Skipped[1], "link.txt: symbolic link") ||
		!strings.Contains(m.Skipped[0]+m.Skipped[1], "photos-link: symbolic link") {
		t.Errorf("Skipped = %q, want the two links", m.Skipped)
	}
	id := transfer.NewID()
	offer := m.Offer(id)
	if offer.TransferID != id || len(offer.Files) != len(m.Files) || offer.Files[1].Name != "photos/b.jpg" {
		t.Errorf("Offer = %+v", offer)
	}

	// Source: each file from an offset.
	src := m.Source()
	for i, lf := range m.Files {
		off := lf.Info.Size / 2
		rc, err := src.Open(context.Background(), i, off)
		if err != nil {
			t.Fatalf("Open(%d, %d): %v", i, off, err)
		}
		if _, ok := rc.(*os.File); !ok {
			t.Errorf("Open returned %T, want *os.File", rc)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || string(got) != files[lf.Info.Name][off:] {
			t.Errorf("file %d from %d: %q, %v", i, off, got, err)
		}
	}
}

func TestScanDuplicates(t *testing.T) {
	base := t.TempDir()
	writeTree(t, base, map[string]string{"a/f.txt": "1", "b/f.txt": "2", "c/d": "3", "d/c/d/e": "4", "x/a": "5"})
	tests := []struct {
		name  string
		paths []string
	}{
		{"same base name", []string{"a/f.txt", "b/f.txt"}},
		{"same path twice", []string{"a/f.txt", "a/f.txt"}},
		{"file named as a folder", []string{"a", "x/a"}},
		{"file is a folder of another", []string{"c/d", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(base, p))
			}
			if m, err := transfer.Scan(context.Background(), paths, nil); err == nil {
				t.Fatalf("Scan succeeded: %+v", m.Files)
			}
		})
	}
}

func TestScanSkipsBadNames(t *testing.T) {
	base := t.TempDir()
	writeTree(t, base, map[string]string{"dir/ok.txt": "ok", "dir/con.txt": "device", "dir/trailing.": "dot", "dir/x.ferry-part": "part"})
	m, err := transfer.Scan(context.Background(), []string{filepath.Join(base, "dir")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Info.Name != "dir/ok.txt" || len(m.Skipped) != 3 {
		t.Errorf("Files %+v, Skipped %q", m.Files, m.Skipped)
	}
}

func TestSourceRefusesChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, p string)
	}{
		{"appended", func(t *testing.T, p string) { appendBytes(t, p, []byte("more")) }},
		{"touched", func(t *testing.T, p string) {
			if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, p string) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			tmp := p + ".new"
			if err := os.WriteFile(tmp, []byte("01234567"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(tmp, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.bin")
			if err := os.WriteFile(p, []byte("abcdefgh"), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := transfer.Scan(context.Background(), []string{p}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, p)
			rc, err := m.Source().Open(context.Background(), 0, 0)
			if err == nil {
				_ = rc.Close()
				t.Fatal("Open of a changed file succeeded")
			}
			if !strings.Contains(err.Error(), `"f.bin"`) {
				t.Errorf("error %q does not name the file", err)
			}
			if tt.name != "removed" && !errors.Is(err, transfer.ErrFileChanged) {
				t.Errorf("error %v does not wrap ErrFileChanged", err)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(p, []byte("abcdefgh"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := transfer.Scan(context.Background(), []string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		index int
		off   int64
	}{{-1, 0}, {1, 0}, {0, -1}, {0, 9}} {
		if rc, err := m.Source().Open(context.Background(), c.index, c.off); err == nil {
			_ = rc.Close()
			t.Errorf("Open(%d, %d) succeeded", c.index, c.off)
		}
	}
	rc, err := m.Source().Open(context.Background(), 0, 8)
	if err != nil {
		t.Fatalf("Open at the end: %v", err)
	}
	_ = rc.Close()
}

// TestScanEmptyFolders: Scan lists the folders that hold no file to send
// (nor such a folder), and only those.
func TestScanEmptyFolders(t *testing.T) {
	cases := []struct {
		name  string
		dirs  []string
		files []string
		want  []string
	}{
		{"none", nil, []string{"a.txt"}, nil},
		{"nested", []string{"a/b/c"}, []string{"x.txt"}, []string{"top/a/b/c"}},
		{"beside a file", []string{"d", "e"}, []string{"d/f.txt"}, []string{"top/e"}},
		{"only a link inside", []string{"l"}, nil, []string{"top/l"}},
		{"the folder itself", nil, nil, []string{"top"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "top")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.dirs {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "only a link inside" {
				if err := os.Symlink("/etc/passwd", filepath.Join(root, "l", "link")); err != nil {
					t.Fatal(err)
				}
			}
			m, err := transfer.Scan(t.Context(), []string{root}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Folders, tc.want) {
				t.Errorf("folders %q, want %q", m.Folders, tc.want)
			}
		})
	}
}
