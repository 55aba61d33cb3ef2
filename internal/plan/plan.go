package plan

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Level is who issued a plan and so whose figures it governs.
type Level string

const (
	LevelNational   Level = "national"   // 人社部: all of China
	LevelProvince   Level = "province"   // 省人社厅: a province
	LevelDepartment Level = "department" // 省人社厅 for its own colleges (厅属院校)
	LevelCity       Level = "city"       // 市人社局: one city
)

// Levels lists the plan levels in display order.
var Levels = []Level{LevelNational, LevelProvince, LevelDepartment, LevelCity}

// Label is the level's Chinese name.
func (l Level) Label() string {
	switch l {
	case LevelNational:
		return "国家"
	case LevelProvince:
		return "省"
	case LevelDepartment:
		return "省人社厅（厅属院校）"
	case LevelCity:
		return "市"
	}
	return string(l)
}

// NationalScope is the scope code of a national plan. GB/T 2260 has no
// code for the whole country, so six zeros stand for 全国.
const NationalScope = "000000"

// Aggregate says how an indicator's value is formed from yearly figures.
// Count, sum and ratio are the figure of the asked year alone; yearly
// average and cumulative combine the years of the plan period up to it
// (see Plan.Window).
type Aggregate string

const (
	AggregateCount         Aggregate = "count"          // a number of things (所, 个): whole numbers, additive
	AggregateSum           Aggregate = "sum"            // an amount in the year (人, 人次): additive
	AggregateRatio         Aggregate = "ratio"          // a share in %, 0–100, from sums of parts and wholes: not additive
	AggregateYearlyAverage Aggregate = "yearly_average" // mean of the yearly sums over the period so far (年均)
	AggregateCumulative    Aggregate = "cumulative"     // total of the yearly sums over the period so far (累计)
)

// Aggregates lists the aggregate kinds in display order.
var Aggregates = []Aggregate{AggregateCount, AggregateSum, AggregateRatio, AggregateYearlyAverage, AggregateCumulative}

// Label is the aggregate's Chinese name.
func (a Aggregate) Label() string {
	switch a {
	case AggregateCount:
		return "计数"
	case AggregateSum:
		return "总量"
	case AggregateRatio:
		return "比例"
	case AggregateYearlyAverage:
		return "年均"
	case AggregateCumulative:
		return "期间累计"
	}
	return string(a)
}

// Additive reports whether values of this kind at disjoint scopes add up
// to the value of their union: true for all but ratios.
func (a Aggregate) Additive() bool { return a != AggregateRatio && slices.Contains(Aggregates, a) }

// overPeriod reports whether the aggregate combines several years.
func (a Aggregate) overPeriod() bool {
	return a == AggregateYearlyAverage || a == AggregateCumulative
}

// Comparison is how a value is held against its target.
type Comparison string

const (
	AtLeast Comparison = ">=" // 不少于, 不低于, 以上 (以上 includes the number in Chinese legal usage)
	Above   Comparison = ">"  // 超过, and the ">" printed in a table
	AtMost  Comparison = "<=" // 不超过, 以内
	Below   Comparison = "<"  // 低于
	Equal   Comparison = "="  // exactly (e.g. 100%: 全部)
	// About is 左右: met when the value reaches the target less
	// AboutTolerance; more than the target also counts as met, because the
	// 左右 targets in these plans are numbers of things to build, where
	// building more is no failure.
	About Comparison = "≈"
)

// AboutTolerance is how far below a 左右 target a value may fall and still
// meet it.
const AboutTolerance = 0.10

// Comparisons lists the comparisons in display order.
var Comparisons = []Comparison{AtLeast, Above, AtMost, Below, Equal, About}

// Label is the comparison as shown before a target, e.g. "≥".
func (c Comparison) Label() string {
	switch c {
	case AtLeast:
		return "≥"
	case AtMost:
		return "≤"
	case About:
		return "约"
	}
	return string(c)
}

// lowerIsBetter reports whether values below the target are the goal; for
// Equal it depends on where the path starts.
func (c Comparison) lowerIsBetter(start, target float64) bool {
	switch c {
	case AtMost, Below:
		return true
	case Equal:
		return target < start
	}
	return false
}

// SourceKind says where an indicator's values come from.
type SourceKind string

const (
	// Computed values come from the records by a named rule; nobody enters them.
	Computed SourceKind = "computed"
	// Reported values are entered per year and scope by a named unit, with
	// the evidence they rest on, until the records can answer.
	Reported SourceKind = "reported"
)

