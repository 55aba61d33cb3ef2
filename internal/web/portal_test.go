package web_test

// HTTP tests of the public disclosure portal (招生资质公示): the listing,
// its filters and pages, a school's page, the .xlsx download, bad
// parameters, caching headers and ETags, and hostile text filed through the
// review. They run through the real router on both engines as a group of
// TestWeb and compare what the portal shows with what is stored.
//
// The portal keeps a year's listing for 30 seconds, so checks made after
// filings change ask a second server over the same database (an empty
// cache): e.portal(t).

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/i18n"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/web"
)

func init() {
	templateMarkers["portal.html"] = `data-testid="portal-table"`
	templateMarkers["portal_school.html"] = `data-testid="portal-school"`
}

const portalURL = "/public/qualifications"

var cst = time.FixedZone("CST", 8*3600)

// portal is a server over e's database with a cold portal cache.
func (e *env) portal(t *testing.T) *env {
	t.Helper()
	return e.withServer(t, func(*web.Deps) {})
}

// get GETs a public URL (no credentials) and wants status.
func (e *env) get(t *testing.T, u string, status int, header ...string) *resp {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	r := e.do(t, req{method: "GET", url: u, header: h})
	if r.status != status {
		t.Fatalf("GET %s: %d, want %d\n%s", u, r.status, status, truncate(r.body))
	}
	return r
}

// portalRow is a row of the listing's plan table, as shown.
type portalRow struct {
	code, name, typ, city, majors string
	intake                        int
}

var portalRowRE = regexp.MustCompile(`<tr data-school="([^"]+)"><td><a href="[^"]*">([^<]*)</a></td><td>([^<]*)</td><td>([^<]*)</td>` +
	`<td class="majors">([^<]*)</td><td class="num">(\d+)</td></tr>`)

// section is the table with data-testid id of a page.
func section(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `data-testid="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no %s:\n%s", id, truncate(body))
	}
	j := strings.Index(body[i:], "</table>")
	return body[i : i+j]
}

func portalRows(t *testing.T, body string) []portalRow {
	t.Helper()
	var out []portalRow
	for _, m := range portalRowRE.FindAllStringSubmatch(section(t, body, "portal-table"), -1) {
		n, _ := strconv.Atoi(m[6])
		out = append(out, portalRow{code: m[1], name: html.UnescapeString(m[2]), typ: m[3], city: m[4], majors: html.UnescapeString(m[5]), intake: n})
	}
	return out
}

func rowCodes(rows []portalRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.code)
	}
	return out
}

var dataSchool = regexp.MustCompile(`<tr data-school="([^"]+)">`)

// tableCodes lists the schools of the rows of a table, in order.
func tableCodes(t *testing.T, body, id string) []string {
	t.Helper()
	out := []string{}
	for _, m := range dataSchool.FindAllStringSubmatch(section(t, body, id), -1) {
		out = append(out, m[1])
	}
	return out
}

