package store_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/plan"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

var (
	provinceUser = auth.Principal{UserID: 1, Name: "province", DisplayName: "省人社厅", Role: auth.RoleProvince}
	reviewerUser = auth.Principal{UserID: 2, Name: "reviewer", Role: auth.RoleProvince}
	jinanUser    = auth.Principal{UserID: 3, Name: "city-370100", Role: auth.RoleCity, ScopeCode: "370100"}
)

func wantCode(t *testing.T, err error, code apperr.Code, key string) {
	t.Helper()
	e := apperr.As(err)
	if err == nil || e.Code != code || (key != "" && e.Key != key) {
		t.Fatalf("error %v, want %s %s", err, code, key)
	}
}

// The built-in plans are seeded once; an edit without reports is made in
// place, an edit after a report makes version 2 and keeps version 1 with
// its report; seeding again leaves the province's edits alone.
func TestPlanVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		svc := plan.NewService(db)
		n, err := db.EnsureBuiltinPlans(ctx)
		if err != nil || n != len(plan.BuiltinPlans())+len(plan.BuiltinGroups()) {
			t.Fatalf("EnsureBuiltinPlans = %d, %v", n, err)
		}
		list, err := svc.List(ctx, provinceUser)
		if err != nil || len(list) != len(plan.BuiltinPlans()) || list[0].Level != plan.LevelNational {
			t.Fatalf("List = %+v, %v", list, err)
		}
		const id = "sd-jg-14-5"
		cur, err := svc.Get(ctx, provinceUser, id, 0)
		if err != nil || cur.Version != 1 || !cur.Builtin || !cur.Current {
			t.Fatalf("Get = %+v, %v", cur, err)
		}

		edit := cur.Plan.Clone()
		edit.Name = "山东省技工教育“十四五”发展规划（修订）"
		got, rev, err := svc.Update(ctx, provinceUser, id, edit)
		if err != nil || rev != plan.InPlace || got.Version != 1 {
			t.Fatalf("edit without reports: %v, %v, %+v", rev, err, got)
		}
		if _, rev, err := svc.Update(ctx, provinceUser, id, edit); err != nil || rev != plan.Unchanged {
			t.Fatalf("the same edit again: %v, %v", rev, err)
		}
		if _, _, err := svc.Update(ctx, jinanUser, id, edit); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("a city edits a plan: %v", err)
		}

		r, err := svc.AddReport(ctx, provinceUser, id, plan.ReportInput{Indicator: "employment_rate", Year: 2023, Scope: "370000",
			Value: "97.6", Evidence: "2023年技工院校毕业生就业情况统计表"})
		if err != nil || r.Version != 1 || r.State != plan.ReportPending || r.ReportedByName != "省人社厅" {
			t.Fatalf("AddReport = %+v, %v", r, err)
		}

		edit = got.Plan.Clone()
		*edit.Indicators[0].Target = 52
		got, rev, err = svc.Update(ctx, provinceUser, id, edit)
		if err != nil || rev != plan.NewVersion || got.Version != 2 {
			t.Fatalf("edit with reports: %v, %v, %+v", rev, err, got)
		}
		// A second edit from the old version is stale.
		stale := edit.Clone()
		stale.Version = 1
		if _, _, err := svc.Update(ctx, provinceUser, id, stale); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale edit: %v", err)
		}
		versions, err := db.PlanVersions(ctx, id)
		if err != nil || len(versions) != 2 || versions[0].Current || !versions[1].Current {
			t.Fatalf("versions: %+v, %v", versions, err)
		}
		if *versions[0].Indicators[0].Target != 50 || *versions[1].Indicators[0].Target != 52 {
			t.Errorf("targets of v1 and v2: %v, %v", *versions[0].Indicators[0].Target, *versions[1].Indicators[0].Target)
		}
		old, _, err := db.ListReports(ctx, plan.ReportFilter{PlanID: id, Version: 1, Scope: auth.Scope{Kind: auth.ScopeAll}})
		if err != nil || len(old) != 1 || old[0].ID != r.ID {
			t.Fatalf("the report of version 1: %+v, %v", old, err)
		}
		// A form filled against version 1 is refused now.
		if _, err := svc.AddReport(ctx, provinceUser, id, plan.ReportInput{Version: 1, Indicator: "employment_rate", Year: 2024,
			Scope: "370000", Value: "97", Evidence: "统计表"}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("report against the old version: %v", err)
		}
		// The dashboard of version 2 still shows the value (same measure).
		d, err := svc.Dashboard(ctx, provinceUser, id, 2023, "")
		if err != nil {
			t.Fatal(err)
		}
		row, ok := d.Row("employment_rate")
		if !ok || row.Value == nil || *row.Value != 97.6 || row.Reported == nil || row.Reported.Pending != 1 {
			t.Fatalf("employment rate on the v2 dashboard: %+v", row)
		}

		if n, err := db.EnsureBuiltinPlans(ctx); err != nil || n != 0 {
			t.Fatalf("seeding again: %d, %v", n, err)
		}
		cur, err = svc.Get(ctx, provinceUser, id, 0)
		if err != nil || cur.Version != 2 || *cur.Indicators[0].Target != 52 {
			t.Fatalf("after seeding again: %+v, %v", cur, err)
		}
		if _, err := svc.Create(ctx, provinceUser, plan.BuiltinPlans()[0]); apperr.CodeOf(err) != apperr.Duplicate {
			t.Fatalf("creating an existing plan: %v", err)
		}
	})
}

