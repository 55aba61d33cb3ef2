package plan

import (
	"errors"
	"math"
	"testing"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

func f(v float64) *float64 { return &v }

// wantErr checks that err is an *apperr.Error with the code, field and
// message key; an empty key means no error is wanted.
func wantErr(t *testing.T, err error, code apperr.Code, field, key string) {
	t.Helper()
	if key == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s (%s) at %q, got %v", code, key, field, err)
	}
	if e.Code != code || e.Field != field || e.Key != key {
		t.Fatalf("want %s %q at %q, got %s %q at %q (args %v)", code, key, field, e.Code, e.Key, e.Field, e.Args)
	}
}

// testPlan is a small valid plan: a computed count, a computed yearly
// average, a reported ratio and a reported cumulative total.
func testPlan() Plan {
	return Plan{
		ID: "test-plan", Name: "测试规划", Issuer: "山东省人力资源和社会保障厅",
		Level: LevelProvince, ScopeCode: "370000",
		BaselineYear: 2020, BaselineFrom: 2016, TargetYear: 2025, Version: 1,
		Indicators: []Indicator{
			{Code: "technician_colleges", Name: "技师学院数", Unit: "所", Aggregate: AggregateCount,
				Comparison: Above, Baseline: f(45), Target: f(50),
				Source: Source{Kind: Computed, Rule: "technician_colleges"}, Definition: "技师学院所数"},
			{Code: "avg_intake", Name: "年均招生规模", Unit: "万人", Aggregate: AggregateYearlyAverage,
				Comparison: Above, Baseline: f(15.5), Target: f(15),
				Source: Source{Kind: Computed, Rule: "avg_intake"}, Definition: "年均招生"},
			{Code: "employment_rate", Name: "毕业生总体就业率", Unit: "%", Aggregate: AggregateRatio,
				Comparison: Above, Baseline: f(97), Target: f(97),
				Source: Source{Kind: Reported, ResponsibleUnit: "省人力资源社会保障厅职业能力建设处"}, Definition: "就业率"},
			{Code: "training", Name: "职业培训", Unit: "万人次", Aggregate: AggregateCumulative,
				Comparison: Above, Baseline: f(200), Target: f(250), Milestones: map[int]float64{2023: 150},
				Source: Source{Kind: Reported, ResponsibleUnit: "各市人社局"}, Definition: "培训人次"},
		},
	}
}

