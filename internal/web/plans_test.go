package web_test

// HTTP tests of plans, their dashboards, reported values and school
// groups: the API contract of GET /api/v1/plans and the dashboard, who
// sees which scope, every kind of bad input (each answered with a stable
// code, a Chinese message and nothing written), versioning that keeps the
// old version and its reports, the review, the workbook, the print view
// and the page forms. They run through the real router on both engines as
// a group of TestWeb, last, since they add a version to the Shandong plan.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/plan"
)

const sdPlan = "sd-jg-14-5"

// planReports counts the reports of a plan as stored, superseded ones too.
func (e *env) planReports(t *testing.T, id string) int {
	t.Helper()
	_, total, err := e.db.ListReports(t.Context(), plan.ReportFilter{PlanID: id, Scope: allScope, History: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// noNewReport checks that a request stored no report.
func noNewReport(before int) func(t *testing.T, e *env, r *resp) {
	return func(t *testing.T, e *env, r *resp) {
		t.Helper()
		if n := e.planReports(t, sdPlan); n != before {
			t.Errorf("reports: %d after, %d before", n, before)
		}
	}
}

// dashboardAnswer is the dashboard as the API answers it.
type dashboardAnswer struct {
	Year  int                          `json:"year"`
	Scope plan.Scope                   `json:"scope"`
	Items []map[string]json.RawMessage `json:"items"`
}

func (e *env) dashboard(t *testing.T, user, query string) dashboardAnswer {
	t.Helper()
	r := e.do(t, req{method: "GET", url: "/api/v1/plans/" + sdPlan + "/dashboard" + query, bearer: e.token(t, user)})
	if r.status != http.StatusOK {
		t.Fatalf("dashboard %s as %s: %d %s", query, user, r.status, truncate(r.body))
	}
	var d dashboardAnswer
	r.decode(t, &d)
	return d
}

func item(t *testing.T, d dashboardAnswer, code string) map[string]json.RawMessage {
	t.Helper()
	for _, it := range d.Items {
		if string(it["code"]) == `"`+code+`"` {
			return it
		}
	}
	t.Fatalf("no item %s in the dashboard", code)
	return nil
}

func testPlans(t *testing.T, e *env) {
	prov, city, school := demo.ProvinceUser, demo.CityUser(jinan), demo.SchoolUser(e.inCity(t, jinan)[0].Code)
	reports := func() int { return e.planReports(t, sdPlan) }

	t.Run("the API contract", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "plans listed", url: "/api/v1/plans", as: prov, status: 200,
				contains: []string{`"id":"sd-jg-14-5"`, `"period":"2021—2025"`, `"version":1`, `"level":"province"`, `"scope":"370000"`, `"id":"wh-jg-2025"`}},
			{name: "a Jinan school sees no Weihai plan", url: "/api/v1/plans", as: school, status: 200,
				contains: []string{`"id":"sd-jg-14-5"`}, absent: []string{`"id":"wh-jg-2025"`}},
			{name: "Weihai's bureau sees its plan", url: "/api/v1/plans", as: demo.CityUser("371000"), status: 200,
				contains: []string{`"id":"wh-jg-2025"`}},
			{name: "one plan", url: "/api/v1/plans/" + sdPlan, as: prov, status: 200, contains: []string{`"indicators":[`, `"baseline_year":2020`}},
			{name: "a Jinan user cannot read the Weihai plan", url: "/api/v1/plans/wh-jg-2025", as: city, status: 404, code: "not_found"},
			{name: "unknown plan", url: "/api/v1/plans/no-such-plan", as: prov, status: 404, code: "not_found"},
			{name: "unknown plan's dashboard", url: "/api/v1/plans/no-such-plan/dashboard", as: prov, status: 404, code: "not_found"},
			{name: "unknown indicator", url: "/api/v1/plans/" + sdPlan + "/indicators/nothing", as: prov, status: 404, code: "not_found"},
			{name: "year before the plan", url: "/api/v1/plans/" + sdPlan + "/dashboard?year=2010", as: prov, status: 400, code: "validation_failed", field: "year"},
			{name: "year not a number", url: "/api/v1/plans/" + sdPlan + "/dashboard?year=今年", as: prov, status: 400, code: "validation_failed", field: "year"},
			{name: "scope outside the plan", url: "/api/v1/plans/" + sdPlan + "/dashboard?scope=410000", as: prov, status: 400, code: "validation_failed", field: "scope"},
			{name: "a city asks for another city", url: "/api/v1/plans/" + sdPlan + "/dashboard?scope=" + qingdao, as: city, status: 403, code: "forbidden", field: "scope"},
			{name: "a city asks for the province", url: "/api/v1/plans/" + sdPlan + "/dashboard?scope=370000", as: city, status: 403, code: "forbidden", field: "scope"},
			{name: "a city asks for another city's school", url: "/api/v1/plans/" + sdPlan + "/dashboard?scope=" + e.inCity(t, qingdao)[0].Code, as: city,
				status: 400, code: "validation_failed", field: "scope"},
		})
		d := e.dashboard(t, prov, "?year=2020")
		if d.Year != 2020 || d.Scope.Code != "370000" || len(d.Items) != 28 {
			t.Fatalf("province dashboard 2020: year %d scope %+v, %d items", d.Year, d.Scope, len(d.Items))
		}
		for _, it := range d.Items {
			for _, k := range []string{"code", "name", "unit", "value", "target", "status", "baseline", "expected", "basis", "source_kind",
				"definition", "computation", "explanation", "trend"} {
				if _, ok := it[k]; !ok {
					t.Errorf("item %s lacks %q", it["code"], k)
				}
			}
		}
		if st := string(item(t, d, "senior_share")["status"]); st == `"无数据"` {
			t.Errorf("senior share 2020 has no value")
		}
		if k := string(item(t, d, "employment_rate")["source_kind"]); k != `"reported"` {
			t.Errorf("employment rate's source kind %s", k)
		}
		// Cities are held to their own city; a school to itself, with the
		// indicators that mean something for one school.
		if d := e.dashboard(t, city, ""); d.Scope.Code != jinan {
			t.Errorf("the city's default scope %+v", d.Scope)
		}
		sd := e.dashboard(t, school, "?year=2023")
		if !sd.Scope.School || len(sd.Items) == 0 || len(sd.Items) >= 28 {
			t.Errorf("the school's dashboard: scope %+v, %d items", sd.Scope, len(sd.Items))
		}
		for _, it := range sd.Items {
			if string(it["source_kind"]) != `"computed"` {
				t.Errorf("a school sees reported indicator %s", it["code"])
			}
		}
		// The province's figure of an additive indicator is the sum of
		// the cities' (the store's test checks this at random; one here
		// through the API).
		var whole, sum float64
		json.Unmarshal(item(t, e.dashboard(t, prov, "?year=2023"), "avg_enrolled")["value"], &whole)
		for _, c := range []string{"370100", "370200", "370700", "371000"} {
			var v float64
			json.Unmarshal(item(t, e.dashboard(t, prov, "?year=2023&scope="+c), "avg_enrolled")["value"], &v)
			sum += v
		}
		if whole == 0 || whole-sum > 1e-9 || sum-whole > 1e-9 {
			t.Errorf("avg_enrolled 2023: province %v, cities %v", whole, sum)
		}
	})

	t.Run("reporting refuses bad input and writes nothing", func(t *testing.T) {
		u := "/api/v1/plans/" + sdPlan + "/reports"
		body := func(over map[string]any) string {
			m := map[string]any{"indicator": "employment_rate", "year": 2023, "scope": "370000", "value": "97.2", "evidence": "2023年毕业生就业统计"}
			for k, v := range over {
				m[k] = v
			}
			return js(m)
		}
		before := reports()
		same := noNewReport(before)
		e.run(t, []scenario{
			{name: "scope outside the plan", method: "POST", url: u, as: prov, body: body(map[string]any{"scope": "410000"}),
				status: 400, code: "validation_failed", field: "scope", check: same},
			{name: "year outside the plan", method: "POST", url: u, as: prov, body: body(map[string]any{"year": 2019}),
				status: 400, code: "validation_failed", field: "year", check: same},
			{name: "negative", method: "POST", url: u, as: prov, body: body(map[string]any{"indicator": "training_yearly", "value": "-3"}),
				status: 400, code: "validation_failed", field: "value", check: same},
			{name: "not a number", method: "POST", url: u, as: prov, body: body(map[string]any{"value": "九成多"}),
				status: 400, code: "validation_failed", field: "value", check: same},
			{name: "ratio above 100%", method: "POST", url: u, as: prov, body: body(map[string]any{"value": "100.5%"}),
				status: 400, code: "validation_failed", field: "value", check: same},
			{name: "number sent as a number", method: "POST", url: u, as: prov, body: body(map[string]any{"value": 97.2}),
				status: 400, code: "validation_failed", field: "value", check: same},
			{name: "no evidence", method: "POST", url: u, as: prov, body: body(map[string]any{"evidence": " "}),
				status: 400, code: "validation_failed", field: "evidence", check: same},
			{name: "unknown indicator", method: "POST", url: u, as: prov, body: body(map[string]any{"indicator": "nothing"}),
				status: 400, code: "validation_failed", field: "indicator", check: same},
			{name: "computed indicator", method: "POST", url: u, as: prov, body: body(map[string]any{"indicator": "senior_share"}),
				status: 400, code: "validation_failed", field: "indicator", check: same},
			{name: "a city for another city", method: "POST", url: u, as: city, body: body(map[string]any{"scope": qingdao}),
				status: 403, code: "forbidden", field: "scope", check: same},
			{name: "a school", method: "POST", url: u, as: school, body: body(map[string]any{"scope": jinan}),
				status: 403, code: "forbidden", check: same},
			{name: "an auditor", method: "POST", url: u, as: demo.AuditorUser, body: body(nil), status: 403, code: "forbidden", check: same},
			{name: "stale version", method: "POST", url: u, as: prov, body: body(map[string]any{"version": 7}),
				status: 409, code: "conflict", field: "version", check: same},
			{name: "unknown plan", method: "POST", url: "/api/v1/plans/no-such-plan/reports", as: prov, body: body(nil),
				status: 404, code: "not_found", check: same},
			{name: "malformed JSON", method: "POST", url: u, as: prov, body: `{"indicator": "employment_rate",`,
				status: 400, code: "malformed_json", check: same},
			{name: "unknown field", method: "POST", url: u, as: prov, body: `{"indicator": "employment_rate", "valu": "97"}`,
				status: 400, code: "validation_failed", field: "valu", check: same},
			{name: "huge body", method: "POST", url: u, as: prov, body: body(map[string]any{"evidence": strings.Repeat("统计表", 200000)}),
				status: 413, code: "payload_too_large", check: same},
			{name: "a school cannot read reports", url: u, as: school, status: 403, code: "forbidden"},
		})
	})

	var cityReport, provReport plan.StoredReport
	t.Run("reports are attributed, audited and reviewed", func(t *testing.T) {
		u := "/api/v1/plans/" + sdPlan + "/reports"
		r := e.runOne(t, scenario{name: "Jinan reports its training", method: "POST", url: u, as: city,
			body:   js(map[string]any{"indicator": "training_yearly", "year": 2023, "scope": jinan, "value": "6.2万人次", "evidence": "济南市2023年职业培训台账"}),
			status: 201, audit: []string{"plans.report:" + sdPlan}})
		r.decode(t, &cityReport)
		if cityReport.State != plan.ReportPending || cityReport.Value != 6.2 || cityReport.Version != 1 || cityReport.Scope != jinan {
			t.Fatalf("the city's report: %+v", cityReport)
		}
		r = e.runOne(t, scenario{name: "the province reports the employment rate", method: "POST", url: u, as: prov,
			body:   js(map[string]any{"indicator": "employment_rate", "year": 2023, "scope": "370000", "value": "９７．２％", "evidence": "2023年毕业生就业统计"}),
			status: 201, audit: []string{"plans.report:" + sdPlan}})
		r.decode(t, &provReport)
		review := func(id int64, action string) string {
			return "/api/v1/plan-reports/" + jsID(id) + "/" + action
		}
		e.run(t, []scenario{
			{name: "Qingdao cannot see Jinan's report", url: u, as: demo.CityUser(qingdao), status: 200, contains: []string{`"total":0`}},
			{name: "Jinan sees its report", url: u, as: city, status: 200, contains: []string{`"total":1`, `"evidence":"济南市2023年职业培训台账"`}},
			{name: "return needs a note", method: "POST", url: review(cityReport.ID, "return"), as: prov, body: `{}`,
				status: 400, code: "validation_failed", field: "note"},
			{name: "a city cannot review", method: "POST", url: review(cityReport.ID, "accept"), as: city, status: 403, code: "forbidden"},
			{name: "nobody reviews their own report", method: "POST", url: review(provReport.ID, "accept"), as: prov, status: 403, code: "forbidden"},
			{name: "unknown report", method: "POST", url: review(999999, "accept"), as: prov, status: 404, code: "not_found"},
			{name: "the province returns Jinan's report", method: "POST", url: review(cityReport.ID, "return"), as: prov,
				body: `{"note":"请附台账扫描件"}`, status: 200, contains: []string{`"state":"returned"`, `"review_note":"请附台账扫描件"`},
				audit: []string{"plans.report_return:" + sdPlan}},
			{name: "a returned report is not reviewed again", method: "POST", url: review(cityReport.ID, "accept"), as: prov,
				status: 409, code: "invalid_transition"},
		})
		// Returned, it does not count; Jinan reports again and it does.
		if v := item(t, e.dashboard(t, city, "?year=2023"), "training_yearly")["value"]; string(v) != "null" {
			t.Errorf("a returned report counts: %s", v)
		}
		e.runOne(t, scenario{name: "Jinan reports again", method: "POST", url: u, as: city,
			body:   js(map[string]any{"indicator": "training_yearly", "year": 2023, "scope": jinan, "value": "6.4", "evidence": "济南市2023年职业培训台账（附扫描件）"}),
			status: 201, audit: []string{"plans.report:" + sdPlan}})
		if v := item(t, e.dashboard(t, city, "?year=2023"), "training_yearly")["value"]; string(v) != "6.4" {
			t.Errorf("Jinan's training 2023 on its dashboard: %s", v)
		}
		// The province has no report of its own for training: the
		// cities' values add up, marked.
		it := item(t, e.dashboard(t, prov, "?year=2023"), "training_yearly")
		if string(it["value"]) != "6.4" || !strings.Contains(string(it["reported"]), `"rolled_up":true`) {
			t.Errorf("province training 2023: %s %s", it["value"], it["reported"])
		}
		history := e.do(t, req{method: "GET", url: u + "?history=1&indicator=training_yearly", bearer: e.token(t, prov)})
		if !strings.Contains(history.body, `"total":2`) || !strings.Contains(history.body, `"superseded_by":`) {
			t.Errorf("history of Jinan's reports: %s", truncate(history.body))
		}
	})

	t.Run("plans are edited in versions", func(t *testing.T) {
		current := func() plan.Plan {
			var p plan.Plan
			e.do(t, req{method: "GET", url: "/api/v1/plans/" + sdPlan, bearer: e.token(t, prov)}).decode(t, &p)
			return p
		}
		p := current()
		if p.Version != 1 {
			t.Fatalf("the Shandong plan is at version %d", p.Version)
		}
		newPlan := func(edit func(p *plan.Plan)) string {
			n := p.Clone()
			n.ID, n.Name = "sd-jg-15-5", "山东省技工教育“十五五”发展规划"
			n.BaselineFrom, n.BaselineYear, n.TargetYear = 2021, 2025, 2030
			for i := range n.Indicators {
				n.Indicators[i].Milestones, n.Indicators[i].TargetYear = nil, 0
			}
			if edit != nil {
				edit(&n)
			}
			b, _ := json.Marshal(n)
			return string(b)
		}
		huge := `{"id":"x","name":"` + strings.Repeat("规", 400000) + `"}`
		e.run(t, []scenario{
			{name: "a city cannot add a plan", method: "POST", url: "/api/v1/plans", as: city, body: newPlan(nil), status: 403, code: "forbidden"},
			{name: "target year before the baseline", method: "POST", url: "/api/v1/plans", as: prov,
				body: newPlan(func(p *plan.Plan) { p.TargetYear = 2024 }), status: 400, code: "validation_failed", field: "target_year"},
			{name: "unknown rule", method: "POST", url: "/api/v1/plans", as: prov,
				body: newPlan(func(p *plan.Plan) { p.Indicators[0].Source.Rule = "guesswork" }), status: 400, code: "validation_failed", field: "indicators[0].source.rule"},
			{name: "ratio target above 100", method: "POST", url: "/api/v1/plans", as: prov,
				body: newPlan(func(p *plan.Plan) { *p.Indicators[7].Target = 120 }), status: 400, code: "validation_failed", field: "indicators[7].target"},
			{name: "malformed plan", method: "POST", url: "/api/v1/plans", as: prov, body: `{"id": "sd-jg-15-5", "indicators": [}`, status: 400, code: "malformed_json"},
			{name: "huge plan", method: "POST", url: "/api/v1/plans", as: prov, body: huge, status: 413, code: "payload_too_large"},
			{name: "the next five-year plan", method: "POST", url: "/api/v1/plans", as: prov, body: newPlan(nil), status: 201,
				audit: []string{"plans.create:sd-jg-15-5"}, contains: []string{`"id":"sd-jg-15-5"`, `"version":1`}},
			{name: "its ID again", method: "POST", url: "/api/v1/plans", as: prov, body: newPlan(nil), status: 409, code: "duplicate", field: "id"},
		})

		// The Shandong plan has reports on version 1: an edit makes
		// version 2, version 1 and its reports stay.
		edit := p.Clone()
		*edit.Indicators[0].Target = 52
		b, _ := json.Marshal(edit)
		stale := edit.Clone()
		stale.Version = 0
		sb, _ := json.Marshal(stale)
		e.run(t, []scenario{
			{name: "edit without a version", method: "PUT", url: "/api/v1/plans/" + sdPlan, as: prov, body: string(sb), status: 400,
				code: "validation_failed", field: "version"},
			{name: "an edit that moves the target", method: "PUT", url: "/api/v1/plans/" + sdPlan, as: prov, body: string(b), status: 200,
				contains: []string{`"revision":"new_version"`, `"version":2`}, audit: []string{"plans.revise:" + sdPlan}},
			{name: "the same edit again is stale", method: "PUT", url: "/api/v1/plans/" + sdPlan, as: prov, body: string(b), status: 409, code: "conflict"},
			{name: "version 1 is kept", url: "/api/v1/plans/" + sdPlan + "?version=1", as: prov, status: 200, contains: []string{`"version":1`, `"target":50`}},
			{name: "both versions listed", url: "/api/v1/plans/" + sdPlan + "/versions", as: prov, status: 200, contains: []string{`"total":2`}},
			{name: "version 1's reports are kept", url: "/api/v1/plans/" + sdPlan + "/reports?history=1", as: prov, status: 200,
				contains: []string{`"version":1`, `"total":3`}},
			{name: "a city cannot edit", method: "PUT", url: "/api/v1/plans/" + sdPlan, as: city, body: string(b), status: 403, code: "forbidden"},
		})
		if p := current(); p.Version != 2 || *p.Indicators[0].Target != 52 {
			t.Errorf("after the edit: version %d, target %v", p.Version, *p.Indicators[0].Target)
		}
		// What was reported against version 1 measures the same on
		// version 2: the dashboard still shows it.
		if v := item(t, e.dashboard(t, city, "?year=2023"), "training_yearly")["value"]; string(v) != "6.4" {
			t.Errorf("Jinan's training on version 2: %s", v)
		}
	})

	t.Run("school groups", func(t *testing.T) {
		g, err := e.srv.Plans.Group(t.Context(), auth.Principal{Role: auth.RoleProvince}, "sd-tingshu")
		if err != nil || len(g.Schools) == 0 {
			t.Fatalf("the demo's 厅属院校: %+v, %v", g, err)
		}
		u := "/api/v1/school-groups/sd-tingshu"
		put := func(schools []string) string {
			return js(map[string]any{"name": g.Name, "scope_code": g.ScopeCode, "description": g.Description, "schools": schools})
		}
		e.run(t, []scenario{
			{name: "groups listed", url: "/api/v1/school-groups", as: city, status: 200, contains: []string{`"code":"sd-tingshu"`}},
			{name: "a group", url: u, as: school, status: 200, contains: []string{`"schools":["` + g.Schools[0]}},
			{name: "unknown group", url: "/api/v1/school-groups/nothing", as: prov, status: 404, code: "not_found"},
			{name: "a city cannot change it", method: "PUT", url: u, as: city, body: put(g.Schools), status: 403, code: "forbidden"},
			{name: "an unknown school", method: "PUT", url: u, as: prov, body: put([]string{g.Schools[0], "ZZ9999"}), status: 400,
				code: "validation_failed", field: "schools[1]"},
			{name: "the province sets the members", method: "PUT", url: u, as: prov, body: put(g.Schools[:1]), status: 200,
				audit: []string{"plans.group:sd-tingshu"}, contains: []string{`"schools":["` + g.Schools[0] + `"]`}},
			{name: "and back", method: "PUT", url: u, as: prov, body: put(g.Schools), status: 200, audit: []string{"plans.group:sd-tingshu"}},
		})
	})

	t.Run("workbook, print view and page forms", func(t *testing.T) {
		s := e.sessionOf(t, prov)
		r := e.do(t, req{method: "GET", url: "/plans/" + sdPlan + ".xlsx?year=2023", sess: s})
		if r.status != 200 || r.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("workbook: %d %s", r.status, r.header.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("指标")
		if err != nil || len(rows) != 29 || rows[0][2] != "指标" || rows[8][1] != "senior_share" {
			t.Fatalf("指标 sheet: %d rows, %v", len(rows), err)
		}
		if trend, _ := f.GetRows("趋势"); len(trend) != 29 || trend[0][3] != "2016" {
			t.Errorf("趋势 sheet: %v", trend[:1])
		}
		f.Close()
		if r := e.do(t, req{method: "GET", url: "/api/v1/plans/" + sdPlan + "/dashboard.xlsx?scope=" + jinan, bearer: e.token(t, city)}); r.status != 200 {
			t.Errorf("the city's workbook: %d", r.status)
		}
		if r := e.do(t, req{method: "GET", url: "/plans/" + sdPlan + ".xlsx?scope=" + qingdao, sess: e.sessionOf(t, city)}); r.status != 403 {
			t.Errorf("the city's workbook of Qingdao: %d", r.status)
		}
		e.run(t, []scenario{
			{name: "print view", url: "/plans/" + sdPlan + "/print?year=2025", sess: s, status: 200,
				contains: []string{`data-testid="print-sheet"`, "2025 年", "高级工班以上在校生比例", `data-action="print"`}},
			{name: "htmx gets the dashboard alone", url: "/plans/" + sdPlan + "?year=2021", sess: s,
				header: map[string]string{"HX-Request": "true", "HX-Target": "dashboard"}, status: 200,
				contains: []string{`<div id="dashboard"`, `data-chart="{`, `href="/plans/sd-jg-14-5.xlsx?year=2021"`, `href="/plans/sd-jg-14-5/print?year=2021"`},
				absent:   []string{"<html", "<script"}},
			{name: "a form report with a word for a value", method: "POST", url: "/plans/" + sdPlan + "/reports", sess: s, ctype: formType,
				body: url.Values{"csrf_token": {s.csrf}, "version": {"2"}, "indicator": {"employment_rate"}, "year": {"2024"}, "scope": {"370000"},
					"value": {"很高"}, "evidence": {"统计表"}}.Encode(),
				status: 400, contains: []string{`data-testid="report-error"`, "不是数字", "很高"}},
			{name: "a form report", method: "POST", url: "/plans/" + sdPlan + "/reports", sess: s, ctype: formType,
				body: url.Values{"csrf_token": {s.csrf}, "version": {"2"}, "indicator": {"employment_rate"}, "year": {"2024"}, "scope": {"370000"},
					"value": {"97.5"}, "evidence": {"统计表"}}.Encode(),
				status: 303, audit: []string{"plans.report:" + sdPlan}},
			{name: "the editor names the field that is wrong", method: "POST", url: "/plans/" + sdPlan, sess: s, ctype: formType,
				body:   url.Values{"csrf_token": {s.csrf}, "plan": {strings.Replace(mustJSON(t, e, prov), `"target_year":2025`, `"target_year":2019`, 1)}}.Encode(),
				status: 400, contains: []string{`data-testid="plan-form-error"`, "target_year", "必须晚于"}},
			{name: "the editor without the CSRF token", method: "POST", url: "/plans/" + sdPlan, sess: s, ctype: formType,
				body: url.Values{"plan": {"{}"}}.Encode(), status: 403},
			{name: "the editor saves in place", method: "POST", url: "/plans/sd-jg-15-5", sess: s, ctype: formType,
				body:   url.Values{"csrf_token": {s.csrf}, "plan": {strings.Replace(planJSON(t, e, prov, "sd-jg-15-5"), "十五五", "“十五五”（修订）", 1)}}.Encode(),
				status: 303, audit: []string{"plans.update:sd-jg-15-5"}},
		})
	})
}

func jsID(id int64) string { return strings.TrimSpace(js(id)) }

// planJSON is a plan as the API reads it.
func planJSON(t *testing.T, e *env, user, id string) string {
	t.Helper()
	r := e.do(t, req{method: "GET", url: "/api/v1/plans/" + id, bearer: e.token(t, user)})
	if r.status != 200 {
		t.Fatalf("plan %s: %d", id, r.status)
	}
	return strings.TrimSpace(r.body)
}

func mustJSON(t *testing.T, e *env, user string) string { return planJSON(t, e, user, sdPlan) }
