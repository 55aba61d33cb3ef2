package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var shandongCities = []string{
	"370100", "370200", "370300", "370400", "370500", "370600", "370700", "370800",
	"370900", "371000", "371100", "371300", "371400", "371500", "371600", "371700",
}

// shandong2016to2020 builds facts shaped like Shandong's 十三五 as the
// plan's 2020 column states it: 45 技师学院, 32 高级技工学校, 104 技工学校;
// intake 136k…175k (mean 15.5万); year-end enrollment 320k…380k (mean
// 35万); 18 schools of 12,000 students; half of all students in 高级工班
// or above. A closed 技师学院 with an empty row must not count.
func shandong2016to2020() []SchoolYear {
	intake := map[int]int{2016: 136000, 2017: 146000, 2018: 155000, 2019: 163000, 2020: 175000}
	enrolled := map[int]int{2016: 320000, 2017: 335000, 2018: 350000, 2019: 365000, 2020: 380000}
	type school struct{ code, city, typ string }
	var schools []school
	add := func(n int, typ string) {
		for range n {
			i := len(schools)
			schools = append(schools, school{fmt.Sprintf("S%04d", i), shandongCities[i%len(shandongCities)], typ})
		}
	}
	add(45, "技师学院")
	add(32, "高级技工学校")
	add(104, "技工学校")
	const big, bigSize = 18, 12000
	var facts []SchoolYear
	for y := 2016; y <= 2020; y++ {
		small := len(schools) - big
		rest := enrolled[y] - big*bigSize
		each := rest / small / 2 * 2 // even, so that exactly half are senior
		intakeEach := intake[y] / len(schools)
		for i, s := range schools {
			e := each
			switch {
			case i < big:
				e = bigSize
			case i == len(schools)-1:
				e = rest - each*(small-1)
			}
			in := intakeEach
			if i == len(schools)-1 {
				in = intake[y] - intakeEach*(len(schools)-1)
			}
			facts = append(facts, SchoolYear{School: s.code, City: s.city, Type: s.typ, Quality: i < 3,
				Year: y, Intake: in, Enrolled: e, EnrolledSenior: e / 2})
		}
		facts = append(facts, SchoolYear{School: "CLOSED", City: "370100", Type: "技师学院", Year: y})
	}
	return facts
}

// TestBaselineColumnFromRecords recomputes the 2020 column of 专栏1 from
// records: every computed indicator's 2020 value is its baseline.
func TestBaselineColumnFromRecords(t *testing.T) {
	p, ok := BuiltinPlan("sd-jg-14-5")
	if !ok {
		t.Fatal("no Shandong plan")
	}
	rows, err := Evaluate(&p, 2020, Data{Facts: shandong2016to2020()})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rows {
		if r.Source.Kind != Computed || r.Baseline == nil {
			continue
		}
		checked++
		if r.Value == nil || math.Abs(*r.Value-*r.Baseline) > 1e-9 {
			t.Errorf("%s 2020 = %v, want the baseline %v (%+v)", r.Name, ptr(r.Value), *r.Baseline, r.Computation)
		}
		if r.RuleDefinition == "" || r.Definition == "" {
			t.Errorf("%s has no definition", r.Name)
		}
	}
	if checked != 5 {
		t.Errorf("checked %d computed baselines, want 5 (技师学院数, 年均招生, 年均在校生, 万人以上学校, 高级工班以上比例)", checked)
	}
	byCode := map[string]Row{}
	for _, r := range rows {
		byCode[r.Code] = r
	}
	// 年均招生 2020 is the mean of 2016–2020, with the yearly sums shown.
	c := byCode["avg_intake"].Computation
	if c.Window != (Window{2016, 2020}) || len(c.Years) != 5 || c.Years[0].Numerator != 136000 || c.Factor != 10000 || c.FigureUnit != "人" {
		t.Errorf("avg_intake computation = %+v", c)
	}
	if v := byCode["quality_schools"].Value; v == nil || *v != 3 {
		t.Errorf("quality_schools = %v, want 3", v)
	}
	// Reported indicators have no value without reports.
	if r := byCode["employment_rate"]; r.Value != nil || r.Status != StatusNoData {
		t.Errorf("employment_rate = %v %s", r.Value, r.Status)
	}
}