// One live report per plan version, indicator, year and scope: a new one
// supersedes it and the old one stays as history; only a live pending
// report can be reviewed, by another province user.
func TestPlanReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		svc := plan.NewService(db)
		if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
			t.Fatal(err)
		}
		const id = "sd-jg-14-5"
		in := plan.ReportInput{Indicator: "training_yearly", Year: 2022, Scope: "370100", Value: "6.1", Evidence: "济南市职业培训台账"}
		first, err := svc.AddReport(ctx, jinanUser, id, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Review(ctx, provinceUser, first.ID, false, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("return without a note: %v", err)
		}
		if _, err := svc.Review(ctx, jinanUser, first.ID, true, ""); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("a city reviews: %v", err)
		}
		returned, err := svc.Review(ctx, provinceUser, first.ID, false, "请附培训台账")
		if err != nil || returned.State != plan.ReportReturned || returned.ReviewNote != "请附培训台账" {
			t.Fatalf("return: %+v, %v", returned, err)
		}
		in.Value, in.Evidence = "6.3", "济南市职业培训台账（补充）"
		second, err := svc.AddReport(ctx, jinanUser, id, in)
		if err != nil {
			t.Fatal(err)
		}
		all := auth.Scope{Kind: auth.ScopeAll}
		live, total, err := db.ListReports(ctx, plan.ReportFilter{PlanID: id, Scope: all})
		if err != nil || total != 1 || len(live) != 1 || live[0].ID != second.ID {
			t.Fatalf("live reports: %+v (%d), %v", live, total, err)
		}
		history, _, err := db.ListReports(ctx, plan.ReportFilter{PlanID: id, Scope: all, History: true})
		if err != nil || len(history) != 2 || history[1].SupersededBy != second.ID || history[1].State != plan.ReportReturned {
			t.Fatalf("history: %+v, %v", history, err)
		}
		if _, err := svc.Review(ctx, provinceUser, first.ID, true, ""); apperr.CodeOf(err) != apperr.InvalidTransition {
			t.Fatalf("accept a superseded report: %v", err)
		}
		// The province reports for Qingdao too; a city sees only its own.
		if _, err := svc.AddReport(ctx, provinceUser, id, plan.ReportInput{Indicator: "training_yearly", Year: 2022, Scope: "370200",
			Value: "5", Evidence: "青岛市报表"}); err != nil {
			t.Fatal(err)
		}
		mine, _, err := svc.Reports(ctx, jinanUser, plan.ReportFilter{PlanID: id})
		if err != nil || len(mine) != 1 || mine[0].Scope != "370100" {
			t.Fatalf("Jinan's reports: %+v, %v", mine, err)
		}
		// The province total rolls up from the cities, pending marked.
		d, err := svc.Dashboard(ctx, provinceUser, id, 2022, "")
		if err != nil {
			t.Fatal(err)
		}
		row, _ := d.Row("training_yearly")
		if row.Value == nil || math.Abs(*row.Value-11.3) > 1e-9 || row.Reported == nil || !row.Reported.RolledUp || row.Reported.Pending != 2 {
			t.Fatalf("province training 2022: %+v %+v", row.Value, row.Reported)
		}
		accepted, err := svc.Review(ctx, reviewerUser, second.ID, true, "")
		if err != nil || accepted.State != plan.ReportAccepted || accepted.ReviewedBy != "reviewer" {
			t.Fatalf("accept: %+v, %v", accepted, err)
		}
		if _, err := svc.Review(ctx, reviewerUser, second.ID, false, "再看看"); apperr.CodeOf(err) != apperr.InvalidTransition {
			t.Fatalf("return an accepted report: %v", err)
		}
		// The database holds one live report per key whatever the caller.
		raw := storetest.Raw(t, dsn)
		_, err = raw.Exec(`INSERT INTO plan_reports (plan_id, plan_version, indicator, year, scope_code, value, entered, evidence, reported_by,
			reported_by_name, reported_at, state) VALUES ('sd-jg-14-5', 1, 'training_yearly', 2022, '370100', 1, '1', 'x', 1, 'x', 0, 'pending')`)
		if err == nil {
			t.Fatal("a second live report was stored")
		}
	})
}

