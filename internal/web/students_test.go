package web_test

// HTTP tests of the student registry (学籍): registration and its identity
// checks, scope, the status-change workflow (学籍异动), the data comparison
// (数据比对), the holder's public query and the registry's pages. They run
// through the real router on both engines, with the harness of web_test.go.

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// TestStudents runs every group of registry scenarios on one server per
// engine. Each group registers the people it works on (see applicant), so
// the groups do not depend on each other and each also passes alone
// (go test -run 'TestStudents/postgres/changes').
func TestStudents(t *testing.T) {
	eachEngine(t, envOptions{}, func(t *testing.T, e *env) {
		for _, g := range []struct {
			name string
			fn   func(t *testing.T, e *env)
		}{
			{"register", testStudentRegister},
			{"identity", testStudentIdentityErrors},
			{"validation", testStudentValidation},
			{"scope", testStudentScope},
			{"changes", testStudentChanges},
			{"transfer", testStudentTransfer},
			{"compare", testStudentCompare},
			{"public", testStudentPublicQuery},
			{"pages", testStudentPages},
		} {
			t.Run(g.name, func(t *testing.T) { g.fn(t, e) })
		}
	})
}

// ---------------------------------------------------------------------------
// Helpers.

const isoDate = "2006-01-02"

// chinaTime is the zone the registry's calendar dates are in.
var chinaTime = time.FixedZone("CST", 8*3600)

// dayInChina is today's date in China shifted by days, as YYYY-MM-DD.
func dayInChina(days int) string {
	return time.Now().In(chinaTime).AddDate(0, 0, days).Format(isoDate)
}

// applicant is a person to register with a valid resident ID of their own.
type applicant struct {
	Name, Sex, Birth, Number, Major string
}

// applicants numbers the people the tests make up. Each is born on a day
// of 2009 in 历下区 (370102) with a sequence code of 900 or more: the demo
// numbers its people per area, birth date and sex from 1 upwards, so no
// demo record and no other applicant has the same number (for 18,250
// applicants, however often the tests run in one process).
var applicants atomic.Int64

// applicant makes up a new person of sex 男 or 女.
func (e *env) applicant(t *testing.T, sex string) applicant {
	t.Helper()
	n := applicants.Add(1)
	birth := time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%365))
	majors, err := e.db.Majors(t.Context())
	if err != nil || len(majors) == 0 {
		t.Fatalf("majors: %v (%d)", err, len(majors))
	}
	return applicant{
		Name: "测" + string(rune(0x4E00+n%20000)) + "同学", Sex: sex, Birth: birth.Format(isoDate),
		Number: idcard.Synthesize("370102", birth, 450+int(n/365%50), idcard.Sex(sex)), Major: majors[0],
	}
}

// body is a valid registration of a at school; over replaces fields (nil
// deletes one).
func (a applicant) body(schoolCode string, over map[string]any) string {
	m := map[string]any{
		"school_code": schoolCode, "name": a.Name, "id_type": student.ResidentID, "id_number": a.Number,
		"sex": a.Sex, "birth_date": a.Birth, "ethnicity": "汉族", "major": a.Major, "class_level": "中级工班",
		"study_mode": student.ModeFullTime, "enrollment_date": "2025-09-01",
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

// operating lists the demo schools of a city that may enrol students.
func (e *env) operating(t *testing.T, city string) []*school.School {
	t.Helper()
	var out []*school.School
	for _, s := range e.inCity(t, city) {
		if s.Status == school.StatusOperating {
			out = append(out, s)
		}
	}
	if len(out) < 2 {
		t.Fatalf("only %d operating demo schools in %s", len(out), city)
	}
	return out
}

// register registers a at schoolCode as user through the API, checks the
// answer (201, Location, the number masked, one student.register event)
// and returns the student.
func (e *env) register(t *testing.T, user, schoolCode string, a applicant, over map[string]any) *student.Student {
	t.Helper()
	bearer := e.token(t, user) // first use appends token.create
	before, count := e.lastSeq(t), e.countStudents(t)
	r := e.do(t, req{method: "POST", url: "/api/v1/students", bearer: bearer, ctype: jsonType, body: a.body(schoolCode, over)})
	if r.status != http.StatusCreated {
		t.Fatalf("register %s at %s: %d\n%s", a.Name, schoolCode, r.status, truncate(r.body))
	}
	var st student.Student
	r.decode(t, &st)
	if st.ID <= 0 || st.StudentNo == "" || st.SchoolCode != schoolCode {
		t.Fatalf("register: id %d, student_no %q, school %q", st.ID, st.StudentNo, st.SchoolCode)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1/students/"+strconv.FormatInt(st.ID, 10) {
		t.Errorf("Location %q", loc)
	}
	if strings.Contains(r.body, a.Number) || !strings.Contains(st.IDNumber, "*") || st.IDNumber != maskedID(a.Number) {
		t.Errorf("201 body shows id_number %q, want it masked as %q", st.IDNumber, maskedID(a.Number))
	}
	if got := e.auditSince(t, before); !slices.Equal(got, []string{"student.register:" + st.StudentNo}) {
		t.Errorf("audit %q, want one student.register:%s", got, st.StudentNo)
	}
	if n := e.countStudents(t); n != count+1 {
		t.Errorf("students: %d after, %d before", n, count)
	}
	return &st
}

// maskedID is how lists and non-revealing answers show a resident ID.
func maskedID(number string) string { return number[:4] + strings.Repeat("*", 10) + number[14:] }

// countStudents counts every stored student.
func (e *env) countStudents(t *testing.T) int {
	t.Helper()
	_, total, err := e.db.FindStudents(t.Context(), student.Filter{Scope: allScope, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// stored reads a student as stored, bypassing the API.
func (e *env) stored(t *testing.T, id int64) *student.Student {
	t.Helper()
	st, err := e.db.FindStudent(t.Context(), allScope, id)
	if err != nil {
		t.Fatalf("student %d: %v", id, err)
	}
	return st
}

// runUnstored runs scenarios none of which may store a student.
func (e *env) runUnstored(t *testing.T, scs []scenario) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			before := e.countStudents(t)
			e.runOne(t, sc)
			if n := e.countStudents(t); n != before {
				t.Errorf("students: %d after, %d before", n, before)
			}
		})
	}
}

// listOf is the JSON list answer.
type listOf[T any] struct {
	Items []T    `json:"items"`
	Total int    `json:"total"`
	Next  string `json:"next"`
}

// plainID finds an unmasked 18-character resident ID standing alone (a
// student number holds long digit runs too, but after a letter).
var plainID = regexp.MustCompile(`(^|[^0-9A-Za-z])[0-9]{17}[0-9X]([^0-9A-Za-z]|$)`)

func noPlainID(t *testing.T, body string) {
	t.Helper()
	if m := plainID.FindString(body); m != "" {
		t.Errorf("answer shows an unmasked identity number %q", strings.TrimSpace(m))
	}
}

func studentURL(id int64) string { return "/api/v1/students/" + strconv.FormatInt(id, 10) }
func changeURL(id int64) string  { return "/api/v1/changes/" + strconv.FormatInt(id, 10) }

// changeBody is a change proposal.
func changeBody(typ, effective string, changes map[string]string) string {
	m := map[string]any{"type": typ, "reason": "测试：" + typ, "effective_date": effective}
	if changes != nil {
		m["changes"] = changes
	}
	return js(m)
}

// propose files a change as user and returns it.
func (e *env) propose(t *testing.T, user string, st *student.Student, body string) *student.ChangeRequest {
	t.Helper()
	r := e.do(t, req{method: "POST", url: studentURL(st.ID) + "/changes", bearer: e.token(t, user), ctype: jsonType, body: body})
	if r.status != http.StatusCreated {
		t.Fatalf("propose for %s: %d\n%s", st.StudentNo, r.status, truncate(r.body))
	}
	var ch student.ChangeRequest
	r.decode(t, &ch)
	if ch.ID <= 0 || ch.State != student.StatePending || ch.StudentID != st.ID {
		t.Fatalf("proposal: id %d, state %q, student %d", ch.ID, ch.State, ch.StudentID)
	}
	if loc := r.header.Get("Location"); loc != changeURL(ch.ID) {
		t.Errorf("Location %q", loc)
	}
	return &ch
}

// wantChange checks a change answer's state and, if given, its approval
// slots, missing slots and the stored student afterwards.
func wantChange(state string, needs, missing []string, after func(t *testing.T, e *env)) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		var ch student.ChangeRequest
		r.decode(t, &ch)
		if ch.State != state {
			t.Errorf("state %q, want %q", ch.State, state)
		}
		if needs != nil && !slices.Equal(ch.Needs, needs) {
			t.Errorf("needs %q, want %q", ch.Needs, needs)
		}
		if missing != nil && !slices.Equal(ch.Missing(), missing) {
			t.Errorf("missing %q, want %q", ch.Missing(), missing)
		}
		if after != nil {
			after(t, e)
		}
	}
}

