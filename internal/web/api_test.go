package web_test

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/school"
)

func codesOf(ss []*school.School) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Code
	}
	return out
}

// listIs checks a list answer holds exactly codes, in order, with that total.
func listIs(codes []string) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		var l schoolList
		r.decode(t, &l)
		if l.Total != len(codes) {
			t.Errorf("total %d, want %d", l.Total, len(codes))
		}
		if got := codesOf(l.Items); !slices.Equal(got, codes) {
			t.Errorf("items %v, want %v", got, codes)
		}
	}
}

// wantSchool checks a school answer against fields.
func wantSchool(want map[string]any) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		var got map[string]any
		r.decode(t, &got)
		for k, v := range want {
			if n, ok := v.(int); ok {
				v = float64(n)
			}
			if got[k] != v {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
	}
}

func testAPIScope(t *testing.T, e *env) {
	jn, qd := e.inCity(t, jinan), e.inCity(t, qingdao)
	own := jn[0]
	cityUser, schoolUser := demo.CityUser(jinan), demo.SchoolUser(own.Code)
	e.run(t, []scenario{
		{name: "province sees every school", url: "/api/v1/schools?limit=500", as: demo.ProvinceUser, status: 200, check: listIs(codesOf(e.all))},
		{name: "province default page holds all 24", url: "/api/v1/schools", as: demo.ProvinceUser, status: 200,
			check: listIs(codesOf(e.all)), absent: []string{`"next"`}},
		{name: "auditor sees every school", url: "/api/v1/schools?limit=500", as: demo.AuditorUser, status: 200, check: listIs(codesOf(e.all))},
		{name: "city sees only its city", url: "/api/v1/schools?limit=500", as: cityUser, status: 200, check: listIs(codesOf(jn))},
		{name: "city filter cannot widen the scope", url: "/api/v1/schools?city_code=" + qingdao, as: cityUser, status: 200, check: listIs(nil)},
		{name: "city search cannot widen the scope", url: "/api/v1/schools?q=" + url.QueryEscape(qd[0].Name), as: cityUser, status: 200, check: listIs(nil)},
		{name: "school sees only itself", url: "/api/v1/schools", as: schoolUser, status: 200, check: listIs([]string{own.Code})},
		{name: "school search cannot widen the scope", url: "/api/v1/schools?q=3701", as: schoolUser, status: 200, check: listIs([]string{own.Code})},
		{name: "province filters by city", url: "/api/v1/schools?limit=500&city_code=" + qingdao, as: demo.ProvinceUser, status: 200, check: listIs(codesOf(qd))},

		{name: "city reads own-city school", url: "/api/v1/schools/" + own.Code, as: cityUser, status: 200,
			check: wantSchool(map[string]any{"code": own.Code, "name": own.Name, "city_code": jinan})},
		{name: "school reads itself", url: "/api/v1/schools/" + own.Code, as: schoolUser, status: 200, contains: []string{own.Name}},
		{name: "city reading another city's school is not found", url: "/api/v1/schools/" + qd[0].Code, as: cityUser,
			status: 404, code: "not_found", absent: []string{qd[0].Name, qd[0].Address}},
		{name: "school reading another school is not found", url: "/api/v1/schools/" + jn[1].Code, as: schoolUser,
			status: 404, code: "not_found", absent: []string{jn[1].Name, jn[1].Address}},
		{name: "unknown school is not found", url: "/api/v1/schools/ZZ9999", as: demo.ProvinceUser, status: 404, code: "not_found"},

		{name: "me", url: "/api/v1/me", as: cityUser, status: 200,
			check: wantSchool(map[string]any{"name": cityUser, "role": "city", "scope": jinan})},
		{name: "divisions: provinces", url: "/api/v1/divisions", as: schoolUser, status: 200, contains: []string{`"370000"`, "山东省"}},
		{name: "divisions: counties of 济南", url: "/api/v1/divisions?parent=370100", as: schoolUser, status: 200, contains: []string{"历下区", "章丘区"}, absent: []string{"章丘市"}},
		{name: "divisions: unknown parent", url: "/api/v1/divisions?parent=379999", as: schoolUser, status: 400, code: "unknown_division", field: "parent"},
	})

	t.Run("HTML list shows only schools in scope", func(t *testing.T) {
		for _, tc := range []struct {
			user string
			want []*school.School
		}{{cityUser, jn}, {schoolUser, []*school.School{own}}} {
			s := e.sessionOf(t, tc.user)
			r := e.do(t, req{method: "GET", url: "/schools", sess: s})
			if r.status != 200 {
				t.Fatalf("%s GET /schools: %d", tc.user, r.status)
			}
			if !strings.Contains(r.body, `data-testid="school-count">`+strconv.Itoa(len(tc.want))+`<`) {
				t.Errorf("%s: page does not count %d schools", tc.user, len(tc.want))
			}
			for _, sc := range e.all {
				in := slices.Contains(tc.want, sc)
				if got := strings.Contains(r.body, sc.Name); got != in {
					t.Errorf("%s: page shows %s (%s): %v, want %v", tc.user, sc.Code, sc.Name, got, in)
				}
			}
			// A school page outside scope is a 404 page without the data.
			r = e.do(t, req{method: "GET", url: "/schools/" + qd[0].Code, sess: s})
			if r.status != 404 || strings.Contains(r.body, qd[0].Name) || strings.Contains(r.body, qd[0].Address) {
				t.Errorf("%s GET /schools/%s: %d, shows data: %v", tc.user, qd[0].Code, r.status, strings.Contains(r.body, qd[0].Name))
			}
		}
	})
}

