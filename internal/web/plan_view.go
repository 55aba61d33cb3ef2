package web

// How plans, dashboards and their numbers are shown: every value with its
// unit, its target, its status and a plain account of how it was formed,
// the same on the page, in the print view, in the .xlsx and in the API.

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/i18n"
	"github.com/gongjiang/gongjiang/internal/plan"
)

// fmtNum shows a figure: whole numbers with thousands separators, others
// with at most two decimals.
func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	r := math.Round(v*100) / 100
	neg := r < 0
	if neg {
		r = -r
	}
	whole, frac := math.Modf(r)
	digits := strconv.FormatFloat(whole, 'f', 0, 64)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac > 0.0000001 {
		f := strconv.FormatFloat(r-whole, 'f', 2, 64) // "0.50"
		b.WriteString(strings.TrimRight(f[1:], "0"))
	}
	return b.String()
}

// fmtValue is fmtNum for a value that may be missing.
func fmtValue(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmtNum(*v)
}

// withUnit puts the unit after a value: "55%", "15.5 万人".
func withUnit(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	if unit == "%" {
		return fmtNum(*v) + "%"
	}
	return fmtNum(*v) + " " + unit
}

// statusClass is the CSS class of a status badge.
func statusClass(s plan.Status) string {
	switch s {
	case plan.StatusMet:
		return "st-met"
	case plan.StatusOnTrack:
		return "st-ontrack"
	case plan.StatusBehind:
		return "st-behind"
	case plan.StatusNoData:
		return "st-nodata"
	}
	return "st-none"
}

// targetText is the target as the plan states it: "＞ 55%（2025年）".
func targetText(r *plan.Row, p *plan.Plan) string {
	if r.Target == nil {
		return "监测，不设目标"
	}
	s := r.Comparison.Label() + " " + withUnit(r.Target, r.Unit)
	ind, ok := p.Indicator(r.Code)
	switch {
	case ok && ind.EveryYear:
		s += "（每年）"
	case r.DueYear != p.TargetYear:
		s += "（" + strconv.Itoa(r.DueYear) + "年）"
	}
	return s
}

// explain says in plain words how a row's value was formed, one line per
// step, down to the yearly sums it rests on.
func explain(r *plan.DashboardRow) []string {
	c := &r.Computation
	var lines []string
	unitOf := func(v float64, unit string) string { return withUnit(&v, unit) }
	if c.Source == plan.Computed {
		for _, y := range c.Years {
			if c.Aggregate == plan.AggregateRatio {
				lines = append(lines, i18n.T("plans.explain.ratio_year", y.Year, fmtNum(y.Numerator), fmtNum(y.Denominator)))
			} else {
				lines = append(lines, i18n.T("plans.explain.year", y.Year, unitOf(y.Numerator, c.FigureUnit)))
			}
		}
	} else {
		for _, y := range c.Years {
			if !containsYear(c.MissingYears, y.Year) {
				lines = append(lines, i18n.T("plans.explain.reported_year", y.Year, unitOf(y.Numerator, c.FigureUnit)))
			}
		}
	}
	if len(c.MissingYears) > 0 {
		years := make([]string, len(c.MissingYears))
		for i, y := range c.MissingYears {
			years[i] = strconv.Itoa(y)
		}
		key := "plans.explain.missing"
		if c.Source == plan.Reported {
			key = "plans.explain.unreported"
		}
		return append(lines, i18n.T(key, strings.Join(years, "、")))
	}
	if c.Value == nil {
		if c.Aggregate == plan.AggregateRatio && c.Source == plan.Computed {
			lines = append(lines, i18n.T("plans.explain.no_denominator"))
		}
		return lines
	}
	var sum float64
	for _, y := range c.Years {
		sum += y.Numerator
	}
	n := len(c.Years)
	switch c.Aggregate {
	case plan.AggregateYearlyAverage:
		lines = append(lines, i18n.T("plans.explain.average", n, unitOf(sum, c.FigureUnit), n, unitOf(sum/float64(n), c.FigureUnit)))
		sum /= float64(n)
	case plan.AggregateCumulative:
		if n > 1 {
			lines = append(lines, i18n.T("plans.explain.total", n, unitOf(sum, c.FigureUnit)))
		}
	case plan.AggregateRatio:
		if c.Source == plan.Computed {
			var num, den float64
			for _, y := range c.Years {
				num, den = num+y.Numerator, den+y.Denominator
			}
			lines = append(lines, i18n.T("plans.explain.ratio", fmtNum(num), fmtNum(den), withUnit(c.Value, "%")))
		}
	}
	if c.Factor != 1 && c.Aggregate != plan.AggregateRatio {
		lines = append(lines, i18n.T("plans.explain.factor", unitOf(sum, c.FigureUnit), fmtNum(c.Factor), withUnit(c.Value, r.Unit)))
	}
	if m := r.Reported; m != nil {
		if m.RolledUp {
			lines = append(lines, i18n.T("plans.explain.rolled_up"))
		}
		lines = append(lines, i18n.T("plans.explain.reports", m.Reports, m.Pending))
	}
	return lines
}

