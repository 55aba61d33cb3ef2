package web_test

import (
	"github.com/gongjiang/gongjiang/internal/cert"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// templateMarkers says how to recognise each page template in output; a
// template added without an entry here fails TestPages.
var templateMarkers = map[string]string{
	"layout.html":       `<footer class="no-print">`,
	"home.html":         `data-testid="school-total"`,
	"schools.html":      `data-testid="school-table"`,
	"school_show.html":  `<dl class="fields">`,
	"school_form.html":  `<form method="post" action="/schools`,
	"audit.html":        `data-testid="audit-table"`,
	"login.html":        `<form method="post" action="/login">`,
	"error.html":        `data-testid="error-message"`,
	"students.html":     `data-testid="student-table"`,
	"student_form.html": `<form method="post" action="/students"`,
	"student_show.html": `data-testid="change-history"`,
	"change_form.html":  `<input type="hidden" name="type"`,
	"changes.html":      `data-testid="change-table"`,
	"change_show.html":  `data-testid="change-state"`,
	"compare.html":      `data-testid="finding-table"`,
	"query.html":        `<form method="post" action="/query">`,
	"certificates.html": `data-testid="cert-table"`,
	"cert_show.html":    `data-testid="certificate"`,
	"verify.html":       `<form method="post" action="/verify">`,
	"filings.html":      `data-testid="filing-progress"`,
	"filing_form.html":  `<input type="hidden" name="kind"`,
	"filing_show.html":  `data-testid="filing-history"`,
	"offerings.html":    `data-testid="offering-grid"`,
	"majors.html":       `data-testid="major-table"`,
	"imports.html":      `data-testid="import-jobs"`,
	"import_job.html":   `data-testid="import-job"`,

	"plans.html":          `data-testid="plan-list"`,
	"plan_show.html":      `data-testid="dashboard"`,
	"plan_indicator.html": `data-testid="indicator-detail"`,
	"plan_report.html":    `data-testid="report-table"`,
	"plan_form.html":      `data-testid="plan-form"`,
	"plan_print.html":     `data-testid="print-sheet"`,
	"school_group.html":   `data-testid="group-members"`,
}

var pageRoute = regexp.MustCompile(`"GET (/[^"]*)"`)

// pageURLs lists the GET page routes of routes.go with their wildcards
// filled in, so a page added there is rendered here too.
func pageURLs(t *testing.T, code, studentID, changeID, certNo, filingID, importID string) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range pageRoute.FindAllStringSubmatch(string(src), -1) {
		p := m[1]
		switch {
		case strings.HasPrefix(p, "/api/"), strings.HasPrefix(p, "/static/"), p == "/healthz", p == "/readyz", p == "/metrics", p == "/favicon.ico",
			strings.HasSuffix(p, "/pdf"), strings.HasSuffix(p, ".xlsx"):
			continue
		}
		p = strings.ReplaceAll(p, "{$}", "")
		if strings.HasPrefix(p, "/plans/") {
			p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", "sd-jg-14-5"), "{code}", "senior_share")
		}
		if strings.HasPrefix(p, "/school-groups/") {
			p = strings.ReplaceAll(p, "{code}", "sd-tingshu")
		}
		p = strings.ReplaceAll(p, "{code}", code)
		p = strings.ReplaceAll(p, "{no}", certNo)
		if strings.HasPrefix(p, "/changes/") {
			p = strings.ReplaceAll(p, "{id}", changeID)
		}
		if strings.HasPrefix(p, "/filings/") {
			p = strings.ReplaceAll(p, "{id}", filingID)
		}
		if strings.HasPrefix(p, "/imports/") {
			p = strings.ReplaceAll(p, "{id}", importID)
		}
		p = strings.ReplaceAll(p, "{id}", studentID)
		if strings.Contains(p, "{") {
			t.Fatalf("page route %s has a wildcard this test cannot fill", m[1])
		}
		out = append(out, p)
	}
	if len(out) < 6 {
		t.Fatalf("found only %d page routes in routes.go: %v", len(out), out)
	}
	return out
}

