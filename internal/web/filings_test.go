package web_test

// HTTP tests of the yearly review of filings (招生资质审核): the API from
// creation through every review step to publication and amendment, with
// the refusals (out of order, out of scope, locked, duplicate, bad input)
// and the audit events each request must append; the lists, the progress
// table and the deadline; and the staff pages: the list, the plan form
// with the school's offerings, the review buttons behind the CSRF token,
// the history with who did what and why, and the offerings page. They run
// through the real router on both engines as a group of TestWeb.
//
// The filings here are of years far ahead (the current year + 10 and
// + 11), so they never meet the demo's plans of this year nor those other
// groups file for next year.

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/school"
)

// filingAPI is the API address of a filing, or of one of its actions.
func filingAPI(id int64, action ...string) string {
	u := "/api/v1/filings/" + strconv.FormatInt(id, 10)
	for _, a := range action {
		u += "/" + a
	}
	return u
}

// filingOfAnswer decodes a filing answer.
func filingOfAnswer(t *testing.T, r *resp) *school.Filing {
	t.Helper()
	var f school.Filing
	r.decode(t, &f)
	return &f
}

// wantFiling checks a filing answer's state (and that it names id, if not 0).
func wantFiling(id int64, state string) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		f := filingOfAnswer(t, r)
		if f.State != state || id != 0 && f.ID != id {
			t.Errorf("answer: filing #%d %s, want #%d %s", f.ID, f.State, id, state)
		}
		stored, err := e.db.FindFiling(t.Context(), allScope, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != state || stored.Version != f.Version {
			t.Errorf("stored: %s v%d, answered %s v%d", stored.State, stored.Version, f.State, f.Version)
		}
	}
}

// storedFiling reads a filing as stored, with its history.
func (e *env) storedFiling(t *testing.T, id int64) *school.Filing {
	t.Helper()
	f, err := e.db.FindFiling(t.Context(), allScope, id)
	if err != nil {
		t.Fatalf("filing #%d: %v", id, err)
	}
	return f
}

// filingUnchanged is a check that filing id is as it was.
func filingUnchanged(before *school.Filing) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		after := e.storedFiling(t, before.ID)
		if after.State != before.State || after.Version != before.Version || len(after.Events) != len(before.Events) {
			t.Errorf("filing #%d changed: %s v%d (%d events) → %s v%d (%d events)", before.ID, before.State, before.Version, len(before.Events),
				after.State, after.Version, len(after.Events))
		}
	}
}

var locationFiling = regexp.MustCompile(`^/filings/(\d+)(\?.*)?$`)