func containsYear(ys []int, y int) bool {
	for _, x := range ys {
		if x == y {
			return true
		}
	}
	return false
}

// chartData is what plans.js draws: a trend (line with the expected path
// and the target) or bars (a breakdown).
type chartData struct {
	Kind     string     `json:"kind"` // "trend" or "bars"
	Title    string     `json:"title"`
	Unit     string     `json:"unit"`
	Labels   []string   `json:"labels"`
	Values   []*float64 `json:"values"`
	Expected []*float64 `json:"expected,omitempty"`
	Statuses []string   `json:"statuses,omitempty"`
	Target   *float64   `json:"target,omitempty"`
	// TargetText labels the target line: "目标 ＞55%".
	TargetText string `json:"target_text,omitempty"`
	Selected   string `json:"selected,omitempty"` // the label of the year shown
}

// JSON is the chart's data for its element's data-chart attribute (htmx
// drops script elements from what it swaps in, so no JSON script).
func (c chartData) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// HasValues reports whether there is anything to draw.
func (c chartData) HasValues() bool {
	for _, v := range c.Values {
		if v != nil {
			return true
		}
	}
	return false
}

// trendChart draws a row's trend. A total's target belongs to the plan's
// whole scope: a part of it (a city, a school) is drawn without it.
func trendChart(r *plan.DashboardRow, year int, whole bool) chartData {
	c := chartData{Kind: "trend", Title: r.Name, Unit: r.Unit, Target: r.Target, Selected: strconv.Itoa(year)}
	if !whole && r.Aggregate.Additive() {
		c.Target = nil
	}
	if c.Target != nil {
		c.TargetText = "目标 " + r.Comparison.Label() + withUnit(r.Target, r.Unit)
	}
	for _, p := range r.Trend {
		c.Labels = append(c.Labels, strconv.Itoa(p.Year))
		c.Values = append(c.Values, p.Value)
		c.Expected = append(c.Expected, p.Expected)
		c.Statuses = append(c.Statuses, string(p.Status))
	}
	return c
}

func barChart(title, unit string, parts []plan.Breakdown) chartData {
	c := chartData{Kind: "bars", Title: title, Unit: unit}
	for _, p := range parts {
		c.Labels = append(c.Labels, p.Name)
		c.Values = append(c.Values, p.Value)
	}
	return c
}

// planRow is a dashboard row as the pages show it.
type planRow struct {
	plan.DashboardRow
	Index       int
	URL         string // the drill-down
	ValueText   string
	Baseline    string
	TargetText  string
	Expected    string
	StatusClass string
	BasisText   string
	SourceLabel string
	GroupName   string
	Lines       []string
	Chart       chartData
}

// scopeQuery is the query string that keeps the year and scope shown.
func scopeQuery(year int, scope plan.Scope, whole bool) string {
	v := url.Values{"year": {strconv.Itoa(year)}}
	if !whole {
		v.Set("scope", scope.Code)
	}
	return v.Encode()
}

func planRows(d *plan.Dashboard, groupNames map[string]string) []planRow {
	q := scopeQuery(d.Year, d.Scope, d.Scope.Whole)
	out := make([]planRow, len(d.Rows))
	for i := range d.Rows {
		out[i] = newPlanRow(&d.Rows[i], &d.Plan.Plan, d.Year, d.Scope.Whole, groupNames)
		out[i].Index = i + 1
		out[i].URL = "/plans/" + d.Plan.ID + "/indicators/" + url.PathEscape(d.Rows[i].Code) + "?" + q
	}
	return out
}