func testAPIPaging(t *testing.T, e *env) {
	walk := func(t *testing.T, user string, limit int, want []string) {
		seen := map[string]int{}
		var order []string
		cursor := ""
		for page := 0; ; page++ {
			if page > len(want)/limit+2 {
				t.Fatalf("more pages than %d schools need", len(want))
			}
			u := "/api/v1/schools?limit=" + strconv.Itoa(limit)
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do(t, req{method: "GET", url: u, bearer: e.token(t, user)})
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", u, r.status, r.body)
			}
			var l schoolList
			r.decode(t, &l)
			if l.Total != len(want) {
				t.Errorf("page %d: total %d, want %d", page, l.Total, len(want))
			}
			if len(l.Items) > limit {
				t.Errorf("page %d: %d items, limit %d", page, len(l.Items), limit)
			}
			for _, s := range l.Items {
				seen[s.Code]++
				order = append(order, s.Code)
			}
			if l.Next == "" {
				break
			}
			cursor = l.Next
		}
		if !slices.Equal(order, want) {
			t.Errorf("walk gave %v, want %v", order, want)
		}
		for code, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", code, n)
			}
		}
	}
	t.Run("province walks 24 schools five at a time", func(t *testing.T) { walk(t, demo.ProvinceUser, 5, codesOf(e.all)) })
	t.Run("city walks its schools two at a time", func(t *testing.T) { walk(t, demo.CityUser(jinan), 2, codesOf(e.inCity(t, jinan))) })
	t.Run("one at a time", func(t *testing.T) { walk(t, demo.AuditorUser, 1, codesOf(e.all)) })

	long := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("9", 65)))
	e.run(t, []scenario{
		{name: "limit=0", url: "/api/v1/schools?limit=0", as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "limit"},
		{name: "limit=501", url: "/api/v1/schools?limit=501", as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "limit", contains: []string{"500"}},
		{name: "limit=abc", url: "/api/v1/schools?limit=abc", as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "limit"},
		{name: "limit=-1", url: "/api/v1/schools?limit=-1", as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "limit"},
		{name: "limit=500", url: "/api/v1/schools?limit=500", as: demo.ProvinceUser, status: 200},
		{name: "cursor not base64", url: "/api/v1/schools?cursor=%21%21%21", as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "cursor"},
		{name: "cursor too long", url: "/api/v1/schools?cursor=" + long, as: demo.ProvinceUser, status: 400, code: "validation_failed", field: "cursor"},
	})
}