// Label is how the dashboard says which is which.
func (k SourceKind) Label() string {
	switch k {
	case Computed:
		return "由记录自动计算"
	case Reported:
		return "填报"
	}
	return string(k)
}

// Source is where an indicator's values come from.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Rule names the computation of a computed indicator (see Rules).
	Rule string `json:"rule,omitempty"`
	// ResponsibleUnit is the 牵头/报送单位 that answers for the figure;
	// required for reported indicators, as the seed names it where it does.
	ResponsibleUnit string `json:"responsible_unit,omitempty"`
}

// Plan is a plan (规划, 实施意见, 措施) as data: its period, scope and
// indicators. Plans are versioned: once values were reported against a
// version, an edit makes the next version (see Revise).
type Plan struct {
	ID       string `json:"id"` // stable slug, e.g. "sd-jg-14-5"
	Name     string `json:"name"`
	Issuer   string `json:"issuer"`
	Document string `json:"document,omitempty"` // 文号 and title of the source document
	Level    Level  `json:"level"`
	// ScopeCode is the division the plan governs: NationalScope, a province
	// code (province and department plans) or a city code.
	ScopeCode string `json:"scope_code"`
	// BaselineYear is the year of the baseline values; the plan period runs
	// from the year after it to TargetYear.
	BaselineYear int `json:"baseline_year"`
	// BaselineFrom is the first year of the period the baseline values of
	// yearly averages and cumulative totals summarise (2016 for a 十四五
	// plan's 2020 column, which sums up 十三五). Zero means the period of
	// the same length as the plan's, ending at BaselineYear.
	BaselineFrom int         `json:"baseline_from,omitempty"`
	TargetYear   int         `json:"target_year"`
	Version      int         `json:"version"`
	Note         string      `json:"note,omitempty"` // how the seed was read, for reviewers
	Indicators   []Indicator `json:"indicators"`
}

// Indicator is one measured target of a plan.
type Indicator struct {
	Code string `json:"code"` // unique in the plan
	Name string `json:"name"`
	// Section is where the indicator stands in the document, e.g. "专栏1".
	Section    string     `json:"section,omitempty"`
	Unit       string     `json:"unit"` // 所, 个, 万人, 万人次, %, …
	Aggregate  Aggregate  `json:"aggregate"`
	Comparison Comparison `json:"comparison,omitempty"` // empty for a monitored figure without target
	Baseline   *float64   `json:"baseline"`             // nil when the document gives none ("——")
	// Target is nil for a figure the document reports without a target
	// (监测指标): its value and trend are shown, never judged.
	Target *float64 `json:"target"`
	// TargetYear is when the target is due when that is not the plan's
	// target year (e.g. "用3年左右时间"). Zero means the plan's.
	TargetYear int `json:"target_year,omitempty"`
	// EveryYear means the target holds in each year of the period (每年…),
	// not only at the end: each year is met or behind, with no path.
	EveryYear bool `json:"every_year,omitempty"`
	// Milestones are yearly intermediate targets; a year's milestone
	// replaces the straight path for that year.
	Milestones map[int]float64 `json:"milestones,omitempty"`
	Source     Source          `json:"source"`
	// Group is the school group the indicator is measured on (e.g. 厅属院校);
	// empty for all schools in scope.
	Group string `json:"group,omitempty"`
	// Definition says in Chinese what is counted and how.
	Definition string `json:"definition"`
	// Quote is the sentence of the source document the target comes from.
	Quote string `json:"quote,omitempty"`
}

// Group is a named set of schools an indicator can be measured on, such as
// the department's own colleges (厅属院校). Its members are data the
// province maintains; the seeds cannot say them.
type Group struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	ScopeCode   string `json:"scope_code"`
	Description string `json:"description"`
	// NamedInSource are member schools the source documents name, which may
	// be only some of them.
	NamedInSource []string `json:"named_in_source,omitempty"`
	// Schools are the member school codes.
	Schools []string `json:"schools,omitempty"`
}

// GroupExists says whether a school group code is known.
type GroupExists func(code string) bool

// Limits on plans.
const (
	MinYear          = 2000
	MaxYear          = 2100
	MaxIndicators    = 100
	MaxNameLength    = 100
	MaxTextLength    = 200
	MaxDefinition    = 1000
	MaxQuote         = 2000
	MaxUnitLength    = 10
	maxBaselineYears = 20
)

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	codePattern = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
)