func newPlanRow(r *plan.DashboardRow, p *plan.Plan, year int, whole bool, groupNames map[string]string) planRow {
	pr := planRow{DashboardRow: *r, ValueText: withUnit(r.Value, r.Unit), Baseline: withUnit(r.Baseline, r.Unit),
		TargetText: targetText(&r.Row, p), Expected: withUnit(r.Expected, r.Unit), StatusClass: statusClass(r.Status),
		BasisText: i18n.T(r.Basis), SourceLabel: r.Source.Kind.Label(), GroupName: groupNames[r.Group], Lines: explain(r),
		Chart: trendChart(r, year, whole)}
	if r.Expected == nil {
		pr.Expected = ""
	}
	return pr
}

// dashboardItem is a dashboard row in the API: the contract's code,
// name, unit, value, target and status, and what they rest on.
type dashboardItem struct {
	Code            string             `json:"code"`
	Name            string             `json:"name"`
	Section         string             `json:"section,omitempty"`
	Unit            string             `json:"unit"`
	Value           *float64           `json:"value"`
	Target          *float64           `json:"target"`
	Status          plan.Status        `json:"status"`
	Baseline        *float64           `json:"baseline"`
	Comparison      plan.Comparison    `json:"comparison,omitempty"`
	DueYear         int                `json:"due_year"`
	Expected        *float64           `json:"expected"`
	Basis           string             `json:"basis"`
	BasisKey        string             `json:"basis_key"`
	Aggregate       plan.Aggregate     `json:"aggregate"`
	SourceKind      plan.SourceKind    `json:"source_kind"`
	SourceLabel     string             `json:"source_label"`
	Rule            string             `json:"rule,omitempty"`
	ResponsibleUnit string             `json:"responsible_unit,omitempty"`
	Group           string             `json:"group,omitempty"`
	Definition      string             `json:"definition"`
	RuleDefinition  string             `json:"rule_definition,omitempty"`
	Computation     plan.Computation   `json:"computation"`
	Explanation     []string           `json:"explanation"`
	Reported        *plan.ReportedMark `json:"reported,omitempty"`
	Trend           []plan.TrendPoint  `json:"trend"`
}

func newDashboardItem(r *plan.DashboardRow) dashboardItem {
	return dashboardItem{Code: r.Code, Name: r.Name, Section: r.Section, Unit: r.Unit, Value: r.Value, Target: r.Target, Status: r.Status,
		Baseline: r.Baseline, Comparison: r.Comparison, DueYear: r.DueYear, Expected: r.Expected, Basis: i18n.T(r.Basis), BasisKey: r.Basis,
		Aggregate: r.Aggregate, SourceKind: r.Source.Kind, SourceLabel: r.Source.Kind.Label(), Rule: r.Source.Rule,
		ResponsibleUnit: r.Source.ResponsibleUnit, Group: r.Group, Definition: r.Definition, RuleDefinition: r.RuleDefinition,
		Computation: r.Computation, Explanation: nonNilLines(explain(r)), Reported: r.Reported, Trend: r.Trend}
}

func nonNilLines(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// dashboardBody is GET /api/v1/plans/{id}/dashboard.
type dashboardBody struct {
	Plan      plan.Summary       `json:"plan"`
	Year      int                `json:"year"`
	Years     []int              `json:"years"`
	Scope     plan.Scope         `json:"scope"`
	FactsAsOf *time.Time         `json:"facts_as_of"`
	Counts    []plan.StatusCount `json:"counts"`
	Hidden    int                `json:"hidden"`
	Items     []dashboardItem    `json:"items"`
}

func newDashboardBody(d *plan.Dashboard) dashboardBody {
	b := dashboardBody{Plan: d.Plan.Summary(), Year: d.Year, Years: d.Years, Scope: d.Scope, Counts: d.Counts, Hidden: d.Hidden,
		Items: make([]dashboardItem, len(d.Rows))}
	if !d.FactsAsOf.IsZero() {
		b.FactsAsOf = &d.FactsAsOf
	}
	for i := range d.Rows {
		b.Items[i] = newDashboardItem(&d.Rows[i])
	}
	return b
}