// studentIs checks a stored student's status, school and city.
func studentIs(id int64, status, schoolCode, city string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		st := e.stored(t, id)
		if st.Status != status || st.SchoolCode != schoolCode || st.CityCode != city {
			t.Errorf("student %s: status %q at %s (%s), want %q at %s (%s)", st.StudentNo, st.Status, st.SchoolCode, st.CityCode, status, schoolCode, city)
		}
	}
}

// changesListed checks that a change list holds id (or not), and that
// every item is in city (as the school's or the target's city).
func changesListed(id int64, want bool, city string) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		var l listOf[*student.ChangeRequest]
		r.decode(t, &l)
		found := false
		for _, ch := range l.Items {
			found = found || ch.ID == id
			if ch.CityCode != city && ch.TargetCityCode != city {
				t.Errorf("change %d of %s (→ %s) listed for %s", ch.ID, ch.CityCode, ch.TargetCityCode, city)
			}
			if ch.State != student.StatePending {
				t.Errorf("change %d is %s in a pending list", ch.ID, ch.State)
			}
		}
		if found != want {
			t.Errorf("change %d listed: %v, want %v", id, found, want)
		}
	}
}

// ---------------------------------------------------------------------------
// Groups.

func testStudentRegister(t *testing.T, e *env) {
	jn, qd := e.operating(t, jinan), e.operating(t, qingdao)
	home := jn[0]
	schoolUser, city := demo.SchoolUser(home.Code), demo.CityUser(jinan)

	a := e.applicant(t, "男")
	st := e.register(t, schoolUser, home.Code, a, nil)
	id := studentURL(st.ID)

	t.Run("full-time and part-time are numbered apart", func(t *testing.T) {
		seq := func(no string) int {
			n, err := strconv.Atoi(no[len(no)-5:])
			if err != nil {
				t.Fatalf("student number %q", no)
			}
			return n
		}
		prefix := "Q" + home.Code + "2025"
		if !strings.HasPrefix(st.StudentNo, prefix) || len(st.StudentNo) != len(prefix)+5 {
			t.Errorf("full-time number %q, want %s + 5 digits", st.StudentNo, prefix)
		}
		part := e.register(t, schoolUser, home.Code, e.applicant(t, "女"), map[string]any{"study_mode": student.ModePartTime})
		part2 := e.register(t, schoolUser, home.Code, e.applicant(t, "男"), map[string]any{"study_mode": student.ModePartTime})
		full2 := e.register(t, schoolUser, home.Code, e.applicant(t, "女"), nil)
		if !strings.HasPrefix(part.StudentNo, "F"+home.Code+"2025") || part.StudyMode != student.ModePartTime {
			t.Errorf("part-time number %q (%s), want F%s2025…", part.StudentNo, part.StudyMode, home.Code)
		}
		if seq(part2.StudentNo) != seq(part.StudentNo)+1 {
			t.Errorf("part-time numbers %s then %s", part.StudentNo, part2.StudentNo)
		}
		if seq(full2.StudentNo) != seq(st.StudentNo)+1 {
			t.Errorf("full-time numbers %s then %s: the part-time registrations took full-time numbers", st.StudentNo, full2.StudentNo)
		}
	})

	revealed := func(want bool) func(t *testing.T, e *env, r *resp) {
		return func(t *testing.T, e *env, r *resp) {
			var got student.Student
			r.decode(t, &got)
			if want && got.IDNumber != a.Number {
				t.Errorf("id_number %q, want the full number", got.IDNumber)
			}
			if !want && (got.IDNumber != maskedID(a.Number) || strings.Contains(r.body, a.Number)) {
				t.Errorf("id_number %q, want it masked", got.IDNumber)
			}
			if got.ID != st.ID || got.Name != a.Name || got.Status != student.StatusEnrolled || got.CityCode != jinan {
				t.Errorf("student %+v", got)
			}
		}
	}
	e.run(t, []scenario{
		{name: "the school reads the full number, audited", url: id, as: schoolUser, status: 200,
			audit: []string{"student.reveal:" + st.StudentNo}, check: revealed(true)},
		{name: "the school may ask for it masked", url: id + "?masked=1", as: schoolUser, status: 200, check: revealed(false)},
		{name: "the province reads the full number, audited", url: id, as: demo.ProvinceUser, status: 200,
			audit: []string{"student.reveal:" + st.StudentNo}, check: revealed(true)},
		{name: "the city sees it masked", url: id, as: city, status: 200, contains: []string{"*"}, check: revealed(false)},
		{name: "the auditor sees it masked", url: id, as: demo.AuditorUser, status: 200, contains: []string{"*"}, check: revealed(false)},
		{name: "another city does not find it", url: id, as: demo.CityUser(qingdao), status: 404, code: "not_found",
			absent: []string{a.Name, st.StudentNo}},
		{name: "another school does not find it", url: id, as: demo.SchoolUser(jn[1].Code), status: 404, code: "not_found"},
		{name: "an unknown id", url: "/api/v1/students/999999999", as: demo.ProvinceUser, status: 404, code: "not_found"},
		{name: "a non-numeric id", url: "/api/v1/students/abc", as: demo.ProvinceUser, status: 404, code: "not_found"},
		{name: "no credentials", url: id, status: 401, code: "unauthorized", absent: []string{a.Name}},
	})

	// The same person elsewhere: refused while the first 学籍 is active,
	// naming the school that holds it.
	var scs []scenario
	for _, tc := range []struct {
		name, user, code string
		over             map[string]any
	}{
		{"at a 青岛 school", demo.SchoolUser(qd[0].Code), qd[0].Code, nil},
		{"part-time, by the province", demo.ProvinceUser, qd[1].Code, map[string]any{"study_mode": student.ModePartTime}},
		{"with a lower-case number and spaces around it", demo.SchoolUser(qd[0].Code), qd[0].Code,
			map[string]any{"id_number": " " + strings.ToLower(a.Number) + "\u3000"}},
		{"twice at the same school", schoolUser, home.Code, nil},
	} {
		scs = append(scs, scenario{name: tc.name, method: "POST", url: "/api/v1/students", as: tc.user, body: a.body(tc.code, tc.over),
			status: 409, code: "duplicate_registration", field: "id_number", contains: []string{home.Name}})
	}
	e.runUnstored(t, scs)
	t.Run("auditors may not register", func(t *testing.T) {
		e.runUnstored(t, []scenario{{name: "auditor", method: "POST", url: "/api/v1/students", as: demo.AuditorUser,
			body: e.applicant(t, "男").body(home.Code, nil), status: 403, code: "forbidden"}})
	})
}