// Period is the plan's own years: the year after the baseline to the target.
func (p *Plan) Period() Window { return Window{From: p.BaselineYear + 1, To: p.TargetYear} }

// BaselinePeriod is the years the baseline values of yearly averages and
// cumulative totals summarise.
func (p *Plan) BaselinePeriod() Window {
	from := p.BaselineFrom
	if from == 0 {
		from = p.BaselineYear - (p.TargetYear - p.BaselineYear) + 1
	}
	return Window{From: from, To: p.BaselineYear}
}

// Indicator returns the indicator with the code.
func (p *Plan) Indicator(code string) (*Indicator, bool) {
	for i := range p.Indicators {
		if p.Indicators[i].Code == code {
			return &p.Indicators[i], true
		}
	}
	return nil, false
}

// GroupCodes are the school groups the plan's indicators are measured on.
func (p *Plan) GroupCodes() []string {
	var out []string
	for _, ind := range p.Indicators {
		if ind.Group != "" && !slices.Contains(out, ind.Group) {
			out = append(out, ind.Group)
		}
	}
	return out
}

// DueYear is the year the indicator's target is due.
func (ind *Indicator) DueYear(p *Plan) int {
	if ind.TargetYear != 0 {
		return ind.TargetYear
	}
	return p.TargetYear
}

// Clone returns a deep copy.
func (p Plan) Clone() Plan {
	p.Indicators = slices.Clone(p.Indicators)
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		ind.Baseline = clonePtr(ind.Baseline)
		ind.Target = clonePtr(ind.Target)
		if ind.Milestones != nil {
			m := make(map[int]float64, len(ind.Milestones))
			for y, v := range ind.Milestones {
				m[y] = v
			}
			ind.Milestones = m
		}
	}
	return p
}

func clonePtr(v *float64) *float64 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// ValidatePlan checks a plan and tidies its text (trims spaces, drops empty
// milestone maps). It returns the first problem as an *apperr.Error whose
// field is a path such as "indicators[3].target".
func ValidatePlan(p *Plan, groupExists GroupExists) error {
	p.ID = strings.TrimSpace(p.ID)
	if n := len(p.ID); n < 3 || n > 40 || !idPattern.MatchString(p.ID) {
		return apperr.E(apperr.Invalid, "id", "plan.id.format")
	}
	var err error
	if p.Name, err = checkText("name", "规划名称", p.Name, MaxNameLength, true); err != nil {
		return err
	}
	if p.Issuer, err = checkText("issuer", "发布单位", p.Issuer, MaxTextLength, true); err != nil {
		return err
	}
	if p.Document, err = checkText("document", "文件", p.Document, MaxTextLength, false); err != nil {
		return err
	}
	if p.Note, err = checkText("note", "说明", p.Note, MaxQuote, false); err != nil {
		return err
	}
	if !slices.Contains(Levels, p.Level) {
		return apperr.E(apperr.Invalid, "level", "field.one_of", "规划层级", joinLabels(Levels))
	}
	if err := checkPlanScope(p.Level, p.ScopeCode); err != nil {
		return err
	}
	for _, y := range []struct {
		field string
		year  int
	}{{"baseline_year", p.BaselineYear}, {"target_year", p.TargetYear}} {
		if y.year < MinYear || y.year > MaxYear {
			return apperr.E(apperr.Invalid, y.field, "field.range", "年份", MinYear, MaxYear)
		}
	}
	if p.TargetYear <= p.BaselineYear {
		return apperr.E(apperr.Invalid, "target_year", "plan.year.order", p.TargetYear, p.BaselineYear)
	}
	if p.BaselineFrom != 0 && (p.BaselineFrom > p.BaselineYear || p.BaselineFrom <= p.BaselineYear-maxBaselineYears) {
		return apperr.E(apperr.Invalid, "baseline_from", "plan.baseline_from.range", p.BaselineYear-maxBaselineYears+1, p.BaselineYear)
	}
	if p.Version < 1 {
		return apperr.E(apperr.Invalid, "version", "plan.version.invalid")
	}
	if len(p.Indicators) == 0 {
		return apperr.E(apperr.Invalid, "indicators", "plan.indicators.empty")
	}
	if len(p.Indicators) > MaxIndicators {
		return apperr.E(apperr.Invalid, "indicators", "plan.indicators.too_many", MaxIndicators)
	}
	seen := map[string]int{}
	for i := range p.Indicators {
		field := "indicators[" + strconv.Itoa(i) + "]"
		ind := &p.Indicators[i]
		if err := validateIndicator(p, ind, field, groupExists); err != nil {
			return err
		}
		if j, dup := seen[ind.Code]; dup {
			return apperr.E(apperr.Invalid, field+".code", "plan.indicator.code.duplicate", ind.Code, j+1)
		}
		seen[ind.Code] = i
	}
	return nil
}

