package web

import (
	"crypto/subtle"
	"net/http"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
)

type loginData struct {
	CSRF, Next, Username, Error string
}

// The login form has no session yet, so its CSRF token is a double-submit
// cookie: the form must echo the cookie's random value.
func (s *Server) loginToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(loginCSRF); err == nil && len(ck.Value) == 32 {
		return ck.Value
	}
	token, _ := auth.NewToken("")
	token = token[:32]
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: token, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
	return token
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	d := loginData{CSRF: s.loginToken(w, r), Next: safeNext(r.URL.Query().Get("next"))}
	if err := s.render(w, r, http.StatusOK, "login.html", view{Title: "登录", Data: d}); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, r, apperr.E(apperr.TooLarge, "", "request.too_large"))
		return
	}
	ck, err := r.Cookie(loginCSRF)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		s.writeError(w, r, apperr.E(apperr.CSRF, "", "csrf.failed"))
		return
	}
	name, next := r.PostFormValue("username"), safeNext(r.PostFormValue("next"))
	token, sess, _, err := s.Auth.Login(r.Context(), name, r.PostFormValue("password"), clientAddress(r))
	if err != nil {
		e := apperr.As(err)
		if e.Code == apperr.Internal {
			s.writeError(w, r, err)
			return
		}
		d := loginData{CSRF: ck.Value, Next: next, Username: name, Error: e.Message()}
		if err := s.render(w, r, httpStatus(e.Code), "login.html", view{Title: "登录", Data: d}); err != nil {
			s.writeError(w, r, err)
		}
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secureRequest(r), Expires: sess.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Auth.Logout(r.Context(), c.P, ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