func TestValidatePlan(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *Plan)
		field string
		key   string
	}{
		{"valid", func(p *Plan) {}, "", ""},
		{"valid monitored figure", func(p *Plan) {
			p.Indicators[0].Target, p.Indicators[0].Comparison = nil, ""
		}, "", ""},
		{"valid group", func(p *Plan) { p.Indicators[0].Group = "sd-tingshu" }, "", ""},
		{"id empty", func(p *Plan) { p.ID = "" }, "id", "plan.id.format"},
		{"id upper case", func(p *Plan) { p.ID = "SD-plan" }, "id", "plan.id.format"},
		{"id double hyphen", func(p *Plan) { p.ID = "sd--plan" }, "id", "plan.id.format"},
		{"name empty", func(p *Plan) { p.Name = "  " }, "name", "field.required"},
		{"name markup", func(p *Plan) { p.Name = "<b>规划</b>" }, "name", "field.markup"},
		{"issuer empty", func(p *Plan) { p.Issuer = "" }, "issuer", "field.required"},
		{"level unknown", func(p *Plan) { p.Level = "county" }, "level", "field.one_of"},
		{"scope not a province", func(p *Plan) { p.ScopeCode = "371000" }, "scope_code", "plan.scope.level"},
		{"city plan with province code", func(p *Plan) { p.Level = LevelCity }, "scope_code", "plan.scope.level"},
		{"national plan with province code", func(p *Plan) { p.Level = LevelNational }, "scope_code", "plan.scope.level"},
		{"baseline year absurd", func(p *Plan) { p.BaselineYear = 1990 }, "baseline_year", "field.range"},
		{"target year precedes baseline", func(p *Plan) { p.TargetYear = 2019 }, "target_year", "plan.year.order"},
		{"target year equals baseline", func(p *Plan) { p.TargetYear = 2020 }, "target_year", "plan.year.order"},
		{"baseline from after baseline", func(p *Plan) { p.BaselineFrom = 2021 }, "baseline_from", "plan.baseline_from.range"},
		{"version zero", func(p *Plan) { p.Version = 0 }, "version", "plan.version.invalid"},
		{"no indicators", func(p *Plan) { p.Indicators = nil }, "indicators", "plan.indicators.empty"},
		{"too many indicators", func(p *Plan) { p.Indicators = make([]Indicator, MaxIndicators+1) }, "indicators", "plan.indicators.too_many"},
		{"duplicate code", func(p *Plan) { p.Indicators[3].Code = "avg_intake" }, "indicators[3].code", "plan.indicator.code.duplicate"},
		{"bad code", func(p *Plan) { p.Indicators[1].Code = "年均" }, "indicators[1].code", "plan.indicator.code.format"},
		{"indicator name empty", func(p *Plan) { p.Indicators[2].Name = "" }, "indicators[2].name", "field.required"},
		{"unit empty", func(p *Plan) { p.Indicators[0].Unit = "" }, "indicators[0].unit", "field.required"},
		{"definition empty", func(p *Plan) { p.Indicators[0].Definition = "" }, "indicators[0].definition", "field.required"},
		{"unknown aggregate", func(p *Plan) { p.Indicators[0].Aggregate = "median" }, "indicators[0].aggregate", "field.one_of"},
		{"unknown comparison", func(p *Plan) { p.Indicators[0].Comparison = "!=" }, "indicators[0].comparison", "field.one_of"},
		{"comparison missing", func(p *Plan) { p.Indicators[0].Comparison = "" }, "indicators[0].comparison", "field.one_of"},
		{"comparison without target", func(p *Plan) { p.Indicators[0].Target = nil }, "indicators[0].target", "plan.indicator.target.required"},
		{"milestones without target", func(p *Plan) {
			p.Indicators[3].Target, p.Indicators[3].Comparison = nil, ""
		}, "indicators[3].milestones", "plan.indicator.monitor.extra"},
		{"every year without target", func(p *Plan) {
			p.Indicators[0].Target, p.Indicators[0].Comparison, p.Indicators[0].EveryYear = nil, "", true
		}, "indicators[0].target", "plan.indicator.monitor.extra"},
		{"ratio unit not %", func(p *Plan) { p.Indicators[2].Unit = "个" }, "indicators[2].unit", "plan.indicator.unit.ratio"},
		{"ratio target above 100", func(p *Plan) { p.Indicators[2].Target = f(101) }, "indicators[2].target", "plan.value.ratio_too_high"},
		{"ratio baseline above 100", func(p *Plan) { p.Indicators[2].Baseline = f(100.5) }, "indicators[2].baseline", "plan.value.ratio_too_high"},
		{"negative target", func(p *Plan) { p.Indicators[1].Target = f(-1) }, "indicators[1].target", "plan.value.negative"},
		{"NaN target", func(p *Plan) { p.Indicators[1].Target = f(math.NaN()) }, "indicators[1].target", "plan.value.not_number"},
		{"fractional count", func(p *Plan) { p.Indicators[0].Target = f(50.5) }, "indicators[0].target", "plan.value.not_integer"},
		{"indicator target year after plan", func(p *Plan) { p.Indicators[0].TargetYear = 2026 }, "indicators[0].target_year", "plan.indicator.target_year.range"},
		{"indicator target year at baseline", func(p *Plan) { p.Indicators[0].TargetYear = 2020 }, "indicators[0].target_year", "plan.indicator.target_year.range"},
		{"every year on a cumulative", func(p *Plan) { p.Indicators[3].EveryYear = true }, "indicators[3].every_year", "plan.indicator.every_year.aggregate"},
		{"milestone at baseline year", func(p *Plan) { p.Indicators[3].Milestones = map[int]float64{2020: 1} }, "indicators[3].milestones.2020", "plan.indicator.milestone.year"},
		{"milestone after due year", func(p *Plan) {
			p.Indicators[0].TargetYear = 2024
			p.Indicators[0].Milestones = map[int]float64{2025: 50}
		}, "indicators[0].milestones.2025", "plan.indicator.milestone.year"},
		{"milestone ratio above 100", func(p *Plan) { p.Indicators[2].Milestones = map[int]float64{2022: 120} }, "indicators[2].milestones.2022", "plan.value.ratio_too_high"},
		{"unknown group", func(p *Plan) { p.Indicators[0].Group = "no-such-group" }, "indicators[0].group", "plan.indicator.group.unknown"},
		{"unknown rule", func(p *Plan) { p.Indicators[1].Source.Rule = "avg_intakes" }, "indicators[1].source.rule", "plan.indicator.rule.unknown"},
		{"computed without rule", func(p *Plan) { p.Indicators[1].Source.Rule = "" }, "indicators[1].source.rule", "plan.indicator.rule.unknown"},
		{"rule of another aggregate", func(p *Plan) { p.Indicators[1].Source.Rule = "intake" }, "indicators[1].source.rule", "plan.indicator.rule.aggregate"},
		{"rule unit not convertible", func(p *Plan) { p.Indicators[1].Unit = "人次" }, "indicators[1].source.rule", "plan.indicator.rule.unit"},
		{"reported with a rule", func(p *Plan) { p.Indicators[2].Source.Rule = "senior_share" }, "indicators[2].source.rule", "plan.indicator.rule.reported"},
		{"reported without unit", func(p *Plan) { p.Indicators[2].Source.ResponsibleUnit = "" }, "indicators[2].source.responsible_unit", "field.required"},
		{"unknown source kind", func(p *Plan) { p.Indicators[2].Source.Kind = "guessed" }, "indicators[2].source.kind", "field.one_of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan()
			tt.edit(&p)
			wantErr(t, ValidatePlan(&p, BuiltinGroupExists), apperr.Invalid, tt.field, tt.key)
		})
	}
}

