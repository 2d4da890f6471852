package transfer

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ferry-p2p/ferry/sdk"
)

// Source returns the [sdk.FileSource] of the manifest. Its Open(ctx, index,
// offset) returns the file, an *os.File opened read-only (so the SDK can
// hand its descriptor to a protocol plugin), positioned at offset. It
// refuses, with an error naming the file, an index out of range, an offset
// outside [0, size], and a file that is not the one scanned: replaced, or
// with another size or modification time (wrapping [ErrFileChanged]).
func (m *Manifest) Source() sdk.FileSource { return source{m} }

type source struct{ m *Manifest }

func (s source) Open(ctx context.Context, index int, offset int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open file %d: %w", index, err)
	}
	if index < 0 || index >= len(s.m.Files) {
		return nil, fmt.Errorf("open file %d: the offer has %d files", index, len(s.m.Files))
	}
	lf := &s.m.Files[index]
	if offset < 0 || offset > lf.Info.Size {
		return nil, fmt.Errorf("open %s (%q) at %d: outside its %d bytes", lf.Path, lf.Info.Name, offset, lf.Info.Size)
	}
	f, err := os.Open(lf.Path)
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", lf.Info.Name, err)
	}
	if err := checkUnchanged(f, lf); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open: %w", err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %s (%q) at %d: %w", lf.Path, lf.Info.Name, offset, err)
	}
	return f, nil
}
