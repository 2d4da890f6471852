package api

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// maxField bounds a non-file field of an upload.
const maxField = 4096

// upload takes files from the web page (multipart/form-data: a "to"
// field and one or more "file" parts), keeps them under UploadDir and
// sends them as one transfer. The copy is removed once the transfer
// leaves the outbox (the daemon's Backend does that).
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if s.opts.UploadDir == "" {
		writeError(w, fmt.Errorf("%w: this daemon takes no uploads", ErrConflict))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	if err := os.MkdirAll(s.opts.UploadDir, 0o700); err != nil {
		writeError(w, fmt.Errorf("uploads folder: %w", err))
		return
	}
	dir, err := os.MkdirTemp(s.opts.UploadDir, "upload-")
	if err != nil {
		writeError(w, fmt.Errorf("uploads folder: %w", err))
		return
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}()
	req := SendRequest{Upload: dir}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
			return
		}
		switch p.FormName() {
		case "to":
			b, err := io.ReadAll(io.LimitReader(p, maxField))
			if err != nil {
				writeError(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
				return
			}
			req.To = strings.TrimSpace(string(b))
		case "file":
			path, err := saveUpload(dir, p)
			if err != nil {
				writeError(w, err)
				return
			}
			req.Paths = append(req.Paths, path)
		}
	}
	if req.To == "" || len(req.Paths) == 0 {
		writeError(w, fmt.Errorf("%w: a \"to\" field and at least one \"file\" are required", ErrBadRequest))
		return
	}
	sent, err := s.opts.Backend.Send(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	keep = true
	s.live.direction(sent.Transfer, "send")
	writeJSON(w, http.StatusAccepted, sent)
}

// saveUpload writes the file part p into dir under its base name.
func saveUpload(dir string, p *multipart.Part) (string, error) {
	name := filepath.Base(filepath.Clean("/" + strings.ReplaceAll(p.FileName(), `\`, "/")))
	if name == "/" || name == "." || name == ".." || name == "" {
		return "", fmt.Errorf("%w: a file part has no usable name (%q)", ErrBadRequest, p.FileName())
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrBadRequest, name, err)
	}
	if _, err := io.Copy(f, p); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return path, nil
}
