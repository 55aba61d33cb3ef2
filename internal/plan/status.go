package plan

import "math"

// Status is how an indicator stands in a year.
type Status string

const (
	StatusMet     Status = "达标"  // the target is met by its comparison
	StatusOnTrack Status = "按进度" // not yet met, but on or ahead of the path or milestone
	StatusBehind  Status = "滞后"  // behind the path or milestone, or not met when due
	StatusNoData  Status = "无数据" // no value for the year
	// StatusNotJudged: there is a value but nothing to hold it to: a
	// monitored figure without target, a year outside baseline–target, or
	// no baseline to draw a path from before the target is due.
	StatusNotJudged Status = "不评估"
)

// Judgement is a status and what it rests on.
type Judgement struct {
	Status Status `json:"status"`
	// Expected is the path or milestone value the year was held to, when
	// one was.
	Expected *float64 `json:"expected,omitempty"`
	// Basis is the message key of a sentence saying what the status rests
	// on (see messages.json, "plan.basis.*").
	Basis string `json:"basis"`
}

// Judge holds a year's value of the indicator to its target.
//
// Met when the value meets the target by its comparison. Otherwise, from
// the year the target is due on, or in any year of the period for an
// every-year target, behind. Before that, the value is held to the year's
// milestone when there is one, else to the straight path from the baseline
// (at the baseline year) to the target (at the due year): on track when
// on or ahead of it, ahead meaning below it for ≤ and < targets. Cumulative
// totals start their path at zero, not at the baseline, which sums up the
// previous period. Without a baseline and milestone there is no path, and
// the value is not judged until the target is due.
func Judge(p *Plan, ind *Indicator, year int, value *float64) Judgement {
	switch {
	case value == nil:
		return Judgement{Status: StatusNoData, Basis: "plan.basis.no_value"}
	case ind.Target == nil:
		return Judgement{Status: StatusNotJudged, Basis: "plan.basis.no_target"}
	case year < p.BaselineYear || year > p.TargetYear:
		return Judgement{Status: StatusNotJudged, Basis: "plan.basis.outside"}
	}
	v, target := *value, *ind.Target
	if meets(ind.Comparison, v, target) {
		return Judgement{Status: StatusMet, Expected: ind.Target, Basis: "plan.basis.target"}
	}
	due := ind.DueYear(p)
	if year >= due {
		return Judgement{Status: StatusBehind, Expected: ind.Target, Basis: "plan.basis.due"}
	}
	if ind.EveryYear && year > p.BaselineYear {
		return Judgement{Status: StatusBehind, Expected: ind.Target, Basis: "plan.basis.every_year"}
	}
	var start, expected float64
	var basis string
	if m, ok := ind.Milestones[year]; ok {
		start, expected, basis = m, m, "plan.basis.milestone"
		if ind.Baseline != nil {
			start = *ind.Baseline
		}
	} else {
		switch {
		case ind.Aggregate == AggregateCumulative:
			start, basis = 0, "plan.basis.cumulative_path"
		case ind.Baseline != nil:
			start, basis = *ind.Baseline, "plan.basis.path"
		default:
			return Judgement{Status: StatusNotJudged, Basis: "plan.basis.no_baseline"}
		}
		expected = start + (target-start)*float64(year-p.BaselineYear)/float64(due-p.BaselineYear)
	}
	j := Judgement{Status: StatusBehind, Expected: &expected, Basis: basis}
	if onTrack(ind.Comparison, v, expected, start, target) {
		j.Status = StatusOnTrack
	}
	return j
}

// tolerance absorbs the rounding of sums divided into 万 and percentages.
func tolerance(t float64) float64 { return 1e-9 * math.Max(1, math.Abs(t)) }

// meets reports whether v meets target t by comparison c.
func meets(c Comparison, v, t float64) bool {
	eps := tolerance(t)
	switch c {
	case AtLeast:
		return v >= t-eps
	case Above:
		return v > t+eps
	case AtMost:
		return v <= t+eps
	case Below:
		return v < t-eps
	case Equal:
		return math.Abs(v-t) <= eps
	case About:
		return v >= t*(1-AboutTolerance)-eps
	}
	return false
}

// onTrack reports whether v is on or ahead of the expected value of a
// path from start to target.
func onTrack(c Comparison, v, expected, start, target float64) bool {
	eps := tolerance(expected)
	switch {
	case c.lowerIsBetter(start, target):
		return v <= expected+eps
	case c == About:
		return v >= expected*(1-AboutTolerance)-eps
	}
	return v >= expected-eps
}
