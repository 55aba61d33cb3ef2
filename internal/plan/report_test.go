package plan

import (
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
)

var (
	province = auth.Principal{UserID: 1, Name: "sheng", Role: auth.RoleProvince}
	weihai   = auth.Principal{UserID: 2, Name: "weihai", Role: auth.RoleCity, ScopeCode: "371000"}
	schoolP  = auth.Principal{UserID: 3, Name: "xuexiao", Role: auth.RoleSchool, ScopeCode: "S0001"}
	auditor  = auth.Principal{UserID: 4, Name: "shenji", Role: auth.RoleAuditor}
)

func TestNewReport(t *testing.T) {
	at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	good := ReportInput{Version: 1, Indicator: "employment_rate", Year: 2023, Scope: "370000", Value: "97.4", Evidence: "2023年技工院校毕业生就业统计表"}
	tests := []struct {
		name  string
		by    auth.Principal
		edit  func(in *ReportInput)
		code  apperr.Code
		field string
		key   string
	}{
		{"province reports for the province", province, func(in *ReportInput) {}, "", "", ""},
		{"province reports for a city", province, func(in *ReportInput) { in.Scope = "371000" }, "", "", ""},
		{"city reports for itself", weihai, func(in *ReportInput) { in.Scope = "371000" }, "", "", ""},
		{"baseline year may be reported", province, func(in *ReportInput) { in.Year = 2020 }, "", "", ""},
		{"target year may be reported", province, func(in *ReportInput) { in.Year = 2025 }, "", "", ""},
		{"city reports for the province", weihai, func(in *ReportInput) {}, apperr.Forbidden, "scope", "plan.report.scope.forbidden"},
		{"city reports for another city", weihai, func(in *ReportInput) { in.Scope = "370200" }, apperr.Forbidden, "scope", "plan.report.scope.forbidden"},
		{"school may not report", schoolP, func(in *ReportInput) {}, apperr.Forbidden, "", "plan.report.forbidden"},
		{"auditor may not report", auditor, func(in *ReportInput) {}, apperr.Forbidden, "", "plan.report.forbidden"},
		{"anonymous may not report", auth.Principal{}, func(in *ReportInput) {}, apperr.Forbidden, "", "plan.report.forbidden"},
		{"scope outside the plan", province, func(in *ReportInput) { in.Scope = "410000" }, apperr.Invalid, "scope", "plan.report.scope.outside_plan"},
		{"national scope outside a provincial plan", province, func(in *ReportInput) { in.Scope = NationalScope }, apperr.Invalid, "scope", "plan.report.scope.outside_plan"},
		{"county is not a reporting scope", province, func(in *ReportInput) { in.Scope = "371002" }, apperr.Invalid, "scope", "plan.report.scope.invalid"},
		{"scope is not a code", province, func(in *ReportInput) { in.Scope = "山东" }, apperr.Invalid, "scope", "plan.report.scope.invalid"},
		{"year before the plan", province, func(in *ReportInput) { in.Year = 2019 }, apperr.Invalid, "year", "plan.report.year.outside"},
		{"year after the plan", province, func(in *ReportInput) { in.Year = 2026 }, apperr.Invalid, "year", "plan.report.year.outside"},
		{"computed indicator", province, func(in *ReportInput) { in.Indicator = "avg_intake" }, apperr.Invalid, "indicator", "plan.report.indicator.computed"},
		{"unknown indicator", province, func(in *ReportInput) { in.Indicator = "nothing" }, apperr.Invalid, "indicator", "plan.report.indicator.unknown"},
		{"stale version", province, func(in *ReportInput) { in.Version = 0 }, apperr.Conflict, "version", "plan.report.version.stale"},
		{"non-numeric", province, func(in *ReportInput) { in.Value = "约九成" }, apperr.Invalid, "value", "plan.report.value.not_number"},
		{"empty value", province, func(in *ReportInput) { in.Value = " " }, apperr.Invalid, "value", "field.required"},
		{"negative", province, func(in *ReportInput) { in.Value = "-3" }, apperr.Invalid, "value", "plan.value.negative"},
		{"ratio above 100%", province, func(in *ReportInput) { in.Value = "100.5%" }, apperr.Invalid, "value", "plan.value.ratio_too_high"},
		{"fractional count", province, func(in *ReportInput) { in.Indicator = "groups"; in.Value = "12.5" }, apperr.Invalid, "value", "plan.value.not_integer"},
		{"no evidence", province, func(in *ReportInput) { in.Evidence = "  " }, apperr.Invalid, "evidence", "field.required"},
		{"evidence with markup", province, func(in *ReportInput) { in.Evidence = "<script>" }, apperr.Invalid, "evidence", "field.markup"},
	}
	p := testPlan()
	p.Indicators = append(p.Indicators, Indicator{Code: "groups", Name: "技工教育集团", Unit: "个", Aggregate: AggregateCount,
		Comparison: About, Target: f(15), Source: Source{Kind: Reported, ResponsibleUnit: "省人力资源社会保障厅职业能力建设处"}, Definition: "集团数"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.edit(&in)
			r, err := NewReport(&p, in, tt.by, at)
			wantErr(t, err, tt.code, tt.field, tt.key)
			if err == nil && (r.PlanID != "test-plan" || r.Version != 1 || r.ReportedBy != tt.by.UserID || r.ReportedByName != tt.by.Name || !r.ReportedAt.Equal(at) || r.Evidence == "" || r.Entered != in.Value) {
				t.Errorf("report = %+v", r)
			}
		})
	}
}

