package plan

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Scope is where a dashboard's figures are from: the country, a province,
// a city (division codes) or one school.
type Scope struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	School bool   `json:"school"` // one school: Code is its school code
	// Whole says the scope is the plan's own: totals are held to the
	// targets as written. A part of it (a city of a provincial plan, a
	// school) has its ratios judged, never its share of a total.
	Whole bool `json:"whole"`
}

// holds reports whether a fact row belongs to the scope.
func (sc Scope) holds(f *SchoolYear) bool {
	switch {
	case sc.School:
		return f.School == sc.Code
	case sc.Code == NationalScope:
		return true
	case isProvince(sc.Code):
		return f.City[:min(2, len(f.City))] == sc.Code[:2]
	}
	return f.City == sc.Code
}

// TrendPoint is an indicator's value, status and expected value in a year.
type TrendPoint struct {
	Year     int      `json:"year"`
	Value    *float64 `json:"value"`
	Status   Status   `json:"status"`
	Expected *float64 `json:"expected,omitempty"`
}

// ReportedMark says what a reported indicator's value rests on.
type ReportedMark struct {
	Reports  int  `json:"reports"`   // reports the value is formed from
	Pending  int  `json:"pending"`   // of them not yet reviewed
	RolledUp bool `json:"rolled_up"` // summed from the scope's parts, none reported for the scope itself
}

func (m *ReportedMark) add(o ReportedMark) {
	m.Reports += o.Reports
	m.Pending += o.Pending
	m.RolledUp = m.RolledUp || o.RolledUp
}

// DashboardRow is one indicator on a dashboard: its row for the year and
// its trend over the years.
type DashboardRow struct {
	Row
	Trend []TrendPoint `json:"trend"`
	// Reported is set for reported indicators with a value.
	Reported *ReportedMark `json:"reported,omitempty"`
}

// StatusCount is how many indicators stand at a status.
type StatusCount struct {
	Status Status `json:"status"`
	Count  int    `json:"count"`
}

// Statuses lists the statuses in display order.
var Statuses = []Status{StatusMet, StatusOnTrack, StatusBehind, StatusNoData, StatusNotJudged}

// Dashboard is a plan measured at one scope for one year.
type Dashboard struct {
	Plan      StoredPlan
	Year      int
	Years     []int // the years one may ask for
	Through   int   // the trends run to this year
	Scope     Scope
	Scopes    []Scope // the scopes the caller may choose
	FactsAsOf time.Time
	Rows      []DashboardRow
	// Hidden counts indicators not shown at the scope: reported ones and
	// those of a group the school is not in, for one school.
	Hidden int
	Counts []StatusCount
}

// Row returns the dashboard's row of the indicator.
func (d *Dashboard) Row(code string) (*DashboardRow, bool) {
	for i := range d.Rows {
		if d.Rows[i].Code == code {
			return &d.Rows[i], true
		}
	}
	return nil, false
}

// Dashboard measures the current version of a plan at scope (a division
// or school code; "" the caller's default) for year (0: the last year
// with records, at most the target year). Cities see their city, schools
// themselves; the province and auditors any scope within the plan's.
func (s *Service) Dashboard(ctx context.Context, pr auth.Principal, id string, year int, scope string) (*Dashboard, error) {
	ev, err := s.evaluation(ctx, pr, id, year, scope)
	if err != nil {
		return nil, err
	}
	d := ev.dashboard
	for i := range d.Plan.Indicators {
		ind := &d.Plan.Indicators[i]
		if !ev.shown(ind) {
			d.Hidden++
			continue
		}
		row, err := ev.row(ind, d.Year)
		if err != nil {
			return nil, err
		}
		d.Rows = append(d.Rows, row)
	}
	counts := map[Status]int{}
	for _, r := range d.Rows {
		counts[r.Status]++
	}
	for _, st := range Statuses {
		d.Counts = append(d.Counts, StatusCount{Status: st, Count: counts[st]})
	}
	return d, nil
}