func testAPIWrites(t *testing.T, e *env) {
	jn, qd := e.inCity(t, jinan), e.inCity(t, qingdao)
	target, other, school1 := e.school(t, jn[0].Code), qd[0], jn[1]
	city, schoolUser := demo.CityUser(jinan), demo.SchoolUser(school1.Code)
	const p = demo.ProvinceUser
	e.run(t, []scenario{
		{name: "province creates a school", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0001", nil), status: 201,
			audit: []string{"school.create:T0001"},
			check: func(t *testing.T, e *env, r *resp) {
				wantSchool(map[string]any{"code": "T0001", "division_code": "370102", "division_name": "历下区", "city_code": jinan,
					"city_name": "济南市", "province_code": "370000", "status": "办学", "version": 1})(t, e, r)
				if loc := r.header.Get("Location"); loc != "/api/v1/schools/T0001" {
					t.Errorf("Location %q", loc)
				}
				if s := e.school(t, "T0001"); s.Name != "测试技师学院T0001" {
					t.Errorf("stored name %q", s.Name)
				}
			}},
		{name: "duplicate code", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0001", map[string]any{"name": "另一所技工学校"}),
			status: 409, code: "duplicate", field: "code", unchanged: []string{"T0001"}},
		{name: "duplicate code in lower case", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("t0001", map[string]any{"name": "另一所技工学校"}),
			status: 409, code: "duplicate", unchanged: []string{"T0001"}},
		{name: "60-character name is accepted", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0002", map[string]any{"name": strings.Repeat("技", 60)}), status: 201, audit: []string{"school.create:T0002"}},
		{name: "61-character name", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0003", map[string]any{"name": strings.Repeat("技", 61)}), status: 400, code: "validation_failed", field: "name"},
		{name: "empty name", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"name": ""}),
			status: 400, code: "validation_failed", field: "name"},
		{name: "blank name", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"name": " \u3000 "}),
			status: 400, code: "validation_failed", field: "name"},
		{name: "missing name", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"name": nil}),
			status: 400, code: "validation_failed", field: "name"},
		{name: "unknown division 379999", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"division_code": "379999"}),
			status: 400, code: "unknown_division", field: "division_code", contains: []string{"379999"}},
		{name: "historical division 370181 (章丘市)", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"division_code": "370181"}),
			status: 400, code: "unknown_division", field: "division_code"},
		{name: "province code 370000", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"division_code": "370000"}),
			status: 400, code: "unknown_division", field: "division_code"},
		{name: "division not a code", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"division_code": "jinan"}),
			status: 400, code: "unknown_division", field: "division_code"},
		{name: "unknown type", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0003", map[string]any{"type": "大学"}),
			status: 400, code: "validation_failed", field: "type"},
		{name: "bad code", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T-3", nil),
			status: 400, code: "validation_failed", field: "code"},
		{name: "city may not create", method: "POST", url: "/api/v1/schools", as: city, body: newSchool("T0003", nil), status: 403, code: "forbidden"},
		{name: "school may not create", method: "POST", url: "/api/v1/schools", as: schoolUser, body: newSchool("T0003", nil), status: 403, code: "forbidden"},
		{name: "auditor may not create", method: "POST", url: "/api/v1/schools", as: demo.AuditorUser, body: newSchool("T0003", nil), status: 403, code: "forbidden"},

		{name: "city changes an own-city school", method: "PATCH", url: "/api/v1/schools/" + target.Code, as: city,
			body: js(map[string]any{"name": "济南新名称技师学院", "version": target.Version}), status: 200,
			audit: []string{"school.update:" + target.Code},
			check: func(t *testing.T, e *env, r *resp) {
				wantSchool(map[string]any{"name": "济南新名称技师学院", "version": int(target.Version) + 1, "address": target.Address})(t, e, r)
				if s := e.school(t, target.Code); s.Name != "济南新名称技师学院" || s.Version != target.Version+1 {
					t.Errorf("stored %q v%d", s.Name, s.Version)
				}
			}},
		{name: "a change that changes nothing appends no event", method: "PATCH", url: "/api/v1/schools/" + target.Code, as: city,
			body: js(map[string]any{"name": "济南新名称技师学院"}), status: 200, unchanged: []string{target.Code}},
		{name: "stale version", method: "PATCH", url: "/api/v1/schools/" + target.Code, as: city,
			body: js(map[string]any{"name": "又一个名称技师学院", "version": target.Version}), status: 409, code: "conflict",
			unchanged: []string{target.Code}},
		{name: "city changes another city's school", method: "PATCH", url: "/api/v1/schools/" + other.Code, as: city,
			body: js(map[string]any{"name": "越权修改技师学院"}), status: 404, code: "not_found",
			absent: []string{other.Name}, unchanged: []string{other.Code}},
		{name: "city moves a school to another city", method: "PATCH", url: "/api/v1/schools/" + target.Code, as: city,
			body: js(map[string]any{"division_code": "370202"}), status: 403, code: "forbidden", field: "division_code",
			unchanged: []string{target.Code}},
		{name: "city moves a school within its city", method: "PATCH", url: "/api/v1/schools/" + target.Code, as: city,
			body: js(map[string]any{"division_code": "370103"}), status: 200, audit: []string{"school.update:" + target.Code},
			check: wantSchool(map[string]any{"division_code": "370103", "city_code": jinan})},
		{name: "province moves a school across cities", method: "PATCH", url: "/api/v1/schools/T0001", as: p,
			body: js(map[string]any{"division_code": "370202"}), status: 200, audit: []string{"school.update:T0001"},
			check: wantSchool(map[string]any{"division_code": "370202", "city_code": qingdao, "city_name": "青岛市"})},
		{name: "school user may not change itself", method: "PATCH", url: "/api/v1/schools/" + school1.Code, as: schoolUser,
			body: js(map[string]any{"name": "自改名称技工学校"}), status: 403, code: "forbidden", unchanged: []string{school1.Code}},
		{name: "auditor may not change", method: "PATCH", url: "/api/v1/schools/" + school1.Code, as: demo.AuditorUser,
			body: js(map[string]any{"name": "审计改名技工学校"}), status: 403, code: "forbidden", unchanged: []string{school1.Code}},
		{name: "code cannot change", method: "PATCH", url: "/api/v1/schools/" + school1.Code, as: p,
			body: js(map[string]any{"code": "X9999"}), status: 400, code: "validation_failed", field: "code", unchanged: []string{school1.Code}},
		{name: "patch to a historical division", method: "PATCH", url: "/api/v1/schools/" + school1.Code, as: p,
			body: js(map[string]any{"division_code": "370181"}), status: 400, code: "unknown_division", field: "division_code", unchanged: []string{school1.Code}},
		{name: "patch to a 61-character name", method: "PATCH", url: "/api/v1/schools/" + school1.Code, as: p,
			body: js(map[string]any{"name": strings.Repeat("技", 61)}), status: 400, code: "validation_failed", field: "name", unchanged: []string{school1.Code}},
		{name: "patch an unknown school", method: "PATCH", url: "/api/v1/schools/ZZ9999", as: p,
			body: js(map[string]any{"name": "不存在技工学校"}), status: 404, code: "not_found"},
		{name: "DELETE is refused", method: "DELETE", url: "/api/v1/schools/" + school1.Code, as: p,
			status: 404, code: "not_found", unchanged: []string{school1.Code}},
	})
}

