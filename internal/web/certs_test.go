package web_test

// HTTP tests of graduation certificates (毕业证书): the staff API and pages
// (scope, filters, paging, PDF, revoke, reissue), the public verification
// (by number and name, by QR payload, the published keys, the verify page,
// the per-address limit) and issue on graduation through the workflow. They
// run through the real router on both engines as a group of TestWeb, over
// the demo's certificates of the July-2025 graduates.

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/web"
)

// ---------------------------------------------------------------------------
// Helpers.

// certURL is the API address of a certificate.
func certURL(no string) string { return "/api/v1/certificates/" + no }

// verifyURL is the public check by number and name.
func verifyURL(no, name string) string {
	return "/api/v1/public/certificates/verify?" + url.Values{"no": {no}, "name": {name}}.Encode()
}

const payloadURL = "/api/v1/public/certificates/verify"

// allCerts reads every stored certificate, newest (highest id) first,
// bypassing the API.
func (e *env) allCerts(t *testing.T) []*cert.Certificate {
	t.Helper()
	var out []*cert.Certificate
	var after int64
	for {
		items, _, err := e.db.ListCertificates(t.Context(), cert.Filter{Scope: allScope, After: after, Limit: student.MaxPageSize})
		if err != nil {
			t.Fatalf("list certificates: %v", err)
		}
		out = append(out, items...)
		if len(items) < student.MaxPageSize {
			return out
		}
		after = items[len(items)-1].ID
	}
}

// storedCert reads a certificate as stored, bypassing the API.
func (e *env) storedCert(t *testing.T, no string) *cert.Certificate {
	t.Helper()
	c, err := e.db.FindCertificate(t.Context(), auth.Scope{Kind: auth.ScopeAll}, no)
	if err != nil {
		t.Fatalf("certificate %s: %v", no, err)
	}
	return c
}

// numbersOf lists the certificates of all that keep holds, in order.
func numbersOf(all []*cert.Certificate, keep func(*cert.Certificate) bool) []string {
	out := []string{}
	for _, c := range all {
		if keep(c) {
			out = append(out, c.No)
		}
	}
	return out
}

// payloadOf is the signed QR payload of a stored certificate.
func payloadOf(t *testing.T, c *cert.Certificate) string {
	t.Helper()
	p, err := cert.Payload(c)
	if err != nil {
		t.Fatalf("payload of %s: %v", c.No, err)
	}
	return p
}

// walkCerts follows the list's cursors as user, limit at a time, and
// returns the numbers listed and the total the first page gave.
func (e *env) walkCerts(t *testing.T, user, query string, limit int) ([]string, int) {
	t.Helper()
	base := "/api/v1/certificates?limit=" + strconv.Itoa(limit)
	if query != "" {
		base += "&" + query
	}
	var got []string
	total := -1
	next := ""
	for page := 0; ; page++ {
		u := base
		if next != "" {
			u += "&cursor=" + url.QueryEscape(next)
		}
		r := e.do(t, req{method: "GET", url: u, bearer: e.token(t, user)})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s as %s: %d\n%s", u, user, r.status, truncate(r.body))
		}
		var l listOf[*cert.Certificate]
		r.decode(t, &l)
		if len(l.Items) > limit {
			t.Fatalf("page %d of %s has %d items, limit %d", page, u, len(l.Items), limit)
		}
		if total < 0 {
			total = l.Total
		} else if l.Total != total {
			t.Errorf("page %d says total %d, the first said %d", page, l.Total, total)
		}
		for _, c := range l.Items {
			if slices.Contains(got, c.No) {
				t.Fatalf("%s listed twice while walking %s", c.No, base)
			}
			got = append(got, c.No)
		}
		if l.Next == "" {
			return got, total
		}
		if page > 1000 {
			t.Fatalf("walking %s does not end", base)
		}
		next = l.Next
	}
}

// listedExactly checks a one-page list answer against the numbers wanted,
// in order.
func listedExactly(want []string) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		var l listOf[*cert.Certificate]
		r.decode(t, &l)
		got := []string{}
		for _, c := range l.Items {
			got = append(got, c.No)
		}
		if !slices.Equal(got, want) || l.Total != len(want) {
			t.Errorf("listed %d (total %d): %q\nwant %d: %q", len(got), l.Total, got, len(want), want)
		}
	}
}

// answer is the public verification answer.
type answer struct {
	Status      string       `json:"status"`
	StatusName  string       `json:"status_name"`
	Reason      string       `json:"reason"`
	RevokedOn   string       `json:"revoked_on"`
	Certificate *cert.Public `json:"certificate"`
	Signature   *struct {
		Valid      bool   `json:"valid"`
		Alg        string `json:"alg"`
		KeyID      string `json:"key_id"`
		KeyRetired bool   `json:"key_retired"`
	} `json:"signature"`
}

// wantAnswer checks a public answer: its status and, for a certificate
// shown, that the holder's name is masked and no identity number appears
// whole. reason, when given, is what the reason must start with.
func wantAnswer(status string, c *cert.Certificate, reason string, signed bool) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		var a answer
		r.decode(t, &a)
		if a.Status != status || a.StatusName == "" {
			t.Errorf("status %q (%q), want %q", a.Status, a.StatusName, status)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if c != nil {
			noPlainIDBut(t, r.body, c.No)
			if strings.Contains(r.body, c.HolderName) {
				t.Errorf("the answer shows the holder's name %q unmasked:\n%s", c.HolderName, r.body)
			}
			for _, private := range []string{c.StudentNo, `"student_id"`, `"school_code"`, `"signature":"`, `"version"`} {
				if private != "" && strings.Contains(r.body, private) {
					t.Errorf("the answer shows %q:\n%s", private, r.body)
				}
			}
			if a.Certificate == nil {
				t.Fatalf("no certificate in the answer:\n%s", r.body)
			}
			p := a.Certificate
			if p.No != c.No || p.HolderName != pii.MaskName(c.HolderName) || p.IDMasked != c.IDMasked || p.SchoolName != c.SchoolName ||
				p.Major != c.Major || p.GraduationDate != c.GraduationDate || !strings.HasSuffix(p.Authority, "人力资源和社会保障厅") {
				t.Errorf("certificate shown %+v, want %s of %s (%s) at %s", p, c.No, pii.MaskName(c.HolderName), c.IDMasked, c.SchoolName)
			}
			if !strings.Contains(p.HolderName, "*") {
				t.Errorf("holder name %q is not masked", p.HolderName)
			}
		}
		if c == nil {
			noPlainID(t, r.body)
		}
		switch status {
		case cert.AnswerRevoked:
			if reason == "" || !strings.HasPrefix(a.Reason, reason) || a.RevokedOn != dayInChina(0) {
				t.Errorf("revoked answer: reason %q (want it to start with %q), revoked_on %q (want %s)", a.Reason, reason, a.RevokedOn, dayInChina(0))
			}
		default:
			if a.Reason != "" || a.RevokedOn != "" {
				t.Errorf("%s answer with reason %q, revoked_on %q", status, a.Reason, a.RevokedOn)
			}
		}
		if signed != (a.Signature != nil) {
			t.Fatalf("signature in the answer: %v, want %v", a.Signature, signed)
		}
		if signed {
			if !a.Signature.Valid || (c != nil && (a.Signature.KeyID != c.KeyID || a.Signature.Alg != c.Alg)) {
				t.Errorf("signature %+v, want valid, key %s", *a.Signature, c.KeyID)
			}
		}
	}
}

