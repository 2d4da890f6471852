package jsonchunk

import (
	"encoding/hex"
	"strings"
	"time"
)

// validate checks an AUTHENTICATION as the wire format requires.
func (a *Authentication) validate() error {
	if !validUUID(a.MessageID) {
		return malformed("AUTHENTICATION message-id %q is not a UUID", a.MessageID)
	}
	if _, err := TransferIDFromFID(a.FID); err != nil {
		return err
	}
	if len(a.Files) > MaxFiles {
		return malformed("AUTHENTICATION lists %d files, more than %d", len(a.Files), MaxFiles)
	}
	for i, f := range a.Files {
		if err := f.validate(); err != nil {
			return malformed("AUTHENTICATION file %d: %v", i, err)
		}
	}
	if e := a.Ferry; e != nil {
		if e.V < 1 {
			return malformed("AUTHENTICATION ferry.v is %d, want at least 1", e.V)
		}
		for mode, n := range e.ChunkSize {
			if n < 1 || n > maxChunkFor(mode) {
				return malformed("AUTHENTICATION ferry.chunk_size of mode %q is %d, want 1 to %d", mode, n, maxChunkFor(mode))
			}
		}
		if e.Window < 0 {
			return malformed("AUTHENTICATION ferry.window is %d", e.Window)
		}
	}
	return nil
}

// maxChunkFor returns the largest chunk of mode.
func maxChunkFor(mode string) int {
	if mode == ModeStrict {
		return MaxStrictChunkSize
	}
	return MaxChunkSize
}

// validate checks one file entry.
func (f *File) validate() error {
	switch {
	case f.Name == "":
		return malformed("empty name")
	case strings.IndexByte(f.Name, 0) >= 0:
		return malformed("name %q contains NUL", f.Name)
	case f.Size > MaxSize:
		return malformed("%q: size %d is over 2^62", f.Name, f.Size)
	}
	if e := f.Ferry; e != nil {
		if e.SHA256 != "" {
			if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != 32 {
				return malformed("%q: ferry.sha256 %q is not 64 hex digits", f.Name, e.SHA256)
			}
		}
		if e.ModTime != "" {
			if _, err := time.Parse(time.RFC3339Nano, e.ModTime); err != nil {
				return malformed("%q: ferry.mod_time %q is not RFC 3339", f.Name, e.ModTime)
			}
		}
	}
	return nil
}

// validate checks a RESPONSE as the wire format requires.
func (r *Response) validate() error {
	if !validUUID(r.MessageID) {
		return malformed("RESPONSE message-id %q is not a UUID", r.MessageID)
	}
	if r.Response != Ok && r.Response != Error {
		return malformed("RESPONSE response %q is neither %q nor %q", r.Response, Ok, Error)
	}
	e := r.Ferry
	if e == nil {
		return nil
	}
	switch {
	case e.V < 0:
		return malformed("RESPONSE ferry.v is %d", e.V)
	case e.Window < 0:
		return malformed("RESPONSE ferry.window is %d", e.Window)
	case e.ChunkSize < 0 || e.ChunkSize > MaxChunkSize:
		return malformed("RESPONSE ferry.chunk_size is %d, want 0 to %d", e.ChunkSize, MaxChunkSize)
	case e.File != nil && (*e.File < 0 || *e.File >= MaxFiles):
		return malformed("RESPONSE ferry.file is %d", *e.File)
	case len(e.Have) > MaxFiles:
		return malformed("RESPONSE ferry.have lists %d files", len(e.Have))
	}
	for _, h := range e.Have {
		if h.File < 0 || h.File >= MaxFiles {
			return malformed("RESPONSE ferry.have names file %d", h.File)
		}
		if err := validRanges(h.Ranges, true); err != nil {
			return malformed("RESPONSE ferry.have of file %d: %v", h.File, err)
		}
	}
	if err := validRanges(e.Ranges, false); err != nil {
		return malformed("RESPONSE ferry.ranges: %v", err)
	}
	if v := e.Verify; v != nil {
		switch {
		case v.File < 0 || v.File >= MaxFiles:
			return malformed("RESPONSE ferry.verify.file is %d", v.File)
		case v.Block < 1 || v.Block > MaxSize:
			return malformed("RESPONSE ferry.verify.block is %d", v.Block)
		case len(v.SHA256) > MaxVerifyBlocks:
			return malformed("RESPONSE ferry.verify holds %d hashes, more than %d", len(v.SHA256), MaxVerifyBlocks)
		}
		for i, h := range v.SHA256 {
			if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
				return malformed("RESPONSE ferry.verify.sha256[%d] %q is not 64 hex digits", i, h)
			}
		}
	}
	return nil
}

// validRanges checks [off, end) pairs: in order, apart, within [0, 2^62].
// With emptyOK a lone [0, 0] (all of an empty file) is allowed.
func validRanges(rs [][2]int64, emptyOK bool) error {
	if emptyOK && len(rs) == 1 && rs[0] == [2]int64{0, 0} {
		return nil
	}
	var prev int64 = -1
	for _, r := range rs {
		if r[0] < 0 || r[0] >= r[1] || r[1] > MaxSize || r[0] <= prev {
			return malformed("range [%d, %d) is empty, out of order or out of bounds", r[0], r[1])
		}
		prev = r[1]
	}
	return nil
}

// validate checks a TRANSFER as the wire format requires.
func (t *Transfer) validate() error {
	limit := MaxStrictChunkSize
	if t.Raw {
		limit = MaxChunkSize
	}
	switch {
	case !validUUID(t.MessageID):
		return malformed("TRANSFER message-id %q is not a UUID", t.MessageID)
	case !validUUID(t.Chunk):
		return malformed("TRANSFER chunk %q is not a UUID", t.Chunk)
	case t.File < 0 || t.File >= MaxFiles:
		return malformed("TRANSFER ferry.file is %d", t.File)
	case t.Offset < 0 || t.Offset > MaxSize:
		return malformed("TRANSFER ferry.offset is %d", t.Offset)
	case len(t.Data) == 0:
		return malformed("TRANSFER carries no data")
	case len(t.Data) > limit:
		return tooLarge("TRANSFER carries %d bytes, more than %d", len(t.Data), limit)
	case int64(len(t.Data)) > MaxSize-t.Offset:
		return malformed("TRANSFER at %d of %d bytes ends beyond 2^62", t.Offset, len(t.Data))
	}
	return nil
}
