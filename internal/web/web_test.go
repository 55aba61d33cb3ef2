package web_test

// The harness of the HTTP tests: one real server (web.New behind
// httptest.NewServer) per engine and test function, over a database loaded
// with the small demo set (24 schools in 济南, 青岛, 潍坊 and 威海), and a
// scenario runner in the style of PocketBase's ApiScenario: method, URL,
// credentials, body, expected status, expected substrings or JSON error, and
// for writes the audit events the request must append and the rows it must
// leave alone.

import (
	"context"
	"encoding/json"
	"github.com/gongjiang/gongjiang/internal/cert"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
	"github.com/gongjiang/gongjiang/internal/web"
)

// Demo cities.
const (
	jinan   = "370100" // 济南
	qingdao = "370200" // 青岛
)

var allScope = auth.Scope{Kind: auth.ScopeAll}

// Bounds on waiting, generous for -race (loading the demo data into SQLite
// takes about half a minute under the race detector).
const (
	setupTimeout   = 3 * time.Minute
	requestTimeout = time.Minute
)

// env is one server over one database.
type env struct {
	db     *store.DB
	auth   *auth.Service
	srv    *web.Server
	ts     *httptest.Server
	client *http.Client
	tokens map[string]string   // user name -> API token
	sess   map[string]*session // user name -> browser session
	all    []*school.School    // the demo schools, by code
}

type envOptions struct {
	noDemo bool // leave the database empty
}

