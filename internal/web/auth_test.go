package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
)

// schoolForm is the body of the school form; over replaces fields ("" values
// are sent empty; use a nil map for none).
func schoolForm(csrf, code string, over map[string]string) string {
	v := url.Values{
		"code": {code}, "name": {"表单技师学院" + code}, "type": {"技师学院"}, "ownership": {"公办"},
		"division_code": {"370102"}, "address": {"济南市历下区表单路1号"}, "status": {"办学"},
	}
	if csrf != "" {
		v.Set("csrf_token", csrf)
	}
	for k, x := range over {
		v.Set(k, x)
	}
	return v.Encode()
}

func testAuthCredentials(t *testing.T, e *env) {
	ctx := t.Context()
	prov := e.sessionOf(t, demo.ProvinceUser)

	// A service whose clock runs 13 hours behind issues a session (12 h)
	// and a token (1 h) that have expired by now.
	past := auth.NewService(e.db)
	past.Now = func() time.Time { return time.Now().Add(-13 * time.Hour) }
	oldToken, err := past.CreateAPIToken(ctx, "system", demo.ProvinceUser, "old", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oldSession, _, _, err := past.Login(ctx, demo.ProvinceUser, demo.Password, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	expired := &session{cookie: &http.Cookie{Name: sessionCookie, Value: oldSession}}
	forged := &session{cookie: &http.Cookie{Name: sessionCookie, Value: "gjs_" + strings.Repeat("A", 43)}}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(demo.ProvinceUser+":"+demo.Password))
	authz := func(v string) map[string]string { return map[string]string{"Authorization": v} }

	e.run(t, []scenario{
		{name: "no credentials", url: "/api/v1/schools", status: 401, code: "unauthorized", absent: []string{e.all[0].Name}},
		{name: "no credentials on a write", method: "POST", url: "/api/v1/schools", body: newSchool("T0400", nil), status: 401, code: "unauthorized"},
		{name: "forged bearer token", url: "/api/v1/schools", header: authz("Bearer gjt_" + strings.Repeat("x", 43)), status: 401, code: "unauthorized"},
		{name: "empty bearer token", url: "/api/v1/schools", header: authz("Bearer "), status: 401, code: "unauthorized"},
		{name: "bearer scheme in lower case", url: "/api/v1/schools", header: authz("bearer " + e.token(t, demo.ProvinceUser)), status: 200},
		{name: "expired API token", url: "/api/v1/schools", header: authz("Bearer " + oldToken), status: 401, code: "unauthorized"},
		{name: "over-long bearer token", url: "/api/v1/schools", header: authz("Bearer " + strings.Repeat("x", 300)), status: 401, code: "unauthorized"},
		{name: "Basic credentials", url: "/api/v1/schools", header: authz(basic), status: 401, code: "unauthorized"},
		{name: "Basic credentials on a write", method: "POST", url: "/api/v1/schools", header: authz(basic), body: newSchool("T0400", nil),
			status: 401, code: "unauthorized"},
		{name: "session cookie value as bearer token", url: "/api/v1/schools", header: authz("Bearer " + prov.cookie.Value), status: 401, code: "unauthorized"},
		{name: "forged session cookie", url: "/api/v1/schools", sess: forged, status: 401, code: "unauthorized"},
		{name: "expired session cookie", url: "/api/v1/schools", sess: expired, status: 401, code: "unauthorized"},
		{name: "API token as session cookie", url: "/api/v1/schools",
			cookies: []*http.Cookie{{Name: sessionCookie, Value: e.token(t, demo.ProvinceUser)}}, status: 401, code: "unauthorized"},
		{name: "forged session cookie on a page redirects to login", url: "/schools", sess: forged, status: 303},
		{name: "expired session cookie on a page redirects to login", url: "/schools", sess: expired, status: 303},
		{name: "htmx request without a session", url: "/schools", header: map[string]string{"HX-Request": "true"}, status: 401,
			contains: []string{"请先登录"}},
		{name: "form POST without a session", method: "POST", url: "/schools", body: schoolForm("x", "T0400", nil), ctype: formType, status: 401},

		{name: "session reads the API", url: "/api/v1/me", sess: prov, status: 200, contains: []string{`"role":"province"`}},
		{name: "cookie write without X-CSRF-Token", method: "POST", url: "/api/v1/schools", sess: prov, body: newSchool("T0400", nil),
			status: 403, code: "csrf_failed"},
		{name: "cookie write with a wrong X-CSRF-Token", method: "POST", url: "/api/v1/schools", sess: prov, csrf: strings.Repeat("a", 32),
			body: newSchool("T0400", nil), status: 403, code: "csrf_failed"},
		{name: "cookie PATCH without X-CSRF-Token", method: "PATCH", url: "/api/v1/schools/" + e.all[0].Code, sess: prov,
			body: js(map[string]any{"name": "跨站修改技工学校"}), status: 403, code: "csrf_failed", unchanged: []string{e.all[0].Code}},
		{name: "cookie write with the session's CSRF token", method: "POST", url: "/api/v1/schools", sess: prov, csrf: prov.csrf,
			body: newSchool("T0400", nil), status: 201, audit: []string{"school.create:T0400"}},
		{name: "bearer write needs no CSRF token", method: "POST", url: "/api/v1/schools", as: demo.ProvinceUser,
			body: newSchool("T0401", nil), status: 201, audit: []string{"school.create:T0401"}},

		{name: "form POST without csrf_token", method: "POST", url: "/schools", sess: prov, body: schoolForm("", "T0402", nil), ctype: formType,
			status: 403, contains: []string{"CSRF"}},
		{name: "form POST with a wrong csrf_token", method: "POST", url: "/schools", sess: prov, body: schoolForm(strings.Repeat("b", 32), "T0402", nil),
			ctype: formType, status: 403},
		{name: "form edit without csrf_token", method: "POST", url: "/schools/" + e.all[0].Code, sess: prov,
			body: schoolForm("", e.all[0].Code, map[string]string{"name": "跨站编辑技工学校"}), ctype: formType, status: 403, unchanged: []string{e.all[0].Code}},
		{name: "form POST with csrf_token", method: "POST", url: "/schools", sess: prov, body: schoolForm(prov.csrf, "T0402", nil), ctype: formType,
			status: 303, audit: []string{"school.create:T0402"}},
		{name: "form POST with the token in the htmx header", method: "POST", url: "/schools", sess: prov, csrf: prov.csrf,
			body: schoolForm("", "T0403", nil), ctype: formType, status: 303, audit: []string{"school.create:T0403"}},
		{name: "audit verify without csrf_token", method: "POST", url: "/audit/verify", sess: prov, ctype: formType, body: "x=1", status: 403},
		{name: "logout without csrf_token", method: "POST", url: "/logout", sess: prov, ctype: formType, body: "x=1", status: 403},
		{name: "session still valid after refused logout", url: "/api/v1/me", sess: prov, status: 200},
	})

	t.Run("page without a session keeps the whole URL in next", func(t *testing.T) {
		want := "/schools?city_code=370100&type=" + url.QueryEscape("技师学院")
		r := e.do(t, req{method: "GET", url: want})
		if r.status != 303 {
			t.Fatalf("status %d", r.status)
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || loc.Path != "/login" {
			t.Fatalf("Location %q", r.header.Get("Location"))
		}
		if got := loc.Query().Get("next"); got != want {
			t.Errorf("next = %q, want %q", got, want)
		}
		page := e.do(t, req{method: "GET", url: loc.String()})
		if !strings.Contains(page.body, `name="next" value="/schools?city_code=370100&amp;type=`) {
			t.Errorf("login form lost the next URL:\n%s", page.body)
		}
	})

	t.Run("logout ends the session", func(t *testing.T) {
		s := e.login(t, demo.CityUser(jinan))
		before := e.lastSeq(t)
		r := e.do(t, req{method: "POST", url: "/logout", sess: s, ctype: formType, body: url.Values{"csrf_token": {s.csrf}}.Encode()})
		if got := e.auditSince(t, before); len(got) != 1 || !strings.HasPrefix(got[0], "user.logout:") {
			t.Errorf("logout audit events: %v", got)
		}
		if r.status != 303 || r.header.Get("Location") != "/login" {
			t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
		}
		if c := r.cookie(sessionCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("logout did not clear the cookie: %+v", c)
		}
		if r := e.do(t, req{method: "GET", url: "/api/v1/me", sess: s}); r.status != 401 {
			t.Errorf("API with the old cookie: %d", r.status)
		}
		if r := e.do(t, req{method: "GET", url: "/", sess: s}); r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/login") {
			t.Errorf("page with the old cookie: %d %q", r.status, r.header.Get("Location"))
		}
		if r := e.do(t, req{method: "POST", url: "/api/v1/schools", sess: s, csrf: s.csrf, body: newSchool("T0404", nil), ctype: jsonType}); r.status != 401 {
			t.Errorf("write with the old cookie and its CSRF token: %d", r.status)
		}
	})
}

func testLogin(t *testing.T, e *env) {
	ck, token := e.loginForm(t)
	otherCk, otherToken := e.loginForm(t)
	if token == otherToken {
		t.Fatal("two login forms got the same CSRF token")
	}
	form := func(tok, user, pw string) string {
		v := url.Values{"username": {user}, "password": {pw}}
		if tok != "" {
			v.Set("csrf_token", tok)
		}
		return v.Encode()
	}
	both := []*http.Cookie{ck}
	victim := demo.SchoolUser(e.all[5].Code)
	wrong := form(token, victim, "wrong-password")
	var throttle []scenario
	for i := range 5 {
		throttle = append(throttle, scenario{name: "wrong password " + string(rune('1'+i)), method: "POST", url: "/login", cookies: both,
			body: wrong, ctype: formType, status: 401, contains: []string{"用户名或密码错误"}, absent: []string{"登录失败次数过多"},
			audit: []string{"user.login_failed:" + victim}})
	}
	e.run(t, []scenario{
		{name: "login page", url: "/login", status: 200, contains: []string{`name="csrf_token"`, `action="/login"`}},
		{name: "no login CSRF cookie or token", method: "POST", url: "/login", body: form("", demo.ProvinceUser, demo.Password), ctype: formType, status: 403},
		{name: "token without cookie", method: "POST", url: "/login", body: form(token, demo.ProvinceUser, demo.Password), ctype: formType, status: 403},
		{name: "cookie without token", method: "POST", url: "/login", cookies: both, body: form("", demo.ProvinceUser, demo.Password), ctype: formType, status: 403},
		{name: "cookie of one form, token of another", method: "POST", url: "/login", cookies: []*http.Cookie{otherCk},
			body: form(token, demo.ProvinceUser, demo.Password), ctype: formType, status: 403},
		{name: "unknown user", method: "POST", url: "/login", cookies: both, body: form(token, "nobody", demo.Password), ctype: formType,
			status: 401, contains: []string{"用户名或密码错误"}, audit: []string{"user.login_failed:nobody"}},
		{name: "hostile user name is escaped", method: "POST", url: "/login", cookies: both, body: form(token, `<b>x</b>`, "x"), ctype: formType,
			status: 401, contains: []string{"&lt;b&gt;x&lt;/b&gt;"}, absent: []string{"<b>x</b>"}, audit: []string{"user.login_failed:<b>x</b>"}},
	})
	e.run(t, throttle)
	e.run(t, []scenario{
		{name: "right password after five failures is throttled", method: "POST", url: "/login", cookies: both,
			body: form(token, victim, demo.Password), ctype: formType, status: 429, contains: []string{"登录失败次数过多", "15 分钟"},
			check: func(t *testing.T, e *env, r *resp) {
				if c := r.cookie(sessionCookie); c != nil {
					t.Errorf("throttled login set a session cookie")
				}
			}},
		{name: "another user from the same address may still log in", method: "POST", url: "/login", cookies: both,
			body: form(token, demo.AuditorUser, demo.Password), ctype: formType, status: 303, audit: []string{"user.login:" + demo.AuditorUser}},
	})

	t.Run("session cookie flags over HTTP", func(t *testing.T) {
		ck, token := e.loginForm(t)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/login" || ck.Secure {
			t.Errorf("login CSRF cookie %+v", ck)
		}
		r := e.do(t, req{method: "POST", url: "/login", cookies: []*http.Cookie{ck}, ctype: formType, body: form(token, demo.ProvinceUser, demo.Password)})
		c := r.cookie(sessionCookie)
		if c == nil {
			t.Fatalf("no session cookie: %d", r.status)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || !strings.HasPrefix(c.Value, "gjs_") {
			t.Errorf("session cookie %+v", c)
		}
		if c.Expires.Before(time.Now().Add(11*time.Hour)) || c.Expires.After(time.Now().Add(13*time.Hour)) {
			t.Errorf("session cookie expires %v, want in about 12 hours", c.Expires)
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS over plain HTTP")
		}
	})

	t.Run("next refuses other sites", func(t *testing.T) {
		for _, tc := range []struct {
			next, want string
			login      bool // log in for real (argon2 is slow); else check the form only
		}{
			{"", "/", false},
			{"/schools?city_code=370100", "/schools?city_code=370100", true},
			{"//evil.example", "/", true},
			{"https://evil.example", "/", true},
			{"http://evil.example/login", "/", false},
			{`/\evil.example`, "/", false},
			{"/\t/evil.example", "/", true},
			{"/\n/evil.example", "/", false},
			{"/%09/evil.example", "/%09/evil.example", false},
			{"javascript:alert(1)", "/", false},
			{"evil.example", "/", false},
		} {
			if tc.login {
				r := e.postLogin(t, demo.ProvinceUser, demo.Password, tc.next)
				if r.status != 303 || r.header.Get("Location") != tc.want {
					t.Errorf("next=%q: %d Location %q, want %q", tc.next, r.status, r.header.Get("Location"), tc.want)
				}
			}
			page := e.do(t, req{method: "GET", url: "/login?next=" + url.QueryEscape(tc.next)})
			if want := `name="next" value="` + strings.ReplaceAll(tc.want, "&", "&amp;") + `"`; !strings.Contains(page.body, want) {
				t.Errorf("GET /login?next=%q: form lacks %s", tc.next, want)
			}
		}
	})
}

func testSecureCookiesOverTLS(t *testing.T, e *env) {
	e = e.overTLS(t)
	r := e.do(t, req{method: "GET", url: "/login"})
	lc := r.cookie(loginCSRFCookie)
	if lc == nil || !lc.Secure || !lc.HttpOnly {
		t.Errorf("login CSRF cookie over TLS: %+v", lc)
	}
	if hsts := r.header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", hsts)
	}
	r = e.postLogin(t, demo.ProvinceUser, demo.Password, "")
	c := r.cookie(sessionCookie)
	if r.status != 303 || c == nil {
		t.Fatalf("login over TLS: %d", r.status)
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("session cookie over TLS %+v", c)
	}
}