func testPages(t *testing.T, e *env) {
	ctx := t.Context()
	prov := e.sessionOf(t, demo.ProvinceUser)
	jn, qd := e.inCity(t, jinan), e.inCity(t, qingdao)
	// Other groups may have run first: compare with what is stored now.
	current := func(t *testing.T) []*school.School {
		all, _, err := e.db.FindSchools(ctx, school.Filter{Scope: allScope, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	const hostile = `<script>alert(1)</script>`
	r := e.do(t, req{method: "POST", url: "/api/v1/schools", bearer: e.token(t, demo.ProvinceUser), ctype: jsonType,
		body: newSchool("T0500", map[string]any{"address": hostile + `" onmouseover="alert(2)`})})
	if r.status != 201 {
		t.Fatalf("create hostile school: %d %s", r.status, r.body)
	}

	t.Run("every page renders", func(t *testing.T) {
		seen := map[string]bool{}
		look := func(body string) {
			for name, marker := range templateMarkers {
				if strings.Contains(body, marker) {
					seen[name] = true
				}
			}
		}
		check := func(t *testing.T, method, u string, r *resp, status int) {
			t.Helper()
			if r.status != status {
				t.Errorf("%s %s: %d, want %d:\n%s", method, u, r.status, status, truncate(r.body))
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("%s %s: Content-Type %q", method, u, ct)
			}
			if !strings.HasPrefix(r.body, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(r.body), "</html>") {
				t.Errorf("%s %s: not a whole page:\n%s", method, u, truncate(r.body))
			}
			look(r.body)
		}
		students, _, err := e.db.FindStudents(ctx, student.Filter{Scope: allScope, SchoolCode: jn[0].Code, Status: "active", Limit: 1})
		if err != nil || len(students) == 0 {
			t.Fatalf("no student in %s: %v", jn[0].Code, err)
		}
		svc := student.NewService(e.db, pii.NewAESGCM(storetest.TestKeyring()))
		change, err := svc.ProposeChange(ctx, auth.Principal{Name: "pages-test", Role: auth.RoleSchool, ScopeCode: jn[0].Code}, students[0].ID,
			student.ChangeInput{Type: "休学", Reason: "页面测试", EffectiveDate: time.Now().Format("2006-01-02")})
		if err != nil {
			t.Fatal(err)
		}
		sid, cid := strconv.FormatInt(students[0].ID, 10), strconv.FormatInt(change.ID, 10)
		certs, _, err := e.db.ListCertificates(ctx, cert.Filter{Scope: allScope, Limit: 1})
		if err != nil || len(certs) == 0 {
			t.Fatalf("the demo issued no certificate: %v", err)
		}
		filings, _, err := e.db.ListFilings(ctx, school.FilingFilter{Scope: allScope, Limit: 1})
		if err != nil || len(filings) == 0 {
			t.Fatalf("the demo filed nothing: %v", err)
		}
		_, sheet := studentCSV(t, e, jn[0].Code, 3)
		job := e.importJob(t, prov, "students", "all-or-nothing", "pages.csv", sheet)
		urls := append(pageURLs(t, jn[0].Code, sid, cid, certs[0].No, strconv.FormatInt(filings[0].ID, 10), strconv.FormatInt(job.ID, 10)), "/schools?q="+url.QueryEscape("济南"), "/schools?city_code="+qingdao+"&limit=2", "/audit?before=3")
		for _, u := range urls {
			check(t, "GET", u, e.do(t, req{method: "GET", url: u, sess: prov}), 200)
		}
		check(t, "POST", "/audit/verify", e.do(t, req{method: "POST", url: "/audit/verify", sess: prov, ctype: formType,
			body: url.Values{"csrf_token": {prov.csrf}}.Encode()}), 200)
		check(t, "GET", "/login", e.do(t, req{method: "GET", url: "/login"}), 200)
		check(t, "GET", "/query", e.do(t, req{method: "GET", url: "/query"}), 200)
		check(t, "GET", "/schools/ZZ9999", e.do(t, req{method: "GET", url: "/schools/ZZ9999", sess: prov}), 404)
		for _, u := range []string{"/", "/schools", "/schools/" + jn[0].Code, "/schools/" + jn[0].Code + "/edit"} {
			check(t, "GET", u+" (city)", e.do(t, req{method: "GET", url: u, sess: e.sessionOf(t, demo.CityUser(jinan))}), 200)
		}
		for _, u := range []string{"/", "/schools", "/schools/" + jn[0].Code} {
			check(t, "GET", u+" (school)", e.do(t, req{method: "GET", url: u, sess: e.sessionOf(t, demo.SchoolUser(jn[0].Code))}), 200)
		}
		entries, err := os.ReadDir("templates")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range entries {
			if _, ok := templateMarkers[f.Name()]; !ok {
				t.Errorf("template %s has no marker in templateMarkers", f.Name())
			} else if !seen[f.Name()] {
				t.Errorf("template %s was never rendered", f.Name())
			}
		}
	})

	t.Run("home pages say what each role sees", func(t *testing.T) {
		for _, tc := range []struct {
			s     *session
			total int
			scope string
		}{
			{prov, e.countSchools(t), "全省（全部）学校"},
			{e.sessionOf(t, demo.CityUser(jinan)), cityTotal(t, e, jinan), "济南市的学校"},
			{e.sessionOf(t, demo.SchoolUser(jn[0].Code)), 1, "本校"},
		} {
			r := e.do(t, req{method: "GET", url: "/", sess: tc.s})
			if !strings.Contains(r.body, `data-testid="school-total">`+strconv.Itoa(tc.total)+`<`) || !strings.Contains(r.body, tc.scope) {
				t.Errorf("%s home lacks total %d or %q:\n%s", tc.s.user, tc.total, tc.scope, truncate(r.body))
			}
		}
	})

	t.Run("verify reports an intact log", func(t *testing.T) {
		r := e.do(t, req{method: "POST", url: "/audit/verify", sess: prov, ctype: formType, body: url.Values{"csrf_token": {prov.csrf}}.Encode()})
		if !strings.Contains(r.body, "完整：已校验") {
			t.Errorf("verify: %s", truncate(r.body))
		}
	})

	t.Run("hostile text is escaped", func(t *testing.T) {
		for _, u := range []string{"/schools/T0500", "/schools/T0500/edit"} {
			r := e.do(t, req{method: "GET", url: u, sess: prov})
			if r.status != 200 {
				t.Fatalf("%s: %d", u, r.status)
			}
			if strings.Contains(r.body, hostile) || strings.Contains(r.body, `" onmouseover="`) {
				t.Errorf("%s renders hostile text raw:\n%s", u, r.body)
			}
			if !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("%s does not show the escaped address:\n%s", u, r.body)
			}
		}
		r := e.do(t, req{method: "GET", url: "/schools/" + url.PathEscape("<script>x</script>"), sess: prov})
		if r.status != 404 || strings.Contains(r.body, "<script>x") {
			t.Errorf("not-found page echoes the code raw: %d\n%s", r.status, r.body)
		}
	})

	t.Run("htmx gets only the results block", func(t *testing.T) {
		r := e.do(t, req{method: "GET", url: "/schools?city_code=" + qingdao, sess: prov,
			header: map[string]string{"HX-Request": "true", "HX-Target": "results"}})
		if r.status != 200 || strings.Contains(r.body, "<!doctype") || !strings.HasPrefix(strings.TrimSpace(r.body), `<div id="results">`) {
			t.Errorf("htmx partial: %d\n%s", r.status, truncate(r.body))
		}
		if !strings.Contains(r.body, e.school(t, qd[0].Code).Name) || strings.Contains(r.body, e.school(t, jn[0].Code).Name) {
			t.Errorf("htmx partial ignores the filter")
		}
	})

	t.Run("the list offers a next page only when there is one", func(t *testing.T) {
		now := current(t)
		if len(now) > 50 || len(now) < 21 {
			t.Fatalf("%d schools: this test needs 21 to 50", len(now))
		}
		r := e.do(t, req{method: "GET", url: "/schools", sess: prov})
		if strings.Contains(r.body, "下一页") {
			t.Errorf("all %d schools fit on one page, yet it links to a next page", len(now))
		}
		r = e.do(t, req{method: "GET", url: "/schools?limit=10", sess: prov})
		m := regexp.MustCompile(`href="(/schools\?[^"]*cursor=[^"]*)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("page of 10 of %d has no next link:\n%s", len(now), truncate(r.body))
		}
		next := strings.ReplaceAll(m[1], "&amp;", "&")
		r = e.do(t, req{method: "GET", url: next, sess: prov})
		if r.status != 200 || !strings.Contains(r.body, now[10].Name) || strings.Contains(r.body, now[9].Name) {
			t.Errorf("next page %s: %d, wrong schools", next, r.status)
		}
	})

	city := e.sessionOf(t, demo.CityUser(jinan))
	target := e.school(t, jn[2].Code) // the school the forms change
	ver := strconv.FormatInt(target.Version, 10)
	e.run(t, []scenario{
		{name: "form: unknown division", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, "T0501", map[string]string{"division_code": "379999", "name": "保留输入技师学院"}), status: 400,
			contains: []string{"行政区划代码 379999 不是现行的 GB/T 2260 市或区县代码", `<label class="invalid">所在区县`, `value="保留输入技师学院"`, `value="379999"`},
			absent:   []string{`<label class="invalid">学校名称`}},
		{name: "form: historical division", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, "T0501", map[string]string{"division_code": "370181"}), status: 400,
			contains: []string{"370181", `<label class="invalid">所在区县`}},
		{name: "form: 61-character name", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, "T0501", map[string]string{"name": strings.Repeat("技", 61)}), status: 400,
			contains: []string{"长度不能超过 60 个字符", `<label class="invalid">学校名称`}, absent: []string{`<label class="invalid">所在区县`}},
		{name: "form: empty name", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, "T0501", map[string]string{"name": ""}), status: 400,
			contains: []string{"学校名称不能为空", `<label class="invalid">学校名称`}},
		{name: "form: duplicate code", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, jn[0].Code, nil), status: 409,
			contains: []string{"已被使用", `<label class="invalid">学校代码`}, unchanged: []string{jn[0].Code}},
		{name: "form: city may not create", method: "POST", url: "/schools", sess: city, ctype: formType,
			body: schoolForm(city.csrf, "T0501", nil), status: 403, contains: []string{"只有省级管理员可以新增学校"}},
		{name: "form: creates", method: "POST", url: "/schools", sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, "T0501", nil), status: 303, audit: []string{"school.create:T0501"},
			check: func(t *testing.T, e *env, r *resp) {
				if loc := r.header.Get("Location"); loc != "/schools/T0501" {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "form: edit to a bad division", method: "POST", url: "/schools/" + target.Code, sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, target.Code, map[string]string{"division_code": "370000", "version": ver}), status: 400,
			contains: []string{`<label class="invalid">所在区县`}, unchanged: []string{target.Code}},
		{name: "form: edit with a stale version", method: "POST", url: "/schools/" + target.Code, sess: prov, ctype: formType,
			body: schoolForm(prov.csrf, target.Code, map[string]string{"version": "0"}), status: 409,
			contains: []string{"该学校已被他人修改"}, unchanged: []string{target.Code}},
		{name: "form: city moves its school to 青岛", method: "POST", url: "/schools/" + target.Code, sess: city, ctype: formType,
			body: schoolForm(city.csrf, target.Code, map[string]string{"division_code": "370202", "version": ver}), status: 403,
			contains: []string{"市级管理员不能把学校迁到其他城市", `<label class="invalid">所在区县`}, unchanged: []string{target.Code}},
		{name: "form: city edits another city's school", method: "POST", url: "/schools/" + qd[0].Code, sess: city, ctype: formType,
			body: schoolForm(city.csrf, qd[0].Code, map[string]string{"version": ver}), status: 404,
			absent: []string{qd[0].Name}, unchanged: []string{qd[0].Code}},
		{name: "form: city opens another city's edit page", url: "/schools/" + qd[0].Code + "/edit", sess: city, status: 404,
			absent: []string{qd[0].Name}},
		{name: "form: school user opens its edit page", url: "/schools/" + jn[1].Code + "/edit", sess: e.sessionOf(t, demo.SchoolUser(jn[1].Code)), status: 403},
		{name: "form: school user edits itself", method: "POST", url: "/schools/" + jn[1].Code, sess: e.sessionOf(t, demo.SchoolUser(jn[1].Code)), ctype: formType,
			body: schoolForm(e.sessionOf(t, demo.SchoolUser(jn[1].Code)).csrf, jn[1].Code, map[string]string{"version": ver}), status: 403, unchanged: []string{jn[1].Code}},
		{name: "form: auditor opens the new-school page", url: "/schools/new", sess: e.sessionOf(t, demo.AuditorUser), status: 403},
		{name: "form: city edits its school", method: "POST", url: "/schools/" + target.Code, sess: city, ctype: formType,
			body: schoolForm(city.csrf, target.Code, map[string]string{"name": "济南表单改名技师学院", "version": ver}), status: 303,
			audit: []string{"school.update:" + target.Code}},
		{name: "school users may not read the audit log", url: "/audit", sess: e.sessionOf(t, demo.SchoolUser(jn[1].Code)), status: 403},
		{name: "city users may not read the audit log", url: "/audit", sess: city, status: 403},
		{name: "auditor reads the audit log", url: "/audit", sess: e.sessionOf(t, demo.AuditorUser), status: 200, contains: []string{"修改学校", "新增学校"}},
	})
}

// cityTotal counts the schools of a city as stored.
func cityTotal(t *testing.T, e *env, city string) int {
	t.Helper()
	c, err := e.db.CountSchools(t.Context(), auth.Scope{Kind: auth.ScopeCity, Code: city})
	if err != nil {
		t.Fatal(err)
	}
	return c.Total
}