// certByStatus checks a staff answer's certificate state.
func certByStatus(status string, more func(t *testing.T, c *cert.Certificate)) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		var c cert.Certificate
		r.decode(t, &c)
		if c.Status != status {
			t.Errorf("certificate %s is %q, want %q", c.No, c.Status, status)
		}
		if strings.Contains(r.body, `"signature"`) {
			t.Errorf("the staff answer carries the raw signature:\n%s", truncate(r.body))
		}
		if more != nil {
			more(t, &c)
		}
	}
}

// noPlainIDBut is noPlainID for an answer that shows certificate numbers,
// which are 18 digits too.
func noPlainIDBut(t *testing.T, body string, nos ...string) {
	t.Helper()
	for _, no := range nos {
		body = strings.ReplaceAll(body, no, "(no)")
	}
	noPlainID(t, body)
}

// lockedBuffer collects a server's log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withServer returns the env served by a second server over the same
// database, built with the harness's dependencies as over changes them (a
// limit of public checks of its own, a logger to read).
func (e *env) withServer(t *testing.T, over func(d *web.Deps)) *env {
	t.Helper()
	d := e.srv.Deps
	over(&d)
	srv, err := web.New(d)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c := *e
	c.srv, c.ts, c.client = srv, ts, ts.Client()
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client.Timeout = requestTimeout
	return &c
}

// verifyForm GETs /verify and returns its double-submit cookie and token.
func (e *env) verifyForm(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	r := e.do(t, req{method: "GET", url: "/verify"})
	ck := r.cookie("gj_public_csrf")
	if r.status != http.StatusOK || ck == nil || ck.Value == "" {
		t.Fatalf("GET /verify: %d, cookie %v", r.status, ck)
	}
	if ck.Path != "/verify" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("verify CSRF cookie: path %q, HttpOnly %v, SameSite %v", ck.Path, ck.HttpOnly, ck.SameSite)
	}
	token := hiddenCSRF(t, r.body)
	if token != ck.Value {
		t.Errorf("form token %q, cookie %q", token, ck.Value)
	}
	return ck, token
}

// ---------------------------------------------------------------------------
// The group.