func TestRulesOnFacts(t *testing.T) {
	facts := []SchoolYear{
		{School: "A", City: "370100", Type: "技师学院", Quality: true, Year: 2021, Intake: 4000, Enrolled: 11000, EnrolledSenior: 8000},
		{School: "B", City: "370100", Type: "技工学校", Year: 2021, Intake: 1000, Enrolled: 9000, EnrolledSenior: 0},
		{School: "C", City: "370200", Type: "技师学院", Year: 2021, Intake: 0, Enrolled: 10000, EnrolledSenior: 2000},
		{School: "D", City: "370200", Type: "技师学院", Year: 2021}, // no students: not counted
		{School: "A", City: "370100", Type: "技师学院", Quality: true, Year: 2022, Intake: 5000, Enrolled: 12000, EnrolledSenior: 9000},
		{School: "B", City: "370100", Type: "技工学校", Year: 2022, Intake: 2000, Enrolled: 8000, EnrolledSenior: 0},
	}
	p := testPlan()
	tests := []struct {
		rule string
		unit string
		year int
		want float64
	}{
		{"schools", "所", 2021, 3},
		{"technician_colleges", "所", 2021, 2},
		{"technician_colleges", "所", 2022, 1},
		{"quality_schools", "所", 2021, 1},
		{"schools_over_10000", "所", 2021, 2}, // 10000 itself counts: 达万人
		{"intake", "人", 2021, 5000},
		{"intake", "万人", 2022, 0.7},
		{"enrolled", "万人", 2021, 3},
		{"avg_intake", "人", 2021, 5000},
		{"avg_intake", "人", 2022, 6000},   // (5000 + 7000) / 2
		{"avg_enrolled", "万人", 2022, 2.5}, // (30000 + 20000) / 2
		{"senior_share", "%", 2021, 10000.0 / 30000 * 100},
		{"senior_share", "%", 2022, 45},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.rule, tt.year), func(t *testing.T) {
			r, _ := LookupRule(tt.rule)
			ind := Indicator{Code: "x", Unit: tt.unit, Aggregate: r.Aggregate, Source: Source{Kind: Computed, Rule: tt.rule}}
			c, err := Measure(&p, &ind, tt.year, Data{Facts: facts})
			if err != nil {
				t.Fatal(err)
			}
			if c.Value == nil || math.Abs(*c.Value-tt.want) > 1e-9 {
				t.Errorf("value = %v, want %v (%+v)", ptr(c.Value), tt.want, c)
			}
		})
	}
}

