package api

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"
)

// web holds the page's files: plain HTML, JS and CSS, no library.
//
//go:embed web
var web embed.FS

var indexTemplate = template.Must(template.ParseFS(web, "web/index.html"))

// index serves the page, with the session's CSRF token in it for its
// requests to send back.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, struct{ CSRF string }{csrfOf(r.Context())}); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) asset(name, contentType string) http.HandlerFunc {
	data, err := web.ReadFile("web/" + name)
	if err != nil {
		panic("api: web/" + name + " is not embedded") // a build mistake, caught by every test
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(data)
	}
}

// qrSize is the side of the device ID's QR code, in pixels.
const qrSize = 256

// qr serves this device's ID as a QR code (PNG), to share it with a phone.
func (s *Server) qr(w http.ResponseWriter, _ *http.Request) {
	png, err := qrcode.Encode(s.opts.Backend.Identity().ID, qrcode.Medium, qrSize)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(png)
}
