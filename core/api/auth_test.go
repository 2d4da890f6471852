package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testKey = "0123456789abcdef0123456789abcdef"

// login makes a browser session on h and returns its cookie and the CSRF
// token the page carries.
func login(t *testing.T, h http.Handler, host string) (*http.Cookie, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://"+host+"/login?key="+testKey, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login set no HttpOnly SameSite=Strict session cookie: %+v", rec.Result().Cookies())
	}
	req = httptest.NewRequest("GET", "http://"+host+"/", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	_, after, ok := strings.Cut(rec.Body.String(), `name="csrf-token" content="`)
	token, _, _ := strings.Cut(after, `"`)
	if rec.Code != http.StatusOK || !ok || len(token) != 64 {
		t.Fatalf("page with a session: %d, no CSRF token in it:\n%s", rec.Code, rec.Body)
	}
	return cookie, token
}

// TestGuard is the TCP listener's protection, request by request: the
// key, the Host header (DNS rebinding), the session cookie and its CSRF
// token.
func TestGuard(t *testing.T) {
	s, _ := newTestServer(t, testKey)
	const host = "127.0.0.1:8385"
	h, err := s.TCPHandler(host)
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := login(t, h, host)
	cases := []struct {
		name         string
		method, path string
		host         string
		key          string
		cookie       bool
		csrf         string
		origin       string
		want         int
	}{
		{name: "no key", method: "GET", path: "/api/v1/identity", want: 401},
		{name: "no key, POST", method: "POST", path: "/api/v1/config/reload", want: 401},
		{name: "wrong key", method: "GET", path: "/api/v1/identity", key: strings.Repeat("x", 32), want: 401},
		{name: "key", method: "GET", path: "/api/v1/identity", key: testKey, want: 200},
		{name: "key as bearer", method: "GET", path: "/api/v1/peers", key: "Bearer " + testKey, want: 200},
		{name: "key, POST without CSRF token", method: "POST", path: "/api/v1/config/reload", key: testKey, want: 200},
		{name: "foreign Host with key", method: "GET", path: "/api/v1/identity", host: "evil.example:8385", key: testKey, want: 403},
		{name: "foreign Host on the right IP's other port", method: "GET", path: "/api/v1/identity", host: "127.0.0.1:80", key: testKey, want: 403},
		{name: "localhost Host", method: "GET", path: "/api/v1/identity", host: "localhost:8385", key: testKey, want: 200},
		{name: "foreign Host, login", method: "GET", path: "/login?key=" + testKey, host: "rebind.example:8385", want: 403},
		{name: "login with a wrong key", method: "GET", path: "/login?key=nope", want: 401},
		{name: "session GET", method: "GET", path: "/api/v1/transfers", cookie: true, want: 200},
		{name: "cross-site POST with the cookie, no CSRF token", method: "POST", path: "/api/v1/config/reload", cookie: true, origin: "http://evil.example", want: 403},
		{name: "POST with the cookie and a wrong CSRF token", method: "POST", path: "/api/v1/offers/-/accept", cookie: true, csrf: strings.Repeat("0", 64), want: 403},
		{name: "POST with the cookie and the CSRF token", method: "POST", path: "/api/v1/config/reload", cookie: true, csrf: csrf, want: 200},
		{name: "page without a session", method: "GET", path: "/", want: 401},
		{name: "event stream without a session", method: "GET", path: "/api/v1/events", want: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hst := host
			if c.host != "" {
				hst = c.host
			}
			req := httptest.NewRequest(c.method, "http://"+host+c.path, nil)
			req.Host = hst
			if strings.HasPrefix(c.key, "Bearer ") {
				req.Header.Set("Authorization", c.key)
			} else if c.key != "" {
				req.Header.Set(KeyHeader, c.key)
			}
			if c.cookie {
				req.AddCookie(cookie)
			}
			if c.csrf != "" {
				req.Header.Set(CSRFHeader, c.csrf)
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("%s %s (Host %s): %d, want %d: %s", c.method, c.path, hst, rec.Code, c.want, rec.Body)
			}
		})
	}
}

// TestListenerLoopbackOnly: the API is served on loopback addresses only.
func TestListenerLoopbackOnly(t *testing.T) {
	s, _ := newTestServer(t, testKey)
	for addr, ok := range map[string]bool{"127.0.0.1:8385": true, "[::1]:8385": true, "0.0.0.0:8385": false, "192.0.2.2:8385": false, "localhost:8385": false} {
		if _, err := s.TCPHandler(addr); (err == nil) != ok {
			t.Errorf("TCPHandler(%q): %v, want ok=%v", addr, err, ok)
		}
	}
}