func validateIndicator(p *Plan, ind *Indicator, field string, groupExists GroupExists) error {
	ind.Code = strings.TrimSpace(ind.Code)
	if n := len(ind.Code); n == 0 || n > 40 || !codePattern.MatchString(ind.Code) {
		return apperr.E(apperr.Invalid, field+".code", "plan.indicator.code.format")
	}
	var err error
	if ind.Name, err = checkText(field+".name", "指标名称", ind.Name, MaxNameLength, true); err != nil {
		return err
	}
	if ind.Section, err = checkText(field+".section", "所在章节", ind.Section, MaxTextLength, false); err != nil {
		return err
	}
	if ind.Unit, err = checkText(field+".unit", "计量单位", ind.Unit, MaxUnitLength, true); err != nil {
		return err
	}
	if ind.Definition, err = checkText(field+".definition", "指标定义", ind.Definition, MaxDefinition, true); err != nil {
		return err
	}
	if ind.Quote, err = checkText(field+".quote", "文件原文", ind.Quote, MaxQuote, false); err != nil {
		return err
	}
	if !slices.Contains(Aggregates, ind.Aggregate) {
		return apperr.E(apperr.Invalid, field+".aggregate", "field.one_of", "汇总方式", joinLabels(Aggregates))
	}
	if ind.Aggregate == AggregateRatio && ind.Unit != "%" {
		return apperr.E(apperr.Invalid, field+".unit", "plan.indicator.unit.ratio")
	}
	if ind.Target == nil {
		// A monitored figure: nothing to judge it by.
		switch {
		case ind.Comparison != "":
			return apperr.E(apperr.Invalid, field+".target", "plan.indicator.target.required")
		case len(ind.Milestones) > 0:
			return apperr.E(apperr.Invalid, field+".milestones", "plan.indicator.monitor.extra")
		case ind.EveryYear || ind.TargetYear != 0:
			return apperr.E(apperr.Invalid, field+".target", "plan.indicator.monitor.extra")
		}
	} else if !slices.Contains(Comparisons, ind.Comparison) {
		return apperr.E(apperr.Invalid, field+".comparison", "field.one_of", "比较方式", joinLabels(Comparisons))
	}
	if ind.TargetYear != 0 && (ind.TargetYear <= p.BaselineYear || ind.TargetYear > p.TargetYear) {
		return apperr.E(apperr.Invalid, field+".target_year", "plan.indicator.target_year.range", p.BaselineYear+1, p.TargetYear)
	}
	if ind.EveryYear && ind.Aggregate.overPeriod() {
		return apperr.E(apperr.Invalid, field+".every_year", "plan.indicator.every_year.aggregate")
	}
	if err := checkAmount(field+".baseline", "基期值", ind.Baseline, ind); err != nil {
		return err
	}
	if err := checkAmount(field+".target", "目标值", ind.Target, ind); err != nil {
		return err
	}
	if len(ind.Milestones) == 0 {
		ind.Milestones = nil
	}
	for _, y := range sortedYears(ind.Milestones) {
		v := ind.Milestones[y]
		f := field + ".milestones." + strconv.Itoa(y)
		if y <= p.BaselineYear || y > ind.DueYear(p) {
			return apperr.E(apperr.Invalid, f, "plan.indicator.milestone.year", y, p.BaselineYear+1, ind.DueYear(p))
		}
		if err := checkAmount(f, "阶段目标", &v, ind); err != nil {
			return err
		}
	}
	if ind.Group != "" && (groupExists == nil || !groupExists(ind.Group)) {
		return apperr.E(apperr.Invalid, field+".group", "plan.indicator.group.unknown", ind.Group)
	}
	return validateSource(ind, field+".source")
}