// testStudentIdentityErrors sends every way a resident ID can be wrong;
// each is refused as invalid_id_number on id_number with a Chinese reason.
func testStudentIdentityErrors(t *testing.T, e *env) {
	home := e.operating(t, jinan)[0]
	user := demo.SchoolUser(home.Code)
	a := e.applicant(t, "男")
	birth, _ := time.Parse(isoDate, a.Birth)
	withCheck := func(first17 string) string { return first17 + string(idcard.CheckDigit(first17)) }
	wrongCheck := a.Number[:17] + "X"
	if a.Number[17] == 'X' {
		wrongCheck = a.Number[:17] + "0"
	}
	count := e.countStudents(t)

	var scs []scenario
	for _, tc := range []struct {
		name   string
		number string
		over   map[string]any
		reason string // part of the Chinese reason
	}{
		{"17 digits", a.Number[:17], nil, "应为18位，实际为17位"},
		{"19 digits", a.Number + "1", nil, "应为18位，实际为19位"},
		{"empty", "", nil, "身份证号码为空"},
		{"a letter inside", a.Number[:5] + "A" + a.Number[6:], nil, "第6位应为数字"},
		{"a full stop at the end", a.Number[:17] + ".", nil, "第18位应为数字或X"},
		{"Chinese characters", "三七零一零二" + a.Number[6:], nil, "应为数字"},
		{"wrong check digit", wrongCheck, nil, "第18位校验码应为" + a.Number[17:]},
		{"area 999999", withCheck("999999" + a.Number[6:17]), nil, "受理地省级代码99无效"},
		{"area 379999", withCheck("379999" + a.Number[6:17]), nil, "第1-6位地址码379999不是有效的行政区划代码"},
		{"February 30", withCheck("370102" + "20090230" + "901"), map[string]any{"birth_date": "2009-02-28"}, "20090230不是有效日期"},
		{"birth date field differs", a.Number, map[string]any{"birth_date": birth.AddDate(0, 0, 1).Format(isoDate)}, "与出生日期"},
		{"sex field differs", a.Number, map[string]any{"sex": "女"}, "与性别“女”不符"},
	} {
		over := map[string]any{"id_number": tc.number}
		maps.Copy(over, tc.over)
		scs = append(scs, scenario{name: tc.name, method: "POST", url: "/api/v1/students", as: user, body: a.body(home.Code, over),
			status: 400, code: "invalid_id_number", field: "id_number", contains: []string{"身份证号码有误", tc.reason}})
	}
	e.runUnstored(t, scs)
	if n := e.countStudents(t); n != count {
		t.Errorf("students: %d after the refusals, %d before", n, count)
	}
	t.Run("the unaltered registration is accepted", func(t *testing.T) { e.register(t, user, home.Code, a, nil) })
}

// testStudentValidation sends registrations wrong in one field each, and
// hostile bodies; none is stored.
func testStudentValidation(t *testing.T, e *env) {
	home := e.operating(t, jinan)[0]
	user := demo.SchoolUser(home.Code)
	a := e.applicant(t, "女")
	post := func(name string, over map[string]any, status int, code, field string, contains ...string) scenario {
		return scenario{name: name, method: "POST", url: "/api/v1/students", as: user, body: a.body(home.Code, over),
			status: status, code: code, field: field, contains: contains}
	}
	const v = "validation_failed"
	count := e.countStudents(t)
	e.runUnstored(t, []scenario{
		post("birth date in the future", map[string]any{"birth_date": dayInChina(1)}, 400, v, "birth_date", "在今天之后"),
		post("enrollment before birth", map[string]any{"enrollment_date": "2008-09-01"}, 400, v, "enrollment_date", "入学日期不能早于出生日期"),
		post("enrollment a year ahead", map[string]any{"enrollment_date": dayInChina(366)}, 400, v, "enrollment_date", "最多可提前半年"),
		post("nine years old at enrollment", map[string]any{"enrollment_date": "2018-09-01"}, 400, v, "birth_date", "入学时年龄为"),
		post("unknown major", map[string]any{"major": "火箭发射与回收"}, 400, v, "major", "火箭发射与回收"),
		post("no major", map[string]any{"major": nil}, 400, v, "major", "专业不能为空"),
		post("unknown class level", map[string]any{"class_level": "博士班"}, 400, v, "class_level", "中级工班"),
		post("unknown ethnicity", map[string]any{"ethnicity": "火星族"}, 400, v, "ethnicity", "火星族"),
		post("unknown study mode", map[string]any{"study_mode": "函授"}, 400, v, "study_mode", "全日制"),
		post("unknown sex", map[string]any{"sex": "M"}, 400, v, "sex", "性别"),
		post("unknown document type", map[string]any{"id_type": "学生证"}, 400, v, "id_type", "证件类型"),
		post("enrollment date with slashes", map[string]any{"enrollment_date": "2025/09/01"}, 400, v, "enrollment_date", "YYYY-MM-DD"),
		post("birth date without zero padding", map[string]any{"birth_date": "2009-1-1"}, 400, v, "birth_date", "YYYY-MM-DD"),
		post("no birth date", map[string]any{"birth_date": nil}, 400, v, "birth_date", "出生日期不能为空"),
		post("empty name", map[string]any{"name": " \u3000 "}, 400, v, "name", "姓名不能为空"),
		post("51-character name", map[string]any{"name": strings.Repeat("名", 51)}, 400, v, "name", "50"),
		post("name with SQL", map[string]any{"name": `'; DROP TABLE students; --`}, 400, v, "name", "姓名不能含"),
		post("name with markup", map[string]any{"name": `<script>alert(1)</script>`}, 400, v, "name", "姓名不能含"),
		post("passport number with SQL", map[string]any{"id_type": "护照", "id_number": `E1'; DROP TABLE students; --`}, 400, "invalid_id_number", "id_number", "证件号码只能包含"),
		post("name as a number", map[string]any{"name": 42}, 400, v, "name", "字符串"),
		post("unknown JSON field", map[string]any{"nmae": a.Name}, 400, v, "nmae", "nmae"),
		{name: "2 MiB body", method: "POST", url: "/api/v1/students", as: user,
			body:   a.body(home.Code, map[string]any{"name": strings.Repeat("名", 2<<20/3)}),
			status: 413, code: "payload_too_large"},
		{name: "text/plain", method: "POST", url: "/api/v1/students", as: user, body: a.body(home.Code, nil), ctype: "text/plain",
			status: 415, code: "unsupported_media_type"},
		{name: "malformed JSON", method: "POST", url: "/api/v1/students", as: user, body: `{"name" "张三"}`,
			status: 400, code: "malformed_json"},
		{name: "truncated JSON", method: "POST", url: "/api/v1/students", as: user, body: a.body(home.Code, nil)[:40],
			status: 400, code: "malformed_json"},
		{name: "two JSON values", method: "POST", url: "/api/v1/students", as: user, body: a.body(home.Code, nil) + `{}`,
			status: 400, code: "malformed_json"},
	})
	t.Run("nothing was stored and the table is intact", func(t *testing.T) {
		if n := e.countStudents(t); n != count {
			t.Errorf("students: %d after, %d before", n, count)
		}
	})
	t.Run("the unaltered registration is accepted", func(t *testing.T) { e.register(t, user, home.Code, a, nil) })
}

