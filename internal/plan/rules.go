package plan

import (
	"slices"
	"sort"
	"strings"
)

// Window is a run of years, both ends included.
type Window struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Years lists the window's years in order.
func (w Window) Years() []int {
	var ys []int
	for y := w.From; y <= w.To; y++ {
		ys = append(ys, y)
	}
	return ys
}

// Contains reports whether y is in the window.
func (w Window) Contains(y int) bool { return w.From <= y && y <= w.To }

// Window returns the years an aggregate combines for the value of year.
//
// Count, sum and ratio take the year alone. Yearly averages and cumulative
// totals take the period so far: for a year of the plan period, its first
// year to year (年均招生规模 of 2023 in a 2021–2025 plan is the mean of
// 2021, 2022 and 2023); for the baseline year and the years before it, the
// baseline period so far (2020's is the mean of 2016–2020, the 十三五
// figure the plan's 2020 column gives). false for a year before the
// baseline period or after the target year.
func (p *Plan) Window(a Aggregate, year int) (Window, bool) {
	base := p.BaselinePeriod()
	if year < base.From || year > p.TargetYear {
		return Window{}, false
	}
	switch {
	case !a.overPeriod():
		return Window{From: year, To: year}, true
	case year <= p.BaselineYear:
		return Window{From: base.From, To: year}, true
	}
	return Window{From: p.BaselineYear + 1, To: year}, true
}

// Rule is a named computation of an indicator from the records. Its
// yearly function reads one year's facts of a set of schools; the
// aggregate says how years combine (see Plan.Window), so that every rule
// sums before it divides and averages sums, never ratios.
type Rule struct {
	Name       string    `json:"name"`
	Label      string    `json:"label"`      // short Chinese name
	Definition string    `json:"definition"` // what is counted and how, in Chinese
	Aggregate  Aggregate `json:"aggregate"`
	Unit       string    `json:"unit"` // unit of the yearly figures: 所, 人, %
	// yearly returns a year's numerator and, for ratios, denominator over
	// the rows of that year.
	yearly func(rows []SchoolYear) (num, den float64)
}

// active is how a school shows it existed in a year: the facts carry no
// founding or closing dates, so a school counts in a year when it had
// students at the year's end or admitted some during it.
func active(f SchoolYear) bool { return f.Enrolled > 0 || f.Intake > 0 }

// countSchools counts the distinct active schools that match.
func countSchools(match func(SchoolYear) bool) func([]SchoolYear) (float64, float64) {
	return func(rows []SchoolYear) (float64, float64) {
		seen := map[string]bool{}
		for _, f := range rows {
			if active(f) && match(f) {
				seen[f.School] = true
			}
		}
		return float64(len(seen)), 0
	}
}

func sumOf(field func(SchoolYear) int) func([]SchoolYear) (float64, float64) {
	return func(rows []SchoolYear) (float64, float64) {
		n := 0
		for _, f := range rows {
			n += field(f)
		}
		return float64(n), 0
	}
}

// LargeSchool is the enrollment from which a school counts among 在校生达万人以上的学校.
const LargeSchool = 10000

const (
	activeNote = "“有记录”指当年12月31日有在校生或当年有招生；学校类型和认定标记按学校现在的登记，记录不保存其变更年份。"
	periodNote = "规划期内某年的值取规划期首年至该年；基期年及以前取基期所概括的时期（如“十四五”规划的2020年取2016—2020年）。"
)

var rules = map[string]Rule{}

func register(r Rule) { rules[r.Name] = r }

func init() {
	register(Rule{
		Name: "schools", Label: "技工院校数", Aggregate: AggregateCount, Unit: "所",
		Definition: "当年有记录的技工院校所数。" + activeNote,
		yearly:     countSchools(func(SchoolYear) bool { return true }),
	})
	register(Rule{
		Name: "technician_colleges", Label: "技师学院数", Aggregate: AggregateCount, Unit: "所",
		Definition: "当年有记录、类型为技师学院的学校所数。" + activeNote,
		yearly:     countSchools(func(f SchoolYear) bool { return f.Type == "技师学院" }),
	})
	register(Rule{
		Name: "quality_schools", Label: "省级优质技工院校数", Aggregate: AggregateCount, Unit: "所",
		Definition: "当年有记录、被认定为省级优质技工院校的学校所数。" + activeNote,
		yearly:     countSchools(func(f SchoolYear) bool { return f.Quality }),
	})
	register(Rule{
		Name: "schools_over_10000", Label: "在校生达万人以上的学校数", Aggregate: AggregateCount, Unit: "所",
		Definition: "当年12月31日在校生达到10000人（含）以上的学校所数。",
		yearly:     countSchools(func(f SchoolYear) bool { return f.Enrolled >= LargeSchool }),
	})
	register(Rule{
		Name: "intake", Label: "年招生人数", Aggregate: AggregateSum, Unit: "人",
		Definition: "当年入学（入学日期在当年）的学生人数，各校相加。",
		yearly:     sumOf(func(f SchoolYear) int { return f.Intake }),
	})
	register(Rule{
		Name: "enrolled", Label: "年末在校生人数", Aggregate: AggregateSum, Unit: "人",
		Definition: "当年12月31日在校（已入学、尚未毕业或退学等离校）的学生人数，各校相加。",
		yearly:     sumOf(func(f SchoolYear) int { return f.Enrolled }),
	})
	register(Rule{
		Name: "avg_intake", Label: "年均招生规模", Aggregate: AggregateYearlyAverage, Unit: "人",
		Definition: "期内各年招生人数（各校当年入学人数之和）的算术平均。" + periodNote,
		yearly:     sumOf(func(f SchoolYear) int { return f.Intake }),
	})
	register(Rule{
		Name: "avg_enrolled", Label: "年均在校生规模", Aggregate: AggregateYearlyAverage, Unit: "人",
		Definition: "期内各年年末在校生人数（各校12月31日在校生之和）的算术平均。" + periodNote,
		yearly:     sumOf(func(f SchoolYear) int { return f.Enrolled }),
	})
	register(Rule{
		Name: "senior_share", Label: "高级工班以上在校生比例", Aggregate: AggregateRatio, Unit: "%",
		Definition: "当年12月31日高级工班和预备技师（技师）班在校生人数之和，除以全部在校生人数之和，乘以100；按人数之和计算，不是各校比例的平均。",
		yearly: func(rows []SchoolYear) (float64, float64) {
			num, den := 0, 0
			for _, f := range rows {
				num += f.EnrolledSenior
				den += f.Enrolled
			}
			return float64(num), float64(den)
		},
	})
}

