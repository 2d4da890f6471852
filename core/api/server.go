package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferry-p2p/ferry/core/node"
)

// Options configure a Server.
type Options struct {
	// Backend is the daemon served. REQUIRED.
	Backend Backend
	// Offers are the offers waiting for an answer; the daemon's node
	// decides with its Decide. REQUIRED.
	Offers *Offers
	// Key is the API key the TCP listener wants in X-API-Key (or a
	// browser session made with it at /login). The socket needs none.
	Key string
	// UploadDir is where files uploaded from the web page are kept until
	// their transfer leaves the outbox. REQUIRED for uploads.
	UploadDir string
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Server is the API of one daemon. Its handlers are SocketHandler (the
// Unix socket: no authentication beyond the socket file's mode) and
// TCPHandler (127.0.0.1: Host check, API key or session with CSRF token).
type Server struct {
	opts     Options
	live     *live
	sessions *sessions
	remove   func()
}

// New makes the server and starts following the backend's events.
// Close stops that.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil || opts.Offers == nil {
		return nil, errors.New("api: Backend and Offers are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, live: newLive(), sessions: newSessions()}
	s.remove = opts.Backend.Subscribe(s.live.event)
	return s, nil
}

// Close stops following the backend's events.
func (s *Server) Close() { s.remove() }

// route is one route: a net/http ServeMux pattern's method and path.
type route struct {
	method, path string
	handle       http.HandlerFunc
}

// routes is every route the server serves; openapi.yaml documents each
// (TestOpenAPIMatchesRoutes).
func (s *Server) routes() []route {
	return []route{
		{"GET", "/{$}", s.index},
		{"GET", "/app.js", s.asset("app.js", "text/javascript; charset=utf-8")},
		{"GET", "/style.css", s.asset("style.css", "text/css; charset=utf-8")},
		{"GET", "/login", s.login},
		{"GET", "/api/v1/identity", s.identity},
		{"GET", "/api/v1/identity/qr.png", s.qr},
		{"GET", "/api/v1/peers", s.peers},
		{"POST", "/api/v1/send", s.send},
		{"POST", "/api/v1/upload", s.upload},
		{"GET", "/api/v1/offers", s.offers},
		{"POST", "/api/v1/offers/{id}/accept", s.answer(true)},
		{"POST", "/api/v1/offers/{id}/refuse", s.answer(false)},
		{"GET", "/api/v1/transfers", s.transfers},
		{"POST", "/api/v1/transfers/{id}/pause", s.control(Backend.Pause)},
		{"POST", "/api/v1/transfers/{id}/resume", s.control(Backend.Resume)},
		{"POST", "/api/v1/transfers/{id}/cancel", s.control(Backend.Cancel)},
		{"POST", "/api/v1/config/reload", s.reload},
		{"GET", "/api/v1/plugins", s.plugins},
		{"GET", "/api/v1/events", s.events},
	}
}

func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.HandleFunc(r.method+" "+r.path, r.handle)
	}
	return mux
}

// SocketHandler serves the API on the Unix socket, whose mode (0600, in
// a home only its user can enter) is the authentication.
func (s *Server) SocketHandler() http.Handler { return s.mux() }

// TCPHandler serves the API and the web page on addr, a loopback
// listener's address: requests must name it in their Host header (DNS
// rebinding), and carry the API key or a session cookie, with the CSRF
// token on every request that changes something.
func (s *Server) TCPHandler(addr string) (http.Handler, error) {
	return s.guard(addr, s.mux())
}

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, ErrConflict), errors.Is(err, ErrRefused):
		status = http.StatusConflict
	}
	writeJSON(w, status, apiError{Error: err.Error()})
}

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// readJSON decodes the request body into v, refusing unknown fields.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the body is not the JSON expected: %v", ErrBadRequest, err)
	}
	return nil
}

func (s *Server) identity(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Backend.Identity())
}

func (s *Server) peers(w http.ResponseWriter, _ *http.Request) {
	ps := s.opts.Backend.Peers()
	an, _ := s.opts.Backend.(AccountNamer)
	out := make([]Peer, len(ps))
	for i, p := range ps {
		var acct string
		if an != nil {
			acct = an.AccountOf(p.ID)
		}
		out[i] = PeerOf(p, acct)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Paths) == 0 || req.To == "" {
		writeError(w, fmt.Errorf("%w: paths and to are required", ErrBadRequest))
		return
	}
	s.start(w, r.Context(), req)
}

// start sends req and answers with what started.
func (s *Server) start(w http.ResponseWriter, ctx context.Context, req SendRequest) {
	sent, err := s.opts.Backend.Send(ctx, req)
	if err != nil {
		writeError(w, err)
		return
	}
	s.live.direction(sent.Transfer, "send")
	writeJSON(w, http.StatusAccepted, sent)
}

func (s *Server) offers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Offers.List())
}

// answerRequest is the optional body of POST .../refuse.
type answerRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (s *Server) answer(accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		refuse := ""
		if !accept {
			var req answerRequest
			if r.ContentLength != 0 {
				if err := readJSON(r, &req); err != nil {
					writeError(w, err)
					return
				}
			}
			refuse = req.Reason
			if refuse == "" {
				refuse = RefusedByUser
			}
		}
		id := r.PathValue("id")
		if id == "-" {
			id = "" // the only offer waiting
		}
		if err := s.opts.Offers.Answer(id, refuse); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Accepted bool `json:"accepted"`
		}{accept})
	}
}

func (s *Server) transfers(w http.ResponseWriter, _ *http.Request) {
	recs, err := s.opts.Backend.Transfers()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.live.merge(recs, time.Now()))
}

func (s *Server) control(op func(Backend, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := op(s.opts.Backend, r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

// reloaded is the answer of POST /api/v1/config/reload.
type reloaded struct {
	Message string `json:"message"`
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	msg, err := s.opts.Backend.Reload(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reloaded{Message: msg})
}

func (s *Server) plugins(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Backend.Plugins(r.Context()))
}

// eventBuffer is how many events a slow event stream may fall behind
// before events are dropped for it.
const eventBuffer = 4096

// heartbeat is how often an idle event stream gets a comment, so that
// proxies and clients see it alive.
const heartbeat = 15 * time.Second

// events streams node events as Server-Sent Events: each is a "data:"
// line holding the JSON object --json prints. A comment ": ready" comes
// first, once the stream is subscribed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, errors.New("this connection cannot stream"))
		return
	}
	// Pointers: a buffer of 4096 events by value would be 1.2 MB to
	// allocate and zero for every subscriber (each send through the
	// daemon subscribes).
	ch := make(chan *node.Event, eventBuffer)
	remove := s.opts.Backend.Subscribe(func(e node.Event) {
		select {
		case ch <- &e:
		default:
		}
	})
	defer remove()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": ready\n\n")
	fl.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case e := <-ch:
			b, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}