// Groups: seeded once (with stand-in members on a demo), replaced by the
// province, refusing schools unknown or outside the group's scope.
func TestSchoolGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		if _, err := demo.GenerateSchools(ctx, db, demo.Small, 1); err != nil {
			t.Fatal(err)
		}
		svc := plan.NewService(db)
		if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
			t.Fatal(err)
		}
		g, err := svc.Group(ctx, provinceUser, "sd-tingshu")
		if err != nil || len(g.Schools) == 0 || g.Name != "厅属院校" {
			t.Fatalf("the demo's 厅属院校: %+v, %v", g, err)
		}
		info, err := db.Schools(ctx, g.Schools)
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range g.Schools {
			if s, ok := info[code]; !ok || s.City[:2] != "37" {
				t.Errorf("member %s: %+v", code, s)
			}
		}
		g.Schools = g.Schools[:1]
		g.Description = "由省人社厅维护"
		saved, err := svc.SaveGroup(ctx, provinceUser, g)
		if err != nil || len(saved.Schools) != 1 {
			t.Fatalf("SaveGroup = %+v, %v", saved, err)
		}
		again, _ := svc.Group(ctx, provinceUser, "sd-tingshu")
		if len(again.Schools) != 1 || again.Description != "由省人社厅维护" || len(again.NamedInSource) != 2 {
			t.Errorf("after saving: %+v", again)
		}
		if n, err := db.EnsureBuiltinPlans(ctx); err != nil || n != 0 {
			t.Fatalf("seeding again: %d, %v", n, err)
		}
		if again, _ := svc.Group(ctx, provinceUser, "sd-tingshu"); len(again.Schools) != 1 {
			t.Errorf("seeding again changed the members: %v", again.Schools)
		}
		bad := g
		bad.Schools = []string{"3701001", "ZZ999"}
		_, err = svc.SaveGroup(ctx, provinceUser, bad)
		if e := apperr.As(err); e.Code != apperr.Invalid || e.Field != "schools[1]" {
			t.Fatalf("an unknown school: %v", err)
		}
		city := plan.Group{Code: "jn-key", Name: "济南重点院校", ScopeCode: "370100", Schools: []string{"3702001"}}
		if _, err := svc.SaveGroup(ctx, provinceUser, city); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("a Qingdao school in a Jinan group: %v", err)
		}
		if _, err := svc.SaveGroup(ctx, jinanUser, g); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("a city saves a group: %v", err)
		}
	})
}

// Through the dashboard's own code path on the small demo: at random
// plans, years and indicators, the value of an additive computed
// indicator at a plan's scope is the sum of its values at the parts (the
// cities, or for the national plan the provinces), and a ratio is formed
// from the parts' summed numerators and denominators; a city user's own
// dashboard shows what the province sees for that city.
func TestPlanDashboardAddsUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		if _, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1); err != nil {
			t.Fatal(err)
		}
		if at, _ := db.FactsAsOf(ctx); at.IsZero() {
			if _, err := db.RebuildFacts(ctx, true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
			t.Fatal(err)
		}
		svc := plan.NewService(db)
		rng := rand.New(rand.NewPCG(7, 11))
		ids := []string{"sd-jg-14-5", "mohrss-jg-14-5", "sd-tingshu-2023"}
		checked := 0
		for range 12 {
			id := ids[rng.IntN(len(ids))]
			sp, err := db.FindPlan(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			base := sp.BaselinePeriod()
			year := base.From + rng.IntN(sp.TargetYear-base.From+1)
			whole, err := svc.Dashboard(ctx, provinceUser, id, year, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range whole.Rows {
				if row.Source.Kind != plan.Computed || row.Value == nil {
					continue
				}
				var sum, num, den float64
				parts := 0
				for _, part := range whole.Scopes[1:] {
					pd, err := svc.Dashboard(ctx, provinceUser, id, year, part.Code)
					if err != nil {
						t.Fatal(err)
					}
					pr, ok := pd.Row(row.Code)
					if !ok || pr.Value == nil {
						continue
					}
					parts++
					sum += *pr.Value
					for _, y := range pr.Computation.Years {
						num += y.Numerator
						den += y.Denominator
					}
					if sp.ScopeCode == "370000" && rng.IntN(3) == 0 {
						own := auth.Principal{UserID: 9, Name: "city", Role: auth.RoleCity, ScopeCode: part.Code}
						cd, err := svc.Dashboard(ctx, own, id, year, "")
						if err != nil {
							t.Fatal(err)
						}
						if cr, _ := cd.Row(row.Code); cr.Value == nil || *cr.Value != *pr.Value {
							t.Errorf("%s %s %d at %s: the city sees %v, the province %v", id, row.Code, year, part.Code, cr.Value, *pr.Value)
						}
					}
				}
				if parts == 0 {
					t.Errorf("%s %s %d: no part has a value", id, row.Code, year)
					continue
				}
				want := sum
				if !row.Aggregate.Additive() {
					want = num / den * 100
				}
				if math.Abs(*row.Value-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("%s %s %d: %s %v, parts give %v", id, row.Code, year, whole.Scope.Name, *row.Value, want)
				}
				checked++
			}
		}
		if checked < 10 {
			t.Fatalf("only %d values checked", checked)
		}
		t.Logf("%d values checked against their parts", checked)
	})
}
