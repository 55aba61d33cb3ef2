package plan

import (
	"math"
	"testing"
)

func TestJudge(t *testing.T) {
	plan := Plan{BaselineYear: 2020, TargetYear: 2025}
	up := Indicator{Aggregate: AggregateCount, Comparison: Above, Baseline: f(45), Target: f(50)}        // path 46, 47, 48, 49, 50
	atLeast := Indicator{Aggregate: AggregateRatio, Comparison: AtLeast, Baseline: f(50), Target: f(55)} // path 51 … 55
	down := Indicator{Aggregate: AggregateRatio, Comparison: AtMost, Baseline: f(30), Target: f(20)}     // path 28, 26, 24, 22, 20
	flat := Indicator{Aggregate: AggregateRatio, Comparison: Above, Baseline: f(97), Target: f(97)}
	falling := Indicator{Aggregate: AggregateYearlyAverage, Comparison: Above, Baseline: f(15.5), Target: f(15)} // path 15.4 … 15
	noBase := Indicator{Aggregate: AggregateCount, Comparison: Above, Target: f(10)}
	cumulative := Indicator{Aggregate: AggregateCumulative, Comparison: Above, Baseline: f(200), Target: f(250)} // path 50, 100, … 250
	milestone := Indicator{Aggregate: AggregateCount, Comparison: AtLeast, Target: f(10), Milestones: map[int]float64{2022: 4, 2024: 8}}
	about := Indicator{Aggregate: AggregateCount, Comparison: About, Baseline: f(0), Target: f(50)}
	equal := Indicator{Aggregate: AggregateRatio, Comparison: Equal, Baseline: f(60), Target: f(100)}
	everyYear := Indicator{Aggregate: AggregateSum, Comparison: AtLeast, Target: f(50), EveryYear: true}
	early := Indicator{Aggregate: AggregateRatio, Comparison: Equal, Baseline: f(40), Target: f(100), TargetYear: 2024}
	monitor := Indicator{Aggregate: AggregateCount, Baseline: f(2423)}

	tests := []struct {
		name     string
		ind      Indicator
		year     int
		value    *float64
		want     Status
		expected float64 // NaN: none
		basis    string
	}{
		{"no value", up, 2023, nil, StatusNoData, math.NaN(), "plan.basis.no_value"},
		{"met early", up, 2022, f(51), StatusMet, 50, "plan.basis.target"},
		{"strict: equal to target is not met", up, 2025, f(50), StatusBehind, 50, "plan.basis.due"},
		{"on path", up, 2023, f(48), StatusOnTrack, 48, "plan.basis.path"},
		{"ahead of path", up, 2023, f(49), StatusOnTrack, 48, "plan.basis.path"},
		{"behind path", up, 2023, f(47), StatusBehind, 48, "plan.basis.path"},
		{"baseline year on its own baseline", up, 2020, f(45), StatusOnTrack, 45, "plan.basis.path"},
		{"baseline year below baseline", up, 2020, f(44), StatusBehind, 45, "plan.basis.path"},
		{"year before the period", up, 2019, f(45), StatusNotJudged, math.NaN(), "plan.basis.outside"},
		{"year after the plan", up, 2026, f(60), StatusNotJudged, math.NaN(), "plan.basis.outside"},
		{"at least: equal to target is met", atLeast, 2025, f(55), StatusMet, 55, "plan.basis.target"},
		{"at least: rounding noise still meets", atLeast, 2025, f(55 - 1e-12), StatusMet, 55, "plan.basis.target"},
		{"lower is better: met", down, 2022, f(19), StatusMet, 20, "plan.basis.target"},
		{"lower is better: below path", down, 2022, f(25), StatusOnTrack, 26, "plan.basis.path"},
		{"lower is better: above path", down, 2022, f(27), StatusBehind, 26, "plan.basis.path"},
		{"lower is better: missed when due", down, 2025, f(21), StatusBehind, 20, "plan.basis.due"},
		{"equal baseline and target: holding", flat, 2023, f(97), StatusOnTrack, 97, "plan.basis.path"},
		{"equal baseline and target: slipping", flat, 2023, f(96.9), StatusBehind, 97, "plan.basis.path"},
		{"equal baseline and target: above", flat, 2023, f(97.1), StatusMet, 97, "plan.basis.target"},
		{"target below baseline: met", falling, 2023, f(15.3), StatusMet, 15, "plan.basis.target"},
		{"no baseline: not judged before due", noBase, 2023, f(3), StatusNotJudged, math.NaN(), "plan.basis.no_baseline"},
		{"no baseline: met", noBase, 2023, f(11), StatusMet, 10, "plan.basis.target"},
		{"no baseline: behind when due", noBase, 2025, f(9), StatusBehind, 10, "plan.basis.due"},
		{"cumulative path starts at zero", cumulative, 2022, f(100), StatusOnTrack, 100, "plan.basis.cumulative_path"},
		{"cumulative behind", cumulative, 2023, f(140), StatusBehind, 150, "plan.basis.cumulative_path"},
		{"cumulative met", cumulative, 2025, f(251), StatusMet, 250, "plan.basis.target"},
		{"milestone reached", milestone, 2022, f(4), StatusOnTrack, 4, "plan.basis.milestone"},
		{"milestone missed", milestone, 2024, f(7), StatusBehind, 8, "plan.basis.milestone"},
		{"no milestone, no baseline", milestone, 2023, f(7), StatusNotJudged, math.NaN(), "plan.basis.no_baseline"},
		{"about: 90% meets", about, 2024, f(45), StatusMet, 50, "plan.basis.target"},
		{"about: more meets", about, 2025, f(60), StatusMet, 50, "plan.basis.target"},
		{"about: short when due", about, 2025, f(44), StatusBehind, 50, "plan.basis.due"},
		{"about: path with tolerance", about, 2022, f(18.5), StatusOnTrack, 20, "plan.basis.path"},
		{"equal: 100% met", equal, 2023, f(100), StatusMet, 100, "plan.basis.target"},
		{"equal: rising path", equal, 2023, f(85), StatusOnTrack, 84, "plan.basis.path"},
		{"every year: met", everyYear, 2021, f(52), StatusMet, 50, "plan.basis.target"},
		{"every year: missed in the first year", everyYear, 2021, f(49), StatusBehind, 50, "plan.basis.every_year"},
		{"indicator due earlier than the plan", early, 2024, f(95), StatusBehind, 100, "plan.basis.due"},
		{"indicator due earlier: path to its year", early, 2022, f(70), StatusOnTrack, 70, "plan.basis.path"},
		{"indicator due earlier: still judged after", early, 2025, f(100), StatusMet, 100, "plan.basis.target"},
		{"monitored figure", monitor, 2023, f(2500), StatusNotJudged, math.NaN(), "plan.basis.no_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Judge(&plan, &tt.ind, tt.year, tt.value)
			if j.Status != tt.want || j.Basis != tt.basis {
				t.Errorf("status %s (%s), want %s (%s)", j.Status, j.Basis, tt.want, tt.basis)
			}
			switch {
			case math.IsNaN(tt.expected) && j.Expected != nil:
				t.Errorf("expected %v, want none", *j.Expected)
			case !math.IsNaN(tt.expected) && (j.Expected == nil || math.Abs(*j.Expected-tt.expected) > 1e-9):
				t.Errorf("expected %v, want %v", j.Expected, tt.expected)
			}
		})
	}
}

func TestMeets(t *testing.T) {
	tests := []struct {
		c    Comparison
		v, t float64
		want bool
	}{
		{AtLeast, 15, 15, true},
		{AtLeast, 14.99, 15, false},
		{Above, 15, 15, false},
		{Above, 15.01, 15, true},
		{AtMost, 20, 20, true},
		{AtMost, 20.01, 20, false},
		{Below, 20, 20, false},
		{Below, 19.99, 20, true},
		{Equal, 100, 100, true},
		{Equal, 99.9, 100, false},
		{About, 13.5, 15, true},
		{About, 13.4, 15, false},
		{"?", 1, 1, false},
	}
	for _, tt := range tests {
		if got := meets(tt.c, tt.v, tt.t); got != tt.want {
			t.Errorf("meets(%s, %v, %v) = %v", tt.c, tt.v, tt.t, got)
		}
	}
}