func TestValidatePlanTidies(t *testing.T) {
	p := testPlan()
	p.Name = "  测试规划 "
	p.Indicators[0].Code = " technician_colleges "
	p.Indicators[0].Milestones = map[int]float64{}
	if err := ValidatePlan(&p, nil); err != nil {
		t.Fatal(err)
	}
	if p.Name != "测试规划" || p.Indicators[0].Code != "technician_colleges" || p.Indicators[0].Milestones != nil {
		t.Errorf("not tidied: %q %q %v", p.Name, p.Indicators[0].Code, p.Indicators[0].Milestones)
	}
	// Without a group lookup every group is unknown.
	p.Indicators[0].Group = "sd-tingshu"
	wantErr(t, ValidatePlan(&p, nil), apperr.Invalid, "indicators[0].group", "plan.indicator.group.unknown")
}

func TestPeriods(t *testing.T) {
	p := testPlan()
	if got := p.Period(); got != (Window{2021, 2025}) {
		t.Errorf("Period = %v", got)
	}
	if got := p.BaselinePeriod(); got != (Window{2016, 2020}) {
		t.Errorf("BaselinePeriod = %v", got)
	}
	p.BaselineFrom = 0 // the previous period of the same length
	p.BaselineYear, p.TargetYear = 2022, 2028
	if got := p.BaselinePeriod(); got != (Window{2017, 2022}) {
		t.Errorf("default BaselinePeriod = %v", got)
	}
	ind := p.Indicators[0]
	if ind.DueYear(&p) != 2028 {
		t.Error("due year should default to the plan's")
	}
	ind.TargetYear = 2025
	if ind.DueYear(&p) != 2025 {
		t.Error("due year should be the indicator's")
	}
}

