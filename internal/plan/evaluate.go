package plan

import (
	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Data is what a plan is measured on at one scope (the province, a city).
type Data struct {
	// Facts are the rows of the scope's schools, for every year wanted.
	Facts []SchoolYear
	// Reported are the values reported for the scope: indicator code →
	// year → value in the indicator's unit.
	Reported map[string]map[int]float64
	// Members are the school codes of each school group.
	Members map[string][]string
}

// factsFor narrows the facts to the indicator's school group.
func (d Data) factsFor(ind *Indicator) []SchoolYear {
	if ind.Group == "" {
		return d.Facts
	}
	in := map[string]bool{}
	for _, code := range d.Members[ind.Group] {
		in[code] = true
	}
	var out []SchoolYear
	for _, f := range d.Facts {
		if in[f.School] {
			out = append(out, f)
		}
	}
	return out
}

// window is Plan.Window as an error for users.
func (p *Plan) window(ind *Indicator, year int) (Window, error) {
	w, ok := p.Window(ind.Aggregate, year)
	if !ok {
		return Window{}, apperr.E(apperr.Invalid, "year", "plan.year.outside", year, p.BaselinePeriod().From, p.TargetYear)
	}
	return w, nil
}

func computedSetup(p *Plan, ind *Indicator, year int) (Rule, float64, Window, error) {
	if ind.Source.Kind != Computed {
		return Rule{}, 0, Window{}, apperr.E(apperr.Invalid, "indicator", "plan.breakdown.reported", ind.Name)
	}
	r, ok := LookupRule(ind.Source.Rule)
	if !ok {
		return Rule{}, 0, Window{}, apperr.E(apperr.Invalid, "indicator", "plan.indicator.rule.unknown", ind.Source.Rule)
	}
	factor, ok := unitFactor(r.Unit, ind.Unit)
	if !ok {
		return Rule{}, 0, Window{}, apperr.E(apperr.Invalid, "indicator", "plan.indicator.rule.unit", r.Name, r.Unit, ind.Unit)
	}
	w, err := p.window(ind, year)
	return r, factor, w, err
}

// Measure forms the indicator's value for the year at the scope of d:
// computed from the facts by its rule, or combined from the reported
// yearly values by its aggregate, the same way.
func Measure(p *Plan, ind *Indicator, year int, d Data) (Computation, error) {
	if ind.Source.Kind == Computed {
		r, factor, w, err := computedSetup(p, ind, year)
		if err != nil {
			return Computation{}, err
		}
		return computeFacts(r, factor, d.factsFor(ind), w, true), nil
	}
	w, err := p.window(ind, year)
	if err != nil {
		return Computation{}, err
	}
	c := Computation{Source: Reported, Aggregate: ind.Aggregate, Window: w, FigureUnit: ind.Unit, Factor: 1}
	values := d.Reported[ind.Code]
	for _, y := range w.Years() {
		v, ok := values[y]
		if !ok {
			c.MissingYears = append(c.MissingYears, y)
		}
		c.Years = append(c.Years, YearFigure{Year: y, Numerator: v})
	}
	if ind.Aggregate == AggregateRatio {
		// A reported ratio is the percentage itself.
		if len(c.MissingYears) == 0 {
			v := c.Years[0].Numerator
			c.Value = &v
		}
		return c, nil
	}
	c.combine()
	return c, nil
}

// Row is one indicator on a dashboard: its value for the year against
// its target, with its definition and how the value was formed.
type Row struct {
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Section    string     `json:"section,omitempty"`
	Unit       string     `json:"unit"`
	Aggregate  Aggregate  `json:"aggregate"`
	Comparison Comparison `json:"comparison,omitempty"`
	Baseline   *float64   `json:"baseline"`
	Target     *float64   `json:"target"`
	DueYear    int        `json:"due_year"`
	Value      *float64   `json:"value"`
	Judgement
	Source     Source `json:"source"`
	Group      string `json:"group,omitempty"`
	Definition string `json:"definition"`
	// RuleDefinition is the computing rule's own definition.
	RuleDefinition string      `json:"rule_definition,omitempty"`
	Computation    Computation `json:"computation"`
}

// Evaluate measures and judges every indicator of the plan for the year.
func Evaluate(p *Plan, year int, d Data) ([]Row, error) {
	rows := make([]Row, 0, len(p.Indicators))
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		c, err := Measure(p, ind, year, d)
		if err != nil {
			return nil, err
		}
		row := Row{
			Code: ind.Code, Name: ind.Name, Section: ind.Section, Unit: ind.Unit,
			Aggregate: ind.Aggregate, Comparison: ind.Comparison,
			Baseline: ind.Baseline, Target: ind.Target, DueYear: ind.DueYear(p),
			Value: c.Value, Judgement: Judge(p, ind, year, c.Value),
			Source: ind.Source, Group: ind.Group, Definition: ind.Definition, Computation: c,
		}
		if r, ok := LookupRule(ind.Source.Rule); ok && ind.Source.Kind == Computed {
			row.RuleDefinition = r.Definition
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Point is an indicator's value and status in one year of a trend.
type Point struct {
	Year   int      `json:"year"`
	Value  *float64 `json:"value"`
	Status Status   `json:"status"`
}

// Trend is the indicator's value and status in each year from the baseline
// year to through (at most the target year).
func Trend(p *Plan, ind *Indicator, through int, d Data) ([]Point, error) {
	var out []Point
	for y := p.BaselineYear; y <= min(through, p.TargetYear); y++ {
		c, err := Measure(p, ind, y, d)
		if err != nil {
			return nil, err
		}
		out = append(out, Point{Year: y, Value: c.Value, Status: Judge(p, ind, y, c.Value).Status})
	}
	return out, nil
}