func validateSource(ind *Indicator, field string) error {
	s := &ind.Source
	var err error
	if s.ResponsibleUnit, err = checkText(field+".responsible_unit", "牵头/报送单位", s.ResponsibleUnit, MaxTextLength, s.Kind == Reported); err != nil {
		return err
	}
	switch s.Kind {
	case Computed:
		r, ok := LookupRule(s.Rule)
		if !ok {
			return apperr.E(apperr.Invalid, field+".rule", "plan.indicator.rule.unknown", s.Rule)
		}
		if r.Aggregate != ind.Aggregate {
			return apperr.E(apperr.Invalid, field+".rule", "plan.indicator.rule.aggregate", s.Rule, r.Aggregate.Label(), ind.Aggregate.Label())
		}
		if _, ok := unitFactor(r.Unit, ind.Unit); !ok {
			return apperr.E(apperr.Invalid, field+".rule", "plan.indicator.rule.unit", s.Rule, r.Unit, ind.Unit)
		}
	case Reported:
		if s.Rule != "" {
			return apperr.E(apperr.Invalid, field+".rule", "plan.indicator.rule.reported")
		}
	default:
		return apperr.E(apperr.Invalid, field+".kind", "field.one_of", "数据来源", Computed.Label()+"（computed）、"+Reported.Label()+"（reported）")
	}
	return nil
}

// checkAmount holds a baseline, target or milestone to what the
// indicator's aggregate allows: finite, not negative, whole for counts, at
// most 100 for ratios.
func checkAmount(field, label string, v *float64, ind *Indicator) error {
	if v == nil {
		return nil
	}
	switch {
	case math.IsNaN(*v) || math.IsInf(*v, 0):
		return apperr.E(apperr.Invalid, field, "plan.value.not_number", label)
	case *v < 0:
		return apperr.E(apperr.Invalid, field, "plan.value.negative", label)
	case ind.Aggregate == AggregateRatio && *v > 100:
		return apperr.E(apperr.Invalid, field, "plan.value.ratio_too_high", label)
	case ind.Aggregate == AggregateCount && *v != math.Trunc(*v):
		return apperr.E(apperr.Invalid, field, "plan.value.not_integer", label)
	}
	return nil
}

// checkPlanScope holds the scope code to the level: the country, a
// province or a city.
func checkPlanScope(level Level, code string) error {
	ok := false
	switch level {
	case LevelNational:
		ok = code == NationalScope
	case LevelProvince, LevelDepartment:
		ok = isProvince(code)
	case LevelCity:
		ok = isCity(code)
	}
	if !ok {
		return apperr.E(apperr.Invalid, "scope_code", "plan.scope.level", code, level.Label())
	}
	return nil
}

func isProvince(code string) bool {
	d, ok := refdata.ProvinceOf(code)
	return ok && d.Code == code
}

func isCity(code string) bool {
	d, ok := refdata.CityOf(code)
	return ok && d.Code == code
}

// scopeContains reports whether the division inner lies within outer
// (itself included). Both are NationalScope, province or city codes.
func scopeContains(outer, inner string) bool {
	switch {
	case outer == inner:
		return true
	case outer == NationalScope:
		return true
	case isProvince(outer):
		return inner != NationalScope && len(inner) == 6 && inner[:2] == outer[:2]
	}
	return false
}

// ValidateGroup checks a school group's code, name and scope.
func ValidateGroup(g *Group) error {
	g.Code = strings.TrimSpace(g.Code)
	if n := len(g.Code); n == 0 || n > 40 || !codePattern.MatchString(g.Code) {
		return apperr.E(apperr.Invalid, "code", "plan.group.code.format")
	}
	var err error
	if g.Name, err = checkText("name", "学校组名称", g.Name, MaxNameLength, true); err != nil {
		return err
	}
	if g.Description, err = checkText("description", "说明", g.Description, MaxDefinition, false); err != nil {
		return err
	}
	if g.ScopeCode != NationalScope && !isProvince(g.ScopeCode) && !isCity(g.ScopeCode) {
		return apperr.E(apperr.Invalid, "scope_code", "plan.group.scope", g.ScopeCode)
	}
	return nil
}

// checkText trims s and refuses it empty (when required), too long, or
// with markup or control characters: plans are shown on public pages.
func checkText(field, label, s string, limit int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return s, apperr.E(apperr.Invalid, field, "field.required", label)
	case utf8.RuneCountInString(s) > limit:
		return s, apperr.E(apperr.Invalid, field, "field.too_long", limit)
	case strings.ContainsAny(s, "<>\x00") || strings.ContainsFunc(s, unicode.IsControl):
		return s, apperr.E(apperr.Invalid, field, "field.markup", label)
	}
	return s, nil
}

func joinLabels[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, "、")
}

func sortedYears(m map[int]float64) []int {
	ys := make([]int, 0, len(m))
	for y := range m {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}