func TestWindow(t *testing.T) {
	p := testPlan() // baseline 2020 summarising 2016–2020, plan 2021–2025
	tests := []struct {
		agg  Aggregate
		year int
		want Window
		ok   bool
	}{
		{AggregateCount, 2023, Window{2023, 2023}, true},
		{AggregateRatio, 2020, Window{2020, 2020}, true},
		{AggregateYearlyAverage, 2020, Window{2016, 2020}, true}, // the 十三五 column
		{AggregateYearlyAverage, 2018, Window{2016, 2018}, true},
		{AggregateYearlyAverage, 2021, Window{2021, 2021}, true},
		{AggregateYearlyAverage, 2023, Window{2021, 2023}, true},
		{AggregateCumulative, 2025, Window{2021, 2025}, true},
		{AggregateCumulative, 2020, Window{2016, 2020}, true},
		{AggregateCount, 2015, Window{}, false},
		{AggregateYearlyAverage, 2026, Window{}, false},
	}
	for _, tt := range tests {
		got, ok := p.Window(tt.agg, tt.year)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Window(%s, %d) = %v %v, want %v %v", tt.agg, tt.year, got, ok, tt.want, tt.ok)
		}
	}
	if ys := (Window{2021, 2023}).Years(); len(ys) != 3 || ys[0] != 2021 || ys[2] != 2023 {
		t.Errorf("Years = %v", ys)
	}
}

func TestClone(t *testing.T) {
	p := testPlan()
	c := p.Clone()
	*c.Indicators[0].Target = 99
	c.Indicators[3].Milestones[2023] = 1
	c.Indicators[1].Name = "改"
	if *p.Indicators[0].Target != 50 || p.Indicators[3].Milestones[2023] != 150 || p.Indicators[1].Name != "年均招生规模" {
		t.Error("Clone shares memory with the original")
	}
}

func TestValidateGroup(t *testing.T) {
	tests := []struct {
		name  string
		g     Group
		field string
		key   string
	}{
		{"valid", Group{Code: "sd-tingshu", Name: "厅属院校", ScopeCode: "370000"}, "", ""},
		{"valid city group", Group{Code: "wh.jt", Name: "威海集团院校", ScopeCode: "371000"}, "", ""},
		{"bad code", Group{Code: "厅属", Name: "厅属院校", ScopeCode: "370000"}, "code", "plan.group.code.format"},
		{"no name", Group{Code: "g1", ScopeCode: "370000"}, "name", "field.required"},
		{"county scope", Group{Code: "g1", Name: "组", ScopeCode: "370102"}, "scope_code", "plan.group.scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, ValidateGroup(&tt.g), apperr.Invalid, tt.field, tt.key)
		})
	}
}

func TestScopeContains(t *testing.T) {
	tests := []struct {
		outer, inner string
		want         bool
	}{
		{NationalScope, "370000", true},
		{NationalScope, "371000", true},
		{"370000", "370000", true},
		{"370000", "371000", true},
		{"370000", "410100", false},
		{"370000", NationalScope, false},
		{"371000", "371000", true},
		{"371000", "370100", false},
		{"371000", "370000", false},
	}
	for _, tt := range tests {
		if got := scopeContains(tt.outer, tt.inner); got != tt.want {
			t.Errorf("scopeContains(%s, %s) = %v", tt.outer, tt.inner, got)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, a := range Aggregates {
		if a.Label() == string(a) {
			t.Errorf("aggregate %s has no label", a)
		}
	}
	for _, l := range Levels {
		if l.Label() == string(l) {
			t.Errorf("level %s has no label", l)
		}
	}
	if AtLeast.Label() != "≥" || AtMost.Label() != "≤" || Above.Label() != ">" || About.Label() != "约" {
		t.Error("comparison labels")
	}
	if !AggregateCount.Additive() || !AggregateYearlyAverage.Additive() || AggregateRatio.Additive() || Aggregate("x").Additive() {
		t.Error("Additive")
	}
}