func testStudentScope(t *testing.T, e *env) {
	ctx := t.Context()
	jn := e.operating(t, jinan)
	own, other := jn[0], jn[1]
	schoolUser, city := demo.SchoolUser(own.Code), demo.CityUser(jinan)

	e.runUnstored(t, []scenario{
		{name: "a school registers into another school", method: "POST", url: "/api/v1/students", as: schoolUser,
			body: e.applicant(t, "男").body(other.Code, nil), status: 404, code: "not_found", field: "school_code"},
		{name: "a city registers into another city's school", method: "POST", url: "/api/v1/students", as: city,
			body: e.applicant(t, "男").body(e.operating(t, qingdao)[0].Code, nil), status: 404, code: "not_found", field: "school_code"},
		{name: "an unknown school", method: "POST", url: "/api/v1/students", as: demo.ProvinceUser,
			body: e.applicant(t, "男").body("ZZ9999", nil), status: 404, code: "not_found", field: "school_code"},
	})
	// A school user's own school is the default.
	t.Run("a school registers without naming itself", func(t *testing.T) {
		st := e.register(t, schoolUser, own.Code, e.applicant(t, "女"), map[string]any{"school_code": nil})
		if st.CityCode != jinan {
			t.Errorf("city %q", st.CityCode)
		}
	})

	cityTotal := func(code string) int {
		_, n, err := e.db.FindStudents(ctx, student.Filter{Scope: allScope, CityCode: code, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	all, jnTotal := e.countStudents(t), cityTotal(jinan)
	inCity := func(code string, total int) func(t *testing.T, e *env, r *resp) {
		return func(t *testing.T, e *env, r *resp) {
			var l listOf[*student.Student]
			r.decode(t, &l)
			if l.Total != total {
				t.Errorf("total %d, want %d (of %d in all)", l.Total, total, all)
			}
			if len(l.Items) != min(total, 500) {
				t.Errorf("%d items, want %d", len(l.Items), min(total, 500))
			}
			for _, st := range l.Items {
				if st.CityCode != code {
					t.Errorf("student %s of %s listed for %s", st.StudentNo, st.CityCode, code)
				}
				if !strings.Contains(st.IDNumber, "*") {
					t.Errorf("student %s listed with id_number %q", st.StudentNo, st.IDNumber)
				}
			}
			noPlainID(t, r.body)
		}
	}
	if jnTotal == 0 || jnTotal == all {
		t.Fatalf("济南 holds %d of %d students: the scope test needs some inside and some outside", jnTotal, all)
	}
	e.run(t, []scenario{
		{name: "a city lists only its city", url: "/api/v1/students?limit=500", as: city, status: 200, check: inCity(jinan, jnTotal)},
		{name: "a city filter cannot widen the scope", url: "/api/v1/students?limit=500&city_code=" + qingdao, as: city, status: 200, check: inCity(qingdao, 0)},
		{name: "a school filter cannot widen the scope", url: "/api/v1/students?limit=500&school_code=" + e.operating(t, qingdao)[0].Code, as: city, status: 200, check: inCity(qingdao, 0)},
		{name: "the province filters by city", url: "/api/v1/students?limit=500&city_code=" + qingdao, as: demo.ProvinceUser, status: 200, check: inCity(qingdao, cityTotal(qingdao))},
		{name: "limit=0", url: "/api/v1/students?limit=0", as: city, status: 400, code: "validation_failed", field: "limit"},
		{name: "limit=501", url: "/api/v1/students?limit=501", as: city, status: 400, code: "validation_failed", field: "limit", contains: []string{"500"}},
		{name: "limit=abc", url: "/api/v1/students?limit=abc", as: city, status: 400, code: "validation_failed", field: "limit"},
		{name: "a bad cursor", url: "/api/v1/students?cursor=%21%21", as: city, status: 400, code: "validation_failed", field: "cursor"},
		{name: "an unknown status", url: "/api/v1/students?status=" + url.QueryEscape("在逃"), as: city, status: 400, code: "validation_failed", field: "status"},
	})

	t.Run("a school walks its students seven at a time", func(t *testing.T) {
		want, total, err := e.db.FindStudents(ctx, student.Filter{Scope: allScope, SchoolCode: own.Code, Limit: student.MaxPageSize})
		if err != nil || total > student.MaxPageSize || total < 15 {
			t.Fatalf("school %s: %d students (%v): this test needs 15 to 500", own.Code, total, err)
		}
		var got []int64
		cursor := ""
		for page := 0; ; page++ {
			if page > total/7+1 {
				t.Fatalf("more pages than %d students need", total)
			}
			u := "/api/v1/students?limit=7"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do(t, req{method: "GET", url: u, bearer: e.token(t, schoolUser)})
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", u, r.status, r.body)
			}
			noPlainID(t, r.body)
			var l listOf[*student.Student]
			r.decode(t, &l)
			if l.Total != total || len(l.Items) > 7 {
				t.Errorf("page %d: total %d, %d items", page, l.Total, len(l.Items))
			}
			for _, st := range l.Items {
				if st.SchoolCode != own.Code {
					t.Errorf("student %s of %s listed for %s", st.StudentNo, st.SchoolCode, own.Code)
				}
				got = append(got, st.ID)
			}
			if l.Next == "" {
				break
			}
			cursor = l.Next
		}
		ids := make([]int64, len(want))
		for i, st := range want {
			ids[i] = st.ID
		}
		if !slices.Equal(got, ids) {
			t.Errorf("walk gave %d students %v, want each of %d once in order %v", len(got), got, len(ids), ids)
		}
	})
}

func testStudentChanges(t *testing.T, e *env) {
	jn := e.operating(t, jinan)
	home, other := jn[0], jn[1]
	schoolUser, city, qdCity := demo.SchoolUser(home.Code), demo.CityUser(jinan), demo.CityUser(qingdao)
	const p = demo.ProvinceUser

	suspend := e.register(t, schoolUser, home.Code, e.applicant(t, "男"), nil)
	ch := e.propose(t, schoolUser, suspend, changeBody("休学", dayInChina(0), nil))
	cid := changeURL(ch.ID)
	if !slices.Equal(ch.Needs, []string{"city:" + jinan}) {
		t.Errorf("休学 needs %q, want the city's approval", ch.Needs)
	}
	stranger := e.register(t, demo.SchoolUser(other.Code), other.Code, e.applicant(t, "女"), nil)
	withdrawn := e.register(t, schoolUser, home.Code, e.applicant(t, "女"), nil)
	wd := e.propose(t, schoolUser, withdrawn, changeBody("退学", dayInChina(0), nil))
	later := e.register(t, schoolUser, home.Code, e.applicant(t, "男"), nil)
	future := e.propose(t, schoolUser, later, changeBody("休学", dayInChina(30), nil))
	misnamed := e.register(t, schoolUser, home.Code, e.applicant(t, "女"), nil)
	fix := e.propose(t, schoolUser, misnamed, changeBody("信息更正", dayInChina(0), map[string]string{"name": "更正后姓名"}))

	e.run(t, []scenario{
		// 休学: proposed by the school, reviewed by its city only.
		{name: "the city's pending list holds it", url: "/api/v1/changes?state=pending&limit=500", as: city, status: 200,
			check: changesListed(ch.ID, true, jinan)},
		{name: "another city's pending list does not", url: "/api/v1/changes?state=pending&limit=500", as: qdCity, status: 200,
			check: changesListed(ch.ID, false, qingdao)},
		{name: "another city cannot read it", url: cid, as: qdCity, status: 404, code: "not_found", absent: []string{suspend.Name}},
		{name: "an unknown state filter", url: "/api/v1/changes?state=done", as: city, status: 400, code: "validation_failed", field: "state"},
		{name: "the school cannot approve", method: "POST", url: cid + "/approve", as: schoolUser, status: 403, code: "forbidden"},
		{name: "the auditor cannot approve", method: "POST", url: cid + "/approve", as: demo.AuditorUser, status: 403, code: "forbidden"},
		{name: "another city cannot approve", method: "POST", url: cid + "/approve", as: qdCity, status: 404, code: "not_found"},
		{name: "a second open request is refused", method: "POST", url: studentURL(suspend.ID) + "/changes", as: schoolUser,
			body: changeBody("退学", dayInChina(0), nil), status: 409, code: "conflict"},
		{name: "rejecting needs a note", method: "POST", url: cid + "/reject", as: city, body: `{"note":"  "}`,
			status: 400, code: "validation_failed", field: "note"},
		{name: "rejecting with no body needs a note", method: "POST", url: cid + "/reject", as: city,
			status: 400, code: "validation_failed", field: "note"},
		{name: "the request is still pending", url: cid, as: schoolUser, status: 200,
			check: wantChange(student.StatePending, nil, []string{"city:" + jinan}, studentIs(suspend.ID, student.StatusEnrolled, home.Code, jinan))},
		{name: "the city approves and it applies", method: "POST", url: cid + "/approve", as: city, body: `{"note":"同意"}`, status: 200,
			audit: []string{"change.approve:" + suspend.StudentNo, "change.apply:" + suspend.StudentNo},
			check: wantChange(student.StateApplied, nil, []string{}, studentIs(suspend.ID, student.StatusSuspended, home.Code, jinan))},
		{name: "the student reads 休学", url: studentURL(suspend.ID), as: city, status: 200, contains: []string{`"status":"休学"`}},
		{name: "approving again", method: "POST", url: cid + "/approve", as: city, status: 409, code: "invalid_transition"},
		{name: "rejecting an applied request", method: "POST", url: cid + "/reject", as: city, body: `{"note":"晚了"}`, status: 409, code: "invalid_transition"},
		{name: "withdrawing an applied request", method: "POST", url: cid + "/withdraw", as: schoolUser, status: 409, code: "invalid_transition"},

		// Withdrawn, then approved.
		{name: "the school withdraws", method: "POST", url: changeURL(wd.ID) + "/withdraw", as: schoolUser, status: 200,
			audit: []string{"change.withdraw:" + withdrawn.StudentNo}, check: wantChange(student.StateWithdrawn, nil, nil, nil)},
		{name: "approving a withdrawn request", method: "POST", url: changeURL(wd.ID) + "/approve", as: city,
			status: 409, code: "invalid_transition", check: func(t *testing.T, e *env, r *resp) {
				studentIs(withdrawn.ID, student.StatusEnrolled, home.Code, jinan)(t, e)
			}},

		// A student of another school.
		{name: "a change for another school's student", method: "POST", url: studentURL(stranger.ID) + "/changes", as: schoolUser,
			body: changeBody("休学", dayInChina(0), nil), status: 404, code: "not_found"},
		{name: "an unknown change type", method: "POST", url: studentURL(later.ID) + "/changes", as: schoolUser,
			body: changeBody("升天", dayInChina(0), nil), status: 400, code: "validation_failed", field: "type"},

		// Effective in 30 days: approved, not applied.
		{name: "a future change is approved, not applied", method: "POST", url: changeURL(future.ID) + "/approve", as: city, status: 200,
			audit: []string{"change.approve:" + later.StudentNo},
			check: wantChange(student.StateApproved, nil, []string{}, studentIs(later.ID, student.StatusEnrolled, home.Code, jinan))},
		{name: "the future change reads approved", url: changeURL(future.ID), as: schoolUser, status: 200, contains: []string{`"state":"approved"`}},

		// 信息更正: the province's.
		{name: "a correction needs the province", url: changeURL(fix.ID), as: city, status: 200,
			check: wantChange(student.StatePending, []string{"province"}, nil, nil)},
		{name: "the city cannot approve a correction", method: "POST", url: changeURL(fix.ID) + "/approve", as: city, status: 403, code: "forbidden"},
		{name: "the province approves the correction", method: "POST", url: changeURL(fix.ID) + "/approve", as: p, status: 200,
			audit: []string{"change.approve:" + misnamed.StudentNo, "change.apply:" + misnamed.StudentNo},
			check: wantChange(student.StateApplied, nil, nil, func(t *testing.T, e *env) {
				if st := e.stored(t, misnamed.ID); st.Name != "更正后姓名" || st.Status != student.StatusEnrolled {
					t.Errorf("after the correction: name %q, status %q", st.Name, st.Status)
				}
			})},
	})
	t.Run("the later student is unchanged", func(t *testing.T) {
		st := e.stored(t, later.ID)
		if st.Version != 1 || st.Status != student.StatusEnrolled {
			t.Errorf("version %d, status %q", st.Version, st.Status)
		}
	})
}

// testStudentTransfer moves a student from 济南 to 青岛: both cities approve.
func testStudentTransfer(t *testing.T, e *env) {
	home, target := e.operating(t, jinan)[0], e.operating(t, qingdao)[0]
	schoolUser, city, qdCity := demo.SchoolUser(home.Code), demo.CityUser(jinan), demo.CityUser(qingdao)
	st := e.register(t, schoolUser, home.Code, e.applicant(t, "男"), nil)
	ch := e.propose(t, schoolUser, st, changeBody("转学", dayInChina(0), map[string]string{"school_code": target.Code}))
	cid := changeURL(ch.ID)
	both := []string{"city:" + jinan, "city:" + qingdao}
	e.run(t, []scenario{
		{name: "a transfer needs both cities", url: cid, as: schoolUser, status: 200, check: wantChange(student.StatePending, both, both, nil)},
		{name: "a transfer needs a target school", method: "POST", url: studentURL(st.ID) + "/changes", as: schoolUser,
			body: changeBody("转学", dayInChina(0), nil), status: 400, code: "validation_failed", field: "changes.school_code"},
		{name: "the target city lists it", url: "/api/v1/changes?state=pending&limit=500", as: qdCity, status: 200, check: changesListed(ch.ID, true, qingdao)},
		{name: "济南 approves: still pending", method: "POST", url: cid + "/approve", as: city, status: 200,
			audit: []string{"change.approve:" + st.StudentNo},
			check: wantChange(student.StatePending, both, []string{"city:" + qingdao}, studentIs(st.ID, student.StatusEnrolled, home.Code, jinan))},
		{name: "济南 cannot approve twice", method: "POST", url: cid + "/approve", as: city, status: 403, code: "forbidden"},
		{name: "青岛 approves: applied", method: "POST", url: cid + "/approve", as: qdCity, status: 200,
			audit: []string{"change.approve:" + st.StudentNo, "change.apply:" + st.StudentNo},
			check: wantChange(student.StateApplied, both, []string{}, studentIs(st.ID, student.StatusEnrolled, target.Code, qingdao))},
		{name: "青岛 now sees the student", url: studentURL(st.ID), as: qdCity, status: 200, contains: []string{target.Name}},
		{name: "济南 no longer does", url: studentURL(st.ID), as: city, status: 404, code: "not_found"},
		{name: "the old school no longer does", url: studentURL(st.ID), as: schoolUser, status: 404, code: "not_found"},
		{name: "the new school reveals it", url: studentURL(st.ID), as: demo.SchoolUser(target.Code), status: 200,
			audit: []string{"student.reveal:" + st.StudentNo}},
	})
}

func testStudentCompare(t *testing.T, e *env) {
	const p = demo.ProvinceUser
	city := demo.CityUser(jinan)
	var sum student.Summary
	e.run(t, []scenario{
		{name: "the province runs the comparison", method: "POST", url: "/api/v1/comparisons", as: p, status: 200,
			audit: []string{"compare.run:all"}, check: func(t *testing.T, e *env, r *resp) {
				r.decode(t, &sum)
				for _, kind := range student.FindingKinds {
					if sum.ByKind[kind] == 0 {
						t.Errorf("by_kind[%s] = 0; the demo plants %d: %v", kind, demo.Planted[kind], sum.ByKind)
					}
				}
			}},
		{name: "the auditor may not run it", method: "POST", url: "/api/v1/comparisons", as: demo.AuditorUser, status: 403, code: "forbidden"},
	})
	if sum.ByKind == nil {
		t.FailNow()
	}

	list := func(t *testing.T, user, query string) listOf[student.Finding] {
		t.Helper()
		r := e.do(t, req{method: "GET", url: "/api/v1/findings?limit=500&" + query, bearer: e.token(t, user)})
		if r.status != 200 {
			t.Fatalf("findings %s as %s: %d %s", query, user, r.status, r.body)
		}
		noPlainID(t, r.body)
		var l listOf[student.Finding]
		r.decode(t, &l)
		return l
	}
	near := list(t, p, "kind=near_duplicate")
	t.Run("near duplicates list their students", func(t *testing.T) {
		if near.Total != sum.ByKind[student.FindNearDuplicate] || len(near.Items) == 0 {
			t.Fatalf("%d near duplicates listed, %d found", near.Total, sum.ByKind[student.FindNearDuplicate])
		}
		for _, f := range near.Items {
			if f.Kind != student.FindNearDuplicate || len(f.StudentIDs) < 2 || f.State != student.FindingOpen {
				t.Errorf("finding %d: kind %s, students %v, state %s", f.ID, f.Kind, f.StudentIDs, f.State)
			}
		}
	})
	// every walks all pages of a finding list.
	every := func(t *testing.T, user, query string) []student.Finding {
		t.Helper()
		var out []student.Finding
		for cursor := ""; ; {
			u := "/api/v1/findings?limit=500&" + query
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do(t, req{method: "GET", url: u, bearer: e.token(t, user)})
			if r.status != 200 {
				t.Fatalf("GET %s as %s: %d %s", u, user, r.status, r.body)
			}
			var l listOf[student.Finding]
			r.decode(t, &l)
			out = append(out, l.Items...)
			if l.Next == "" || len(out) > l.Total {
				if len(out) != l.Total {
					t.Errorf("walked %d findings of %d", len(out), l.Total)
				}
				return out
			}
			cursor = l.Next
		}
	}
	t.Run("a city sees only its findings", func(t *testing.T) {
		all, mine := every(t, p, ""), every(t, city, "")
		want := 0
		for _, f := range all {
			if f.CityCode == jinan {
				want++
			}
		}
		if len(mine) != want || want == 0 || want == len(all) {
			t.Errorf("济南 sees %d findings, want %d of %d", len(mine), want, len(all))
		}
		for _, f := range mine {
			if f.CityCode != jinan {
				t.Errorf("finding %d of %s shown to 济南", f.ID, f.CityCode)
			}
		}
	})

	// Resolve a 济南 finding as the city.
	var target, other *student.Finding
	for _, kind := range student.FindingKinds {
		for _, f := range list(t, city, "kind="+kind+"&state=open").Items {
			switch {
			case target == nil:
				target = &f
			case other == nil:
				other = &f
			}
		}
	}
	if target == nil || other == nil {
		t.Fatal("济南 has fewer than two open findings")
	}
	fid := "/api/v1/findings/" + strconv.FormatInt(target.ID, 10)
	qdFinding := list(t, demo.CityUser(qingdao), "state=open&limit=1")
	e.run(t, []scenario{
		{name: "resolving needs a note", method: "POST", url: "/api/v1/findings/" + strconv.FormatInt(other.ID, 10) + "/resolve", as: city,
			body: `{"note":" "}`, status: 400, code: "validation_failed", field: "note"},
		{name: "resolving another city's finding", method: "POST", url: "/api/v1/findings/" + strconv.FormatInt(qdFinding.Items[0].ID, 10) + "/resolve", as: city,
			body: `{"note":"越权处理"}`, status: 404, code: "not_found"},
		{name: "the auditor may not resolve", method: "POST", url: fid + "/resolve", as: demo.AuditorUser,
			body: `{"note":"审计处理"}`, status: 403, code: "forbidden"},
		{name: "the city resolves with a note", method: "POST", url: fid + "/resolve", as: city, body: `{"note":"已核实，系同名不同人"}`, status: 200,
			audit: []string{"compare.resolve:" + strconv.FormatInt(target.ID, 10)},
			check: func(t *testing.T, e *env, r *resp) {
				var f student.Finding
				r.decode(t, &f)
				if f.State != student.FindingResolved || f.ResolvedBy != city || f.Note != "已核实，系同名不同人" {
					t.Errorf("resolved finding: state %s, by %s, note %q", f.State, f.ResolvedBy, f.Note)
				}
			}},
		{name: "resolving again", method: "POST", url: fid + "/resolve", as: city, body: `{"note":"再处理一次"}`, status: 409, code: "invalid_transition"},
		{name: "running again", method: "POST", url: "/api/v1/comparisons", as: p, status: 200, audit: []string{"compare.run:all"},
			check: func(t *testing.T, e *env, r *resp) {
				var again student.Summary
				r.decode(t, &again)
				if again.New != 0 {
					t.Errorf("a second run over the same data found %d new findings", again.New)
				}
			}},
		{name: "the resolved finding stays resolved", url: "/api/v1/findings?state=resolved&limit=500", as: city, status: 200,
			check: func(t *testing.T, e *env, r *resp) {
				var l listOf[student.Finding]
				r.decode(t, &l)
				if len(l.Items) != 1 || l.Items[0].ID != target.ID || l.Items[0].Note != "已核实，系同名不同人" {
					t.Errorf("resolved findings after a new run: %+v", l.Items)
				}
			}},
		{name: "the other one is still open", url: "/api/v1/findings?state=open&limit=500&kind=" + other.Kind, as: city, status: 200,
			contains: []string{`"id":` + strconv.FormatInt(other.ID, 10) + `,`}},
	})
}

// testStudentPublicQuery is the holder's own query: no login, nothing
// personal in the answer, ten queries per address in ten minutes.
func testStudentPublicQuery(t *testing.T, e *env) {
	home := e.operating(t, jinan)[0]
	a := e.applicant(t, "女")
	st := e.register(t, demo.SchoolUser(home.Code), home.Code, a, nil)
	queries := 0 // status queries this group has made from 127.0.0.1

	t.Run("the page", func(t *testing.T) {
		r := e.do(t, req{method: "GET", url: "/query"})
		ck := r.cookie("gj_public_csrf")
		if r.status != 200 || ck == nil || ck.Value == "" {
			t.Fatalf("GET /query: %d, cookie %v", r.status, ck)
		}
		token := hiddenCSRF(t, r.body)
		if token != ck.Value {
			t.Errorf("form token %q, cookie %q", token, ck.Value)
		}
		form := url.Values{"csrf_token": {token}, "name": {a.Name}, "id_type": {student.ResidentID}, "id_number": {a.Number}}
		e.run(t, []scenario{
			{name: "without the token", method: "POST", url: "/query", cookies: []*http.Cookie{ck}, ctype: formType,
				body: url.Values{"name": {a.Name}, "id_number": {a.Number}}.Encode(), status: 403, absent: []string{home.Name}},
			{name: "without the cookie", method: "POST", url: "/query", ctype: formType, body: form.Encode(), status: 403, absent: []string{home.Name}},
			{name: "with the token", method: "POST", url: "/query", cookies: []*http.Cookie{ck}, ctype: formType, body: form.Encode(), status: 200,
				contains: []string{`data-testid="query-result"`, home.Name, a.Major, "中级工班", student.StatusEnrolled},
				absent:   []string{a.Number, maskedID(a.Number), a.Birth, st.StudentNo}},
		})
		queries++
	})

	ask := func(name, number string) string {
		return js(map[string]string{"name": name, "id_type": student.ResidentID, "id_number": number})
	}
	holderOnly := func(t *testing.T, e *env, r *resp) {
		var l struct {
			Items []map[string]any `json:"items"`
		}
		r.decode(t, &l)
		if len(l.Items) != 1 {
			t.Fatalf("%d records, want 1", len(l.Items))
		}
		want := map[string]any{"school_name": home.Name, "major": a.Major, "class_level": "中级工班", "study_mode": student.ModeFullTime, "status": student.StatusEnrolled}
		if !maps.Equal(l.Items[0], want) {
			t.Errorf("record %v, want exactly %v", l.Items[0], want)
		}
	}
	private := []string{a.Number, maskedID(a.Number), a.Birth, st.StudentNo, `"id"`, "id_number", "birth_date", a.Name}
	e.run(t, []scenario{
		{name: "the right name and number", method: "POST", url: "/api/v1/public/student-status", body: ask(a.Name, a.Number),
			status: 200, check: holderOnly, absent: private},
		{name: "a lower-case x and spaces are fine", method: "POST", url: "/api/v1/public/student-status",
			body: ask(" "+a.Name+" ", " "+strings.ToLower(a.Number)+" "), status: 200, check: holderOnly, absent: private},
		{name: "a wrong name", method: "POST", url: "/api/v1/public/student-status", body: ask("王某某", a.Number),
			status: 404, code: "not_found", absent: private},
		{name: "a wrong number", method: "POST", url: "/api/v1/public/student-status", body: ask(a.Name, e.applicant(t, "女").Number),
			status: 404, code: "not_found", absent: private},
	})
	queries += 4
	for queries < 10 { // the limit: ten per address in ten minutes
		if r := e.do(t, req{method: "POST", url: "/api/v1/public/student-status", ctype: jsonType, body: ask(a.Name, a.Number)}); r.status != 200 {
			t.Fatalf("query %d: %d %s", queries+1, r.status, r.body)
		}
		queries++
	}
	e.run(t, []scenario{
		{name: "the eleventh query", method: "POST", url: "/api/v1/public/student-status", body: ask(a.Name, a.Number),
			status: 429, code: "rate_limited", contains: []string{"10 分钟"}, absent: []string{home.Name}},
	})
}

// testStudentPages drives the registry's pages as a browser would.
func testStudentPages(t *testing.T, e *env) {
	home := e.operating(t, jinan)[0]
	schoolUser := demo.SchoolUser(home.Code)
	ss, cs := e.sessionOf(t, schoolUser), e.sessionOf(t, demo.CityUser(jinan))
	a := e.applicant(t, "男")
	st := e.register(t, schoolUser, home.Code, a, nil)
	page := "/students/" + strconv.FormatInt(st.ID, 10)
	hx := map[string]string{"HX-Request": "true"}

	t.Run("the list shows numbers masked", func(t *testing.T) {
		for _, u := range []string{"/students", "/students?q=" + st.StudentNo, "/students?q=" + url.QueryEscape(a.Name)} {
			r := e.do(t, req{method: "GET", url: u, sess: ss})
			if r.status != 200 || !strings.Contains(r.body, `data-testid="student-table"`) {
				t.Fatalf("GET %s: %d\n%s", u, r.status, truncate(r.body))
			}
			noPlainID(t, r.body)
			if strings.Contains(r.body, a.Number) || !strings.Contains(r.body, "**********") {
				t.Errorf("GET %s does not mask the numbers", u)
			}
			if u != "/students" && (!strings.Contains(r.body, maskedID(a.Number)) || !strings.Contains(r.body, `data-testid="student-count">1<`)) {
				t.Errorf("GET %s does not find %s", u, st.StudentNo)
			}
		}
	})

	bad := a
	bad.Number = a.Number[:17] + "X"
	if a.Number[17] == 'X' {
		bad.Number = a.Number[:17] + "0"
	}
	form := func(csrf string, ap applicant) string {
		v := url.Values{"csrf_token": {csrf}}
		var m map[string]string
		json.Unmarshal([]byte(ap.body(home.Code, nil)), &m)
		for k, x := range m {
			v.Set(k, x)
		}
		return v.Encode()
	}
	e.runUnstored(t, []scenario{
		{name: "form: a bad identity number", method: "POST", url: "/students", sess: ss, ctype: formType, body: form(ss.csrf, bad),
			status: 400, contains: []string{"身份证号码有误", "第18位校验码应为", `<label class="invalid">证件号码`, `value="` + a.Name + `"`},
			absent: []string{`<label class="invalid">姓名`}},
		{name: "form: a duplicate", method: "POST", url: "/students", sess: ss, ctype: formType, body: form(ss.csrf, a),
			status: 409, contains: []string{"不能重复注册", home.Name, `<label class="invalid">证件号码`}},
		{name: "form: no CSRF token", method: "POST", url: "/students", sess: ss, ctype: formType, body: form("", e.applicant(t, "男")), status: 403},
	})
	t.Run("form: registers", func(t *testing.T) {
		before := e.countStudents(t)
		r := e.do(t, req{method: "POST", url: "/students", sess: ss, ctype: formType, body: form(ss.csrf, e.applicant(t, "女"))})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/students/") {
			t.Fatalf("register through the form: %d, Location %q\n%s", r.status, r.header.Get("Location"), truncate(r.body))
		}
		if n := e.countStudents(t); n != before+1 {
			t.Errorf("students: %d after, %d before", n, before)
		}
	})

	e.run(t, []scenario{
		{name: "reveal without CSRF", method: "POST", url: page + "/reveal", sess: ss, header: hx, status: 403, absent: []string{a.Number}},
		{name: "reveal by the school", method: "POST", url: page + "/reveal", sess: ss, csrf: ss.csrf, header: hx, status: 200,
			audit: []string{"student.reveal:" + st.StudentNo}, contains: []string{`id="id-number"`, a.Number}, absent: []string{"<!doctype", "<html"}},
		{name: "reveal by the city", method: "POST", url: page + "/reveal", sess: cs, csrf: cs.csrf, header: hx, status: 403,
			contains: []string{"您无权查看完整的证件号码"}, absent: []string{a.Number}},
		{name: "reveal by another city", method: "POST", url: page + "/reveal", sess: e.sessionOf(t, demo.CityUser(qingdao)),
			csrf: e.sessionOf(t, demo.CityUser(qingdao)).csrf, header: hx, status: 404, absent: []string{a.Number}},
		{name: "the student page masks the number", url: page, sess: ss, status: 200,
			contains: []string{maskedID(a.Number), "显示完整号码", "暂无异动"}, absent: []string{a.Number}},
		{name: "the city's student page offers no reveal", url: page, sess: cs, status: 200,
			contains: []string{maskedID(a.Number)}, absent: []string{"显示完整号码", a.Number}},
	})

	ch := e.propose(t, schoolUser, st, changeBody("休学", dayInChina(0), nil))
	cid := strconv.FormatInt(ch.ID, 10)
	link := `href="/changes/` + cid + `"`
	e.run(t, []scenario{
		{name: "the student page lists the request", url: page, sess: ss, status: 200, contains: []string{`data-testid="change-history"`, link, "休学", "待审核"}},
		{name: "the city's pending list has it", url: "/changes", sess: cs, status: 200, contains: []string{`data-testid="change-table"`, link}},
		{name: "another city's list does not", url: "/changes", sess: e.sessionOf(t, demo.CityUser(qingdao)), status: 200, absent: []string{link}},
		{name: "the city's request page offers approval", url: "/changes/" + cid, sess: cs, status: 200, contains: []string{`data-testid="approve"`}},
		{name: "the school's request page does not", url: "/changes/" + cid, sess: ss, status: 200, absent: []string{`data-testid="approve"`}},
		{name: "approve without CSRF", method: "POST", url: "/changes/" + cid + "/approve", sess: cs, ctype: formType,
			body: url.Values{"note": {"同意"}}.Encode(), status: 403},
		{name: "the school's approval shows the refusal", method: "POST", url: "/changes/" + cid + "/approve", sess: ss, ctype: formType,
			body: url.Values{"csrf_token": {ss.csrf}}.Encode(), status: 403, contains: []string{`data-testid="action-error"`}},
		{name: "approve with CSRF", method: "POST", url: "/changes/" + cid + "/approve", sess: cs, ctype: formType,
			body: url.Values{"csrf_token": {cs.csrf}, "note": {"同意休学"}}.Encode(), status: http.StatusSeeOther,
			audit: []string{"change.approve:" + st.StudentNo, "change.apply:" + st.StudentNo},
			check: func(t *testing.T, e *env, r *resp) {
				if loc := r.header.Get("Location"); loc != "/changes/"+cid {
					t.Errorf("Location %q", loc)
				}
				studentIs(st.ID, student.StatusSuspended, home.Code, jinan)(t, e)
			}},
		{name: "the request page reads applied", url: "/changes/" + cid, sess: cs, status: 200, contains: []string{"已生效", "同意休学"}},
		{name: "the student page shows the history", url: page, sess: ss, status: 200,
			contains: []string{link, "休学", "已生效", `data-testid="student-status">休学<`}, absent: []string{"暂无异动"}},
		{name: "the city's list no longer has it", url: "/changes", sess: cs, status: 200, absent: []string{link}},
	})
}