// newEnv opens and migrates dsn, loads the demo data and starts a server.
func newEnv(t *testing.T, dsn string, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	// A bound on the setup turns a hang (a deadlock in the store) into a
	// failure that says where it happened.
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	db := storetest.Open(t, dsn)
	if !o.noDemo {
		if _, err := demo.Generate(ctx, db, pii.NewAESGCM(storetest.TestKeyring()), demo.Small, 1); err != nil {
			t.Fatalf("demo: %v", err)
		}
	}
	if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
		t.Fatalf("built-in plans: %v", err)
	}
	authSvc := auth.NewService(db)
	// Wired as serve wires them: an applied graduation issues its certificate.
	students, certs := student.NewService(db, pii.NewAESGCM(storetest.TestKeyring())), cert.NewService(db, pii.NewAESGCM(storetest.TestKeyring()))
	students.OnGraduated = func(ctx context.Context, st *student.Student) {
		if _, err := certs.IssueFor(ctx, st, "system"); err != nil {
			t.Errorf("issue the certificate of %s: %v", st.StudentNo, err)
		}
	}
	schools := school.NewService(db)
	imports := transfer.NewRunner(db, students, schools, pii.NewAESGCM(storetest.TestKeyring()))
	imports.Logger = slog.New(slog.DiscardHandler)
	srv, err := web.New(web.Deps{DB: db, Auth: authSvc, Schools: schools, Students: students,
		Compare: &student.Comparison{Store: db, Protect: pii.NewAESGCM(storetest.TestKeyring()), Now: time.Now},
		Certs:   certs, Filings: school.NewFilingService(db), Imports: imports, Logger: slog.New(slog.DiscardHandler), Version: "test"})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Timeout = requestTimeout
	runCtx, stopRunner := context.WithCancel(context.Background())
	runnerDone := make(chan struct{})
	go func() {
		defer close(runnerDone)
		imports.Run(runCtx)
	}()
	t.Cleanup(func() { stopRunner(); <-runnerDone })
	e := &env{db: db, auth: authSvc, srv: srv, ts: ts, client: client, tokens: map[string]string{}, sess: map[string]*session{}}
	if !o.noDemo {
		all, total, err := db.FindSchools(ctx, school.Filter{Scope: allScope, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if total != 24 || len(all) != 24 {
			t.Fatalf("demo.Small loaded %d schools (%d listed), want 24", total, len(all))
		}
		e.all = all
	}
	return e
}

// inCity returns the demo schools of a city, by code.
func (e *env) inCity(t *testing.T, city string) []*school.School {
	t.Helper()
	var out []*school.School
	for _, s := range e.all {
		if s.CityCode == city {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no demo school in %s", city)
	}
	return out
}

// token returns an API token of user, made on first use.
func (e *env) token(t *testing.T, user string) string {
	t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return tok
	}
	tok, err := e.auth.CreateAPIToken(t.Context(), "system", user, "test", 0)
	if err != nil {
		t.Fatalf("token for %s: %v", user, err)
	}
	e.tokens[user] = tok
	return tok
}

// sessionOf returns a browser session of user, logged in on first use.
func (e *env) sessionOf(t *testing.T, user string) *session {
	t.Helper()
	if s, ok := e.sess[user]; ok {
		return s
	}
	s := e.login(t, user)
	e.sess[user] = s
	return s
}

// session is a logged-in browser.
type session struct {
	user   string
	cookie *http.Cookie // gj_session
	csrf   string       // the session's CSRF token, read from a page
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// hiddenCSRF returns the csrf_token hidden input of a page.
func hiddenCSRF(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil || m[1] == "" {
		t.Fatalf("no csrf_token input in page:\n%s", page)
	}
	return m[1]
}

// loginForm GETs /login and returns the login CSRF cookie and hidden token.
func (e *env) loginForm(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	r := e.do(t, req{method: "GET", url: "/login"})
	if r.status != http.StatusOK {
		t.Fatalf("GET /login: %d", r.status)
	}
	ck := r.cookie(loginCSRFCookie)
	if ck == nil {
		t.Fatal("GET /login set no login CSRF cookie")
	}
	return ck, hiddenCSRF(t, r.body)
}

// postLogin submits the login form with a fresh login CSRF pair.
func (e *env) postLogin(t *testing.T, user, password, next string) *resp {
	t.Helper()
	ck, token := e.loginForm(t)
	form := url.Values{"csrf_token": {token}, "username": {user}, "password": {password}}
	if next != "" {
		form.Set("next", next)
	}
	return e.do(t, req{method: "POST", url: "/login", cookies: []*http.Cookie{ck}, body: form.Encode(), ctype: formType})
}

// login signs user in through the form and reads the session's CSRF token
// from the home page.
func (e *env) login(t *testing.T, user string) *session {
	t.Helper()
	r := e.postLogin(t, user, demo.Password, "")
	if r.status != http.StatusSeeOther {
		t.Fatalf("login %s: status %d, body:\n%s", user, r.status, r.body)
	}
	ck := r.cookie(sessionCookie)
	if ck == nil || ck.Value == "" {
		t.Fatalf("login %s set no session cookie", user)
	}
	s := &session{user: user, cookie: ck}
	home := e.do(t, req{method: "GET", url: "/", sess: s})
	if home.status != http.StatusOK {
		t.Fatalf("home after login of %s: %d", user, home.status)
	}
	s.csrf = hiddenCSRF(t, home.body)
	return s
}

const (
	sessionCookie   = "gj_session"
	loginCSRFCookie = "gj_login_csrf"
	formType        = "application/x-www-form-urlencoded"
	jsonType        = "application/json"
)

// req is one HTTP request.
type req struct {
	method, url string
	bearer      string // Authorization: Bearer <bearer>
	sess        *session
	csrf        string // X-CSRF-Token
	cookies     []*http.Cookie
	header      map[string]string
	body        string
	ctype       string
}

// resp is what came back.
type resp struct {
	status int
	header http.Header
	body   string
	raw    *http.Response
}

func (r *resp) cookie(name string) *http.Cookie {
	for _, c := range r.raw.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// apiError is the API's error shape.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (r *resp) apiError(t *testing.T) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body is not JSON (%v):\n%s", err, r.body)
	}
	return e
}

func (r *resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body is not the JSON expected (%v):\n%s", err, r.body)
	}
}

func (e *env) do(t *testing.T, q req) *resp {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	hr, err := http.NewRequestWithContext(t.Context(), q.method, e.ts.URL+q.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.ctype != "" {
		hr.Header.Set("Content-Type", q.ctype)
	}
	if q.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.sess != nil {
		hr.AddCookie(q.sess.cookie)
	}
	for _, c := range q.cookies {
		hr.AddCookie(c)
	}
	if q.csrf != "" {
		hr.Header.Set("X-CSRF-Token", q.csrf)
	}
	for k, v := range q.header {
		hr.Header.Set(k, v)
	}
	res, err := e.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", q.method, q.url, err)
	}
	r := &resp{status: res.StatusCode, header: res.Header, body: string(b), raw: res}
	checkHeaders(t, q, r)
	return r
}

