package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/demo"
)

// The student list's in_school filter lists the students in school on 31
// December of a year: exactly those the plans' facts count for a school,
// so a dashboard's number can be followed to its records.
func testInSchoolFilter(t *testing.T, e *env) {
	token := e.token(t, demo.ProvinceUser)
	facts, err := e.db.SchoolYears(t.Context(), allScope, 2019, 2024)
	if err != nil || len(facts) == 0 {
		t.Fatalf("facts: %d, %v", len(facts), err)
	}
	checked := 0
	for i, f := range facts {
		if i%37 != 0 || f.Enrolled == 0 {
			continue
		}
		r := e.do(t, req{method: "GET", url: fmt.Sprintf("/api/v1/students?school_code=%s&in_school=%d&limit=1", f.School, f.Year), bearer: token})
		var body struct {
			Total int `json:"total"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &body) != nil {
			t.Fatalf("in_school list: %d %s", r.status, r.body)
		}
		if body.Total != f.Enrolled {
			t.Errorf("%s at the end of %d: the list has %d students, the facts count %d", f.School, f.Year, body.Total, f.Enrolled)
		}
		checked++
	}
	if checked < 3 {
		t.Fatalf("only %d school-years checked", checked)
	}
	for _, bad := range []string{"abc", "1900", "20200"} {
		r := e.do(t, req{method: "GET", url: "/api/v1/students?in_school=" + bad, bearer: token})
		if r.status != 400 || !strings.Contains(r.body, `"field":"in_school"`) || !strings.Contains(r.body, "在校年份") {
			t.Errorf("in_school=%s: %d %s", bad, r.status, r.body)
		}
	}
	// The page keeps the filter, and its export link carries it.
	page := e.do(t, req{method: "GET", url: "/students?in_school=2020", sess: e.sessionOf(t, demo.ProvinceUser)})
	if page.status != 200 || !strings.Contains(page.body, `name="in_school" value="2020"`) || !strings.Contains(page.body, "in_school=2020") {
		t.Errorf("the students page with in_school: %d", page.status)
	}
}