func testCerts(t *testing.T, e *env) {
	all := e.allCerts(t)
	if len(all) < 50 {
		t.Fatalf("the demo issued %d certificates; want the 2025 cohort's", len(all))
	}
	// The school of 济南 with the most valid certificates is the issuing
	// school of these tests; another school of 济南 and one of 青岛 are
	// the strangers.
	valid := map[string][]*cert.Certificate{}
	for _, c := range all {
		if c.Status == cert.StatusValid {
			valid[c.SchoolCode] = append(valid[c.SchoolCode], c)
		}
	}
	var home, neighbour, faraway string
	for code, cs := range valid {
		switch {
		case strings.HasPrefix(code, "3701") && (home == "" || len(cs) > len(valid[home])):
			home = code
		case strings.HasPrefix(code, "3702") && faraway == "":
			faraway = code
		}
	}
	for code := range valid {
		if strings.HasPrefix(code, "3701") && code != home {
			neighbour = code
		}
	}
	if home == "" || neighbour == "" || faraway == "" || len(valid[home]) < 12 {
		t.Fatalf("demo certificates: home %s (%d valid), neighbour %s, faraway %s", home, len(valid[home]), neighbour, faraway)
	}
	// Subtests that change a certificate take their own from the front;
	// those that only read one pick theirs from the back.
	mine := valid[home]
	take := func() *cert.Certificate {
		c := mine[0]
		mine = mine[1:]
		return c
	}
	keep := func(k int) *cert.Certificate { return valid[home][len(valid[home])-1-k] }
	schoolUser, city, qdCity := demo.SchoolUser(home), demo.CityUser(jinan), demo.CityUser(qingdao)
	const p = demo.ProvinceUser
	// Public checks run on a server of their own with a limit no test
	// reaches (the harness server's 60 a minute, 20 at once, would throttle
	// this group), logging into a buffer that must stay free of personal data.
	var logs lockedBuffer
	pub := e.withServer(t, func(d *web.Deps) {
		d.VerifyPerMinute = 60_000
		d.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	var private []string // what the logs must not contain

	t.Run("lists are scoped", func(t *testing.T) {
		all := e.allCerts(t)
		for _, c := range []struct {
			user string
			keep func(*cert.Certificate) bool
		}{
			{p, func(*cert.Certificate) bool { return true }},
			{demo.AuditorUser, func(*cert.Certificate) bool { return true }},
			{city, func(c *cert.Certificate) bool { return c.CityCode == jinan }},
			{qdCity, func(c *cert.Certificate) bool { return c.CityCode == qingdao }},
			{schoolUser, func(c *cert.Certificate) bool { return c.SchoolCode == home }},
			{demo.SchoolUser(faraway), func(c *cert.Certificate) bool { return c.SchoolCode == faraway }},
		} {
			t.Run(c.user, func(t *testing.T) {
				want := numbersOf(all, c.keep)
				got, total := e.walkCerts(t, c.user, "", student.MaxPageSize)
				if !slices.Equal(got, want) || total != len(want) {
					t.Errorf("%s lists %d (total %d), want %d: got %q…", c.user, len(got), total, len(want), got[:min(5, len(got))])
				}
			})
		}
		e.run(t, []scenario{
			{name: "a city naming a school of another city", url: "/api/v1/certificates?school_code=" + faraway, as: city, status: 200,
				check: listedExactly([]string{})},
			{name: "a school naming another school", url: "/api/v1/certificates?school_code=" + neighbour, as: schoolUser, status: 200,
				check: listedExactly([]string{})},
			{name: "the list page shows the school its own", url: "/certificates?limit=500", sess: e.sessionOf(t, schoolUser), status: 200,
				contains: []string{`data-testid="cert-table"`, valid[home][0].No}, absent: []string{valid[neighbour][0].No, valid[faraway][0].No}},
		})
	})

	t.Run("filters", func(t *testing.T) {
		all := e.allCerts(t)
		c := keep(0)
		var revoked *cert.Certificate
		for _, x := range all {
			if x.Status == cert.StatusRevoked {
				revoked = x
			}
		}
		if revoked == nil {
			t.Fatal("the demo revoked no certificate")
		}
		spaced := c.No[:4] + " " + c.No[4:6] + "-" + c.No[6:12] + " " + c.No[12:]
		e.run(t, []scenario{
			{name: "by number", url: "/api/v1/certificates?no=" + c.No, as: p, status: 200, check: listedExactly([]string{c.No})},
			{name: "by number as typed with spaces and dashes", url: "/api/v1/certificates?no=" + url.QueryEscape(spaced), as: p, status: 200,
				check: listedExactly([]string{c.No})},
			{name: "by number out of scope", url: "/api/v1/certificates?no=" + c.No, as: qdCity, status: 200, check: listedExactly([]string{})},
			{name: "by holder name", url: "/api/v1/certificates?limit=500&holder_name=" + url.QueryEscape(c.HolderName), as: p, status: 200,
				check: listedExactly(numbersOf(all, func(x *cert.Certificate) bool { return x.HolderName == c.HolderName }))},
			{name: "revoked ones", url: "/api/v1/certificates?limit=500&status=revoked", as: p, status: 200,
				check: listedExactly(numbersOf(all, func(x *cert.Certificate) bool { return x.Status == cert.StatusRevoked }))},
			{name: "revoked ones of the city", url: "/api/v1/certificates?limit=500&status=revoked", as: demo.CityUser(revoked.CityCode), status: 200,
				check: listedExactly(numbersOf(all, func(x *cert.Certificate) bool {
					return x.Status == cert.StatusRevoked && x.CityCode == revoked.CityCode
				}))},
			{name: "by student", url: "/api/v1/certificates?student_id=" + strconv.FormatInt(c.StudentID, 10), as: schoolUser, status: 200,
				check: listedExactly(numbersOf(all, func(x *cert.Certificate) bool { return x.StudentID == c.StudentID }))},
			{name: "by another school's student", url: "/api/v1/certificates?student_id=" + strconv.FormatInt(valid[faraway][0].StudentID, 10),
				as: schoolUser, status: 200, check: listedExactly([]string{})},
			{name: "kind graduation", url: "/api/v1/certificates?limit=500&kind=graduation", as: city, status: 200,
				check: listedExactly(numbersOf(all, func(x *cert.Certificate) bool { return x.CityCode == jinan }))},
			{name: "another kind", url: "/api/v1/certificates?kind=other", as: p, status: 400, code: "validation_failed", field: "kind"},
			{name: "an unknown status", url: "/api/v1/certificates?status=lost", as: p, status: 400, code: "validation_failed", field: "status"},
			{name: "a student id that is no number", url: "/api/v1/certificates?student_id=abc", as: p, status: 400, code: "validation_failed", field: "student_id"},
			{name: "a negative student id", url: "/api/v1/certificates?student_id=-1", as: p, status: 400, code: "validation_failed", field: "student_id"},
			{name: "limit 0", url: "/api/v1/certificates?limit=0", as: p, status: 400, code: "validation_failed", field: "limit"},
			{name: "limit 501", url: "/api/v1/certificates?limit=501", as: p, status: 400, code: "validation_failed", field: "limit"},
			{name: "a cursor that is not ours", url: "/api/v1/certificates?cursor=%25%25", as: p, status: 400, code: "validation_failed", field: "cursor"},
			{name: "no login", url: "/api/v1/certificates", status: 401, code: "unauthorized", absent: []string{c.No}},
			{name: "the list page filters revoked", url: "/certificates?status=revoked", sess: e.sessionOf(t, p), status: 200,
				contains: []string{revoked.No, `<option value="revoked" selected>`}, absent: []string{c.No}},
		})
	})

	t.Run("paging", func(t *testing.T) {
		all := e.allCerts(t)
		for _, c := range []struct {
			user  string
			limit int
			keep  func(*cert.Certificate) bool
		}{
			{p, 97, func(*cert.Certificate) bool { return true }},
			{city, 7, func(c *cert.Certificate) bool { return c.CityCode == jinan }},
			{schoolUser, 2, func(c *cert.Certificate) bool { return c.SchoolCode == home }},
		} {
			t.Run(fmt.Sprintf("%s %d at a time", c.user, c.limit), func(t *testing.T) {
				want := numbersOf(all, c.keep)
				got, total := e.walkCerts(t, c.user, "", c.limit)
				if !slices.Equal(got, want) || total != len(want) {
					t.Errorf("walked %d (total %d), want %d in id order", len(got), total, len(want))
				}
			})
		}
		t.Run("a filter holds across pages", func(t *testing.T) {
			want := numbersOf(all, func(c *cert.Certificate) bool { return c.CityCode == jinan && c.Status == cert.StatusValid })
			if got, total := e.walkCerts(t, city, "status=valid", 9); !slices.Equal(got, want) || total != len(want) {
				t.Errorf("walked %d (total %d), want %d", len(got), total, len(want))
			}
		})
	})

	t.Run("read and PDF", func(t *testing.T) {
		c := keep(1)
		other := valid[neighbour][0]
		isPDF := func(t *testing.T, e *env, r *resp) {
			t.Helper()
			if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.HasPrefix(r.body, "%PDF-") || !strings.Contains(r.body[max(0, len(r.body)-64):], "%%EOF") || len(r.body) < 10_000 {
				t.Errorf("not a whole PDF: %d bytes starting %q", len(r.body), r.body[:min(16, len(r.body))])
			}
			if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, c.No+".pdf") {
				t.Errorf("Content-Disposition %q", cd)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
		}
		e.run(t, []scenario{
			{name: "the school reads its certificate", url: certURL(c.No), as: schoolUser, status: 200,
				contains: []string{`"no":"` + c.No + `"`, `"holder_name":"` + c.HolderName + `"`, `"kind":"graduation"`, `"key_id":"` + c.KeyID + `"`},
				check:    certByStatus(cert.StatusValid, nil)},
			{name: "the city reads it", url: certURL(c.No), as: city, status: 200, check: certByStatus(cert.StatusValid, nil)},
			{name: "another school does not", url: certURL(other.No), as: schoolUser, status: 404, code: "not_found", absent: []string{other.HolderName}},
			{name: "another city does not", url: certURL(c.No), as: qdCity, status: 404, code: "not_found", absent: []string{c.HolderName}},
			{name: "an unknown number", url: certURL(cert.FormatNumber(2025, "37", 1)), as: p, status: 404, code: "not_found"},
			{name: "the PDF", url: certURL(c.No) + "/pdf", as: schoolUser, status: 200, check: isPDF},
			{name: "the PDF through the page route", url: "/certificates/" + c.No + "/pdf", sess: e.sessionOf(t, city), status: 200, check: isPDF},
			{name: "another school's PDF", url: certURL(other.No) + "/pdf", as: schoolUser, status: 404, code: "not_found", absent: []string{"%PDF"}},
			{name: "the certificate page", url: "/certificates/" + c.No, sess: e.sessionOf(t, schoolUser), status: 200,
				contains: []string{`data-testid="certificate"`, c.HolderName, c.IDMasked, `src="data:image/png;base64,`, `data-testid="cert-revoke"`, `data-testid="cert-reissue"`}},
			{name: "the city's certificate page offers no action", url: "/certificates/" + c.No, sess: e.sessionOf(t, city), status: 200,
				contains: []string{`data-testid="certificate"`}, absent: []string{`data-testid="cert-revoke"`, `data-testid="cert-reissue"`}},
		})
	})

	t.Run("revoke through the API", func(t *testing.T) {
		c := take()
		private = append(private, c.No, c.HolderName)
		u := certURL(c.No)
		const why = "学籍被撤销：测试撤销"
		e.run(t, []scenario{
			{name: "without a reason", method: "POST", url: u + "/revoke", as: schoolUser, body: `{}`, status: 400, code: "validation_failed", field: "reason"},
			{name: "with a blank reason", method: "POST", url: u + "/revoke", as: schoolUser, body: `{"reason":"  "}`, status: 400, code: "validation_failed", field: "reason"},
			{name: "with markup in the reason", method: "POST", url: u + "/revoke", as: schoolUser, body: js(map[string]string{"reason": "<b>x</b>"}),
				status: 400, code: "validation_failed", field: "reason"},
			{name: "with a reason too long", method: "POST", url: u + "/revoke", as: schoolUser, body: js(map[string]string{"reason": strings.Repeat("长", 201)}),
				status: 400, code: "validation_failed", field: "reason"},
			{name: "by its city", method: "POST", url: u + "/revoke", as: city, body: js(map[string]string{"reason": why}), status: 403, code: "forbidden"},
			{name: "by the auditor", method: "POST", url: u + "/revoke", as: demo.AuditorUser, body: js(map[string]string{"reason": why}), status: 403, code: "forbidden"},
			// Another school does not see the certificate at all: not found,
			// as for its read, rather than a refusal that confirms the number.
			{name: "by another school", method: "POST", url: u + "/revoke", as: demo.SchoolUser(neighbour), body: js(map[string]string{"reason": why}),
				status: 404, code: "not_found", absent: []string{c.HolderName}},
			{name: "by another city", method: "POST", url: u + "/revoke", as: qdCity, body: js(map[string]string{"reason": why}), status: 404, code: "not_found"},
			{name: "a session without the CSRF header", method: "POST", url: u + "/revoke", sess: e.sessionOf(t, schoolUser),
				body: js(map[string]string{"reason": why}), status: 403},
		})
		pub.run(t, []scenario{
			{name: "still valid publicly", url: verifyURL(c.No, c.HolderName), status: 200, check: wantAnswer(cert.AnswerValid, c, "", false)},
		})
		e.run(t, []scenario{
			{name: "by the issuing school", method: "POST", url: u + "/revoke", as: schoolUser, body: js(map[string]string{"reason": why}), status: 200,
				audit: []string{"cert.revoke:" + c.No},
				check: certByStatus(cert.StatusRevoked, func(t *testing.T, got *cert.Certificate) {
					if got.Reason != why || got.RevokedBy != schoolUser || got.RevokedAt.IsZero() || got.Version != c.Version+1 {
						t.Errorf("revoked: reason %q by %q at %v, version %d", got.Reason, got.RevokedBy, got.RevokedAt, got.Version)
					}
				})},
			{name: "it reads revoked", url: u, as: city, status: 200, check: certByStatus(cert.StatusRevoked, nil)},
			{name: "revoking again", method: "POST", url: u + "/revoke", as: schoolUser, body: js(map[string]string{"reason": why}),
				status: 409, code: "invalid_transition"},
			{name: "reissuing a revoked one", method: "POST", url: u + "/reissue", as: p, body: js(map[string]string{"reason": "遗失"}),
				status: 409, code: "invalid_transition"},
			{name: "the PDF says so", url: u + "/pdf", as: schoolUser, status: 200, contains: []string{"%PDF"}},
		})
		pub.run(t, []scenario{
			{name: "public verification says revoked", url: verifyURL(c.No, c.HolderName), status: 200,
				contains: []string{`"status":"revoked"`}, check: wantAnswer(cert.AnswerRevoked, c, why, false)},
			{name: "so does its QR payload", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payloadOf(t, c)}), status: 200,
				check: wantAnswer(cert.AnswerRevoked, c, why, true)},
		})
	})

	t.Run("reissue through the API", func(t *testing.T) {
		old := take()
		private = append(private, old.No, old.HolderName)
		const why = "原证书遗失"
		before := e.lastSeq(t)
		r := e.do(t, req{method: "POST", url: certURL(old.No) + "/reissue", bearer: e.token(t, p), ctype: jsonType, body: js(map[string]string{"reason": why})})
		if r.status != http.StatusCreated {
			t.Fatalf("reissue: %d\n%s", r.status, truncate(r.body))
		}
		var fresh cert.Certificate
		r.decode(t, &fresh)
		if _, ok := cert.NormalizeNumber(fresh.No); !ok || fresh.No == old.No || fresh.Replaces != old.No || fresh.Status != cert.StatusValid {
			t.Fatalf("reissued %q (well-formed: %v) replaces %q, status %q", fresh.No, ok, fresh.Replaces, fresh.Status)
		}
		if fresh.HolderName != old.HolderName || fresh.StudentID != old.StudentID || fresh.SchoolCode != old.SchoolCode ||
			fresh.IssueDate != dayInChina(0) || fresh.IssuedBy != p || fresh.GraduationDate != old.GraduationDate {
			t.Errorf("reissued %+v from %+v", fresh, *old)
		}
		if loc := r.header.Get("Location"); loc != certURL(fresh.No) {
			t.Errorf("Location %q", loc)
		}
		if got := e.auditSince(t, before); !slices.Equal(got, []string{"cert.reissue:" + fresh.No}) {
			t.Errorf("audit %q, want cert.reissue:%s", got, fresh.No)
		}
		stored := e.storedCert(t, old.No)
		if stored.Status != cert.StatusVoided || stored.ReplacedBy != fresh.No || stored.Reason != "补发："+why {
			t.Errorf("the old certificate: %q, replaced by %q, reason %q", stored.Status, stored.ReplacedBy, stored.Reason)
		}
		newOne := e.storedCert(t, fresh.No)
		private = append(private, fresh.No)
		e.run(t, []scenario{
			{name: "the old one reads voided", url: certURL(old.No), as: schoolUser, status: 200,
				contains: []string{`"replaced_by":"` + fresh.No + `"`}, check: certByStatus(cert.StatusVoided, nil)},
			{name: "the new one reads valid", url: certURL(fresh.No), as: schoolUser, status: 200,
				contains: []string{`"replaces":"` + old.No + `"`}, check: certByStatus(cert.StatusValid, nil)},
			{name: "the student has both", url: "/api/v1/certificates?student_id=" + strconv.FormatInt(old.StudentID, 10), as: schoolUser, status: 200,
				check: listedExactly([]string{fresh.No, old.No})},
			{name: "reissuing the voided one", method: "POST", url: certURL(old.No) + "/reissue", as: schoolUser, body: js(map[string]string{"reason": why}),
				status: 409, code: "invalid_transition"},
			{name: "revoking the voided one", method: "POST", url: certURL(old.No) + "/revoke", as: schoolUser, body: js(map[string]string{"reason": why}),
				status: 409, code: "invalid_transition"},
			{name: "reissue without a reason", method: "POST", url: certURL(fresh.No) + "/reissue", as: schoolUser, body: `{}`,
				status: 400, code: "validation_failed", field: "reason"},
			{name: "reissue by another school", method: "POST", url: certURL(fresh.No) + "/reissue", as: demo.SchoolUser(neighbour),
				body: js(map[string]string{"reason": why}), status: 404, code: "not_found"},
			{name: "reissue by the city", method: "POST", url: certURL(fresh.No) + "/reissue", as: city,
				body: js(map[string]string{"reason": why}), status: 403, code: "forbidden"},
			{name: "the old one's page links the new", url: "/certificates/" + old.No, sess: e.sessionOf(t, schoolUser), status: 200,
				contains: []string{`data-testid="cert-void"`, `href="/certificates/` + fresh.No + `"`, "补发：" + why},
				absent:   []string{`data-testid="cert-revoke"`}},
		})
		pub.run(t, []scenario{
			{name: "public verification of the old one", url: verifyURL(old.No, old.HolderName), status: 200,
				check: wantAnswer(cert.AnswerRevoked, old, "补发", false)},
			{name: "the old one's QR payload", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payloadOf(t, old)}), status: 200,
				check: wantAnswer(cert.AnswerRevoked, old, "补发", true)},
			{name: "public verification of the new one", url: verifyURL(fresh.No, old.HolderName), status: 200,
				check: wantAnswer(cert.AnswerValid, newOne, "", false)},
			{name: "the new one's QR payload", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payloadOf(t, newOne)}), status: 200,
				check: wantAnswer(cert.AnswerValid, newOne, "", true)},
		})
	})

	t.Run("page forms", func(t *testing.T) {
		ss := e.sessionOf(t, schoolUser)
		c, d := take(), take()
		page := "/certificates/" + c.No
		const why = "学籍被撤销：页面撤销"
		form := func(csrf, reason string) string {
			v := url.Values{"reason": {reason}}
			if csrf != "" {
				v.Set("csrf_token", csrf)
			}
			return v.Encode()
		}
		e.run(t, []scenario{
			{name: "revoke without the CSRF token", method: "POST", url: page + "/revoke", sess: ss, ctype: formType, body: form("", why), status: 403},
			{name: "revoke with a wrong CSRF token", method: "POST", url: page + "/revoke", sess: ss, ctype: formType,
				body: form(strings.Repeat("0", len(ss.csrf)), why), status: 403},
			{name: "revoke without a reason", method: "POST", url: page + "/revoke", sess: ss, ctype: formType, body: form(ss.csrf, ""),
				status: 400, contains: []string{`data-testid="cert-error"`, "原因", `data-testid="cert-revoke"`}},
			{name: "revoke by the city", method: "POST", url: page + "/revoke", sess: e.sessionOf(t, city), ctype: formType,
				body: form(e.sessionOf(t, city).csrf, why), status: 403, contains: []string{`data-testid="cert-error"`}},
			{name: "revoke", method: "POST", url: page + "/revoke", sess: ss, ctype: formType, body: form(ss.csrf, why), status: http.StatusSeeOther,
				audit: []string{"cert.revoke:" + c.No}, check: func(t *testing.T, e *env, r *resp) {
					if loc := r.header.Get("Location"); loc != page+"?done=revoke" {
						t.Errorf("Location %q, want %s?done=revoke", loc, page)
					}
				}},
			{name: "the page after revoking", url: page + "?done=revoke", sess: ss, status: 200,
				contains: []string{`data-testid="cert-done"`, `data-testid="cert-void"`, why, "已撤销"}, absent: []string{`data-testid="cert-revoke"`}},
			{name: "revoke again", method: "POST", url: page + "/revoke", sess: ss, ctype: formType, body: form(ss.csrf, why),
				status: 409, contains: []string{`data-testid="cert-error"`, "已撤销"}},
			{name: "revoke an unknown number", method: "POST", url: "/certificates/" + cert.FormatNumber(2025, "37", 2) + "/revoke", sess: ss,
				ctype: formType, body: form(ss.csrf, why), status: 404},
			{name: "reissue without the CSRF token", method: "POST", url: "/certificates/" + d.No + "/reissue", sess: ss, ctype: formType,
				body: form("", "遗失"), status: 403},
		})
		t.Run("reissue", func(t *testing.T) {
			before := e.lastSeq(t)
			r := e.do(t, req{method: "POST", url: "/certificates/" + d.No + "/reissue", sess: ss, ctype: formType, body: form(ss.csrf, "原证书损毁")})
			loc := r.header.Get("Location")
			no := strings.TrimSuffix(strings.TrimPrefix(loc, "/certificates/"), "?done=reissue")
			if r.status != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=reissue") || no == d.No {
				t.Fatalf("reissue through the form: %d, Location %q", r.status, loc)
			}
			if _, ok := cert.NormalizeNumber(no); !ok {
				t.Errorf("new number %q is malformed", no)
			}
			if got := e.auditSince(t, before); !slices.Equal(got, []string{"cert.reissue:" + no}) {
				t.Errorf("audit %q", got)
			}
			e.run(t, []scenario{
				{name: "the new page", url: loc, sess: ss, status: 200, contains: []string{`data-testid="cert-done"`, "已补发新证书", `href="/certificates/` + d.No + `"`}},
				{name: "the old page", url: "/certificates/" + d.No, sess: ss, status: 200, contains: []string{"已作废", "补发：原证书损毁", `href="/certificates/` + no + `"`}},
			})
		})
	})

	t.Run("public verification by number", func(t *testing.T) {
		c := keep(2)
		private = append(private, c.No, c.HolderName)
		unknown := cert.FormatNumber(2025, "37", 424242)
		if x, err := e.db.LookupCertificate(t.Context(), unknown); err != nil || x != nil {
			t.Fatalf("lookup %s: %v %v", unknown, x, err)
		}
		wrongCheck := c.No[:17] + strconv.Itoa((int(c.No[17]-'0')+1)%10)
		var notFound string
		pub.run(t, []scenario{
			{name: "the right number and name", url: verifyURL(c.No, c.HolderName), status: 200, contains: []string{`"status":"valid"`},
				check: wantAnswer(cert.AnswerValid, c, "", false)},
			{name: "the number as typed, the name with spaces", url: verifyURL(" "+c.No[:6]+"-"+c.No[6:]+" ", " "+strings.Join(strings.Split(c.HolderName, ""), " ")),
				status: 200, check: wantAnswer(cert.AnswerValid, c, "", false)},
			{name: "an unknown number", url: verifyURL(unknown, c.HolderName), status: 200,
				check: func(t *testing.T, e *env, r *resp) {
					wantAnswer(cert.AnswerNotFound, nil, "", false)(t, e, r)
					notFound = r.body
				}},
			{name: "a wrong name", url: verifyURL(c.No, c.HolderName+"某"), status: 200, absent: []string{c.SchoolName, c.Major, c.IDMasked},
				check: func(t *testing.T, e *env, r *resp) {
					wantAnswer(cert.AnswerNotFound, nil, "", false)(t, e, r)
					if r.body != notFound {
						t.Errorf("a wrong name answers\n%s\nan unknown number\n%s\nwant the same", r.body, notFound)
					}
				}},
			{name: "the masked name", url: verifyURL(c.No, pii.MaskName(c.HolderName)), status: 200,
				check: wantAnswer(cert.AnswerNotFound, nil, "", false)},
			{name: "17 digits", url: verifyURL(c.No[:17], c.HolderName), status: 400, code: "validation_failed", field: "no", absent: []string{c.SchoolName}},
			{name: "19 digits", url: verifyURL(c.No+"0", c.HolderName), status: 400, code: "validation_failed", field: "no"},
			{name: "letters", url: verifyURL(c.No[:10]+"ABCDEFGH", c.HolderName), status: 400, code: "validation_failed", field: "no"},
			{name: "a wrong check digit", url: verifyURL(wrongCheck, c.HolderName), status: 400, code: "validation_failed", field: "no", absent: []string{c.SchoolName}},
			{name: "no number", url: "/api/v1/public/certificates/verify?name=" + url.QueryEscape(c.HolderName), status: 400, code: "validation_failed", field: "no"},
			{name: "no name", url: "/api/v1/public/certificates/verify?no=" + c.No, status: 400, code: "validation_failed", field: "name", absent: []string{c.SchoolName}},
			{name: "a blank name", url: verifyURL(c.No, "   "), status: 400, code: "validation_failed", field: "name"},
			{name: "a 10 KB name", url: verifyURL(c.No, strings.Repeat("名", 10*1024/3)), status: 400, code: "validation_failed", field: "name"},
			{name: "SQL in the name", url: verifyURL(c.No, "' OR '1'='1"), status: 200, check: wantAnswer(cert.AnswerNotFound, nil, "", false)},
			{name: "no login needed, none used", url: verifyURL(c.No, c.HolderName), as: p, status: 200, check: wantAnswer(cert.AnswerValid, c, "", false)},
		})
	})

	t.Run("public verification by payload", func(t *testing.T) {
		c := keep(3)
		private = append(private, c.No, c.HolderName)
		payload := payloadOf(t, c)
		private = append(private, payload)
		// Change the last character's top bit: always a data bit, so the
		// decoded bytes change.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, payload[len(payload)-1])
		tampered := payload[:len(payload)-1] + string(alphabet[last^32])
		// A name changed inside the payload: the signature no longer holds.
		raw, msg, err := cert.Decode(payload)
		if err != nil || len(msg) == 0 {
			t.Fatalf("decode the demo payload: %v", err)
		}
		first := string([]rune(raw.HolderName)[0])
		swap := map[bool]string{true: "李", false: "王"}[first == "王"]
		raw.HolderName = swap + strings.TrimPrefix(raw.HolderName, first)
		forged, err := cert.Payload(raw) // the old signature over new fields
		if err != nil {
			t.Fatal(err)
		}
		refused := func(t *testing.T, e *env, r *resp) {
			t.Helper()
			if code := r.apiError(t).Error.Code; code != "invalid_signature" && code != "invalid_payload" {
				t.Errorf("code %q, want invalid_signature or invalid_payload", code)
			}
			for _, s := range []string{c.SchoolName, c.IDMasked, `"certificate"`} {
				if strings.Contains(r.body, s) {
					t.Errorf("a refused payload's answer shows %q", s)
				}
			}
		}
		pub.run(t, []scenario{
			{name: "the real payload", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payload}), status: 200,
				contains: []string{`"valid":true`}, check: wantAnswer(cert.AnswerValid, c, "", true)},
			{name: "the verify URL the QR holds", method: "POST", url: payloadURL,
				body: js(map[string]string{"payload": cert.VerifyURL("https://gj.example.gov.cn", payload)}), status: 200,
				check: wantAnswer(cert.AnswerValid, c, "", true)},
			{name: "the last character changed", method: "POST", url: payloadURL, body: js(map[string]string{"payload": tampered}), status: 400, check: refused},
			{name: "another name under the old signature", method: "POST", url: payloadURL, body: js(map[string]string{"payload": forged}), status: 400,
				code: "invalid_signature", check: refused},
			{name: "cut short", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payload[:len(payload)/2]}), status: 400,
				code: "invalid_payload", field: "payload", check: refused},
			{name: "empty", method: "POST", url: payloadURL, body: `{"payload":""}`, status: 400, code: "invalid_payload", check: refused},
			{name: "markup", method: "POST", url: payloadURL, body: `{"payload": "<script>alert(1)</script>"}`, status: 400, code: "invalid_payload",
				absent: []string{"<script", "alert(1)", `\u003cscript`}, check: refused},
			{name: "2 MB", method: "POST", url: payloadURL, body: js(map[string]string{"payload": strings.Repeat("A", 2<<20)}), status: 413, code: "payload_too_large"},
			{name: "an unknown field", method: "POST", url: payloadURL, body: `{"payload":"x","name":"y"}`, status: 400, code: "validation_failed"},
			{name: "not JSON", method: "POST", url: payloadURL, body: payload, ctype: "text/plain", status: 415, code: "unsupported_media_type"},
		})
	})

	t.Run("published keys", func(t *testing.T) {
		c := keep(4)
		r := e.do(t, req{method: "GET", url: "/api/v1/public/keys"})
		if r.status != http.StatusOK {
			t.Fatalf("GET /api/v1/public/keys: %d\n%s", r.status, r.body)
		}
		var set struct {
			Keys []struct {
				cert.Key
				Status string `json:"status"`
				PEM    string `json:"pem"`
			} `json:"keys"`
		}
		r.decode(t, &set)
		active := 0
		var pubs []cert.Key
		for _, k := range set.Keys {
			pubs = append(pubs, k.Key)
			if k.Status != "active" {
				continue
			}
			active++
			if k.ID != c.KeyID || k.Alg != c.Alg || !strings.HasPrefix(k.PEM, "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("active key %s (%s), PEM %q; the demo signed with %s (%s)", k.ID, k.Alg, k.PEM, c.KeyID, c.Alg)
			}
			parsed, err := cert.ParsePublicKey([]byte(k.PEM))
			if err != nil || parsed.ID != k.ID || !bytes.Equal(parsed.Public, k.Public) {
				t.Errorf("the PEM of %s: %v, id %v", k.ID, err, parsed)
			}
		}
		if active != 1 {
			t.Errorf("%d active keys:\n%s", active, r.body)
		}
		if strings.Contains(r.body, "PRIVATE") || strings.Contains(r.body, "sealed") {
			t.Errorf("the key set shows private material:\n%s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "public") {
			t.Errorf("Cache-Control %q", cc)
		}
		// What is published verifies what was signed, offline.
		ks, err := cert.NewKeySet(pubs)
		if err != nil {
			t.Fatal(err)
		}
		if got, k, err := ks.Verify(payloadOf(t, c)); err != nil || got.No != c.No || k.ID != c.KeyID {
			t.Errorf("offline check with the published keys: %v", err)
		}
	})

	t.Run("the verify page", func(t *testing.T) {
		c := keep(5)
		private = append(private, c.No, c.HolderName)
		payload := payloadOf(t, c)
		masked := pii.MaskName(c.HolderName)
		ck, token := pub.verifyForm(t)
		form := func(no, name string) string {
			return url.Values{"csrf_token": {token}, "no": {no}, "name": {name}}.Encode()
		}
		const hostile = `<script>alert(1)</script>`
		pub.run(t, []scenario{
			{name: "the page states the limit", url: "/verify", status: 200, contains: []string{`<form method="post" action="/verify">`, "每分钟最多查验 60000 次"}},
			{name: "the QR link", url: "/verify?p=" + payload, status: 200,
				contains: []string{"证书有效", masked, c.No, c.SchoolName, `data-testid="verify-result"`, `data-status="valid"`, `data-testid="verify-signature"`, c.KeyID},
				absent:   []string{c.HolderName, `data-testid="verify-error"`},
				check: func(t *testing.T, e *env, r *resp) {
					noPlainIDBut(t, r.body, c.No)
					if cc := r.header.Get("Cache-Control"); cc != "no-store" {
						t.Errorf("Cache-Control %q", cc)
					}
				}},
			{name: "the whole verify URL as the parameter", url: "/verify?p=" + url.QueryEscape(cert.VerifyURL(pub.ts.URL, payload)), status: 200,
				contains: []string{"证书有效", masked}},
			{name: "a tampered QR link", url: "/verify?p=" + payload[:len(payload)-3] + "AAA", status: 400,
				contains: []string{`data-testid="verify-error"`}, absent: []string{c.SchoolName, masked, `data-status="valid"`}},
			{name: "markup as the QR link", url: "/verify?p=" + url.QueryEscape(hostile), status: 400,
				contains: []string{`data-testid="verify-error"`}, absent: []string{hostile}},
			{name: "the form without the token", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType,
				body: url.Values{"no": {c.No}, "name": {c.HolderName}}.Encode(), status: 403, absent: []string{c.SchoolName}},
			{name: "the form without the cookie", method: "POST", url: "/verify", ctype: formType, body: form(c.No, c.HolderName), status: 403,
				absent: []string{c.SchoolName}},
			{name: "the form", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType, body: form(c.No, c.HolderName), status: 200,
				contains: []string{"证书有效", masked, c.SchoolName, `data-status="valid"`, `value="` + c.No + `"`},
				absent:   []string{`data-testid="verify-signature"`}},
			{name: "the form with a wrong name", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType,
				body: form(c.No, c.HolderName+"某"), status: 200, contains: []string{`data-status="not_found"`, "未查到"}, absent: []string{c.SchoolName, masked}},
			{name: "the form with a malformed number", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType,
				body: form(c.No[:17], c.HolderName), status: 400, contains: []string{`data-testid="verify-error"`, "18 位"}, absent: []string{c.SchoolName}},
			{name: "markup as the name", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType, body: form(c.No, hostile),
				status: 200, contains: []string{`data-status="not_found"`, "&lt;script&gt;alert(1)&lt;/script&gt;"}, absent: []string{hostile}},
			{name: "markup as the number", method: "POST", url: "/verify", cookies: []*http.Cookie{ck}, ctype: formType,
				body: form(`"><script>alert(1)</script>`, c.HolderName), status: 400, absent: []string{hostile, `"><script`}},
		})
	})

	t.Run("graduation issues a certificate", func(t *testing.T) {
		ops := e.operating(t, jinan)
		school := ops[0]
		su := demo.SchoolUser(school.Code)
		a := e.applicant(t, "女")
		st := e.register(t, su, school.Code, a, nil)
		ch := e.propose(t, su, st, changeBody(student.ChangeGraduation, dayInChina(0), nil))
		e.run(t, []scenario{
			{name: "no certificate before", url: "/api/v1/certificates?student_id=" + strconv.FormatInt(st.ID, 10), as: su, status: 200,
				check: listedExactly([]string{})},
		})
		bearer := e.token(t, city)
		before := e.lastSeq(t)
		r := e.do(t, req{method: "POST", url: changeURL(ch.ID) + "/approve", bearer: bearer, ctype: jsonType, body: `{"note":"同意毕业"}`})
		if r.status != http.StatusOK {
			t.Fatalf("approve the graduation: %d\n%s", r.status, truncate(r.body))
		}
		wantChange(student.StateApplied, nil, nil, studentIs(st.ID, student.StatusGraduated, school.Code, jinan))(t, e, r)
		var l listOf[*cert.Certificate]
		lr := e.do(t, req{method: "GET", url: "/api/v1/certificates?student_id=" + strconv.FormatInt(st.ID, 10), bearer: e.token(t, su)})
		lr.decode(t, &l)
		if lr.status != http.StatusOK || len(l.Items) != 1 || l.Total != 1 {
			t.Fatalf("certificates of the graduate: %d\n%s", lr.status, truncate(lr.body))
		}
		got := l.Items[0]
		if got.Status != cert.StatusValid || got.HolderName != a.Name || got.IDMasked != maskedID(a.Number) || got.SchoolCode != school.Code ||
			got.CityCode != jinan || got.GraduationDate != dayInChina(0) || got.IssueDate != dayInChina(0) || got.EntryDate != "2025-09-01" ||
			got.ClassLevel != "中级工班" || got.Major != a.Major || got.StudentNo != st.StudentNo || got.ProvinceCode != "37" {
			t.Errorf("the graduate's certificate: %+v", got)
		}
		if _, ok := cert.NormalizeNumber(got.No); !ok || !strings.HasPrefix(got.No, dayInChina(0)[:4]+"37") {
			t.Errorf("number %q", got.No)
		}
		if audit := e.auditSince(t, before); !slices.Equal(audit, []string{"change.approve:" + st.StudentNo, "change.apply:" + st.StudentNo, "cert.issue:" + got.No}) {
			t.Errorf("audit %q", audit)
		}
		issued := e.storedCert(t, got.No)
		private = append(private, got.No, a.Name, a.Number)
		pub.run(t, []scenario{
			{name: "it verifies publicly", url: verifyURL(got.No, a.Name), status: 200, absent: []string{a.Number, a.Name, st.StudentNo},
				check: wantAnswer(cert.AnswerValid, issued, "", false)},
			{name: "its payload verifies", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payloadOf(t, issued)}), status: 200,
				absent: []string{a.Number, a.Name}, check: wantAnswer(cert.AnswerValid, issued, "", true)},
		})
		e.run(t, []scenario{
			{name: "the city lists it", url: "/api/v1/certificates?no=" + got.No, as: city, status: 200, check: listedExactly([]string{got.No})},
			{name: "another city does not", url: "/api/v1/certificates?no=" + got.No, as: qdCity, status: 200, check: listedExactly([]string{})},
		})
	})

	t.Run("the limit per address", func(t *testing.T) {
		c := keep(6)
		var slowLogs lockedBuffer
		slow := e.withServer(t, func(d *web.Deps) {
			d.VerifyPerMinute = 3
			d.Logger = slog.New(slog.NewJSONHandler(&slowLogs, nil))
		})
		// A bucket of max(20, 3/60) checks, refilled 3 a minute: the
		// first checks pass, then the address is refused.
		passed, first := 0, 0
		for i := 1; i <= 30 && first == 0; i++ {
			r := slow.do(t, req{method: "GET", url: verifyURL(c.No, c.HolderName)})
			switch r.status {
			case http.StatusOK:
				passed++
			case http.StatusTooManyRequests:
				first = i
				if ae := r.apiError(t); ae.Error.Code != "rate_limited" || !hasHan(ae.Error.Message) {
					t.Errorf("429 answer: %+v", ae)
				}
				if strings.Contains(r.body, c.SchoolName) {
					t.Errorf("a refused check shows the certificate")
				}
			default:
				t.Fatalf("check %d: %d\n%s", i, r.status, r.body)
			}
		}
		if first == 0 || passed < 3 || passed > 22 {
			t.Fatalf("%d checks passed, the first refusal at %d; want at least 3 and at most about the burst of 20", passed, first)
		}
		slow.run(t, []scenario{
			{name: "a payload check from the same address", method: "POST", url: payloadURL, body: js(map[string]string{"payload": payloadOf(t, c)}),
				status: 429, code: "rate_limited", absent: []string{c.SchoolName}},
			{name: "the QR page from the same address", url: "/verify?p=" + payloadOf(t, c), status: 429,
				contains: []string{`data-testid="verify-error"`, "查验过于频繁"}, absent: []string{c.SchoolName}},
			{name: "the page states the limit", url: "/verify", status: 200, contains: []string{"每分钟最多查验 3 次"}},
			{name: "the keys are not limited", url: "/api/v1/public/keys", status: 200},
			{name: "the metrics count the refusals", url: "/metrics", status: 200,
				contains: []string{`gongjiang_certificate_checks_total{outcome="throttled",via="number"} `, `gongjiang_certificate_checks_total{outcome="valid",via="number"} ` + strconv.Itoa(passed)}},
		})
		pub.run(t, []scenario{
			{name: "another server's limit is its own", url: verifyURL(c.No, c.HolderName), status: 200, check: wantAnswer(cert.AnswerValid, c, "", false)},
		})
		// A refusal costs no log line of its own (an address hammering the
		// node must not flood the log), only its request line and the count.
		logs := slowLogs.String()
		if !strings.Contains(logs, `"status":429`) {
			t.Errorf("the log does not record the refused requests:\n%s", truncate(logs))
		}
		for _, s := range []string{c.No, c.HolderName, url.QueryEscape(c.HolderName)} {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds %q", s)
			}
		}
	})

	t.Run("the checks are logged without personal data", func(t *testing.T) {
		l := logs.String()
		for _, want := range []string{`"via":"number"`, `"via":"payload"`, `"via":"qr"`, `"via":"page"`,
			`"outcome":"valid"`, `"outcome":"revoked"`, `"outcome":"not_found"`, `"outcome":"invalid_signature"`, `"outcome":"validation_failed"`} {
			if !strings.Contains(l, want) {
				t.Errorf("the log lacks %s", want)
			}
		}
		for _, s := range private {
			if s != "" && (strings.Contains(l, s) || strings.Contains(l, url.QueryEscape(s))) {
				t.Errorf("the log holds %q", s)
			}
		}
		noPlainID(t, l)
	})
}