// checkHeaders holds for every response: a Content-Security-Policy without
// inline script or style, nosniff, no framing; and for pages, no template
// output that leaked a Go value instead of text.
func checkHeaders(t *testing.T, q req, r *resp) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("%s %s: Content-Security-Policy %q", q.method, q.url, csp)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s %s: missing nosniff or X-Frame-Options: %v", q.method, q.url, r.header)
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		for _, bad := range []string{"<no value>", "&lt;no value&gt;", "&lt;nil&gt;", "%!", "map["} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s %s: page contains %q:\n%s", q.method, q.url, bad, truncate(r.body))
			}
		}
	}
}

// scenario is one row of a table test.
type scenario struct {
	name    string
	method  string
	url     string
	as      string   // send an API token of this user ("" = none)
	sess    *session // or send this browser session's cookie
	cookies []*http.Cookie
	csrf    string // X-CSRF-Token header
	header  map[string]string
	body    string
	ctype   string // Content-Type; application/json when a body is given
	noCtype bool   // send no Content-Type at all

	status   int
	code     string   // expected JSON error code
	field    string   // expected JSON error field
	contains []string // substrings the body must contain
	absent   []string // substrings it must not contain

	// audit lists the events the request must append, in order, as
	// "action:entity_id"; nil means the request must append none. The
	// count of schools must grow by the number of school.create events.
	audit []string
	// unchanged lists schools whose stored rows must not change.
	unchanged []string
	// check inspects the answer further.
	check func(t *testing.T, e *env, r *resp)
}

func (e *env) run(t *testing.T, scs []scenario) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) { e.runOne(t, sc) })
	}
}

func (e *env) runOne(t *testing.T, sc scenario) *resp {
	t.Helper()
	ctx := t.Context()
	q := req{method: sc.method, url: sc.url, sess: sc.sess, cookies: sc.cookies, csrf: sc.csrf, header: sc.header, body: sc.body, ctype: sc.ctype}
	if q.method == "" {
		q.method = "GET"
	}
	if sc.as != "" {
		q.bearer = e.token(t, sc.as)
	}
	if q.ctype == "" && q.body != "" && !sc.noCtype {
		q.ctype = jsonType
	}
	before := e.lastSeq(t)
	countBefore := e.countSchools(t)
	rows := map[string]*school.School{}
	for _, code := range sc.unchanged {
		s, err := e.db.FindSchool(ctx, allScope, code)
		if err != nil {
			t.Fatalf("unchanged %s: %v", code, err)
		}
		rows[code] = s
	}

	r := e.do(t, q)

	if r.status != sc.status {
		t.Errorf("%s %s: status %d, want %d; body:\n%s", q.method, sc.url, r.status, sc.status, truncate(r.body))
	}
	if sc.code != "" {
		ae := r.apiError(t)
		if ae.Error.Code != sc.code {
			t.Errorf("error code %q, want %q (message %q)", ae.Error.Code, sc.code, ae.Error.Message)
		}
		if sc.field != "" && ae.Error.Field != sc.field {
			t.Errorf("error field %q, want %q (message %q)", ae.Error.Field, sc.field, ae.Error.Message)
		}
		if !hasHan(ae.Error.Message) {
			t.Errorf("error message %q is not in Chinese", ae.Error.Message)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("error Content-Type %q, want JSON", ct)
		}
	}
	for _, s := range sc.contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("body lacks %q:\n%s", s, truncate(r.body))
		}
	}
	for _, s := range sc.absent {
		if strings.Contains(r.body, s) {
			t.Errorf("body contains %q:\n%s", s, truncate(r.body))
		}
	}

	got := e.auditSince(t, before)
	want := sc.audit
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit events appended %q, want %q", got, want)
	}
	creates := 0
	for _, a := range want {
		if strings.HasPrefix(a, "school.create:") {
			creates++
		}
	}
	if n := e.countSchools(t); n != countBefore+creates {
		t.Errorf("schools: %d after, %d before, want %d more", n, countBefore, creates)
	}
	for code, was := range rows {
		now, err := e.db.FindSchool(ctx, allScope, code)
		if err != nil {
			t.Fatalf("unchanged %s: %v", code, err)
		}
		if !reflect.DeepEqual(was, now) {
			t.Errorf("school %s changed:\nbefore %+v\nafter  %+v", code, was, now)
		}
	}
	if sc.check != nil && !t.Failed() {
		sc.check(t, e, r)
	}
	return r
}

