package web_test

// HTTP tests of the list exports (.xlsx): GET /students.xlsx and
// /schools.xlsx (pages) and /api/v1/{students,schools}/export.xlsx (API).
// An export must hold exactly what walking the list API with the same
// filter gives the same caller — scope, filters, masking, every page —
// and leave one audit event saying who exported what and how many rows.
// They run on both engines as a group of TestWeb.

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// The columns of an export.
var (
	studentExportHeader = []string{"学籍号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "民族", "学校代码", "学校", "专业",
		"培养层次", "学习形式", "入学起点", "入学日期", "预计毕业", "学籍状态", "离校日期"}
	schoolExportHeader = []string{"学校代码", "学校名称", "学校类型", "举办性质", "所在区县代码", "国家级重点", "省级优质", "办学状态",
		"地址", "核定办学规模", "城市"}
)

// studentCells is a student as its export row should show it.
func studentCells(st *student.Student) []string {
	return []string{st.StudentNo, st.Name, st.IDType, st.IDNumber, st.Sex, st.BirthDate, st.Ethnicity, st.SchoolCode, st.SchoolName,
		st.Major, st.ClassLevel, st.StudyMode, st.EntryPoint, st.EnrollmentDate, st.ExpectedGraduation, st.Status, st.LeftDate}
}

func schoolCells(sc *school.School) []string {
	yes := map[bool]string{true: "是", false: "否"}
	capacity := ""
	if sc.Capacity > 0 {
		capacity = strconv.Itoa(sc.Capacity)
	}
	return []string{sc.Code, sc.Name, sc.Type, sc.Ownership, sc.DivisionCode, yes[sc.NationalKey], yes[sc.ProvincialQuality], sc.Status,
		sc.Address, capacity, sc.CityName}
}

// walkList reads every page of an API list as user, with query.
func walkList[T any](t *testing.T, e *env, user, path, query string) ([]T, int) {
	t.Helper()
	base := path + "?limit=500"
	if query != "" {
		base += "&" + query
	}
	var all []T
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
		var l listOf[T]
		r.decode(t, &l)
		if total < 0 {
			total = l.Total
		}
		all = append(all, l.Items...)
		if l.Next == "" {
			return all, total
		}
		if page > 1000 {
			t.Fatalf("walking %s does not end", base)
		}
		next = l.Next
	}
}

// sheetRows opens an export and returns the rows of its one sheet, each
// padded to the header's width.
func sheetRows(t *testing.T, r *resp, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("the export is not an .xlsx (%v): %d bytes, Content-Type %q", err, len(r.body), r.header.Get("Content-Type"))
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{sheet}) {
		t.Fatalf("sheets %q, want %q", got, sheet)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("the export has no header")
	}
	for i := range rows {
		rows[i] = append(rows[i], make([]string, max(0, len(rows[0])-len(rows[i])))...)
	}
	return rows
}