func testAPIRequestBodies(t *testing.T, e *env) {
	victim := e.all[0].Code
	const p = demo.ProvinceUser
	big := `{"code":"T0100","address":"` + strings.Repeat("a", 1<<20) + `"}`
	e.run(t, []scenario{
		{name: "syntax error", method: "POST", url: "/api/v1/schools", as: p, body: `{"code" "T0100"}`,
			status: 400, code: "malformed_json", contains: []string{"JSON 格式错误"}},
		{name: "truncated JSON", method: "POST", url: "/api/v1/schools", as: p, body: `{"code": "T0100",`,
			status: 400, code: "malformed_json"},
		{name: "empty body", method: "POST", url: "/api/v1/schools", as: p, ctype: jsonType,
			status: 400, code: "malformed_json"},
		{name: "two JSON values", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", nil) + ` {}`,
			status: 400, code: "malformed_json"},
		{name: "text/plain", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", nil), ctype: "text/plain",
			status: 415, code: "unsupported_media_type", contains: []string{"application/json"}},
		{name: "form encoded", method: "POST", url: "/api/v1/schools", as: p, body: "code=T0100&name=x", ctype: formType,
			status: 415, code: "unsupported_media_type"},
		{name: "no Content-Type", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", nil), noCtype: true,
			status: 415, code: "unsupported_media_type"},
		{name: "PATCH as text/plain", method: "PATCH", url: "/api/v1/schools/" + victim, as: p, body: `{"name":"纯文本技工学校"}`, ctype: "text/plain",
			status: 415, code: "unsupported_media_type", unchanged: []string{victim}},
		{name: "body over 1 MiB", method: "POST", url: "/api/v1/schools", as: p, body: big,
			status: 413, code: "payload_too_large", contains: []string{"1024 KB"}},
		{name: "unknown field", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", map[string]any{"nmae": "x"}),
			status: 400, code: "validation_failed", field: "nmae", contains: []string{"nmae"}},
		{name: "national_key as a string", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", map[string]any{"national_key": "yes"}),
			status: 400, code: "validation_failed", field: "national_key", contains: []string{"布尔值"}},
		{name: "code as a number", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", map[string]any{"code": 100}),
			status: 400, code: "validation_failed", field: "code", contains: []string{"字符串"}},
		{name: "version as a string", method: "PATCH", url: "/api/v1/schools/" + victim, as: p, body: `{"name":"类型错误技工学校","version":"1"}`,
			status: 400, code: "validation_failed", field: "version", unchanged: []string{victim}},
		{name: "PATCH with unknown field", method: "PATCH", url: "/api/v1/schools/" + victim, as: p, body: `{"name":"未知字段技工学校","city_code":"370200"}`,
			status: 400, code: "validation_failed", field: "city_code", unchanged: []string{victim}},
		{name: "array instead of object", method: "POST", url: "/api/v1/schools", as: p, body: `[]`,
			status: 400},
		{name: "charset parameter is fine", method: "POST", url: "/api/v1/schools", as: p, body: newSchool("T0100", nil), ctype: "application/json; charset=utf-8",
			status: 201, audit: []string{"school.create:T0100"}},
	})
}