// LookupRule returns the rule with the name.
func LookupRule(name string) (Rule, bool) {
	r, ok := rules[name]
	return r, ok
}

// Rules lists every rule by name.
func Rules() []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// unitFactor is what a figure in the rule's unit is divided by to be in
// the indicator's unit (10000 from 人 to 万人).
func unitFactor(ruleUnit, indicatorUnit string) (float64, bool) {
	if ruleUnit == indicatorUnit {
		return 1, true
	}
	if "万"+ruleUnit == indicatorUnit {
		return 10000, true
	}
	return 0, false
}

// YearFigure is what went into a value from one year: for computed
// indicators the sums in the rule's unit (Denominator only for ratios), for
// reported ones the reported value.
type YearFigure struct {
	Year        int     `json:"year"`
	Numerator   float64 `json:"numerator"`
	Denominator float64 `json:"denominator,omitempty"`
}

// Computation is a value and how it was formed, for the dashboard's
// "how was this computed".
type Computation struct {
	Source    SourceKind   `json:"source"`
	Rule      string       `json:"rule,omitempty"`
	Aggregate Aggregate    `json:"aggregate"`
	Window    Window       `json:"window"`
	Years     []YearFigure `json:"years"`
	// FigureUnit is the unit of Years; the value is their combination
	// divided by Factor (10000 from 人 to 万人).
	FigureUnit string  `json:"figure_unit"`
	Factor     float64 `json:"factor"`
	// Value is nil when there is nothing to show: a year of the window
	// without any record or report (see MissingYears), or a ratio over
	// nobody.
	Value        *float64 `json:"value"`
	MissingYears []int    `json:"missing_years,omitempty"`
}

// combine forms the value from the window's yearly figures.
func (c *Computation) combine() {
	if len(c.MissingYears) > 0 || len(c.Years) == 0 {
		return
	}
	var num, den float64
	for _, y := range c.Years {
		num += y.Numerator
		den += y.Denominator
	}
	var v float64
	switch c.Aggregate {
	case AggregateCount, AggregateSum, AggregateCumulative:
		v = num / c.Factor
	case AggregateYearlyAverage:
		v = num / float64(len(c.Years)) / c.Factor
	case AggregateRatio:
		if den == 0 {
			return
		}
		v = num / den * 100
	}
	c.Value = &v
}

// computeFacts applies the rule to the facts over the window. With
// complete set, a window year without any row leaves the value empty:
// for a whole scope that means the records do not reach back that far.
// Parts of a breakdown pass complete false: a school without a row in a
// year had nothing in it.
func computeFacts(r Rule, factor float64, facts []SchoolYear, w Window, complete bool) Computation {
	c := Computation{Source: Computed, Rule: r.Name, Aggregate: r.Aggregate, Window: w, FigureUnit: r.Unit, Factor: factor}
	byYear := map[int][]SchoolYear{}
	for _, f := range facts {
		if w.Contains(f.Year) {
			byYear[f.Year] = append(byYear[f.Year], f)
		}
	}
	for _, y := range w.Years() {
		rows, ok := byYear[y]
		if !ok && complete {
			c.MissingYears = append(c.MissingYears, y)
		}
		num, den := r.yearly(rows)
		c.Years = append(c.Years, YearFigure{Year: y, Numerator: num, Denominator: den})
	}
	c.combine()
	return c
}

// Part is one piece of a breakdown: a city or a school and its value.
type Part struct {
	Key         string `json:"key"` // city division code or school code
	Computation `json:"computation"`
}

// breakdown computes a computed indicator for each value of key among
// the facts; the parts of an additive indicator add up to the whole.
func breakdown(p *Plan, ind *Indicator, year int, d Data, key func(SchoolYear) string) ([]Part, error) {
	r, factor, w, err := computedSetup(p, ind, year)
	if err != nil {
		return nil, err
	}
	groups := map[string][]SchoolYear{}
	for _, f := range d.factsFor(ind) {
		groups[key(f)] = append(groups[key(f)], f)
	}
	parts := make([]Part, 0, len(groups))
	for k, facts := range groups {
		parts = append(parts, Part{Key: k, Computation: computeFacts(r, factor, facts, w, false)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Key < parts[j].Key })
	return parts, nil
}

// ByCity breaks a computed indicator down by city.
func ByCity(p *Plan, ind *Indicator, year int, d Data) ([]Part, error) {
	return breakdown(p, ind, year, d, func(f SchoolYear) string { return f.City })
}

// BySchool breaks a computed indicator down by school (the drill-down).
// For school counts each school's value is 1 or 0.
func BySchool(p *Plan, ind *Indicator, year int, d Data) ([]Part, error) {
	return breakdown(p, ind, year, d, func(f SchoolYear) string { return f.School })
}