// wantFile checks an export's headers: an attachment named
// <name>-<today>.xlsx in UTF-8 with an ASCII fallback, not to be cached.
func wantFile(t *testing.T, r *resp, name, kind string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type %q", ct)
	}
	cd := r.header.Get("Content-Disposition")
	found := false
	for _, day := range []string{dayInChina(0), dayInChina(-1)} { // the test may straddle midnight
		want := fmt.Sprintf(`attachment; filename="gongjiang-%s-%s.xlsx"; filename*=UTF-8''%s`, kind, day,
			strings.ReplaceAll(url.PathEscape(name+"-"+day+".xlsx"), "%2D", "-"))
		found = found || cd == want
	}
	if !found {
		t.Errorf("Content-Disposition %q, want %s-%s.xlsx", cd, name, dayInChina(0))
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

// exportedStudents checks that a student export holds exactly what the
// list API gives user under query, in order and masked alike.
func exportedStudents(user, query string, keep func(*student.Student) bool) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		wantFile(t, r, "学籍", "students")
		rows := sheetRows(t, r, "学籍")
		if !slices.Equal(rows[0], studentExportHeader) {
			t.Errorf("header %q", rows[0])
		}
		listed, total := walkList[*student.Student](t, e, user, "/api/v1/students", query)
		t.Logf("%s exported %d rows (%d bytes); the list's total is %d", user, len(rows)-1, len(r.body), total)
		if len(rows)-1 != len(listed) {
			t.Fatalf("%d rows exported, the list walks %d (total %d)", len(rows)-1, len(listed), total)
		}
		if total < 10000 && len(listed) != total {
			t.Errorf("the list's total is %d, its pages %d", total, len(listed))
		}
		for i, st := range listed {
			if !keep(st) {
				t.Fatalf("the list of %s gives %s of %s, which the test does not expect", user, st.StudentNo, st.SchoolCode)
			}
			if want := studentCells(st); !slices.Equal(rows[i+1], want) {
				t.Fatalf("row %d: %q\nwant %q", i+2, rows[i+1], want)
			}
			if id := rows[i+1][3]; st.IDType == student.ResidentID && (len(id) != 18 || !strings.Contains(id, "**********")) {
				t.Fatalf("row %d: document number %q is not masked", i+2, id)
			}
		}
		noPlainID(t, strings.Join(slices.Concat(rows...), "\t"))
	}
}

func exportedSchools(user, query string, keep func(*school.School) bool) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		wantFile(t, r, "学校", "schools")
		rows := sheetRows(t, r, "学校")
		if !slices.Equal(rows[0], schoolExportHeader) {
			t.Errorf("header %q", rows[0])
		}
		listed, total := walkList[*school.School](t, e, user, "/api/v1/schools", query)
		if len(rows)-1 != len(listed) || len(listed) != total {
			t.Fatalf("%d rows exported, the list walks %d of total %d", len(rows)-1, len(listed), total)
		}
		for i, sc := range listed {
			if !keep(sc) {
				t.Fatalf("the list of %s gives school %s (%s), which the test does not expect", user, sc.Code, sc.CityCode)
			}
			if want := schoolCells(sc); !slices.Equal(rows[i+1], want) {
				t.Fatalf("row %d: %q\nwant %q", i+2, rows[i+1], want)
			}
		}
	}
}

// and checks more than one thing.
func and(checks ...func(t *testing.T, e *env, r *resp)) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		for _, c := range checks {
			c(t, e, r)
		}
	}
}