// TestAPISQLCharacters sends characters that mean something to SQL in every
// text field: each is refused with a clear error or stored and read back
// literally, and the table survives.
func testAPISQLCharacters(t *testing.T, e *env) {
	const p = demo.ProvinceUser
	const drop = `'; DROP TABLE schools; --`
	victim := e.school(t, e.all[len(e.all)-1].Code)
	count := e.countSchools(t)
	readBack := func(code string, want map[string]any) func(t *testing.T, e *env, r *resp) {
		return func(t *testing.T, e *env, r *resp) {
			wantSchool(want)(t, e, r)
			got := e.do(t, req{method: "GET", url: "/api/v1/schools/" + code, bearer: e.token(t, p)})
			if got.status != 200 {
				t.Fatalf("read back %s: %d", code, got.status)
			}
			wantSchool(want)(t, e, got)
		}
	}
	address := `%_\ ` + drop + ` "引号" \% \_ $1 ?`
	e.run(t, []scenario{
		{name: "name with a quote and DROP is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200", map[string]any{"name": "测试" + drop}), status: 400, code: "validation_failed", field: "name"},
		{name: "code with a quote is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200'--", nil), status: 400, code: "validation_failed", field: "code"},
		{name: "type with SQL is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200", map[string]any{"type": "技师学院" + drop}), status: 400, code: "validation_failed", field: "type"},
		{name: "ownership with SQL is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200", map[string]any{"ownership": "公办' OR '1'='1"}), status: 400, code: "validation_failed", field: "ownership"},
		{name: "status with SQL is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200", map[string]any{"status": "办学" + drop}), status: 400, code: "validation_failed", field: "status"},
		{name: "division with SQL is refused", method: "POST", url: "/api/v1/schools", as: p,
			body: newSchool("T0200", map[string]any{"division_code": "370102" + drop}), status: 400, code: "unknown_division", field: "division_code"},
		{name: "name with semicolons, dashes, percent and underscore is stored literally", method: "POST", url: "/api/v1/schools", as: p,
			body:   newSchool("T0201", map[string]any{"name": "百分%测试_学校; DROP TABLE schools; --", "address": address}),
			status: 201, audit: []string{"school.create:T0201"},
			check: readBack("T0201", map[string]any{"name": "百分%测试_学校; DROP TABLE schools; --", "address": address})},
		{name: "address with SQL is stored literally on update", method: "PATCH", url: "/api/v1/schools/" + victim.Code, as: p,
			body: js(map[string]any{"address": drop + `%_\`}), status: 200, audit: []string{"school.update:" + victim.Code},
			check: readBack(victim.Code, map[string]any{"address": drop + `%_\`, "name": victim.Name})},
		{name: "code in the path with SQL", url: "/api/v1/schools/" + url.PathEscape(victim.Code+"' OR '1'='1"), as: p,
			status: 404, code: "not_found"},
		{name: "PATCH with SQL in the path", method: "PATCH", url: "/api/v1/schools/" + url.PathEscape("x' OR 1=1 --"), as: p,
			body: js(map[string]any{"name": "注入技工学校"}), status: 404, code: "not_found"},

		{name: "search for SQL matches nothing", url: "/api/v1/schools?q=" + url.QueryEscape(`%' OR 1=1 --`), as: p, status: 200, check: listIs(nil)},
		{name: "search for % matches only a literal %", url: "/api/v1/schools?q=%25", as: p, status: 200, check: listIs([]string{"T0201"})},
		{name: "search for _ matches only a literal _", url: "/api/v1/schools?q=_", as: p, status: 200, check: listIs([]string{"T0201"})},
		{name: "search for %测 is literal", url: "/api/v1/schools?q=" + url.QueryEscape("%测"), as: p, status: 200, check: listIs([]string{"T0201"})},
		{name: "search for a backslash", url: "/api/v1/schools?q=" + url.QueryEscape(`\`), as: p, status: 200, check: listIs(nil)},
		{name: "search for a quote", url: "/api/v1/schools?q=" + url.QueryEscape(`'`), as: p, status: 200, check: listIs(nil)},
		{name: "search over 100 characters", url: "/api/v1/schools?q=" + strings.Repeat("a", 101), as: p, status: 400, code: "validation_failed", field: "q"},
		{name: "city filter with SQL", url: "/api/v1/schools?city_code=" + url.QueryEscape(`370100' OR '1'='1`), as: p, status: 200, check: listIs(nil)},
		{name: "type filter with SQL", url: "/api/v1/schools?type=" + url.QueryEscape(`技师学院' OR 1=1 --`), as: p, status: 200, check: listIs(nil)},
		{name: "status filter with SQL", url: "/api/v1/schools?status=" + url.QueryEscape(`办学" OR ""="`), as: p, status: 200, check: listIs(nil)},
		{name: "division filter with SQL", url: "/api/v1/schools?division_code=" + url.QueryEscape(`370102); DELETE FROM schools; --`), as: p, status: 200, check: listIs(nil)},
	})
	t.Run("the table still has its rows", func(t *testing.T) {
		if n := e.countSchools(t); n != count+1 {
			t.Errorf("%d schools, want %d", n, count+1)
		}
		r := e.do(t, req{method: "GET", url: "/api/v1/schools?limit=500", bearer: e.token(t, p)})
		var l schoolList
		r.decode(t, &l)
		if l.Total != count+1 || len(l.Items) != count+1 {
			t.Errorf("list: total %d, %d items", l.Total, len(l.Items))
		}
	})
}
