package plan

import (
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

func TestRevise(t *testing.T) {
	tests := []struct {
		name        string
		hasReports  bool
		edit        func(p *Plan)
		want        Revision
		wantVersion int
		code        apperr.Code
		field, key  string
	}{
		{"no change", true, func(p *Plan) {}, Unchanged, 1, "", "", ""},
		{"only spaces change", true, func(p *Plan) { p.Name = " 测试规划 " }, Unchanged, 1, "", "", ""},
		{"edit without reports in place", false, func(p *Plan) { *p.Indicators[0].Target = 52 }, InPlace, 1, "", "", ""},
		{"edit with reports makes a version", true, func(p *Plan) { *p.Indicators[0].Target = 52 }, NewVersion, 2, "", "", ""},
		{"next five-year plan period", true, func(p *Plan) {
			p.BaselineFrom, p.BaselineYear, p.TargetYear = 2021, 2025, 2030
			p.Indicators[3].Milestones = nil
		}, NewVersion, 2, "", "", ""},
		{"new indicator", true, func(p *Plan) {
			p.Indicators = append(p.Indicators, Indicator{Code: "new", Name: "新指标", Unit: "个", Aggregate: AggregateCount,
				Comparison: AtLeast, Target: f(3), Source: Source{Kind: Reported, ResponsibleUnit: "职业能力建设处"}, Definition: "新"})
		}, NewVersion, 2, "", "", ""},
		{"ID changed", true, func(p *Plan) { p.ID = "other-plan" }, Unchanged, 0, apperr.Invalid, "id", "plan.id.immutable"},
		{"stale edit", true, func(p *Plan) { p.Version = 0 }, Unchanged, 0, apperr.Conflict, "version", "plan.version.stale"},
		{"invalid edit", true, func(p *Plan) { p.TargetYear = 2019 }, Unchanged, 0, apperr.Invalid, "target_year", "plan.year.order"},
		{"unknown rule", false, func(p *Plan) { p.Indicators[0].Source.Rule = "guess" }, Unchanged, 0, apperr.Invalid, "indicators[0].source.rule", "plan.indicator.rule.unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := testPlan()
			edit := current.Clone()
			tt.edit(&edit)
			got, rev, err := Revise(current, edit, tt.hasReports, BuiltinGroupExists)
			wantErr(t, err, tt.code, tt.field, tt.key)
			if err != nil {
				return
			}
			if rev != tt.want || got.Version != tt.wantVersion {
				t.Errorf("revision %d version %d, want %d version %d", rev, got.Version, tt.want, tt.wantVersion)
			}
			// The current version is never touched.
			if c := testPlan(); !sameContent(c, current) || current.Version != 1 {
				t.Error("Revise changed the current plan")
			}
		})
	}
}

// TestReportsStayWithTheirVersion: a plan with reported values is edited;
// the old version and its reports stay, a new report must be entered
// against the new version, and an unchanged measure may show the old
// reports.
func TestReportsStayWithTheirVersion(t *testing.T) {
	v1 := testPlan()
	r, err := NewReport(&v1, ReportInput{Version: 1, Indicator: "training", Year: 2021, Scope: "370000", Value: "48", Evidence: "年报"}, province, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	edit := v1.Clone()
	ind, _ := edit.Indicator("training")
	*ind.Target = 260
	v2, rev, err := Revise(v1, edit, true, nil)
	if err != nil || rev != NewVersion || v2.Version != 2 {
		t.Fatalf("%v %d %d", err, rev, v2.Version)
	}
	if r.Version != 1 || *v1.Indicators[3].Target != 250 {
		t.Error("the old version and its report changed")
	}
	_, err = NewReport(&v2, ReportInput{Version: 1, Indicator: "training", Year: 2022, Scope: "370000", Value: "50", Evidence: "年报"}, province, time.Now())
	wantErr(t, err, apperr.Conflict, "version", "plan.report.version.stale")
	if _, err := NewReport(&v2, ReportInput{Version: 2, Indicator: "training", Year: 2022, Scope: "370000", Value: "50", Evidence: "年报"}, province, time.Now()); err != nil {
		t.Error(err)
	}
	old, _ := v1.Indicator("training")
	if !CarriesOver(old, ind) {
		t.Error("a changed target measures the same thing")
	}
}

func TestCarriesOver(t *testing.T) {
	base := Indicator{Code: "training", Unit: "万人次", Aggregate: AggregateCumulative, Source: Source{Kind: Reported}}
	tests := []struct {
		name string
		edit func(i *Indicator)
		want bool
	}{
		{"same", func(i *Indicator) {}, true},
		{"new target and name", func(i *Indicator) { i.Target = f(300); i.Name = "改名" }, true},
		{"other unit", func(i *Indicator) { i.Unit = "人次" }, false},
		{"other aggregate", func(i *Indicator) { i.Aggregate = AggregateSum }, false},
		{"other group", func(i *Indicator) { i.Group = "sd-tingshu" }, false},
		{"now computed", func(i *Indicator) { i.Source = Source{Kind: Computed, Rule: "intake"} }, false},
		{"other code", func(i *Indicator) { i.Code = "training2" }, false},
	}
	for _, tt := range tests {
		n := base
		tt.edit(&n)
		if got := CarriesOver(&base, &n); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}