// lastSeq is the newest audit sequence number.
func (e *env) lastSeq(t *testing.T) int64 {
	t.Helper()
	evs, err := e.db.RecentAudit(t.Context(), "", "", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[0].Seq
}

// auditSince lists events after seq, oldest first, as "action:entity_id".
func (e *env) auditSince(t *testing.T, seq int64) []string {
	t.Helper()
	evs, err := e.db.RecentAudit(t.Context(), "", "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Seq > seq {
			out = append(out, evs[i].Action+":"+evs[i].EntityID)
		}
	}
	return out
}

func (e *env) countSchools(t *testing.T) int {
	t.Helper()
	n, err := e.db.CountSchoolsAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// school reads a school as stored.
func (e *env) school(t *testing.T, code string) *school.School {
	t.Helper()
	s, err := e.db.FindSchool(t.Context(), allScope, code)
	if err != nil {
		t.Fatalf("school %s: %v", code, err)
	}
	return s
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// js marshals v for a request body.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// newSchool is a valid creation body; over overrides fields.
func newSchool(code string, over map[string]any) string {
	m := map[string]any{
		"code": code, "name": "测试技师学院" + code, "type": "技师学院", "ownership": "公办",
		"division_code": "370102", "address": "济南市历下区测试路1号",
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return js(m)
}

// schoolList is the JSON list answer.
type schoolList struct {
	Items []*school.School `json:"items"`
	Total int              `json:"total"`
	Next  string           `json:"next"`
}

// eachEngine runs fn on a fresh server per engine; the engines run in
// parallel with each other and with other top-level tests.
func eachEngine(t *testing.T, opts envOptions, fn func(t *testing.T, e *env)) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dsn string) {
		t.Parallel()
		fn(t, newEnv(t, dsn, opts))
	})
}

// TestWeb runs every group of scenarios on one server per engine: loading
// the demo data is the slow part, so the groups share it. The groups that
// count the 24 demo schools come first; the later ones create and change
// schools of their own (codes T00xx, T01xx, …) and read what they compare
// against from the database, so each also passes when run alone
// (go test -run 'TestWeb/sqlite/pages').
func TestWeb(t *testing.T) {
	eachEngine(t, envOptions{}, func(t *testing.T, e *env) {
		for _, g := range []struct {
			name string
			fn   func(t *testing.T, e *env)
		}{
			{"scope", testAPIScope},
			{"paging", testAPIPaging},
			{"ops", testOps},
			{"login", testLogin},
			{"tls", testSecureCookiesOverTLS},
			{"credentials", testAuthCredentials},
			{"writes", testAPIWrites},
			{"bodies", testAPIRequestBodies},
			{"sql", testAPISQLCharacters},
			{"pages", testPages},
			{"certs", testCerts},
			{"filings", testFilings},
			{"portal", testPortal},
			{"exports", testExports},
			{"imports", testImports},
			{"plans", testPlans},
			{"proxies", testTrustedProxies},
			{"in school", testInSchoolFilter},
		} {
			t.Run(g.name, func(t *testing.T) { g.fn(t, e) })
		}
	})
}

// overTLS returns the env served by a second server, over TLS, in front of
// the same handler and database.
func (e *env) overTLS(t *testing.T) *env {
	t.Helper()
	ts := httptest.NewTLSServer(e.srv)
	t.Cleanup(ts.Close)
	c := *e
	c.ts = ts
	c.client = ts.Client()
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client.Timeout = requestTimeout
	return &c
}