func TestMeasureMissingYears(t *testing.T) {
	p := testPlan()
	ind, _ := p.Indicator("avg_intake")
	facts := []SchoolYear{
		{School: "A", Year: 2018, Intake: 100, Enrolled: 100},
		{School: "A", Year: 2019, Intake: 100, Enrolled: 100},
		{School: "A", Year: 2020, Intake: 100, Enrolled: 100},
	}
	c, err := Measure(&p, ind, 2020, Data{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	// The records start in 2018: the 2016–2020 mean cannot be formed.
	if c.Value != nil || len(c.MissingYears) != 2 || c.MissingYears[0] != 2016 {
		t.Errorf("value %v missing %v", c.Value, c.MissingYears)
	}
	if Judge(&p, ind, 2020, c.Value).Status != StatusNoData {
		t.Error("a value that cannot be formed has no data")
	}
	// A ratio over nobody has no value.
	share := Indicator{Code: "s", Unit: "%", Aggregate: AggregateRatio, Source: Source{Kind: Computed, Rule: "senior_share"}}
	c, _ = Measure(&p, &share, 2020, Data{Facts: []SchoolYear{{School: "A", Year: 2020}}})
	if c.Value != nil {
		t.Errorf("ratio over nobody = %v", *c.Value)
	}
	// A year outside what the plan can compute.
	_, err = Measure(&p, ind, 2026, Data{Facts: facts})
	wantErr(t, err, "validation_failed", "year", "plan.year.outside")
}

func TestMeasureReported(t *testing.T) {
	p := testPlan()
	d := Data{Reported: map[string]map[int]float64{
		"training":        {2021: 48, 2022: 51, 2023: 55},
		"employment_rate": {2021: 97.2, 2022: 96.8},
	}}
	training, _ := p.Indicator("training")
	c, err := Measure(&p, training, 2023, d)
	if err != nil {
		t.Fatal(err)
	}
	if c.Value == nil || *c.Value != 154 || c.Window != (Window{2021, 2023}) || c.Source != Reported {
		t.Errorf("cumulative = %+v", c)
	}
	c, _ = Measure(&p, training, 2024, d)
	if c.Value != nil || len(c.MissingYears) != 1 || c.MissingYears[0] != 2024 {
		t.Errorf("a missing year must leave the cumulative empty: %+v", c)
	}
	rate, _ := p.Indicator("employment_rate")
	c, _ = Measure(&p, rate, 2022, d)
	if c.Value == nil || *c.Value != 96.8 {
		t.Errorf("reported ratio = %v", c.Value)
	}
	if _, err := ByCity(&p, rate, 2022, d); err == nil {
		t.Error("a reported indicator has no breakdown by city")
	}
}

func TestGroupIndicator(t *testing.T) {
	p, _ := BuiltinPlan("sd-tingshu-2023")
	ind, _ := p.Indicator("enrolled")
	facts := []SchoolYear{
		{School: "T1", City: "370100", Year: 2025, Enrolled: 40000, Intake: 15000},
		{School: "T2", City: "370600", Year: 2025, Enrolled: 25000, Intake: 9000},
		{School: "X", City: "370100", Year: 2025, Enrolled: 90000, Intake: 30000},
	}
	d := Data{Facts: facts, Members: map[string][]string{"sd-tingshu": {"T1", "T2"}}}
	c, err := Measure(&p, ind, 2025, d)
	if err != nil {
		t.Fatal(err)
	}
	if c.Value == nil || *c.Value != 6.5 {
		t.Fatalf("厅属院校 enrolled = %v, want 6.5 (万人)", c.Value)
	}
	if j := Judge(&p, ind, 2025, c.Value); j.Status != StatusMet {
		t.Errorf("6.5万 ≥ 6万 should be met, got %s", j.Status)
	}
	parts, err := BySchool(&p, ind, 2025, d)
	if err != nil || len(parts) != 2 || parts[0].Key != "T1" || *parts[0].Value != 4 {
		t.Errorf("drill-down = %+v %v", parts, err)
	}
	// A group without members has no data, not zero.
	c, _ = Measure(&p, ind, 2025, Data{Facts: facts})
	if c.Value != nil {
		t.Errorf("empty group = %v", *c.Value)
	}
}

// randomFacts are schools in random cities with random figures over
// 2016–2025, every year present.
func randomFacts(rng *rand.Rand) []SchoolYear {
	types := []string{"技工学校", "高级技工学校", "技师学院"}
	var facts []SchoolYear
	n := 20 + rng.IntN(60)
	for i := range n {
		code := fmt.Sprintf("R%03d", i)
		city := shandongCities[rng.IntN(len(shandongCities))]
		typ := types[rng.IntN(3)]
		quality := rng.IntN(5) == 0
		first := 2016 + rng.IntN(4) // some schools open later
		for y := first; y <= 2025; y++ {
			enrolled := rng.IntN(15000)
			if rng.IntN(10) == 0 {
				enrolled = 0
			}
			facts = append(facts, SchoolYear{School: code, City: city, Type: typ, Quality: quality, Year: y,
				Intake: rng.IntN(6000), Enrolled: enrolled, EnrolledSenior: enrolled * rng.IntN(101) / 100})
		}
	}
	return facts
}

// TestBreakdownProperties: for random facts, the cities' values of every
// additive rule add up to the province's, and so do the schools'; the
// province's ratio is the ratio of the sums, not the mean of the cities'
// ratios.
func TestBreakdownProperties(t *testing.T) {
	p := testPlan()
	meanDiffers := false
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		d := Data{Facts: randomFacts(rng)}
		year := 2020 + rng.IntN(6)
		for _, r := range Rules() {
			unit := r.Unit
			if unit == "人" && rng.IntN(2) == 0 {
				unit = "万人"
			}
			ind := Indicator{Code: r.Name, Unit: unit, Aggregate: r.Aggregate, Source: Source{Kind: Computed, Rule: r.Name}}
			whole, err := Measure(&p, &ind, year, d)
			if err != nil || whole.Value == nil {
				t.Fatalf("seed %d %s %d: %v %+v", seed, r.Name, year, err, whole)
			}
			cities, err := ByCity(&p, &ind, year, d)
			if err != nil {
				t.Fatal(err)
			}
			schools, _ := BySchool(&p, &ind, year, d)
			if r.Aggregate.Additive() {
				for name, parts := range map[string][]Part{"cities": cities, "schools": schools} {
					var sum float64
					for _, part := range parts {
						sum += *part.Value
					}
					if math.Abs(sum-*whole.Value) > 1e-6*math.Max(1, *whole.Value) {
						t.Errorf("seed %d %s %d: %s add up to %v, province %v", seed, r.Name, year, name, sum, *whole.Value)
					}
				}
				continue
			}
			var num, den, meanOfRatios float64
			n := 0
			for _, part := range cities {
				for _, y := range part.Years {
					num += y.Numerator
					den += y.Denominator
				}
				if part.Value != nil {
					meanOfRatios += *part.Value
					n++
				}
			}
			if want := num / den * 100; math.Abs(*whole.Value-want) > 1e-9 {
				t.Errorf("seed %d %s: province %v, ratio of the cities' sums %v", seed, r.Name, *whole.Value, want)
			}
			if math.Abs(meanOfRatios/float64(n)-*whole.Value) > 1e-6 {
				meanDiffers = true
			}
		}
	}
	if !meanDiffers {
		t.Error("the random facts never tell a ratio of sums from a mean of ratios")
	}
}

func TestRulesRegistry(t *testing.T) {
	want := []string{"avg_enrolled", "avg_intake", "enrolled", "intake", "quality_schools", "schools", "schools_over_10000", "senior_share", "technician_colleges"}
	got := Rules()
	if len(got) != len(want) {
		t.Fatalf("rules = %d, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Name != want[i] || r.Label == "" || r.Definition == "" || r.yearly == nil || !r.Aggregate.Additive() && r.Aggregate != AggregateRatio {
			t.Errorf("rule %d = %+v", i, r)
		}
	}
	if _, ok := LookupRule("no_such_rule"); ok {
		t.Error("unknown rule found")
	}
}

func TestUnitFactor(t *testing.T) {
	tests := []struct {
		from, to string
		want     float64
		ok       bool
	}{
		{"人", "人", 1, true},
		{"人", "万人", 10000, true},
		{"人次", "万人次", 10000, true},
		{"所", "所", 1, true},
		{"人", "人次", 0, false},
		{"所", "个", 0, false},
	}
	for _, tt := range tests {
		got, ok := unitFactor(tt.from, tt.to)
		if got != tt.want || ok != tt.ok {
			t.Errorf("unitFactor(%s, %s) = %v %v", tt.from, tt.to, got, ok)
		}
	}
}

func TestTrend(t *testing.T) {
	p, _ := BuiltinPlan("sd-jg-14-5")
	ind, _ := p.Indicator("technician_colleges")
	var facts []SchoolYear
	for y, n := range map[int]int{2020: 45, 2021: 46, 2022: 46, 2023: 49} {
		for i := range n {
			facts = append(facts, SchoolYear{School: fmt.Sprint(i), Type: "技师学院", Year: y, Enrolled: 1})
		}
	}
	pts, err := Trend(&p, ind, 2024, Data{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		v      float64
		status Status
	}{{45, StatusOnTrack}, {46, StatusOnTrack}, {46, StatusBehind}, {49, StatusOnTrack}, {0, StatusNoData}}
	if len(pts) != len(want) {
		t.Fatalf("trend = %+v", pts)
	}
	for i, w := range want {
		if pts[i].Year != 2020+i || pts[i].Status != w.status || (pts[i].Value != nil && *pts[i].Value != w.v) {
			t.Errorf("%d: %+v, want %v %s", 2020+i, pts[i], w.v, w.status)
		}
	}
}