// redirectedFiling is the filing a page's 303 leads to.
func redirectedFiling(t *testing.T, r *resp) int64 {
	t.Helper()
	m := locationFiling.FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("status %d to %q, want 303 to a filing:\n%s", r.status, r.header.Get("Location"), truncate(r.body))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func testFilings(t *testing.T, e *env) {
	ctx := t.Context()
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year() + 10
	ys := strconv.Itoa(year)
	// The school of these tests: the school of 济南 offering the most
	// lines; a neighbour of 济南 and a school of 青岛 are the strangers.
	var home *school.School
	var offered []school.Offering
	for _, sc := range e.inCity(t, jinan) {
		list, err := e.db.Offerings(ctx, sc.Code)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > len(offered) {
			home, offered = sc, list
		}
	}
	if home == nil || len(offered) < 2 {
		t.Fatalf("no school of 济南 offers two lines in the demo")
	}
	var neighbour string
	for _, sc := range e.inCity(t, jinan) {
		if sc.Code != home.Code {
			neighbour = sc.Code
		}
	}
	code := home.Code
	schoolUser, city, qdCity := demo.SchoolUser(code), demo.CityUser(jinan), demo.CityUser(qingdao)
	province, auditor, stranger := demo.ProvinceUser, demo.AuditorUser, demo.SchoolUser(neighbour)
	planBody := func(year int, intakes ...int) map[string]any {
		var lines []map[string]any
		for i, n := range intakes {
			o := offered[i]
			lines = append(lines, map[string]any{"major": o.Major, "class_level": o.ClassLevel, "study_mode": o.StudyMode, "intake": n})
		}
		return map[string]any{"kind": "plan", "year": year, "lines": lines, "statement": "实训工位120个，专任教师18人。"}
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		m[k] = v
		return m
	}
	audit := func(action string) []string { return []string{action + ":" + code} }

	// --- The API, from creation to publication -------------------------

	var id int64
	t.Run("create", func(t *testing.T) {
		r := e.runOne(t, scenario{name: "create", method: "POST", url: "/api/v1/filings", as: schoolUser, body: js(planBody(year, 40, 20)),
			status: http.StatusCreated, audit: audit("filing.create"), check: wantFiling(0, school.FilingDraft)})
		f := filingOfAnswer(t, r)
		id = f.ID
		if r.header.Get("Location") != filingAPI(id) || f.SchoolCode != code || f.CityCode != jinan || f.Year != year || f.Intake() != 60 ||
			f.CreatedBy != schoolUser || len(f.Events) != 1 {
			t.Fatalf("created %+v at %q", f, r.header.Get("Location"))
		}
	})
	if id == 0 {
		t.FailNow()
	}
	t.Run("refusals at creation", func(t *testing.T) {
		bad := func(k string, v any) string { return js(with(planBody(year+1, 40, 20), k, v)) }
		badLine := func(k string, v any) string {
			b := planBody(year+1, 40, 20)
			b["lines"].([]map[string]any)[0][k] = v
			return js(b)
		}
		e.run(t, []scenario{
			{name: "duplicate plan of the year", method: "POST", url: "/api/v1/filings", as: schoolUser, body: js(planBody(year, 1)),
				status: http.StatusConflict, code: "conflict", field: "year"},
			{name: "the province's duplicate", method: "POST", url: "/api/v1/filings", as: province, body: js(with(planBody(year, 1), "school_code", code)),
				status: http.StatusConflict, code: "conflict", field: "year"},
			{name: "for another school", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("school_code", neighbour),
				status: http.StatusNotFound, code: "not_found"},
			{name: "by the city", method: "POST", url: "/api/v1/filings", as: city, body: bad("school_code", code),
				status: http.StatusForbidden, code: "forbidden"},
			{name: "by another city", method: "POST", url: "/api/v1/filings", as: qdCity, body: bad("school_code", code),
				status: http.StatusNotFound, code: "not_found"},
			{name: "by the auditor", method: "POST", url: "/api/v1/filings", as: auditor, body: bad("school_code", code),
				status: http.StatusForbidden, code: "forbidden"},
			{name: "intake 0", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("intake", 0),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[0].intake"},
			{name: "intake -5", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("intake", -5),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[0].intake"},
			{name: "intake 5001", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("intake", 5001),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[0].intake"},
			{name: "intake of a string", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("intake", "40"),
				status: http.StatusBadRequest},
			{name: "major not offered", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("major", "区块链运维"),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[0].major"},
			{name: "unknown study mode", method: "POST", url: "/api/v1/filings", as: schoolUser, body: badLine("study_mode", "函授"),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[0].study_mode"},
			{name: "no lines", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("lines", []any{}),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines"},
			{name: "script in the statement", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("statement", "<script>alert(1)</script>"),
				status: http.StatusBadRequest, code: "validation_failed", field: "statement"},
			{name: "bold in the statement", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("statement", "<b>重点</b>"),
				status: http.StatusBadRequest, code: "validation_failed", field: "statement"},
			{name: "NUL in the statement", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("statement", "说明\u0000"),
				status: http.StatusBadRequest, code: "validation_failed", field: "statement"},
			{name: "unknown kind", method: "POST", url: "/api/v1/filings", as: schoolUser, body: bad("kind", "loan"),
				status: http.StatusBadRequest, code: "validation_failed", field: "kind"},
			{name: "script in a site's name", method: "POST", url: "/api/v1/filings", as: schoolUser,
				body: js(map[string]any{"kind": "site", "valid_from": ys + "-09-01", "valid_to": strconv.Itoa(year+3) + "-08-31",
					"site": map[string]any{"name": `<img src=x onerror=alert(1)>`, "address": "济南市历下区经十路100号", "majors": []string{offered[0].Major}, "capacity": 100}}),
				status: http.StatusBadRequest, code: "validation_failed", field: "site.name"},
			{name: "a site's term of six years", method: "POST", url: "/api/v1/filings", as: schoolUser,
				body: js(map[string]any{"kind": "site", "valid_from": ys + "-09-01", "valid_to": strconv.Itoa(year+6) + "-08-31",
					"site": map[string]any{"name": "教学点", "address": "济南市历下区经十路100号", "majors": []string{offered[0].Major}, "capacity": 100}}),
				status: http.StatusBadRequest, code: "validation_failed", field: "valid_to"},
			{name: "script in a partner", method: "POST", url: "/api/v1/filings", as: schoolUser,
				body: js(map[string]any{"kind": "joint", "valid_from": ys + "-09-01", "valid_to": strconv.Itoa(year+3) + "-08-31",
					"joint": map[string]any{"partners": []string{"甲公司", "<script>x</script>"}, "responsibilities": "分工", "majors": []string{offered[0].Major}}}),
				status: http.StatusBadRequest, code: "validation_failed", field: "joint.partners"},
		})
	})

	before := e.storedFiling(t, id)
	e.run(t, []scenario{
		{name: "approve a draft", method: "POST", url: filingAPI(id, "approve"), as: province,
			status: http.StatusConflict, code: "invalid_transition", check: filingUnchanged(before)},
		{name: "city-approve a draft", method: "POST", url: filingAPI(id, "city-approve"), as: city,
			status: http.StatusConflict, code: "invalid_transition", check: filingUnchanged(before)},
		{name: "submit by the city", method: "POST", url: filingAPI(id, "submit"), as: city,
			status: http.StatusForbidden, code: "forbidden", check: filingUnchanged(before)},
		{name: "submit by another school", method: "POST", url: filingAPI(id, "submit"), as: stranger,
			status: http.StatusNotFound, code: "not_found", check: filingUnchanged(before)},
		{name: "unknown action", method: "POST", url: filingAPI(id, "delete"), as: province,
			status: http.StatusNotFound, code: "not_found", check: filingUnchanged(before)},
		{name: "submit", method: "POST", url: filingAPI(id, "submit"), as: schoolUser,
			status: http.StatusOK, audit: audit("filing.submit"), check: wantFiling(id, school.FilingSubmitted)},
		{name: "submit again", method: "POST", url: filingAPI(id, "submit"), as: schoolUser,
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "edit a submitted plan", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(planBody(0, 41, 20)),
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "approve before the city", method: "POST", url: filingAPI(id, "approve"), as: province,
			status: http.StatusConflict, code: "invalid_transition"},
	})
	before = e.storedFiling(t, id)
	other := e.runOne(t, scenario{name: "city-approve by another city", method: "POST", url: filingAPI(id, "city-approve"), as: qdCity,
		status: http.StatusNotFound, code: "not_found", check: filingUnchanged(before)})
	if other.status == http.StatusOK {
		t.Fatal("another city approved")
	}
	e.run(t, []scenario{
		{name: "city-approve by the auditor", method: "POST", url: filingAPI(id, "city-approve"), as: auditor,
			status: http.StatusForbidden, code: "forbidden", check: filingUnchanged(before)},
		{name: "city-approve by the province", method: "POST", url: filingAPI(id, "city-approve"), as: province,
			status: http.StatusForbidden, code: "forbidden", check: filingUnchanged(before)},
		{name: "return without a reason", method: "POST", url: filingAPI(id, "return"), as: city, body: js(map[string]string{"note": " "}),
			status: http.StatusBadRequest, code: "validation_failed", field: "note", check: filingUnchanged(before)},
		{name: "return with script in the reason", method: "POST", url: filingAPI(id, "return"), as: city,
			body:   js(map[string]string{"note": "<script>alert(1)</script>"}),
			status: http.StatusBadRequest, code: "validation_failed", field: "note", check: filingUnchanged(before)},
		{name: "return", method: "POST", url: filingAPI(id, "return"), as: city, body: js(map[string]string{"note": "请补充实训设备清单"}),
			status: http.StatusOK, audit: audit("filing.return"), check: wantFiling(id, school.FilingReturned)},
	})
	// Returned: the school edits and resubmits.
	t.Run("edit the returned plan and resubmit", func(t *testing.T) {
		f := e.storedFiling(t, id)
		e.run(t, []scenario{
			{name: "stale version", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(with(planBody(0, 35, 20), "version", f.Version-1)),
				status: http.StatusConflict, code: "conflict", field: "version", check: filingUnchanged(f)},
			{name: "bad intake", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(planBody(0, 35, -5)),
				status: http.StatusBadRequest, code: "validation_failed", field: "lines[1].intake", check: filingUnchanged(f)},
			{name: "edit by the city", method: "PATCH", url: filingAPI(id), as: city, body: js(planBody(0, 35, 20)),
				status: http.StatusForbidden, code: "forbidden", check: filingUnchanged(f)},
			{name: "edit", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(with(planBody(0, 35, 20), "version", f.Version)),
				status: http.StatusOK, audit: audit("filing.edit"), check: func(t *testing.T, e *env, r *resp) {
					got := filingOfAnswer(t, r)
					if got.Intake() != 55 || got.State != school.FilingReturned || got.Version != f.Version+1 {
						t.Errorf("edited %+v", got)
					}
				}},
			{name: "resubmit", method: "POST", url: filingAPI(id, "submit"), as: schoolUser, body: js(map[string]string{"note": "已补充"}),
				status: http.StatusOK, audit: audit("filing.submit"), check: wantFiling(id, school.FilingSubmitted)},
		})
	})
	e.run(t, []scenario{
		{name: "city-approve", method: "POST", url: filingAPI(id, "city-approve"), as: city, body: js(map[string]string{"note": "材料齐全"}),
			status: http.StatusOK, audit: audit("filing.city_approve"), check: wantFiling(id, school.FilingCityApproved)},
		{name: "publish before approval", method: "POST", url: filingAPI(id, "publish"), as: province,
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "reject without a reason", method: "POST", url: filingAPI(id, "reject"), as: province,
			status: http.StatusBadRequest, code: "validation_failed", field: "note"},
		{name: "approve by the school", method: "POST", url: filingAPI(id, "approve"), as: schoolUser,
			status: http.StatusForbidden, code: "forbidden"},
		{name: "approve by the city", method: "POST", url: filingAPI(id, "approve"), as: city,
			status: http.StatusForbidden, code: "forbidden"},
		{name: "approve", method: "POST", url: filingAPI(id, "approve"), as: province,
			status: http.StatusOK, audit: audit("filing.approve"), check: wantFiling(id, school.FilingApproved)},
		{name: "edit an approved plan", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(planBody(0, 41, 20)),
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "withdraw an approved plan", method: "POST", url: filingAPI(id, "withdraw"), as: schoolUser,
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "publish", method: "POST", url: filingAPI(id, "publish"), as: province,
			status: http.StatusOK, audit: audit("filing.publish"), check: wantFiling(id, school.FilingPublished)},
		{name: "edit a published plan", method: "PATCH", url: filingAPI(id), as: schoolUser, body: js(planBody(0, 41, 20)),
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "edit a published plan as the province", method: "PATCH", url: filingAPI(id), as: province, body: js(planBody(0, 41, 20)),
			status: http.StatusConflict, code: "invalid_transition"},
		{name: "read by another school", method: "GET", url: filingAPI(id), as: stranger, status: http.StatusNotFound, code: "not_found"},
		{name: "read by another city", method: "GET", url: filingAPI(id), as: qdCity, status: http.StatusNotFound, code: "not_found"},
		{name: "read by the auditor", method: "GET", url: filingAPI(id), as: auditor, status: http.StatusOK, check: wantFiling(id, school.FilingPublished)},
		{name: "read by the city", method: "GET", url: filingAPI(id), as: city, status: http.StatusOK,
			check: func(t *testing.T, e *env, r *resp) {
				f := filingOfAnswer(t, r)
				var steps []string
				for _, ev := range f.Events {
					steps = append(steps, ev.Step+"/"+ev.Actor+"/"+ev.Note)
				}
				want := []string{"create/" + schoolUser + "/", "submit/" + schoolUser + "/", "return/" + city + "/请补充实训设备清单",
					"edit/" + schoolUser + "/", "submit/" + schoolUser + "/已补充", "city_approve/" + city + "/材料齐全", "approve/" + province + "/",
					"publish/" + province + "/"}
				if !slices.Equal(steps, want) {
					t.Errorf("history\n%q\nwant\n%q", steps, want)
				}
			}},
	})

	// --- Amendment --------------------------------------------------------

	var amendment int64
	e.run(t, []scenario{
		{name: "amend by the city", method: "POST", url: filingAPI(id, "amend"), as: city, status: http.StatusForbidden, code: "forbidden"},
		{name: "amend by another school", method: "POST", url: filingAPI(id, "amend"), as: stranger, status: http.StatusNotFound, code: "not_found"},
		{name: "amend", method: "POST", url: filingAPI(id, "amend"), as: schoolUser, status: http.StatusCreated, audit: audit("filing.amend"),
			check: func(t *testing.T, e *env, r *resp) {
				f := filingOfAnswer(t, r)
				amendment = f.ID
				if f.Amends != id || f.State != school.FilingDraft || f.Year != year || r.header.Get("Location") != filingAPI(f.ID) {
					t.Errorf("amendment %+v at %q", f, r.header.Get("Location"))
				}
			}},
		{name: "a second amendment", method: "POST", url: filingAPI(id, "amend"), as: province, status: http.StatusConflict, code: "conflict"},
	})
	if amendment == 0 {
		t.Fatal("no amendment")
	}
	e.run(t, []scenario{
		{name: "edit the amendment", method: "PATCH", url: filingAPI(amendment), as: schoolUser, body: js(planBody(0, 30, 20)),
			status: http.StatusOK, audit: audit("filing.edit")},
		{name: "submit the amendment", method: "POST", url: filingAPI(amendment, "submit"), as: schoolUser,
			status: http.StatusOK, audit: audit("filing.submit"), check: wantFiling(amendment, school.FilingSubmitted)},
	})

	// --- Lists, progress, deadline ---------------------------------------

	t.Run("list by state and year", func(t *testing.T) {
		list := func(user, query string) listOf[*school.Filing] {
			t.Helper()
			r := e.do(t, req{method: "GET", url: "/api/v1/filings?" + query, bearer: e.token(t, user)})
			if r.status != http.StatusOK {
				t.Fatalf("GET ?%s as %s: %d\n%s", query, user, r.status, truncate(r.body))
			}
			var l listOf[*school.Filing]
			r.decode(t, &l)
			return l
		}
		ids := func(l listOf[*school.Filing]) []int64 {
			out := []int64{}
			for _, f := range l.Items {
				out = append(out, f.ID)
			}
			return out
		}
		for _, tc := range []struct {
			user, query string
			want        []int64
		}{
			{province, "state=published&year=" + ys, []int64{id}},
			{province, "state=submitted&year=" + ys, []int64{amendment}},
			{province, "year=" + ys, []int64{amendment, id}},
			{city, "year=" + ys + "&kind=plan", []int64{amendment, id}},
			{schoolUser, "year=" + ys, []int64{amendment, id}},
			{auditor, "state=published&year=" + ys + "&school_code=" + code, []int64{id}},
			{qdCity, "year=" + ys, []int64{}},
			{stranger, "year=" + ys, []int64{}},
			{province, "state=draft&year=" + ys, []int64{}},
			{province, "late=1&year=" + ys, []int64{}},
		} {
			l := list(tc.user, tc.query)
			if got := ids(l); !slices.Equal(got, tc.want) || l.Total != len(tc.want) {
				t.Errorf("?%s as %s: %v (total %d), want %v", tc.query, tc.user, got, l.Total, tc.want)
			}
		}
		// The demo's year, through its pages.
		all, total, err := e.db.ListFilings(ctx, school.FilingFilter{Scope: allScope, Year: year - 10, State: school.FilingPublished, Limit: 500})
		if err != nil || total == 0 {
			t.Fatalf("the demo published nothing in %d: %v", year-10, err)
		}
		var walked []int64
		next := ""
		for page := 0; page < 100; page++ {
			q := "state=published&limit=3&year=" + strconv.Itoa(year-10)
			if next != "" {
				q += "&cursor=" + url.QueryEscape(next)
			}
			l := list(province, q)
			if l.Total != total {
				t.Errorf("page %d: total %d, want %d", page, l.Total, total)
			}
			walked = append(walked, ids(l)...)
			if next = l.Next; next == "" {
				break
			}
		}
		var want []int64
		for _, f := range all {
			want = append(want, f.ID)
		}
		if !slices.Equal(walked, want) {
			t.Errorf("walked %v\nwant %v", walked, want)
		}
		e.run(t, []scenario{
			{name: "unknown state", url: "/api/v1/filings?state=done", as: province, status: http.StatusBadRequest, code: "validation_failed", field: "state"},
			{name: "unknown kind", url: "/api/v1/filings?kind=loan", as: province, status: http.StatusBadRequest, code: "validation_failed", field: "kind"},
			{name: "bad year", url: "/api/v1/filings?year=abc", as: province, status: http.StatusBadRequest, code: "validation_failed", field: "year"},
			{name: "year 1999", url: "/api/v1/filings?year=1999", as: province, status: http.StatusBadRequest, code: "validation_failed", field: "year"},
			{name: "no credentials", url: "/api/v1/filings", status: http.StatusUnauthorized, code: "unauthorized"},
		})
	})

	t.Run("progress and deadline", func(t *testing.T) {
		type progress struct {
			Year     int                   `json:"year"`
			Deadline string                `json:"deadline"`
			Cities   []school.CityProgress `json:"cities"`
		}
		get := func(user, query string) progress {
			t.Helper()
			r := e.do(t, req{method: "GET", url: "/api/v1/filings/progress?" + query, bearer: e.token(t, user)})
			if r.status != http.StatusOK {
				t.Fatalf("progress ?%s as %s: %d\n%s", query, user, r.status, truncate(r.body))
			}
			var p progress
			r.decode(t, &p)
			return p
		}
		// The open schools of each city, as stored (other groups add schools).
		all, _, err := e.db.FindSchools(ctx, school.Filter{Scope: allScope, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		open := map[string]int{}
		closed := map[string]bool{}
		for _, sc := range all {
			if sc.Status == school.StatusClosed {
				closed[sc.Code] = true
				continue
			}
			open[sc.CityCode]++
		}
		p := get(province, "year="+ys)
		if p.Year != year || p.Deadline != "" || len(p.Cities) != len(open) {
			t.Fatalf("progress %+v, want %d cities", p, len(open))
		}
		for _, c := range p.Cities {
			want := 0
			if c.CityCode == jinan {
				want = 1
			}
			if c.Schools != open[c.CityCode] || c.Submitted != want || c.Reviewed != want || c.Approved != want || c.Published != want || c.Late != 0 ||
				c.ByState[school.FilingPublished] != want || c.CityName == "" || c.CityName == c.CityCode {
				t.Errorf("progress of %s: %+v, want %d schools, %d published", c.CityCode, c, open[c.CityCode], want)
			}
		}
		// The demo's year: the counts are those of the stored plans.
		cur := get(province, "")
		if cur.Year != year-10 || cur.Deadline == "" || len(cur.Cities) != len(open) {
			t.Errorf("progress of the current year: %d, deadline %q, %d cities", cur.Year, cur.Deadline, len(cur.Cities))
		}
		for _, c := range cur.Cities {
			count := func(state string) (n, late int) {
				plans, _, err := e.db.ListFilings(ctx, school.FilingFilter{Scope: allScope, Kind: school.KindPlan, Year: year - 10, CityCode: c.CityCode,
					State: state, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range plans {
					if !closed[f.SchoolCode] && f.Amends == 0 {
						n++
						if f.Late {
							late++
						}
					}
				}
				return n, late
			}
			for _, state := range []string{school.FilingSubmitted, school.FilingCityApproved, school.FilingApproved, school.FilingPublished} {
				if n, _ := count(state); c.ByState[state] != n {
					t.Errorf("%s: %d %s, stored %d", c.CityCode, c.ByState[state], state, n)
				}
			}
			if n, _ := count(school.FilingPublished); c.Published != n {
				t.Errorf("%s: %d published, stored %d", c.CityCode, c.Published, n)
			}
		}
		if c := get(city, "year="+ys).Cities; len(c) != 1 || c[0].CityCode != jinan || c[0].Published != 1 {
			t.Errorf("the city's progress %+v", c)
		}
		if c := get(schoolUser, "year="+ys).Cities; len(c) != 1 || c[0].Schools != 1 || c[0].Published != 1 {
			t.Errorf("the school's progress %+v", c)
		}
		e.run(t, []scenario{
			{name: "bad year", url: "/api/v1/filings/progress?year=21", as: province, status: http.StatusBadRequest, code: "validation_failed", field: "year"},
			{name: "deadline by a school", method: "PUT", url: "/api/v1/filing-years/" + ys, as: schoolUser, body: `{"deadline":"` + ys + `-04-30"}`,
				status: http.StatusForbidden, code: "forbidden"},
			{name: "deadline by a city", method: "PUT", url: "/api/v1/filing-years/" + ys, as: city, body: `{"deadline":"` + ys + `-04-30"}`,
				status: http.StatusForbidden, code: "forbidden"},
			{name: "deadline by the auditor", method: "PUT", url: "/api/v1/filing-years/" + ys, as: auditor, body: `{"deadline":"` + ys + `-04-30"}`,
				status: http.StatusForbidden, code: "forbidden"},
			{name: "impossible deadline", method: "PUT", url: "/api/v1/filing-years/" + ys, as: province, body: `{"deadline":"` + ys + `-02-30"}`,
				status: http.StatusBadRequest, code: "validation_failed", field: "deadline"},
			{name: "bad year in the path", method: "PUT", url: "/api/v1/filing-years/abc", as: province, body: `{"deadline":"2030-04-30"}`,
				status: http.StatusBadRequest, code: "validation_failed", field: "year"},
			{name: "year out of range", method: "PUT", url: "/api/v1/filing-years/2101", as: province, body: `{"deadline":"2101-04-30"}`,
				status: http.StatusBadRequest, code: "validation_failed", field: "year"},
			{name: "deadline by the province", method: "PUT", url: "/api/v1/filing-years/" + ys, as: province, body: `{"deadline":"` + ys + `-04-30"}`,
				status: http.StatusOK, audit: []string{"filing.year:" + ys}, contains: []string{`"deadline":"` + ys + `-04-30"`}},
		})
		if d := get(province, "year="+ys).Deadline; d != ys+"-04-30" {
			t.Errorf("deadline after PUT: %q", d)
		}
	})

	// --- Pages -------------------------------------------------------------

	t.Run("pages", func(t *testing.T) {
		ss, cs, ps := e.sessionOf(t, schoolUser), e.sessionOf(t, city), e.sessionOf(t, province)
		y2 := strconv.Itoa(year + 1)
		r := e.runOne(t, scenario{name: "list", url: "/filings?year=" + ys, sess: ss, status: http.StatusOK,
			contains: []string{`data-testid="filing-progress"`, `href="/filings/` + strconv.FormatInt(id, 10) + `"`, `href="/filings/new?kind=plan"`,
				`data-testid="filing-deadline">` + ys + `-04-30<`}})
		if strings.Contains(r.body, `action="/filing-years"`) {
			t.Error("a school is offered the deadline form")
		}
		e.runOne(t, scenario{name: "list as the province", url: "/filings?year=" + ys, sess: ps, status: http.StatusOK,
			contains: []string{`action="/filing-years"`}})
		// The plan form lists the school's offerings with an intake each.
		form := e.runOne(t, scenario{name: "new plan", url: "/filings/new?kind=plan", sess: ss, status: http.StatusOK,
			contains: []string{`data-testid="plan-lines"`, `name="intake.0"`, `name="intake.` + strconv.Itoa(len(offered)-1) + `"`}})
		if n := strings.Count(form.body, `name="intake.`); n != len(offered) {
			t.Errorf("the form has %d intake fields for %d offerings", n, len(offered))
		}
		for i, o := range offered {
			for _, want := range []string{`name="major.` + strconv.Itoa(i) + `" value="` + o.Major + `"`, `name="level.` + strconv.Itoa(i) + `" value="` + o.ClassLevel + `"`,
				`name="mode.` + strconv.Itoa(i) + `" value="` + o.StudyMode + `"`} {
				if !strings.Contains(form.body, want) {
					t.Errorf("the form lacks %s", want)
				}
			}
		}
		e.runOne(t, scenario{name: "new plan by the city", url: "/filings/new?kind=plan", sess: cs, status: http.StatusForbidden})
		e.runOne(t, scenario{name: "new site", url: "/filings/new?kind=site", sess: ss, status: http.StatusOK,
			contains: []string{`name="site_name"`, `name="valid_from"`, `name="majors" value="` + offered[0].Major + `"`}})
		// The form posts intake.N for each offering, blank for none.
		planForm := func(csrf string, intakes map[int]string, statement string) string {
			f := url.Values{"kind": {"plan"}, "school_code": {code}, "year": {y2}, "statement": {statement}}
			if csrf != "" {
				f.Set("csrf_token", csrf)
			}
			for i, o := range offered {
				k := strconv.Itoa(i)
				f.Set("major."+k, o.Major)
				f.Set("level."+k, o.ClassLevel)
				f.Set("mode."+k, o.StudyMode)
				f.Set("intake."+k, intakes[i])
			}
			return f.Encode()
		}
		e.run(t, []scenario{
			{name: "post without the CSRF token", method: "POST", url: "/filings", sess: ss, ctype: formType,
				body: planForm("", map[int]string{0: "30"}, "说明"), status: http.StatusForbidden},
			{name: "post a bad intake", method: "POST", url: "/filings", sess: ss, ctype: formType,
				body: planForm(ss.csrf, map[int]string{0: "30", 1: "-5"}, "说明"), status: http.StatusBadRequest,
				contains: []string{`data-testid="form-error"`, `value="30"`}},
			{name: "post no intake", method: "POST", url: "/filings", sess: ss, ctype: formType,
				body: planForm(ss.csrf, nil, "说明"), status: http.StatusBadRequest, contains: []string{`data-testid="form-error"`}},
			{name: "post markup in the statement", method: "POST", url: "/filings", sess: ss, ctype: formType,
				body: planForm(ss.csrf, map[int]string{0: "30"}, "<script>alert(1)</script>"), status: http.StatusBadRequest,
				contains: []string{`data-testid="form-error"`, "&lt;script&gt;alert(1)&lt;/script&gt;"}, absent: []string{"<script>alert(1)"}},
		})
		// A textarea's lines come as CRLF.
		r = e.runOne(t, scenario{name: "post the form", method: "POST", url: "/filings", sess: ss, ctype: formType,
			body:   planForm(ss.csrf, map[int]string{0: "30", 1: " ", len(offered) - 1: "12"}, "第一条：实训工位充足。\r\n第二条：师资齐备。"),
			status: http.StatusSeeOther, audit: audit("filing.create")})
		fid := redirectedFiling(t, r)
		f := e.storedFiling(t, fid)
		if f.State != school.FilingDraft || f.Year != year+1 || len(f.Lines) != 2 || f.Intake() != 42 || f.Statement != "第一条：实训工位充足。\n第二条：师资齐备。" {
			t.Fatalf("the form filed %+v", f)
		}
		show := "/filings/" + strconv.FormatInt(fid, 10)
		e.runOne(t, scenario{name: "show the draft", url: show, sess: ss, status: http.StatusOK,
			contains: []string{`data-testid="filing-history"`, `data-testid="act-submit"`, `data-testid="act-withdraw"`, `data-testid="filing-edit"`,
				`data-testid="plan-total">42<`, "第一条：实训工位充足。\n第二条：师资齐备。"},
			absent: []string{`data-testid="act-approve"`, `data-testid="act-city_approve"`}})
		e.runOne(t, scenario{name: "show to another school", url: show, sess: e.sessionOf(t, stranger), status: http.StatusNotFound})
		act := func(csrf, action, note string) string {
			v := url.Values{"action": {action}, "note": {note}}
			if csrf != "" {
				v.Set("csrf_token", csrf)
			}
			return v.Encode()
		}
		e.run(t, []scenario{
			{name: "submit without the CSRF token", method: "POST", url: show + "/act", sess: ss, ctype: formType, body: act("", "submit", ""),
				status: http.StatusForbidden, check: filingUnchanged(f)},
			{name: "submit with another session's token", method: "POST", url: show + "/act", sess: ss, ctype: formType, body: act(cs.csrf, "submit", ""),
				status: http.StatusForbidden, check: filingUnchanged(f)},
			{name: "approve a draft", method: "POST", url: show + "/act", sess: ps, ctype: formType, body: act(ps.csrf, "approve", ""),
				status: http.StatusConflict, contains: []string{`data-testid="filing-error"`}, check: filingUnchanged(f)},
			{name: "submit", method: "POST", url: show + "/act", sess: ss, ctype: formType, body: act(ss.csrf, "submit", ""),
				status: http.StatusSeeOther, audit: audit("filing.submit"), check: func(t *testing.T, e *env, r *resp) {
					if loc := r.header.Get("Location"); loc != show+"?done=submit" {
						t.Errorf("redirected to %q", loc)
					}
				}},
			{name: "the city sees its buttons", url: show, sess: cs, status: http.StatusOK,
				contains: []string{`data-testid="act-city_approve"`, `data-testid="act-return"`}, absent: []string{`data-testid="filing-edit"`, `data-testid="act-submit"`}},
			{name: "return without a reason", method: "POST", url: show + "/act", sess: cs, ctype: formType, body: act(cs.csrf, "return", ""),
				status: http.StatusBadRequest, contains: []string{`data-testid="filing-error"`}},
			{name: "return with CRLF in the reason", method: "POST", url: show + "/act", sess: cs, ctype: formType,
				body: act(cs.csrf, "return", "计划数偏大，\r\n请核减。"), status: http.StatusSeeOther, audit: audit("filing.return")},
			{name: "the history", url: show, sess: ss, status: http.StatusOK,
				contains: []string{`data-testid="filing-history"`, "<td>" + city + "</td>", "计划数偏大，\n请核减。", "<td>" + schoolUser + "</td>",
					"已退回修改", `data-testid="filing-edit"`}},
			{name: "edit form", url: show + "/edit", sess: ss, status: http.StatusOK, contains: []string{`name="version" value="` + strconv.FormatInt(f.Version+2, 10) + `"`,
				`value="30"`, `value="12"`}},
		})
		edit := url.Values{"csrf_token": {ss.csrf}, "kind": {"plan"}, "school_code": {code}, "year": {y2}, "version": {strconv.FormatInt(f.Version+2, 10)},
			"statement": {"已核减。"}}
		for i, o := range offered {
			k := strconv.Itoa(i)
			edit.Set("major."+k, o.Major)
			edit.Set("level."+k, o.ClassLevel)
			edit.Set("mode."+k, o.StudyMode)
		}
		edit.Set("intake.0", "25")
		r = e.runOne(t, scenario{name: "post the edit", method: "POST", url: show, sess: ss, ctype: formType, body: edit.Encode(),
			status: http.StatusSeeOther, audit: audit("filing.edit")})
		if redirectedFiling(t, r) != fid {
			t.Errorf("the edit redirected to %s", r.header.Get("Location"))
		}
		if got := e.storedFiling(t, fid); got.Intake() != 25 || got.Statement != "已核减。" || got.State != school.FilingReturned {
			t.Errorf("edited %+v", got)
		}
		e.runOne(t, scenario{name: "post a stale edit", method: "POST", url: show, sess: ss, ctype: formType, body: edit.Encode(),
			status: http.StatusConflict, contains: []string{`data-testid="form-error"`}})
		e.run(t, []scenario{
			{name: "resubmit", method: "POST", url: show + "/act", sess: ss, ctype: formType, body: act(ss.csrf, "submit", "已核减"),
				status: http.StatusSeeOther, audit: audit("filing.submit")},
			{name: "city-approve", method: "POST", url: show + "/act", sess: cs, ctype: formType, body: act(cs.csrf, "city_approve", "同意"),
				status: http.StatusSeeOther, audit: audit("filing.city_approve")},
			{name: "the province sees its buttons", url: show, sess: ps, status: http.StatusOK,
				contains: []string{`data-testid="act-approve"`, `data-testid="act-reject"`}},
			{name: "approve", method: "POST", url: show + "/act", sess: ps, ctype: formType, body: act(ps.csrf, "approve", ""),
				status: http.StatusSeeOther, audit: audit("filing.approve")},
			{name: "edit form of an approved plan", method: "POST", url: show, sess: ss, ctype: formType, body: edit.Encode(),
				status: http.StatusConflict, contains: []string{`data-testid="form-error"`}},
			{name: "an approved plan offers an amendment", url: show, sess: ss, status: http.StatusOK,
				contains: []string{`data-testid="filing-amend"`, "省级已批准"}, absent: []string{`data-testid="filing-edit"`, `data-testid="act-`}},
		})
		r = e.runOne(t, scenario{name: "amend", method: "POST", url: show + "/act", sess: ss, ctype: formType, body: act(ss.csrf, "amend", ""),
			status: http.StatusSeeOther, audit: audit("filing.amend")})
		if am := redirectedFiling(t, r); am == fid || e.storedFiling(t, am).Amends != fid {
			t.Errorf("amend led to #%d", am)
		} else {
			e.runOne(t, scenario{name: "show the amendment", url: "/filings/" + strconv.FormatInt(am, 10), sess: ss, status: http.StatusOK,
				contains: []string{`href="/filings/` + strconv.FormatInt(fid, 10) + `"`, `data-testid="act-submit"`}})
		}
		e.runOne(t, scenario{name: "set the deadline", method: "POST", url: "/filing-years", sess: ps, ctype: formType,
			body: url.Values{"csrf_token": {ps.csrf}, "year": {y2}, "deadline": {y2 + "-05-15"}}.Encode(), status: http.StatusSeeOther,
			audit: []string{"filing.year:" + y2}})
		e.runOne(t, scenario{name: "set the deadline as a school", method: "POST", url: "/filing-years", sess: ss, ctype: formType,
			body: url.Values{"csrf_token": {ss.csrf}, "year": {y2}, "deadline": {y2 + "-05-31"}}.Encode(), status: http.StatusForbidden})
	})

	t.Run("offerings page", func(t *testing.T) {
		ss, cs := e.sessionOf(t, schoolUser), e.sessionOf(t, city)
		u := "/schools/" + code + "/majors"
		key := func(o school.Offering) string { return o.Major + "|" + o.ClassLevel + "|" + o.StudyMode }
		r := e.runOne(t, scenario{name: "the grid", url: u, sess: ss, status: http.StatusOK,
			contains: []string{`data-testid="offering-grid"`, `data-testid="offering-count">` + strconv.Itoa(len(offered)) + `<`}})
		for _, o := range offered {
			if !strings.Contains(r.body, `value="`+key(o)+`" checked`) {
				t.Errorf("%s is not checked", key(o))
			}
		}
		// A major offered in no form yet: the catalogue's first unused.
		catalogue, err := e.db.Majors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var extra school.Offering
		for _, m := range catalogue {
			if !slices.ContainsFunc(offered, func(o school.Offering) bool { return o.Major == m }) {
				extra = school.Offering{Major: m, ClassLevel: "高级工班", StudyMode: "全日制"}
				break
			}
		}
		post := func(csrf string, list []school.Offering, more ...string) string {
			v := url.Values{}
			if csrf != "" {
				v.Set("csrf_token", csrf)
			}
			for _, o := range list {
				v.Add("offer", key(o))
			}
			for _, m := range more {
				v.Add("offer", m)
			}
			return v.Encode()
		}
		withExtra := append(slices.Clone(offered), extra)
		e.run(t, []scenario{
			{name: "save without the CSRF token", method: "POST", url: u, sess: ss, ctype: formType, body: post("", withExtra),
				status: http.StatusForbidden},
			{name: "save as the city", method: "POST", url: u, sess: cs, ctype: formType, body: post(cs.csrf, withExtra),
				status: http.StatusForbidden},
			{name: "the city sees no save button", url: u, sess: cs, status: http.StatusOK, absent: []string{`<button type="submit">保存</button>`}},
			{name: "save a major not in the catalogue", method: "POST", url: u, sess: ss, ctype: formType,
				body: post(ss.csrf, offered, "<script>alert(1)</script>|中级工班|全日制"), status: http.StatusBadRequest,
				contains: []string{`data-testid="form-error"`}, absent: []string{"<script>alert(1)"}},
			{name: "save an unknown level", method: "POST", url: u, sess: ss, ctype: formType,
				body: post(ss.csrf, offered, offered[0].Major+"|博士班|全日制"), status: http.StatusBadRequest, contains: []string{`data-testid="form-error"`}},
			{name: "save one more", method: "POST", url: u, sess: ss, ctype: formType, body: post(ss.csrf, withExtra),
				status: http.StatusOK, audit: []string{"school.offerings:" + code},
				contains: []string{`data-testid="offerings-saved"`, `data-testid="offering-count">` + strconv.Itoa(len(offered)+1) + `<`, `value="` + key(extra) + `" checked`}},
		})
		if got, _ := e.db.Offerings(ctx, code); len(got) != len(offered)+1 || !slices.Contains(got, extra) {
			t.Errorf("stored offerings %v", got)
		}
		// The plan form offers it; then the offerings are put back.
		e.runOne(t, scenario{name: "the form offers it", url: "/filings/new?kind=plan", sess: ss, status: http.StatusOK,
			contains: []string{`value="` + extra.Major + `"`}})
		e.runOne(t, scenario{name: "put back", method: "POST", url: u, sess: ss, ctype: formType, body: post(ss.csrf, offered),
			status: http.StatusOK, audit: []string{"school.offerings:" + code}})
		if got, _ := e.db.Offerings(ctx, code); !slices.EqualFunc(sortedOfferings(got), sortedOfferings(offered), func(a, b school.Offering) bool { return a == b }) {
			t.Errorf("offerings not restored: %v, want %v", got, offered)
		}
		// The API reads and writes them as well.
		e.run(t, []scenario{
			{name: "API read", url: "/api/v1/schools/" + code + "/majors", as: city, status: http.StatusOK,
				contains: []string{fmt.Sprintf(`"total":%d`, len(offered))}},
			{name: "API read by another city", url: "/api/v1/schools/" + code + "/majors", as: qdCity, status: http.StatusNotFound, code: "not_found"},
			{name: "API write by the city", method: "PUT", url: "/api/v1/schools/" + code + "/majors", as: city,
				body: js(map[string]any{"items": offered}), status: http.StatusForbidden, code: "forbidden"},
			{name: "API write an unknown mode", method: "PUT", url: "/api/v1/schools/" + code + "/majors", as: schoolUser,
				body:   js(map[string]any{"items": []map[string]string{{"major": offered[0].Major, "class_level": "中级工班", "study_mode": "夜校"}}}),
				status: http.StatusBadRequest, code: "validation_failed", field: "offerings[0].study_mode"},
			{name: "API write", method: "PUT", url: "/api/v1/schools/" + code + "/majors", as: province,
				body: js(map[string]any{"items": offered}), status: http.StatusOK, audit: []string{"school.offerings:" + code}},
		})
	})
}

func sortedOfferings(list []school.Offering) []school.Offering {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b school.Offering) int {
		return strings.Compare(a.Major+"|"+a.ClassLevel+"|"+a.StudyMode, b.Major+"|"+b.ClassLevel+"|"+b.StudyMode)
	})
	return out
}