func portalCount(t *testing.T, body string) int {
	t.Helper()
	m := regexp.MustCompile(`data-testid="portal-count">(\d+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("listing shows no count:\n%s", truncate(body))
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// storedFilings reads filings as stored, bypassing the portal.
func (e *env) storedFilings(t *testing.T, kind string, year int, state string) []*school.Filing {
	t.Helper()
	items, total, err := e.db.ListFilings(t.Context(), school.FilingFilter{Scope: allScope, Kind: kind, Year: year, State: state, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != total {
		t.Fatalf("listed %d of %d filings", len(items), total)
	}
	return items
}

// inForce keeps the sites or joint programs whose term covers today.
func inForce(list []*school.Filing) []*school.Filing {
	today := time.Now().In(cst).Format(time.DateOnly)
	var out []*school.Filing
	for _, f := range list {
		if f.ValidFrom <= today && today <= f.ValidTo {
			out = append(out, f)
		}
	}
	return out
}

// planOrder sorts codes the way the listing does: by city, then school.
func (e *env) planOrder(list []*school.Filing) []string {
	sorted := slices.Clone(list)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.CityCode != b.CityCode {
			return a.CityCode < b.CityCode
		}
		return a.SchoolCode < b.SchoolCode
	})
	out := []string{}
	for _, f := range sorted {
		out = append(out, f.SchoolCode)
	}
	return out
}

func filingSchools(list []*school.Filing) []string {
	out := []string{}
	for _, f := range list {
		out = append(out, f.SchoolCode)
	}
	return out
}

func keep(list []*school.Filing, ok func(*school.Filing) bool) []*school.Filing {
	var out []*school.Filing
	for _, f := range list {
		if ok(f) {
			out = append(out, f)
		}
	}
	return out
}

// fileAs creates a filing through the API as the school's account.
func (e *env) fileAs(t *testing.T, code string, body map[string]any) (*resp, int64) {
	t.Helper()
	body["school_code"] = code
	r := e.do(t, req{method: "POST", url: "/api/v1/filings", bearer: e.token(t, demo.SchoolUser(code)), ctype: jsonType, body: js(body)})
	if r.status != http.StatusCreated {
		return r, 0
	}
	var f school.Filing
	r.decode(t, &f)
	return r, f.ID
}

// walkTo takes a draft through the review, each step by the demo account
// whose role takes it, to target.
func (e *env) walkTo(t *testing.T, id int64, sc *school.School, target string) {
	t.Helper()
	steps := []struct{ user, action, note, to string }{
		{demo.SchoolUser(sc.Code), "submit", "", school.FilingSubmitted},
		{demo.CityUser(sc.CityCode), "city_approve", "同意", school.FilingCityApproved},
		{demo.ProvinceUser, "approve", "", school.FilingApproved},
		{demo.ProvinceUser, "publish", "", school.FilingPublished},
	}
	if target == school.FilingRejected {
		steps = append(steps[:2], struct{ user, action, note, to string }{demo.ProvinceUser, "reject", "实训条件不足", school.FilingRejected})
	}
	if target == school.FilingDraft {
		return
	}
	for _, s := range steps {
		r := e.do(t, req{method: "POST", url: fmt.Sprintf("/api/v1/filings/%d/%s", id, s.action), bearer: e.token(t, s.user), ctype: jsonType,
			body: js(map[string]string{"note": s.note})})
		if r.status != http.StatusOK {
			t.Fatalf("%s of filing %d as %s: %d\n%s", s.action, id, s.user, r.status, r.body)
		}
		if s.to == target {
			return
		}
	}
}

// offered lists a school's offerings as stored.
func (e *env) offered(t *testing.T, code string) []school.Offering {
	t.Helper()
	list, err := e.db.Offerings(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// checkPublicHeaders holds for every successful portal answer.
func checkPublicHeaders(t *testing.T, u string, r *resp) {
	t.Helper()
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("GET %s: Cache-Control %q", u, cc)
	}
	if et := r.header.Get("ETag"); !regexp.MustCompile(`^(W/)?"[0-9a-f]{16,}"$`).MatchString(et) {
		t.Errorf("GET %s: ETag %q", u, et)
	}
	if r.status == http.StatusOK && strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		checkNoDataScript(t, u, r.body)
	}
}

// scriptTag finds every <script … of a page.
var scriptTag = regexp.MustCompile(`(?i)<script[^>]*>`)

// checkNoDataScript: the only script of a portal page is the layout's own.
func checkNoDataScript(t *testing.T, u, body string) {
	t.Helper()
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if !regexp.MustCompile(`^<script src="/static/[0-9a-f]+/vendor/htmx-[^"]+\.js" defer>$`).MatchString(tag) {
			t.Errorf("GET %s: script from data: %s", u, tag)
		}
	}
	if n := strings.Count(strings.ToLower(body), "<script"); n != 1 {
		t.Errorf("GET %s: %d <script in the page, want the layout's 1", u, n)
	}
}