// Breakdown is one part of an indicator's value: a region, a school
// group or a school.
type Breakdown struct {
	Code  string   `json:"code"`
	Name  string   `json:"name"`
	Value *float64 `json:"value"`
	// Share is the part's share of the scope's value, in percent, for
	// additive indicators.
	Share       *float64      `json:"share,omitempty"`
	Computation *Computation  `json:"computation,omitempty"`
	Reported    *ReportedMark `json:"reported,omitempty"`
	Members     int           `json:"members,omitempty"` // schools, for a group
}

// IndicatorDetail is the drill-down of one indicator at a scope.
type IndicatorDetail struct {
	Plan      StoredPlan
	Indicator Indicator
	Year      int
	Years     []int
	Through   int
	Scope     Scope
	Scopes    []Scope
	FactsAsOf time.Time
	Row       DashboardRow
	// Regions break the value down by province (national scope) or city
	// (provincial scope); empty below that.
	Regions      []Breakdown
	RegionsLabel string
	// Groups are the school groups' values, for computed indicators
	// measured on all schools.
	Groups []Breakdown
	// Schools break a computed value down by school.
	Schools []Breakdown
	// Reports are the reports of a reported indicator at the scope and
	// inside it, superseded ones included, newest first.
	Reports []StoredReport
}

// maxDetailReports bounds the reports listed on a drill-down.
const maxDetailReports = 500

