package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Header and cookie names of the TCP listener's protection.
const (
	// KeyHeader carries the API key (Syncthing's X-API-Key).
	KeyHeader = "X-API-Key"
	// CSRFHeader carries a browser session's CSRF token on every request
	// that changes something.
	CSRFHeader = "X-CSRF-Token"
	// SessionCookie holds a browser session, made at /login with the key.
	SessionCookie = "ferry_session"
)

// maxSessions bounds the browser sessions kept; the oldest goes first.
const maxSessions = 64

// sessionTTL is how long a browser session lasts.
const sessionTTL = 24 * time.Hour

type session struct {
	csrf    string
	expires time.Time
}

type sessions struct {
	mu    sync.Mutex
	byTok map[string]*session
	order []string
}

func newSessions() *sessions { return &sessions{byTok: map[string]*session{}} }

// newToken returns 32 random bytes in hex.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func (ss *sessions) create() (token string, s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	token, s = newToken(), &session{csrf: newToken(), expires: time.Now().Add(sessionTTL)}
	ss.byTok[token] = s
	ss.order = append(ss.order, token)
	for len(ss.order) > maxSessions {
		delete(ss.byTok, ss.order[0])
		ss.order = ss.order[1:]
	}
	return token, s
}

func (ss *sessions) get(token string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byTok[token]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type sessionKey struct{}

// csrfOf returns the CSRF token of the request's browser session, "" if
// it has none (the socket, or the API key).
func csrfOf(ctx context.Context) string {
	if s, ok := ctx.Value(sessionKey{}).(*session); ok {
		return s.csrf
	}
	return ""
}

// allowedHosts returns the Host header values a request to the loopback
// listener at addr may carry: its address by IP and by the name
// localhost, so that a page loaded from another name that resolves to
// 127.0.0.1 (DNS rebinding) is refused.
func allowedHosts(addr string) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api listener %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("api listener %q: only a loopback address (127.0.0.1, ::1) may serve the API", addr)
	}
	hosts := []string{net.JoinHostPort(host, port), net.JoinHostPort("localhost", port)}
	if ip.To4() == nil {
		hosts = append(hosts, "[::1]:"+port)
	}
	return hosts, nil
}

// guard wraps next with the TCP listener's checks: Host header, then the
// API key, else a session cookie with the CSRF token on every method that
// is not GET or HEAD. /login trades the key for a session.
func (s *Server) guard(addr string, next http.Handler) (http.Handler, error) {
	hosts, err := allowedHosts(addr)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(hosts, strings.ToLower(r.Host)) {
			writeJSON(w, http.StatusForbidden, apiError{Error: fmt.Sprintf("Host %q is not this daemon's address (%s): refused against DNS rebinding", r.Host, strings.Join(hosts, ", "))})
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/login" {
			next.ServeHTTP(w, r)
			return
		}
		key := r.Header.Get(KeyHeader)
		if key == "" {
			key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if key != "" {
			if !equal(key, s.opts.Key) {
				writeJSON(w, http.StatusUnauthorized, apiError{Error: "wrong API key"})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		var sess *session
		if c, err := r.Cookie(SessionCookie); err == nil {
			sess = s.sessions.get(c.Value)
		}
		if sess == nil {
			if r.Method == http.MethodGet && r.URL.Path == "/" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write(loginPage)
				return
			}
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "the " + KeyHeader + " header (or a session made at /login) is required"})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !equal(r.Header.Get(CSRFHeader), sess.csrf) {
			writeJSON(w, http.StatusForbidden, apiError{Error: "the " + CSRFHeader + " header is missing or wrong: refused as a possible cross-site request"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}), nil
}

// login trades the API key (?key=) for a browser session cookie and goes
// to the page. On the socket, where no page needs a session, it is
// refused.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !equal(r.URL.Query().Get("key"), s.opts.Key) {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "wrong or missing key"})
		return
	}
	token, _ := s.sessions.create()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// loginPage is what / shows without a session.
var loginPage = []byte(`<!doctype html><meta charset="utf-8"><title>Ferry</title>
<p>This is the Ferry daemon's page. Open the address <code>ferry daemon</code> printed when it started
(<code>http://127.0.0.1:PORT/login?key=...</code>; the key is in <code>$FERRY_HOME/api.key</code>).</p>
`)