func testPortal(t *testing.T, e *env) {
	year := time.Now().In(cst).Year()
	next := year + 1 // a year of this test's own filings
	today := time.Now().In(cst)

	t.Run("the listing shows the year's published plans, as stored", func(t *testing.T) {
		p := e.portal(t)
		published := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)
		if len(published) < 10 {
			t.Fatalf("the demo published %d plans of %d; the test needs 10", len(published), year)
		}
		r := p.get(t, portalURL+"?per_page=200", 200)
		checkPublicHeaders(t, portalURL, r)
		rows := portalRows(t, r.body)
		if got, want := rowCodes(rows), e.planOrder(published); !slices.Equal(got, want) {
			t.Errorf("listing shows\n%v\nstored published plans of %d are\n%v", got, year, want)
		}
		if n := portalCount(t, r.body); n != len(published) {
			t.Errorf("count %d, want %d", n, len(published))
		}
		byCode := map[string]*school.Filing{}
		for _, f := range published {
			byCode[f.SchoolCode] = f
		}
		for _, row := range rows {
			f := byCode[row.code]
			if f == nil {
				continue
			}
			sc := e.school(t, row.code)
			if row.name != sc.Name || row.typ != sc.Type || row.city != sc.CityName || row.intake != f.Intake() ||
				row.majors != strings.Join(f.Majors(), "、") || !slices.Contains(school.Types, row.typ) {
				t.Errorf("row %+v does not match the stored school %s (%s %s %s) and plan (intake %d, majors %v)", row, sc.Code, sc.Name, sc.Type,
					sc.CityName, f.Intake(), f.Majors())
			}
		}
		// Every plan not published is absent, whatever its state.
		for _, state := range []string{school.FilingDraft, school.FilingSubmitted, school.FilingReturned, school.FilingCityApproved,
			school.FilingApproved, school.FilingRejected} {
			for _, f := range e.storedFilings(t, school.KindPlan, year, state) {
				if _, ok := byCode[f.SchoolCode]; !ok && slices.Contains(rowCodes(rows), f.SchoolCode) {
					t.Errorf("school %s with a %s plan is listed", f.SchoolCode, state)
				}
			}
		}
		// The default year is the current one.
		if d := p.get(t, portalURL+"?per_page=200&year="+strconv.Itoa(year), 200); !slices.Equal(rowCodes(portalRows(t, d.body)), rowCodes(rows)) {
			t.Errorf("?year=%d differs from the default year", year)
		}
		if d := p.get(t, portalURL+"?year=2001", 200); len(portalRows(t, d.body)) != 0 || portalCount(t, d.body) != 0 {
			t.Errorf("2001 lists plans")
		}
		// Sites and joint programs: published and in force today.
		sites := inForce(e.storedFilings(t, school.KindSite, 0, school.FilingPublished))
		joints := inForce(e.storedFilings(t, school.KindJoint, 0, school.FilingPublished))
		if got, want := tableCodes(t, r.body, "portal-sites"), e.planOrder(sites); !slices.Equal(got, want) {
			t.Errorf("sites listed %v, want %v", got, want)
		}
		if got, want := tableCodes(t, r.body, "portal-joints"), e.planOrder(joints); !slices.Equal(got, want) {
			t.Errorf("joint programs listed %v, want %v", got, want)
		}
		for _, f := range e.storedFilings(t, school.KindSite, 0, "") {
			if !slices.ContainsFunc(sites, func(g *school.Filing) bool { return g.ID == f.ID }) &&
				strings.Contains(r.body, ">"+html.EscapeString(f.Site.Name)+"<") {
				t.Errorf("site %d (%s, %s to %s) is listed", f.ID, f.State, f.ValidFrom, f.ValidTo)
			}
		}
	})

	t.Run("filters and pages", func(t *testing.T) {
		p := e.portal(t)
		published := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)
		// The name filter: a word of one school's name.
		some := e.school(t, published[len(published)/2].SchoolCode)
		word := string([]rune(some.Name)[:2])
		major := published[0].Lines[0].Major
		for _, tc := range []struct {
			query string
			keep  func(f *school.Filing) bool
		}{
			{"q=" + url.QueryEscape(word), func(f *school.Filing) bool { return strings.Contains(f.SchoolName, word) }},
			{"q=" + url.QueryEscape(some.Name), func(f *school.Filing) bool { return f.SchoolCode == some.Code }},
			{"q=" + url.QueryEscape("不存在的学校"), func(*school.Filing) bool { return false }},
			{"city=" + qingdao, func(f *school.Filing) bool { return f.CityCode == qingdao }},
			{"city=370300", func(*school.Filing) bool { return false }}, // 淄博: no demo school
			{"major=" + url.QueryEscape(major), func(f *school.Filing) bool { return slices.Contains(f.Majors(), major) }},
			{"city=" + jinan + "&major=" + url.QueryEscape(major), func(f *school.Filing) bool {
				return f.CityCode == jinan && slices.Contains(f.Majors(), major)
			}},
		} {
			want := e.planOrder(keep(published, tc.keep))
			r := p.get(t, portalURL+"?per_page=200&"+tc.query, 200)
			if got := rowCodes(portalRows(t, r.body)); !slices.Equal(got, want) {
				t.Errorf("?%s lists %v, want %v", tc.query, got, want)
			}
			if n := portalCount(t, r.body); n != len(want) {
				t.Errorf("?%s counts %d, want %d", tc.query, n, len(want))
			}
			checkPublicHeaders(t, tc.query, r)
		}
		if n := len(keep(published, func(f *school.Filing) bool { return f.CityCode == qingdao })); n == 0 || n == len(published) {
			t.Fatalf("the city filter test needs some but not all plans in 青岛 (%d)", n)
		}
		// The city select offers the cities that appear.
		r := p.get(t, portalURL, 200)
		for _, f := range published {
			if !strings.Contains(r.body, `<option value="`+f.CityCode+`"`) {
				t.Errorf("city select lacks %s", f.CityCode)
			}
		}
		if strings.Contains(r.body, `<option value="370300"`) {
			t.Errorf("city select offers 淄博, where nothing is published")
		}

		// Pages of 50 by default; here pages of 4 that keep the filters.
		all := e.planOrder(published)
		if len(all) <= 50 {
			if strings.Contains(r.body, `data-testid="portal-next"`) {
				t.Errorf("%d plans fit on one page of 50, yet there is a next page", len(all))
			}
		}
		var walked []string
		u := portalURL + "?per_page=4&year=" + strconv.Itoa(year)
		for page := 1; ; page++ {
			r := p.get(t, u, 200)
			rows := rowCodes(portalRows(t, r.body))
			if len(rows) > 4 || portalCount(t, r.body) != len(all) {
				t.Fatalf("page %d (%s): %d rows, count %d", page, u, len(rows), portalCount(t, r.body))
			}
			walked = append(walked, rows...)
			m := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(r.body)
			if m == nil {
				break
			}
			u = html.UnescapeString(m[1])
			if !strings.HasPrefix(u, portalURL+"?") || !strings.Contains(u, "per_page=4") || !strings.Contains(u, "year="+strconv.Itoa(year)) ||
				!strings.Contains(u, "page="+strconv.Itoa(page+1)) {
				t.Fatalf("next link %q loses the filters", u)
			}
			if page > 100 {
				t.Fatal("no end to the pages")
			}
		}
		if !slices.Equal(walked, all) {
			t.Errorf("paging walked %v, want %v", walked, all)
		}
		// A filtered second page, and a page past the end.
		jn := e.planOrder(keep(published, func(f *school.Filing) bool { return f.CityCode == jinan }))
		r = p.get(t, portalURL+"?per_page=2&page=2&city="+jinan, 200)
		if got := rowCodes(portalRows(t, r.body)); !slices.Equal(got, jn[min(2, len(jn)):min(4, len(jn))]) {
			t.Errorf("page 2 of 济南 by 2: %v of %v", got, jn)
		}
		if m := regexp.MustCompile(`href="([^"]*)" rel="prev"`).FindStringSubmatch(r.body); m == nil ||
			!strings.Contains(html.UnescapeString(m[1]), "city="+jinan) {
			t.Errorf("page 2 has no previous link keeping the city: %v", m)
		}
		r = p.get(t, portalURL+"?page=999", 200)
		if len(portalRows(t, r.body)) != 0 || portalCount(t, r.body) != len(all) {
			t.Errorf("page 999 shows rows or a wrong count")
		}
		// The school links keep a chosen year; the download keeps the filters.
		r = p.get(t, portalURL+"?year="+strconv.Itoa(year)+"&city="+qingdao, 200)
		if !strings.Contains(r.body, `href="/public/qualifications/`+e.planOrder(keep(published, func(f *school.Filing) bool { return f.CityCode == qingdao }))[0]+`?year=`+strconv.Itoa(year)+`"`) {
			t.Errorf("school links lose the year:\n%s", truncate(section(t, r.body, "portal-table")))
		}
		if !strings.Contains(r.body, `href="/public/qualifications.xlsx?city=`+qingdao+`&amp;year=`+strconv.Itoa(year)+`"`) {
			t.Errorf("the download link loses the filters")
		}
	})

	t.Run("bad parameters are refused in Chinese", func(t *testing.T) {
		p := e.portal(t)
		long := strings.Repeat("技", 51)
		for _, tc := range []struct{ query, msg string }{
			{"year=abc", i18n.T("portal.year.invalid", 2000, 2100)},
			{"year=1999", i18n.T("portal.year.invalid", 2000, 2100)},
			{"year=2101", i18n.T("portal.year.invalid", 2000, 2100)},
			{"year=2026.5", i18n.T("portal.year.invalid", 2000, 2100)},
			{"page=0", i18n.T("portal.page.invalid", 1000)},
			{"page=-1", i18n.T("portal.page.invalid", 1000)},
			{"page=x", i18n.T("portal.page.invalid", 1000)},
			{"page=1000000000000", i18n.T("portal.page.invalid", 1000)},
			{"per_page=0", i18n.T("portal.per_page.invalid", 200)},
			{"per_page=201", i18n.T("portal.per_page.invalid", 200)},
			{"q=" + url.QueryEscape(long), i18n.T("portal.q.too_long", 50)},
			{"major=" + url.QueryEscape(long), i18n.T("portal.major.too_long", 50)},
			{"city=999999", i18n.T("portal.city.unknown")},
			{"city=370102", i18n.T("portal.city.unknown")}, // a district, not a city
			{"city=370000", i18n.T("portal.city.unknown")}, // the province
			{"city=%3Cscript%3E", i18n.T("portal.city.unknown")},
		} {
			for _, path := range []string{portalURL, portalURL + ".xlsx"} {
				r := p.get(t, path+"?"+tc.query, 400)
				if !strings.Contains(r.body, html.EscapeString(tc.msg)) || !hasHan(tc.msg) || strings.HasPrefix(tc.msg, "portal.") {
					t.Errorf("%s?%s: body lacks %q:\n%s", path, tc.query, tc.msg, truncate(r.body))
				}
				if r.header.Get("Cache-Control") != "no-store" || r.header.Get("ETag") != "" {
					t.Errorf("%s?%s: an error is cacheable: %v", path, tc.query, r.header)
				}
				if strings.Contains(r.body, "<script>") {
					t.Errorf("%s?%s echoes markup", path, tc.query)
				}
			}
		}
		code := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)[0].SchoolCode
		p.get(t, portalURL+"/"+code+"?year=abc", 400)
		// Hostile but valid text is shown escaped in the form.
		r := p.get(t, portalURL+"?q="+url.QueryEscape(`<script>alert(1)</script>`)+"&major="+url.QueryEscape(`"><img src=x>`), 200)
		checkNoDataScript(t, "hostile query", r.body)
		if strings.Contains(r.body, `"><img`) || !strings.Contains(r.body, `value="&lt;script&gt;alert(1)&lt;/script&gt;"`) {
			t.Errorf("the query is not escaped:\n%s", truncate(r.body))
		}
	})

	// This test's own filings, of next year: one plan in each state, by
	// schools that have none for that year yet.
	var schools []*school.School
	filed := filingSchools(e.storedFilings(t, school.KindPlan, next, ""))
	for _, sc := range e.all {
		if len(e.offered(t, sc.Code)) > 0 && !slices.Contains(filed, sc.Code) {
			schools = append(schools, sc)
		}
	}
	if len(schools) < 6 {
		t.Fatalf("only %d demo schools offer majors", len(schools))
	}
	planBody := func(sc *school.School, intake int) map[string]any {
		o := e.offered(t, sc.Code)[0]
		return map[string]any{"kind": "plan", "year": next, "statement": "测试：" + sc.Name + "的招生资质",
			"lines": []map[string]any{{"major": o.Major, "class_level": o.ClassLevel, "study_mode": o.StudyMode, "intake": intake}}}
	}
	states := []string{school.FilingPublished, school.FilingDraft, school.FilingSubmitted, school.FilingCityApproved, school.FilingApproved,
		school.FilingRejected}
	for i, state := range states {
		sc := schools[i]
		r, id := e.fileAs(t, sc.Code, planBody(sc, 10+i))
		if id == 0 {
			t.Fatalf("file a %d plan for %s: %d\n%s", next, sc.Code, r.status, r.body)
		}
		e.walkTo(t, id, sc, state)
	}

	t.Run("only published plans of the year, never drafts, approved or rejected", func(t *testing.T) {
		p := e.portal(t)
		r := p.get(t, portalURL+"?year="+strconv.Itoa(next), 200)
		published := e.storedFilings(t, school.KindPlan, next, school.FilingPublished)
		if !slices.Contains(filingSchools(published), schools[0].Code) {
			t.Fatalf("stored published plans of %d: %v, without %s", next, filingSchools(published), schools[0].Code)
		}
		if got, want := rowCodes(portalRows(t, r.body)), e.planOrder(published); !slices.Equal(got, want) {
			t.Errorf("%d lists %v, want %v (the published ones)", next, got, want)
		}
		for i, state := range states[1:] {
			sc := schools[i+1]
			stored := e.storedFilings(t, school.KindPlan, next, state)
			if !slices.Contains(filingSchools(stored), sc.Code) {
				t.Errorf("%s's plan is not %s", sc.Code, state)
			}
			if strings.Contains(section(t, r.body, "portal-table"), sc.Name) {
				t.Errorf("%s (%s) is listed", sc.Name, state)
			}
			q := p.do(t, req{method: "GET", url: portalURL + "/" + sc.Code + "?year=" + strconv.Itoa(next)})
			if q.status != http.StatusNotFound && q.status != http.StatusOK || strings.Contains(q.body, `data-testid="portal-lines"`) {
				t.Errorf("the page of %s shows its %s plan", sc.Code, state)
			}
		}
	})

	t.Run("a school's page", func(t *testing.T) {
		p := e.portal(t)
		published := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)
		f := published[0]
		u := portalURL + "/" + f.SchoolCode
		r := p.get(t, u, 200)
		checkPublicHeaders(t, u, r)
		sc := e.school(t, f.SchoolCode)
		lines := section(t, r.body, "portal-lines")
		for _, l := range f.Lines {
			row := fmt.Sprintf("<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%d</td></tr>", html.EscapeString(l.Major), l.ClassLevel, l.StudyMode, l.Intake)
			if !strings.Contains(lines, row) {
				t.Errorf("%s lacks line %s", u, row)
			}
		}
		if strings.Count(lines, "<tr><td>") != len(f.Lines) {
			t.Errorf("%s shows %d lines, stored %d", u, strings.Count(lines, "<tr><td>"), len(f.Lines))
		}
		for _, want := range []string{sc.Name, sc.Type, sc.CityName, `data-testid="portal-total">` + strconv.Itoa(f.Intake()) + `<`,
			`data-testid="portal-published">` + f.UpdatedAt.In(cst).Format(time.DateOnly) + `<`, html.EscapeString(f.Statement)} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s lacks %q", u, want)
			}
		}
		if strings.Contains(r.body, "draft") || strings.Contains(r.body, "草稿") {
			t.Errorf("%s mentions drafts", u)
		}
		// Its sites and joint programs, if any.
		for _, g := range inForce(e.storedFilings(t, school.KindSite, 0, school.FilingPublished)) {
			r := p.get(t, portalURL+"/"+g.SchoolCode, 200)
			if !strings.Contains(section(t, r.body, "portal-sites"), html.EscapeString(g.Site.Name)) {
				t.Errorf("the page of %s lacks its site %s", g.SchoolCode, g.Site.Name)
			}
		}
		// Nothing published: 404 in Chinese.
		for _, u := range []string{portalURL + "/" + schools[1].Code + "?year=" + strconv.Itoa(next), portalURL + "/ZZ9999",
			portalURL + "/" + f.SchoolCode + "?year=2001", portalURL + "/" + url.PathEscape("<script>x</script>")} {
			r := p.get(t, u, 404)
			if !strings.Contains(r.body, `data-testid="error-message"`) || !hasHan(r.body) || strings.Contains(r.body, "<script>x") {
				t.Errorf("GET %s: not the Chinese 404 page:\n%s", u, truncate(r.body))
			}
			if r.header.Get("Cache-Control") == "public, max-age=300" {
				t.Errorf("GET %s: 404 is cacheable", u)
			}
		}
		if r := p.get(t, portalURL+"/ZZ9999", 404); !strings.Contains(r.body, i18n.T("portal.school.not_found", year)) {
			t.Errorf("404 lacks the catalogue message:\n%s", truncate(r.body))
		}
		// The page of next year's published plan.
		r = p.get(t, portalURL+"/"+schools[0].Code+"?year="+strconv.Itoa(next), 200)
		if !strings.Contains(r.body, `data-testid="portal-total">10<`) || !strings.Contains(r.body, schools[0].Name) {
			t.Errorf("%d page of %s:\n%s", next, schools[0].Code, truncate(r.body))
		}
	})

	t.Run("the workbook", func(t *testing.T) {
		p := e.portal(t)
		published := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)
		sites := inForce(e.storedFilings(t, school.KindSite, 0, school.FilingPublished))
		joints := inForce(e.storedFilings(t, school.KindJoint, 0, school.FilingPublished))
		open := func(t *testing.T, query string, year int) map[string][][]string {
			t.Helper()
			u := portalURL + ".xlsx" + query
			r := p.get(t, u, 200)
			checkPublicHeaders(t, u, r)
			if ct := r.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
				t.Errorf("Content-Type %q", ct)
			}
			cd := r.header.Get("Content-Disposition")
			name := fmt.Sprintf("招生资质公示-%d.xlsx", year)
			if !strings.HasPrefix(cd, "attachment; ") || !strings.Contains(cd, fmt.Sprintf(`filename="gongjiang-qualifications-%d.xlsx"`, year)) ||
				!strings.Contains(cd, "filename*=UTF-8''"+strings.ReplaceAll(url.PathEscape(name), "%2D", "-")) {
				t.Errorf("Content-Disposition %q", cd)
			}
			f, err := excelize.OpenReader(bytes.NewReader([]byte(r.body)))
			if err != nil {
				t.Fatalf("the download does not open: %v", err)
			}
			defer f.Close()
			if got := f.GetSheetList(); !slices.Equal(got, []string{"招生计划", "校外教学点", "联合办学"}) {
				t.Errorf("sheets %v", got)
			}
			out := map[string][][]string{}
			for _, s := range f.GetSheetList() {
				rows, err := f.GetRows(s)
				if err != nil {
					t.Fatal(err)
				}
				out[s] = rows
			}
			if h := out["招生计划"]; len(h) == 0 || !slices.Equal(h[0], []string{"学校", "类型", "城市", "专业", "培养层次", "学习形式", "计划招生"}) {
				t.Errorf("plan sheet header %v", h)
			}
			return out
		}
		lineRows := func(list []*school.Filing, major string) [][]string {
			var out [][]string
			for _, f := range list {
				sc := e.school(t, f.SchoolCode)
				for _, l := range f.Lines {
					if major == "" || l.Major == major {
						out = append(out, []string{sc.Name, sc.Type, sc.CityName, l.Major, l.ClassLevel, l.StudyMode, strconv.Itoa(l.Intake)})
					}
				}
			}
			sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "|") < strings.Join(out[j], "|") })
			return out
		}
		sorted := func(rows [][]string) [][]string {
			rows = slices.Clone(rows)
			sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "|") < strings.Join(rows[j], "|") })
			return rows
		}
		all := open(t, "", year)
		if got, want := sorted(all["招生计划"][1:]), lineRows(published, ""); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("plan sheet has %d rows, want %d:\n%v\n%v", len(got), len(want), got, want)
		}
		if n := len(all["校外教学点"]) - 1; n != len(sites) {
			t.Errorf("site sheet has %d rows, want %d", n, len(sites))
		}
		if n := len(all["联合办学"]) - 1; n != len(joints) {
			t.Errorf("joint sheet has %d rows, want %d", n, len(joints))
		}
		for _, g := range sites {
			if !slices.ContainsFunc(all["校外教学点"], func(row []string) bool { return len(row) > 4 && row[3] == g.Site.Name && row[4] == g.Site.Address }) {
				t.Errorf("site sheet lacks %s", g.Site.Name)
			}
		}
		// Filtered as the listing is: by city, and by major (its lines only).
		qd := keep(published, func(f *school.Filing) bool { return f.CityCode == qingdao })
		if got, want := sorted(open(t, "?city="+qingdao, year)["招生计划"][1:]), lineRows(qd, ""); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("青岛 plan sheet:\n%v\nwant\n%v", got, want)
		}
		major := published[0].Lines[0].Major
		withMajor := keep(published, func(f *school.Filing) bool { return slices.Contains(f.Majors(), major) })
		if got, want := sorted(open(t, "?major="+url.QueryEscape(major), year)["招生计划"][1:]), lineRows(withMajor, major); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s plan sheet:\n%v\nwant\n%v", major, got, want)
		}
		if rows := open(t, "?year=2001", 2001)["招生计划"]; len(rows) != 1 {
			t.Errorf("2001 workbook has %d rows", len(rows))
		}
	})

	t.Run("ETag and 304", func(t *testing.T) {
		p := e.portal(t)
		code := e.storedFilings(t, school.KindPlan, year, school.FilingPublished)[0].SchoolCode
		tags := map[string]string{}
		for _, u := range []string{portalURL, portalURL + "?city=" + qingdao, portalURL + "?page=2", portalURL + ".xlsx", portalURL + ".xlsx?city=" + qingdao,
			portalURL + "/" + code} {
			r := p.get(t, u, 200)
			checkPublicHeaders(t, u, r)
			et := r.header.Get("ETag")
			for other, tag := range tags {
				if tag == et {
					t.Errorf("%s and %s share the ETag %s", u, other, et)
				}
			}
			tags[u] = et
			again := p.get(t, u, 200)
			if again.header.Get("ETag") != et || (again.body != r.body && !strings.Contains(u, ".xlsx")) {
				t.Errorf("%s: a second answer differs", u)
			}
			nm := p.get(t, u, 304, "If-None-Match", et)
			if nm.body != "" || nm.header.Get("ETag") != et || nm.header.Get("Cache-Control") != "public, max-age=300" {
				t.Errorf("%s: 304 with body %q, headers %v", u, nm.body, nm.header)
			}
			p.get(t, u, 304, "If-None-Match", `"other", W/`+strings.TrimPrefix(et, "W/"))
			p.get(t, u, 200, "If-None-Match", `"other"`)
			// Another server computes the same ETag (nodes behind a balancer).
			if o := e.portal(t).get(t, u, 304, "If-None-Match", et); o.status != 304 {
				t.Errorf("%s: another server's ETag differs", u)
			}
		}
	})

	t.Run("sites and joint programs in force, escaped", func(t *testing.T) {
		sc := schools[0] // published a plan for next year above
		majors := []string{e.offered(t, sc.Code)[0].Major}
		site := func(name, addr, from, to string) map[string]any {
			return map[string]any{"kind": "site", "valid_from": from, "valid_to": to,
				"site": map[string]any{"name": name, "address": addr, "majors": majors, "capacity": 120}}
		}
		day := func(d time.Time) string { return d.Format(time.DateOnly) }
		// Markup is refused at the door.
		r, _ := e.fileAs(t, sc.Code, site(`<script>alert(1)</script>`, "测试路1号", day(today.AddDate(0, -1, 0)), day(today.AddDate(1, 0, 0))))
		if r.status != http.StatusBadRequest {
			t.Fatalf("a site named <script> got %d:\n%s", r.status, r.body)
		}
		if ae := r.apiError(t); ae.Error.Field != "site.name" || !hasHan(ae.Error.Message) {
			t.Errorf("refusal %+v", ae.Error)
		}
		if slices.ContainsFunc(e.storedFilings(t, school.KindSite, 0, ""), func(f *school.Filing) bool { return strings.Contains(f.Site.Name, "<") }) {
			t.Fatal("a site with markup was stored")
		}
		// In force, expired, and in force but only approved.
		inTerm := "门户测试在用教学点"
		_, id := e.fileAs(t, sc.Code, site(inTerm, "门户测试路1号", day(today.AddDate(0, -1, 0)), day(today.AddDate(1, 0, 0))))
		e.walkTo(t, id, sc, school.FilingPublished)
		expired := "门户测试过期教学点"
		_, id = e.fileAs(t, sc.Code, site(expired, "门户测试路2号", "2020-09-01", "2022-08-31"))
		e.walkTo(t, id, sc, school.FilingPublished)
		future := "门户测试未到期限教学点"
		_, id = e.fileAs(t, sc.Code, site(future, "门户测试路4号", day(today.AddDate(0, 2, 0)), day(today.AddDate(2, 0, 0))))
		e.walkTo(t, id, sc, school.FilingPublished)
		approved := "门户测试待公示教学点"
		_, id = e.fileAs(t, sc.Code, site(approved, "门户测试路3号", day(today.AddDate(0, -1, 0)), day(today.AddDate(1, 0, 0))))
		e.walkTo(t, id, sc, school.FilingApproved)
		// A joint program whose partner has quotes and ampersands: accepted.
		partner := `博彩&quot;"'`
		r, id = e.fileAs(t, sc.Code, map[string]any{"kind": "joint", "valid_from": day(today.AddDate(0, -1, 0)), "valid_to": day(today.AddDate(2, 0, 0)),
			"joint": map[string]any{"partners": []string{partner, "门户测试合作企业"}, "responsibilities": `学校负责教学 & "实训"`, "majors": majors}})
		if id == 0 {
			t.Fatalf("joint program with quotes refused: %d\n%s", r.status, r.body)
		}
		e.walkTo(t, id, sc, school.FilingPublished)

		p := e.portal(t)
		escaped := "博彩&amp;quot;&#34;&#39;"
		for _, u := range []string{portalURL, portalURL + "?year=" + strconv.Itoa(next), portalURL + "/" + sc.Code, portalURL + "/" + sc.Code + "?year=" + strconv.Itoa(next)} {
			r := p.get(t, u, 200)
			checkPublicHeaders(t, u, r)
			if !strings.Contains(section(t, r.body, "portal-sites"), inTerm) {
				t.Errorf("%s lacks the site in force", u)
			}
			for _, gone := range []string{expired, approved, future} {
				if strings.Contains(r.body, gone) {
					t.Errorf("%s shows %s", u, gone)
				}
			}
			if !strings.Contains(section(t, r.body, "portal-joints"), escaped) {
				t.Errorf("%s lacks the partner escaped as %s:\n%s", u, escaped, truncate(section(t, r.body, "portal-joints")))
			}
			if strings.Contains(r.body, partner) || strings.Contains(r.body, `"'`) {
				t.Errorf("%s shows the partner raw", u)
			}
		}
		// The workbook has the partner as text.
		r = p.get(t, portalURL+".xlsx", 200)
		f, err := excelize.OpenReader(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows("联合办学")
		if !slices.ContainsFunc(rows, func(row []string) bool { return len(row) > 3 && strings.Contains(row[3], partner) }) {
			t.Errorf("joint sheet lacks %q: %v", partner, rows)
		}
		rows, _ = f.GetRows("校外教学点")
		if slices.ContainsFunc(rows, func(row []string) bool {
			return len(row) > 3 && (row[3] == expired || row[3] == approved || row[3] == future)
		}) {
			t.Errorf("site sheet has a site not in force or not published: %v", rows)
		}
	})

	t.Run("the listing is cached for a while", func(t *testing.T) {
		p := e.portal(t)
		u := portalURL + "?year=" + strconv.Itoa(next)
		before := p.get(t, u, 200)
		sc := schools[6%len(schools)]
		if slices.Contains(filingSchools(e.storedFilings(t, school.KindPlan, next, "")), sc.Code) {
			t.Skip("no school left without a plan")
		}
		_, id := e.fileAs(t, sc.Code, planBody(sc, 7))
		if id == 0 {
			t.Fatalf("file a plan for %s", sc.Code)
		}
		e.walkTo(t, id, sc, school.FilingPublished)
		if again := p.get(t, u, 200); again.header.Get("ETag") != before.header.Get("ETag") || slices.Contains(rowCodes(portalRows(t, again.body)), sc.Code) {
			t.Errorf("a listing within 30 s of the last was computed again")
		}
		after := e.portal(t).get(t, u, 200)
		if after.header.Get("ETag") == before.header.Get("ETag") || !slices.Contains(rowCodes(portalRows(t, after.body)), sc.Code) {
			t.Errorf("a new server does not show the newly published plan")
		}
	})
}