func TestNewReportNationalPlan(t *testing.T) {
	p, _ := BuiltinPlan("mohrss-jg-14-5")
	in := ReportInput{Version: 1, Indicator: "training_yearly", Year: 2022, Scope: "370000", Value: "52.6万人次", Evidence: "山东省年报"}
	r, err := NewReport(&p, in, province, time.Now())
	if err != nil || r.Value != 52.6 || r.Scope != "370000" {
		t.Fatalf("report %+v %v", r, err)
	}
	in.Scope = NationalScope
	if _, err := NewReport(&p, in, province, time.Now()); err != nil {
		t.Errorf("the whole country is inside a national plan: %v", err)
	}
	in.Scope = "371000"
	if _, err := NewReport(&p, in, weihai, time.Now()); err != nil {
		t.Errorf("a city inside a national plan: %v", err)
	}
}

func TestParseValue(t *testing.T) {
	ratio := &Indicator{Unit: "%", Aggregate: AggregateRatio}
	tenK := &Indicator{Unit: "万人次", Aggregate: AggregateSum}
	count := &Indicator{Unit: "所", Aggregate: AggregateCount}
	people := &Indicator{Unit: "人次", Aggregate: AggregateSum}
	tests := []struct {
		name string
		ind  *Indicator
		text string
		want float64
		key  string
	}{
		{"plain", ratio, "97.4", 97.4, ""},
		{"percent sign", ratio, "97.4%", 97.4, ""},
		{"full width", ratio, "９７．４％", 97.4, ""},
		{"spaces", ratio, "  98 ", 98, ""},
		{"zero", ratio, "0", 0, ""},
		{"negative zero", ratio, "-0", 0, ""},
		{"exactly 100", ratio, "100", 100, ""},
		{"leading point", ratio, ".5", 0.5, ""},
		{"unit suffix", tenK, "55.2万人次", 55.2, ""},
		{"thousands", people, "1,234", 1234, ""},
		{"thousands full width", people, "１，２３４，５６７", 1234567, ""},
		{"count", count, "51所", 51, ""},
		{"above 100%", ratio, "100.01", 0, "plan.value.ratio_too_high"},
		{"negative", tenK, "-1", 0, "plan.value.negative"},
		{"fraction of a count", count, "50.5", 0, "plan.value.not_integer"},
		{"words", ratio, "九十七", 0, "plan.report.value.not_number"},
		{"NaN", ratio, "NaN", 0, "plan.report.value.not_number"},
		{"infinity", tenK, "Inf", 0, "plan.report.value.not_number"},
		{"exponent", tenK, "1e3", 0, "plan.report.value.not_number"},
		{"hex", tenK, "0x10", 0, "plan.report.value.not_number"},
		{"two numbers", tenK, "50 60", 0, "plan.report.value.not_number"},
		{"bad grouping", people, "1,23", 0, "plan.report.value.not_number"},
		{"wrong unit", tenK, "55万人", 0, "plan.report.value.not_number"},
		{"percent on a count", count, "50%", 0, "plan.report.value.not_number"},
		{"empty", ratio, "", 0, "field.required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseValue(tt.text, tt.ind)
			wantErr(t, err, apperr.Invalid, "value", tt.key)
			if err == nil && v != tt.want {
				t.Errorf("ParseValue(%q) = %v, want %v", tt.text, v, tt.want)
			}
		})
	}
}

func TestRollUp(t *testing.T) {
	sum := &Indicator{Aggregate: AggregateCumulative}
	if v, ok := RollUp(sum, []float64{10, 20.5, 3}); !ok || v != 33.5 {
		t.Errorf("RollUp = %v %v", v, ok)
	}
	if _, ok := RollUp(&Indicator{Aggregate: AggregateRatio}, []float64{90, 95}); ok {
		t.Error("ratios must not be rolled up from ratios")
	}
	if _, ok := RollUp(sum, nil); ok {
		t.Error("nothing to roll up")
	}
}
