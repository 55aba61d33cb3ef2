package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
)

// contentSecurityPolicy allows no inline script or style and nothing from
// other origins; htmx is configured (meta htmx-config) not to need either.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Cookie names.
const (
	sessionCookie = "gj_session"
	loginCSRF     = "gj_login_csrf"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	logAttrsKey
	clientKey
)

// addLogAttrs adds what a request came to (e.g. a certificate check's
// answer) to its log line, so that one line says it all.
func addLogAttrs(r *http.Request, attrs ...slog.Attr) {
	if p, ok := r.Context().Value(logAttrsKey).(*[]slog.Attr); ok {
		*p = append(*p, attrs...)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// observe gives every request an id, recovers panics, logs and counts it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		var extra []slog.Attr
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), logAttrsKey, &extra)
		r = r.WithContext(context.WithValue(ctx, clientKey, s.clientOf(r)))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, apperr.Internalf("panic: %v", v))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.observe(route, r.Method, status, time.Since(start))
			attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("remote", clientAddress(r))}
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, extra...)...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// secure sets the headers every response carries.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if secureRequest(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddress is the client's address without port: the peer's, or —
// when the peer is a trusted reverse proxy (Deps.TrustedProxies) — the
// one the proxy saw, as observe found it. Throttling is by this address.
func clientAddress(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey).(client); ok {
		return c.address
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// secureRequest reports whether the client reached us over TLS: directly,
// or through a trusted proxy that says so (X-Forwarded-Proto: https).
func secureRequest(r *http.Request) bool {
	if c, ok := r.Context().Value(clientKey).(client); ok {
		return c.https
	}
	return r.TLS != nil
}

type client struct {
	address string
	https   bool
}

// clientOf finds the client behind a request. X-Forwarded-For is read
// only when the peer is a trusted proxy, from the right, skipping trusted
// proxies: the first address a trusted hop did not add is the client's
// (anything to its left the client may have forged).
func (s *Server) clientOf(r *http.Request) client {
	c := client{address: r.RemoteAddr, https: r.TLS != nil}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.address = host
	}
	if !s.trusted(c.address) {
		return c
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break // a malformed hop: keep the last good one
		}
		c.address = hop
		if !s.trusted(hop) {
			break
		}
	}
	if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
		c.https = strings.EqualFold(strings.TrimSpace(proto), "https")
	}
	return c
}

func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// reqCtx is what an authenticated handler knows about its caller.
type reqCtx struct {
	P       auth.Principal
	Session *auth.Session // nil for bearer tokens
}

type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// page wraps a page handler: it needs a session (or redirects to the login
// page), checks the CSRF token of every unsafe request, and renders errors
// as pages.
func (s *Server) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.sessionCaller(r)
		if err != nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			s.writeError(w, r, err)
			return
		}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
			if err := checkCSRF(r, c.Session.CSRFToken); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// api wraps a JSON API handler: a Bearer token or a session (then unsafe
// methods need the X-CSRF-Token header).
func (s *Server) api(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *reqCtx
		var err error
		if r.Header.Get("Authorization") != "" {
			if c, err = s.bearerCaller(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		} else {
			if c, err = s.sessionCaller(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			if !safeMethod(r.Method) {
				if err := checkCSRF(r, c.Session.CSRFToken); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
		}
		if err := h(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// bearerCaller is the caller an Authorization: Bearer token names.
func (s *Server) bearerCaller(r *http.Request) (*reqCtx, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, apperr.E(apperr.Unauthorized, "", "auth.token.invalid")
	}
	u, err := s.Auth.Bearer(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return &reqCtx{P: u.Principal()}, nil
}

func (s *Server) sessionCaller(r *http.Request) (*reqCtx, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, apperr.E(apperr.Unauthorized, "", "auth.login.required")
	}
	sess, u, err := s.Auth.Session(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	return &reqCtx{P: u.Principal(), Session: sess}, nil
}

// requireAuditReader lets only roles that may read the audit log through.
func (s *Server) requireAuditReader(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		if !c.P.CanReadAudit() {
			return apperr.E(apperr.Forbidden, "", "audit.forbidden")
		}
		return h(w, r, c)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCSRF compares the token sent in the form or header with want.
func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue("csrf_token")
	}
	return sameToken(got, want)
}

// sameToken compares a CSRF token sent with the session's, in constant time.
func sameToken(got, want string) error {
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return apperr.E(apperr.CSRF, "", "csrf.failed")
	}
	return nil
}

// safeNext keeps a post-login redirect on this site: a local path only.
// Browsers drop tabs and newlines anywhere in a URL ("/\t/evil" becomes
// "//evil"), so no control character may appear at all.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

// requestID is the id observe gave the request.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func (s *Server) logInternal(r *http.Request, err error) {
	s.Logger.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("request_id", requestID(r)), slog.String("error", err.Error()))
}