// audited checks the newest audit event: who exported, what filter, how
// many rows (those of the file answered).
func audited(actor string, filter map[string]string) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		// The newest export event: the check itself may have made a token.
		all, err := e.db.RecentAudit(t.Context(), "", "", 0, 20)
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		i := slices.IndexFunc(all, func(ev audit.Event) bool { return strings.HasPrefix(ev.Action, "export.") })
		if i < 0 {
			t.Fatal("no export in the audit log")
		}
		evs := all[i:]
		var data struct {
			Filter map[string]string `json:"filter"`
			Rows   int               `json:"rows"`
		}
		if err := json.Unmarshal(evs[0].Data, &data); err != nil {
			t.Fatalf("audit data %s: %v", evs[0].Data, err)
		}
		f, err := excelize.OpenReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows(f.GetSheetName(0))
		if evs[0].Actor != actor || data.Rows != len(rows)-1 || !mapsEqual(data.Filter, filter) {
			t.Errorf("audit event by %q with %s, want by %q, %d rows, filter %v", evs[0].Actor, evs[0].Data, actor, len(rows)-1, filter)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testExports(t *testing.T, e *env) {
	ctx := t.Context()
	// The school of 济南 with the most students is the home school.
	bySchool := map[string]int{}
	var after int64
	for {
		page, _, err := e.db.FindStudents(ctx, student.Filter{Scope: allScope, After: after, Limit: student.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page {
			bySchool[st.SchoolCode]++
		}
		if len(page) < student.MaxPageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	home := ""
	for _, sc := range e.inCity(t, jinan) {
		if home == "" || bySchool[sc.Code] > bySchool[home] {
			home = sc.Code
		}
	}
	// Over one export page, so that the walk takes more than one.
	if bySchool[home] <= student.MaxPageSize {
		t.Fatalf("the demo's largest school of 济南 has %d students; the tests need more than %d", bySchool[home], student.MaxPageSize)
	}
	schoolUser, city, qdCity := demo.SchoolUser(home), demo.CityUser(jinan), demo.CityUser(qingdao)
	const p, auditor = demo.ProvinceUser, demo.AuditorUser
	jinanSchools := map[string]bool{}
	for _, sc := range e.inCity(t, jinan) {
		jinanSchools[sc.Code] = true
	}
	inJinan := func(st *student.Student) bool { return jinanSchools[st.SchoolCode] && st.CityCode == jinan }
	atHome := func(st *student.Student) bool { return st.SchoolCode == home }
	anyStudent := func(*student.Student) bool { return true }

	t.Run("students", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "a school exports its own students from the page", url: "/students.xlsx", sess: e.sessionOf(t, schoolUser), status: 200,
				audit: []string{"export.students:" + home},
				check: and(exportedStudents(schoolUser, "", atHome), audited(schoolUser, map[string]string{}))},
			{name: "a school naming another school exports nothing", url: "/api/v1/students/export.xlsx?school_code=" + e.inCity(t, qingdao)[0].Code,
				as: schoolUser, status: 200, audit: []string{"export.students:" + home},
				check: func(t *testing.T, e *env, r *resp) {
					if rows := sheetRows(t, r, "学籍"); len(rows) != 1 {
						t.Errorf("%d rows", len(rows)-1)
					}
				}},
			{name: "a city exports its city through the API", url: "/api/v1/students/export.xlsx", as: city, status: 200,
				audit: []string{"export.students:" + jinan}, check: exportedStudents(city, "", inJinan)},
			{name: "filters hold", url: "/api/v1/students/export.xlsx?status=active&school_code=" + home, as: p, status: 200,
				audit: []string{"export.students:all"},
				check: and(exportedStudents(p, "status=active&school_code="+home, func(st *student.Student) bool { return atHome(st) && st.Active() }),
					audited(p, map[string]string{"status": "active", "school_code": home}))},
			{name: "a page and a cursor are ignored: all rows", url: "/students.xlsx?limit=3&cursor=" + url.QueryEscape("OTk5OTk5") + "&school_code=" + home,
				sess: e.sessionOf(t, p), status: 200, audit: []string{"export.students:all"},
				check: exportedStudents(p, "school_code="+home, atHome)},
			{name: "more filters", url: "/api/v1/students/export.xlsx?city_code=" + qingdao + "&study_mode=" + url.QueryEscape(student.ModeFullTime) + "&year=2025",
				as: qdCity, status: 200, audit: []string{"export.students:" + qingdao},
				check: exportedStudents(qdCity, "city_code="+qingdao+"&study_mode="+url.QueryEscape(student.ModeFullTime)+"&year=2025",
					func(st *student.Student) bool {
						return st.CityCode == qingdao && st.StudyMode == student.ModeFullTime && strings.HasPrefix(st.EnrollmentDate, "2025-")
					})},
			{name: "the auditor gets masked numbers", url: "/api/v1/students/export.xlsx?city_code=" + jinan, as: auditor, status: 200,
				audit: []string{"export.students:all"}, check: exportedStudents(auditor, "city_code="+jinan, inJinan)},
			{name: "the province too", url: "/students.xlsx?school_code=" + home, sess: e.sessionOf(t, p), status: 200,
				audit: []string{"export.students:all"}, check: exportedStudents(p, "school_code="+home, anyStudent)},
			{name: "a bad filter", url: "/api/v1/students/export.xlsx?status=bogus", as: p, status: 400, code: "validation_failed", field: "status",
				check: func(t *testing.T, e *env, r *resp) {
					if cd := r.header.Get("Content-Disposition"); cd != "" {
						t.Errorf("an error answered as an attachment: %q", cd)
					}
				}},
			{name: "the API wants credentials", url: "/api/v1/students/export.xlsx", status: 401, code: "unauthorized"},
			{name: "the page sends to the login", url: "/students.xlsx?school_code=" + home, status: 303,
				check: func(t *testing.T, e *env, r *resp) {
					if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") || !strings.Contains(loc, url.QueryEscape("/students.xlsx")) {
						t.Errorf("Location %q", loc)
					}
				}},
		})
	})

	t.Run("the whole province", func(t *testing.T) {
		// More than 10,000 rows would make the list's total a cap; the
		// walk of the list is the reference either way.
		e.run(t, []scenario{
			{name: "everything", url: "/api/v1/students/export.xlsx", as: p, status: 200, audit: []string{"export.students:all"},
				check: exportedStudents(p, "", anyStudent)},
		})
	})

	t.Run("schools", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "a city exports its schools from the page", url: "/schools.xlsx", sess: e.sessionOf(t, city), status: 200,
				audit: []string{"export.schools:" + jinan},
				check: and(exportedSchools(city, "", func(sc *school.School) bool { return sc.CityCode == jinan }),
					audited(city, map[string]string{}))},
			{name: "a school exports itself", url: "/api/v1/schools/export.xlsx", as: schoolUser, status: 200,
				audit: []string{"export.schools:" + home},
				check: exportedSchools(schoolUser, "", func(sc *school.School) bool { return sc.Code == home })},
			{name: "filters hold", url: "/api/v1/schools/export.xlsx?type=" + url.QueryEscape("技师学院") + "&city_code=" + qingdao, as: auditor, status: 200,
				audit: []string{"export.schools:all"},
				check: and(exportedSchools(auditor, "type="+url.QueryEscape("技师学院")+"&city_code="+qingdao,
					func(sc *school.School) bool { return sc.Type == "技师学院" && sc.CityCode == qingdao }),
					audited(auditor, map[string]string{"type": "技师学院", "city_code": qingdao}))},
			{name: "the province exports every school", url: "/schools.xlsx", sess: e.sessionOf(t, p), status: 200, audit: []string{"export.schools:all"},
				check: exportedSchools(p, "", func(*school.School) bool { return true })},
			{name: "the API wants credentials", url: "/api/v1/schools/export.xlsx", status: 401, code: "unauthorized"},
			{name: "the page sends to the login", url: "/schools.xlsx", status: 303},
		})
	})

	t.Run("the lists link to their export", func(t *testing.T) {
		q := "q=" + url.QueryEscape("王") + "&status=active&cursor=" + url.QueryEscape("OTk5OTk5") + "&school_code=" + home
		want := html.EscapeString("/students.xlsx?q=" + url.QueryEscape("王") + "&school_code=" + home + "&status=active")
		for _, hx := range []bool{false, true} {
			h := map[string]string{}
			if hx {
				h["HX-Request"] = "true"
			}
			r := e.do(t, req{method: "GET", url: "/students?" + q, sess: e.sessionOf(t, p), header: h})
			if r.status != 200 || !strings.Contains(r.body, `href="`+want+`"`) || !strings.Contains(r.body, "导出 Excel") {
				t.Errorf("/students?%s (htmx %v) does not link to %s:\n%s", q, hx, want, truncate(r.body))
			}
		}
		r := e.do(t, req{method: "GET", url: "/schools?type=" + url.QueryEscape("技工学校"), sess: e.sessionOf(t, city)})
		if want := html.EscapeString("/schools.xlsx?type=" + url.QueryEscape("技工学校")); r.status != 200 || !strings.Contains(r.body, `href="`+want+`"`) {
			t.Errorf("/schools does not link to %s", want)
		}
		r = e.do(t, req{method: "GET", url: "/schools", sess: e.sessionOf(t, city)})
		if !strings.Contains(r.body, `href="/schools.xlsx"`) {
			t.Error("/schools does not link to /schools.xlsx")
		}
	})
}