// Indicator drills into one indicator of a plan's current version at
// scope for year, with the access rules of Dashboard.
func (s *Service) Indicator(ctx context.Context, pr auth.Principal, id, code string, year int, scope string) (*IndicatorDetail, error) {
	ev, err := s.evaluation(ctx, pr, id, year, scope)
	if err != nil {
		return nil, err
	}
	d := ev.dashboard
	ind, ok := d.Plan.Indicator(code)
	if !ok || !ev.shown(ind) {
		return nil, apperr.E(apperr.NotFound, "", "plans.indicator.not_found", code)
	}
	row, err := ev.row(ind, d.Year)
	if err != nil {
		return nil, err
	}
	out := &IndicatorDetail{Plan: d.Plan, Indicator: *ind, Year: d.Year, Years: d.Years, Through: d.Through, Scope: d.Scope,
		Scopes: d.Scopes, FactsAsOf: d.FactsAsOf, Row: row}
	if !d.Scope.School {
		out.RegionsLabel = "按市"
		if d.Scope.Code == NationalScope {
			out.RegionsLabel = "按省"
		}
	}
	if ind.Source.Kind == Computed {
		err = s.computedBreakdowns(ctx, ev, ind, out)
	} else {
		err = s.reportedBreakdowns(ctx, pr, ev, ind, out)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) computedBreakdowns(ctx context.Context, ev *evaluation, ind *Indicator, out *IndicatorDetail) error {
	d := ev.data(ind, out.Year)
	total := out.Row.Value
	share := func(v *float64) *float64 {
		if !ind.Aggregate.Additive() || v == nil || total == nil || *total == 0 {
			return nil
		}
		x := *v / *total * 100
		return &x
	}
	if out.RegionsLabel != "" {
		regional := d
		if out.Scope.Code == NationalScope {
			// ByCity groups by the City field: name the province there.
			regional.Facts = make([]SchoolYear, len(d.Facts))
			for i, f := range d.Facts {
				f.City = f.City[:2] + "0000"
				regional.Facts[i] = f
			}
		}
		parts, err := ByCity(&ev.dashboard.Plan.Plan, ind, out.Year, regional)
		if err != nil {
			return err
		}
		for _, part := range parts {
			c := part.Computation
			out.Regions = append(out.Regions, Breakdown{Code: part.Key, Name: DivisionName(part.Key), Value: c.Value, Share: share(c.Value), Computation: &c})
		}
	}
	if ind.Group == "" && !out.Scope.School {
		atScope := map[string]bool{}
		for i := range ev.facts.rows {
			atScope[ev.facts.rows[i].School] = true
		}
		for _, g := range ev.groups {
			gi := *ind
			gi.Group = g.Code
			c, err := Measure(&ev.dashboard.Plan.Plan, &gi, out.Year, d)
			if err != nil {
				return err
			}
			in := 0
			for _, code := range g.Schools {
				if atScope[code] {
					in++
				}
			}
			if in == 0 {
				continue
			}
			out.Groups = append(out.Groups, Breakdown{Code: g.Code, Name: g.Name, Value: c.Value, Share: share(c.Value), Computation: &c, Members: in})
		}
	}
	parts, err := BySchool(&ev.dashboard.Plan.Plan, ind, out.Year, d)
	if err != nil {
		return err
	}
	codes := make([]string, len(parts))
	for i, part := range parts {
		codes[i] = part.Key
	}
	names, err := s.Store.Schools(ctx, codes)
	if err != nil {
		return err
	}
	for _, part := range parts {
		c := part.Computation
		name := part.Key
		if info, ok := names[part.Key]; ok {
			name = info.Name
		}
		out.Schools = append(out.Schools, Breakdown{Code: part.Key, Name: name, Value: c.Value, Share: share(c.Value), Computation: &c})
	}
	// The largest first: the schools that make the figure.
	sort.SliceStable(out.Schools, func(i, j int) bool {
		a, b := out.Schools[i].Value, out.Schools[j].Value
		return a != nil && (b == nil || *a > *b)
	})
	return nil
}

func (s *Service) reportedBreakdowns(ctx context.Context, pr auth.Principal, ev *evaluation, ind *Indicator, out *IndicatorDetail) error {
	if out.RegionsLabel != "" {
		for _, child := range ChildScopes(out.Scope.Code) {
			v, mark, ok := ev.reports.valueAt(ind, child, out.Year)
			b := Breakdown{Code: child, Name: DivisionName(child)}
			if ok {
				b.Value, b.Reported = &v, &mark
			}
			out.Regions = append(out.Regions, b)
		}
	}
	sc, err := reportScope(pr)
	if err != nil {
		return err
	}
	out.Reports, _, err = s.Store.ListReports(ctx, ReportFilter{PlanID: out.Plan.ID, Indicator: ind.Code, Scope: sc, Within: out.Scope.Code,
		History: true, Limit: maxDetailReports})
	return err
}

// ChildScopes are the divisions a scope breaks down into: the
// provinces of the country, the cities of a province.
func ChildScopes(code string) []string {
	var divs []refdata.Division
	switch {
	case code == NationalScope:
		divs = refdata.Provinces()
	case isProvince(code):
		divs = refdata.Cities(code)
	}
	out := make([]string, len(divs))
	for i, d := range divs {
		out[i] = d.Code
	}
	return out
}

// evaluation is what a dashboard is computed from.
type evaluation struct {
	dashboard *Dashboard
	facts     *factSet
	reports   *reportedValues
	members   map[string][]string
	groups    []Group
	// yearlyReported memoises the reported values at the scope by
	// indicator code.
	yearlyReported map[string]map[int]float64
}

// evaluation reads what the plan is measured on at the scope the caller
// asked for and may see.
func (s *Service) evaluation(ctx context.Context, pr auth.Principal, id string, year int, scope string) (*evaluation, error) {
	sp, err := s.Get(ctx, pr, id, 0)
	if err != nil {
		return nil, err
	}
	p := &sp.Plan
	sc, err := s.resolveScope(ctx, pr, p, scope)
	if err != nil {
		return nil, err
	}
	set, asOf, err := s.scopeFacts(ctx, pr, sc)
	if err != nil {
		return nil, err
	}
	base := p.BaselinePeriod()
	last := set.last
	if last == 0 {
		last = s.Now().In(chinaTime).Year()
	}
	if year == 0 {
		year = max(min(p.TargetYear, last), base.From)
	}
	if year < base.From || year > p.TargetYear {
		return nil, apperr.E(apperr.Invalid, "year", "plan.year.outside", year, base.From, p.TargetYear)
	}
	d := &Dashboard{Plan: sp, Year: year, Through: max(year, min(p.TargetYear, last)), Scope: sc, FactsAsOf: asOf}
	d.Years = Window{From: base.From, To: p.TargetYear}.Years()
	d.Scopes = scopeOptions(pr, p, sc)
	ev := &evaluation{dashboard: d, facts: set, members: map[string][]string{}, yearlyReported: map[string]map[int]float64{}}
	if ev.groups, err = s.Store.Groups(ctx); err != nil {
		return nil, err
	}
	for _, g := range ev.groups {
		ev.members[g.Code] = g.Schools
	}
	ev.reports = &reportedValues{}
	if !sc.School && slices.ContainsFunc(p.Indicators, func(ind Indicator) bool { return ind.Source.Kind == Reported }) {
		if ev.reports, err = s.reportedValues(ctx, sp); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// chinaTime is the calendar the plan years are counted in.
var chinaTime = time.FixedZone("CST", 8*3600)

// shown reports whether the indicator means something at the scope: for
// one school, computed indicators of all schools or of a group it is in.
func (ev *evaluation) shown(ind *Indicator) bool {
	sc := ev.dashboard.Scope
	if !sc.School {
		return true
	}
	return ind.Source.Kind == Computed && (ind.Group == "" || slices.Contains(ev.members[ind.Group], sc.Code))
}

// data is what the indicator's value for year is formed from: the facts
// of the years its window covers, and the reported values at the scope.
func (ev *evaluation) data(ind *Indicator, year int) Data {
	p := &ev.dashboard.Plan.Plan
	d := Data{Reported: map[string]map[int]float64{}, Members: ev.members}
	if w, ok := p.Window(ind.Aggregate, year); ok {
		d.Facts = ev.facts.years(w.From, w.To)
	}
	if ind.Source.Kind == Reported {
		values, ok := ev.yearlyReported[ind.Code]
		if !ok {
			values = ev.reports.yearly(ind, ev.dashboard.Scope.Code, p)
			ev.yearlyReported[ind.Code] = values
		}
		d.Reported[ind.Code] = values
	}
	return d
}

// judge is Judge at the evaluation's scope: a part of the plan's scope
// is not held to a target set for the whole, except for ratios.
func (ev *evaluation) judge(ind *Indicator, year int, value *float64) Judgement {
	j := Judge(&ev.dashboard.Plan.Plan, ind, year, value)
	if j.Status != StatusNoData && !ev.dashboard.Scope.Whole && ind.Aggregate.Additive() {
		return Judgement{Status: StatusNotJudged, Basis: "plans.basis.part"}
	}
	return j
}

// row measures and judges the indicator for year, with its trend.
func (ev *evaluation) row(ind *Indicator, year int) (DashboardRow, error) {
	p := &ev.dashboard.Plan.Plan
	c, err := Measure(p, ind, year, ev.data(ind, year))
	if err != nil {
		return DashboardRow{}, err
	}
	row := DashboardRow{Row: Row{
		Code: ind.Code, Name: ind.Name, Section: ind.Section, Unit: ind.Unit,
		Aggregate: ind.Aggregate, Comparison: ind.Comparison,
		Baseline: ind.Baseline, Target: ind.Target, DueYear: ind.DueYear(p),
		Value: c.Value, Judgement: ev.judge(ind, year, c.Value),
		Source: ind.Source, Group: ind.Group, Definition: ind.Definition, Computation: c,
	}}
	if r, ok := LookupRule(ind.Source.Rule); ok && ind.Source.Kind == Computed {
		row.RuleDefinition = r.Definition
	}
	if ind.Source.Kind == Reported && c.Value != nil {
		var m ReportedMark
		for _, y := range c.Window.Years() {
			_, ym, _ := ev.reports.valueAt(ind, ev.dashboard.Scope.Code, y)
			m.add(ym)
		}
		row.Reported = &m
	}
	for y := ev.dashboard.Years[0]; y <= ev.dashboard.Through; y++ {
		tc, err := Measure(p, ind, y, ev.data(ind, y))
		if err != nil {
			return DashboardRow{}, err
		}
		j := ev.judge(ind, y, tc.Value)
		row.Trend = append(row.Trend, TrendPoint{Year: y, Value: tc.Value, Status: j.Status, Expected: j.Expected})
	}
	return row, nil
}

// resolveScope turns the asked scope into one the caller may see within
// the plan's: a division code or a school code.
func (s *Service) resolveScope(ctx context.Context, pr auth.Principal, p *Plan, code string) (Scope, error) {
	own := pr.Scope()
	if code == "" {
		switch own.Kind {
		case auth.ScopeAll:
			code = p.ScopeCode
		case auth.ScopeCity, auth.ScopeSchool:
			code = own.Code
		default:
			return Scope{}, apperr.E(apperr.Forbidden, "", "plans.forbidden")
		}
	}
	if len(code) == 6 && (code == NationalScope || isProvince(code) || isCity(code)) {
		switch {
		case own.Kind == auth.ScopeCity && code != own.Code, own.Kind == auth.ScopeSchool, own.Kind == auth.ScopeNone:
			return Scope{}, apperr.E(apperr.Forbidden, "scope", "plans.scope.forbidden", DivisionName(code))
		case !scopeContains(p.ScopeCode, code):
			return Scope{}, apperr.E(apperr.Invalid, "scope", "plans.scope.outside", DivisionName(code), DivisionName(p.ScopeCode))
		}
		return Scope{Code: code, Name: DivisionName(code), Whole: code == p.ScopeCode}, nil
	}
	info, err := s.Store.Schools(ctx, []string{code})
	if err != nil {
		return Scope{}, err
	}
	sch, ok := info[code]
	switch {
	case !ok, own.Kind == auth.ScopeCity && sch.City != own.Code, own.Kind == auth.ScopeSchool && code != own.Code, own.Kind == auth.ScopeNone:
		// Out of sight reads as unknown: a school's existence is not for
		// everyone to probe.
		return Scope{}, apperr.E(apperr.Invalid, "scope", "plans.scope.unknown", code)
	case !scopeContains(p.ScopeCode, sch.City):
		return Scope{}, apperr.E(apperr.Invalid, "scope", "plans.scope.outside", sch.Name, DivisionName(p.ScopeCode))
	}
	return Scope{Code: code, Name: sch.Name, School: true}, nil
}

// scopeOptions are the scopes offered to the caller: the plan's and its
// parts for the province, its own scope otherwise.
func scopeOptions(pr auth.Principal, p *Plan, current Scope) []Scope {
	if pr.Scope().Kind != auth.ScopeAll {
		return []Scope{current}
	}
	out := []Scope{{Code: p.ScopeCode, Name: DivisionName(p.ScopeCode), Whole: true}}
	for _, c := range ChildScopes(p.ScopeCode) {
		out = append(out, Scope{Code: c, Name: DivisionName(c)})
	}
	if !slices.ContainsFunc(out, func(o Scope) bool { return o.Code == current.Code }) {
		out = append(out, current)
	}
	return out
}

// --- Reported values --------------------------------------------------

// reportedValues are the reports that count (live, not returned) of a
// plan, for the current version's indicators: those entered against the
// current version, and those of an earlier version whose indicator is
// measured the same way (CarriesOver). A report for the current version
// wins over an earlier one of the same year and scope.
type reportedValues struct {
	// best holds the winning report by indicator, year and scope.
	best map[reportKey]*StoredReport
}

type reportKey struct {
	indicator string
	year      int
	scope     string
}

func (s *Service) reportedValues(ctx context.Context, sp StoredPlan) (*reportedValues, error) {
	all, _, err := s.Store.ListReports(ctx, ReportFilter{PlanID: sp.ID, Scope: auth.Scope{Kind: auth.ScopeAll}})
	if err != nil {
		return nil, err
	}
	rv := &reportedValues{best: map[reportKey]*StoredReport{}}
	var older map[int]*Plan
	for i := range all {
		r := &all[i]
		if !r.Counts() || r.Version > sp.Version {
			continue
		}
		ind, ok := sp.Indicator(r.Indicator)
		if !ok || ind.Source.Kind != Reported {
			continue
		}
		if r.Version != sp.Version {
			if older == nil {
				if older, err = s.olderVersions(ctx, sp); err != nil {
					return nil, err
				}
			}
			old, ok := older[r.Version]
			if !ok {
				continue
			}
			oldInd, ok := old.Indicator(r.Indicator)
			if !ok || !CarriesOver(oldInd, ind) {
				continue
			}
		}
		k := reportKey{r.Indicator, r.Year, r.Scope}
		if cur, ok := rv.best[k]; !ok || r.Version > cur.Version {
			rv.best[k] = r
		}
	}
	return rv, nil
}

func (s *Service) olderVersions(ctx context.Context, sp StoredPlan) (map[int]*Plan, error) {
	versions, err := s.Store.PlanVersions(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	out := map[int]*Plan{}
	for i := range versions {
		out[versions[i].Version] = &versions[i].Plan
	}
	return out, nil
}

// valueAt is the indicator's reported value for a year at a division: the
// report for the division itself, or else, for additive indicators, the
// sum of its parts' values (a province's cities, the country's provinces),
// each formed the same way. A ratio is never summed.
func (rv *reportedValues) valueAt(ind *Indicator, scope string, year int) (float64, ReportedMark, bool) {
	if r, ok := rv.best[reportKey{ind.Code, year, scope}]; ok {
		m := ReportedMark{Reports: 1}
		if r.State == ReportPending {
			m.Pending = 1
		}
		return r.Value, m, true
	}
	if !ind.Aggregate.Additive() || !(scope == NationalScope || isProvince(scope)) {
		return 0, ReportedMark{}, false
	}
	parts := map[string]bool{}
	for k := range rv.best {
		if k.indicator != ind.Code || k.year != year || k.scope == scope || !scopeContains(scope, k.scope) {
			continue
		}
		part := k.scope
		if scope == NationalScope {
			part = k.scope[:2] + "0000"
		}
		parts[part] = true
	}
	values := make([]float64, 0, len(parts))
	mark := ReportedMark{RolledUp: true}
	for _, part := range sortedKeys(parts) {
		if v, m, ok := rv.valueAt(ind, part, year); ok {
			values = append(values, v)
			mark.add(m)
		}
	}
	sum, ok := RollUp(ind, values)
	return sum, mark, ok
}

// yearly is the indicator's reported value at scope for every year that
// has one.
func (rv *reportedValues) yearly(ind *Indicator, scope string, p *Plan) map[int]float64 {
	out := map[int]float64{}
	for y := p.BaselineYear; y <= p.TargetYear; y++ {
		if v, _, ok := rv.valueAt(ind, scope, y); ok {
			out[y] = v
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// --- Facts cache ------------------------------------------------------

// factsCacheScopes bounds the facts cache: the whole country or province
// and its parts, with room for the cities and schools looking at theirs.
const factsCacheScopes = 64

// scopeFacts returns the facts of the scope, as of the last rebuild. They
// are read through the caller's own scope (the store applies it in SQL)
// and narrowed to the asked scope in memory; both sets are kept, keyed by
// when the facts last changed, so that a dashboard is computed from
// memory until they change again.
func (s *Service) scopeFacts(ctx context.Context, pr auth.Principal, sc Scope) (*factSet, time.Time, error) {
	asOf, err := s.Store.FactsAsOf(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	changed, err := s.Store.FactsChanged(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	own := pr.Scope()
	base := "all"
	switch own.Kind {
	case auth.ScopeCity:
		base = "city:" + own.Code
	case auth.ScopeSchool:
		base = "school:" + own.Code
	}
	key := base + "|" + sc.Code
	if set, ok := s.facts.get(key, changed); ok {
		return set, asOf, nil
	}
	whole, ok := s.facts.get(base, asOf)
	if !ok {
		rows, err := s.Store.SchoolYears(ctx, own, MinYear, MaxYear)
		if err != nil {
			return nil, time.Time{}, err
		}
		whole = newFactSet(rows)
		s.facts.put(base, asOf, whole)
	}
	set := whole.filter(sc.holds)
	s.facts.put(key, asOf, set)
	return set, asOf, nil
}

// factSet is a scope's facts in year order, with where each year starts.
type factSet struct {
	rows        []SchoolYear // by year, then school
	first, last int          // the years held; 0, 0 when empty
	start       []int        // start[y-first]: the first row of year y; one more for the end
}

func newFactSet(rows []SchoolYear) *factSet {
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Year != rows[j].Year {
			return rows[i].Year < rows[j].Year
		}
		return rows[i].School < rows[j].School
	})
	f := &factSet{rows: rows}
	if len(rows) == 0 {
		return f
	}
	f.first, f.last = rows[0].Year, rows[len(rows)-1].Year
	f.start = make([]int, f.last-f.first+2)
	i := 0
	for y := f.first; y <= f.last+1; y++ {
		for i < len(rows) && rows[i].Year < y {
			i++
		}
		f.start[y-f.first] = i
	}
	return f
}

// years returns the rows of the years from to to (a shared slice: read
// only).
func (f *factSet) years(from, to int) []SchoolYear {
	from, to = max(from, f.first), min(to, f.last)
	if len(f.rows) == 0 || from > to {
		return nil
	}
	return f.rows[f.start[from-f.first]:f.start[to-f.first+1]:f.start[to-f.first+1]]
}

// filter returns the rows that keep holds, as a new set.
func (f *factSet) filter(keep func(*SchoolYear) bool) *factSet {
	var rows []SchoolYear
	for i := range f.rows {
		if keep(&f.rows[i]) {
			rows = append(rows, f.rows[i])
		}
	}
	return newFactSet(rows)
}

// factsCache keeps the fact sets of the scopes asked for most recently,
// each valid for the rebuild it was read after.
type factsCache struct {
	mu      sync.Mutex
	max     int
	tick    uint64
	entries map[string]*factsEntry
}

type factsEntry struct {
	asOf time.Time
	used uint64
	set  *factSet
}

func newFactsCache(n int) *factsCache {
	return &factsCache{max: n, entries: map[string]*factsEntry{}}
}

func (c *factsCache) get(key string, asOf time.Time) (*factSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !e.asOf.Equal(asOf) {
		return nil, false
	}
	c.tick++
	e.used = c.tick
	return e.set, true
}

func (c *factsCache) put(key string, asOf time.Time, set *factSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		// Evict the least recently used; a linear scan over a few dozen
		// entries costs less than keeping a list in order.
		var oldest string
		var at uint64
		for k, e := range c.entries {
			if oldest == "" || e.used < at {
				oldest, at = k, e.used
			}
		}
		delete(c.entries, oldest)
	}
	c.tick++
	c.entries[key] = &factsEntry{asOf: asOf, used: c.tick, set: set}
}

// Forget drops every cached fact set (for tests and benchmarks of a cold
// start).
func (s *Service) Forget() {
	s.facts.mu.Lock()
	defer s.facts.mu.Unlock()
	clear(s.facts.entries)
}
