package plan

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
)

// Report is a value entered for a reported indicator: one year, one
// scope, against the plan version it was entered for. Reports are never
// moved to a later version; see Revise and CarriesOver.
type Report struct {
	PlanID    string  `json:"plan_id"`
	Version   int     `json:"version"`
	Indicator string  `json:"indicator"`
	Year      int     `json:"year"`
	Scope     string  `json:"scope"` // NationalScope, a province or a city code
	Value     float64 `json:"value"` // in the indicator's unit
	// Entered is the value as typed, kept for review.
	Entered        string    `json:"entered"`
	Evidence       string    `json:"evidence"` // what the figure rests on (文件、统计表…)
	ReportedBy     int64     `json:"reported_by"`
	ReportedByName string    `json:"reported_by_name"`
	ReportedAt     time.Time `json:"reported_at"`
}

// ReportInput is what a user submits to report a value.
type ReportInput struct {
	Version   int    `json:"version"` // the plan version the form showed
	Indicator string `json:"indicator"`
	Year      int    `json:"year"`
	Scope     string `json:"scope"`
	Value     string `json:"value"` // as typed: "52.3", "９７％", "1,234"
	Evidence  string `json:"evidence"`
}

// MaxEvidence is the longest evidence note.
const MaxEvidence = 1000

// NewReport checks a reported value against the plan and the reporter and
// returns the report to store. The reporter's scope bounds where it may
// report: the province (auth.ScopeAll) anywhere in the plan's scope, a
// city bureau only for its own city; schools, auditors and the public not
// at all, since schools' own figures come from their records.
func NewReport(p *Plan, in ReportInput, by auth.Principal, at time.Time) (Report, error) {
	scope := by.Scope()
	if !by.CanWrite() || (scope.Kind != auth.ScopeAll && scope.Kind != auth.ScopeCity) {
		return Report{}, apperr.E(apperr.Forbidden, "", "plan.report.forbidden")
	}
	if in.Version != p.Version {
		return Report{}, apperr.E(apperr.Conflict, "version", "plan.report.version.stale", p.Version)
	}
	ind, ok := p.Indicator(strings.TrimSpace(in.Indicator))
	if !ok {
		return Report{}, apperr.E(apperr.Invalid, "indicator", "plan.report.indicator.unknown", in.Indicator)
	}
	if ind.Source.Kind != Reported {
		return Report{}, apperr.E(apperr.Invalid, "indicator", "plan.report.indicator.computed", ind.Name)
	}
	if in.Year < p.BaselineYear || in.Year > p.TargetYear {
		return Report{}, apperr.E(apperr.Invalid, "year", "plan.report.year.outside", in.Year, p.BaselineYear, p.TargetYear)
	}
	code := strings.TrimSpace(in.Scope)
	if code != NationalScope && !isProvince(code) && !isCity(code) {
		return Report{}, apperr.E(apperr.Invalid, "scope", "plan.report.scope.invalid", in.Scope)
	}
	if !scopeContains(p.ScopeCode, code) {
		return Report{}, apperr.E(apperr.Invalid, "scope", "plan.report.scope.outside_plan", code, p.ScopeCode)
	}
	if scope.Kind == auth.ScopeCity && code != scope.Code {
		return Report{}, apperr.E(apperr.Forbidden, "scope", "plan.report.scope.forbidden", code)
	}
	v, err := ParseValue(in.Value, ind)
	if err != nil {
		return Report{}, err
	}
	evidence, err := checkNote("evidence", "依据说明", in.Evidence, MaxEvidence)
	if err != nil {
		return Report{}, err
	}
	return Report{
		PlanID: p.ID, Version: p.Version, Indicator: ind.Code, Year: in.Year, Scope: code,
		Value: v, Entered: strings.TrimSpace(in.Value), Evidence: evidence,
		ReportedBy: by.UserID, ReportedByName: by.Name, ReportedAt: at,
	}, nil
}

var (
	plainNumber   = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)
	groupedNumber = regexp.MustCompile(`^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$`)
	// fullWidth maps what Chinese input methods type in full width.
	fullWidth = strings.NewReplacer(
		"０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
		"５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
		"．", ".", "。", ".", "，", ",", "％", "%", "－", "-", "＋", "+", "　", " ",
	)
)

// ParseValue reads a value typed for the indicator: digits with an
// optional decimal point, thousands grouped with commas, full-width
// characters as Chinese input methods type them, and the indicator's unit
// after the number ("55万人次", "97%"). It refuses anything else (words,
// exponents, "NaN"), negative values, fractions of a count and ratios
// above 100.
func ParseValue(text string, ind *Indicator) (float64, error) {
	s := strings.TrimSpace(fullWidth.Replace(text))
	if s == "" {
		return 0, apperr.E(apperr.Invalid, "value", "field.required", "填报值")
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, ind.Unit))
	if groupedNumber.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	if !plainNumber.MatchString(s) {
		return 0, apperr.E(apperr.Invalid, "value", "plan.report.value.not_number", strings.TrimSpace(text))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, apperr.E(apperr.Invalid, "value", "plan.report.value.not_number", strings.TrimSpace(text))
	}
	if v == 0 {
		v = 0 // no "-0" in storage
	}
	if err := checkAmount("value", "填报值", &v, ind); err != nil {
		return 0, err
	}
	return v, nil
}

// checkNote is checkText for a note of several lines.
func checkNote(field, label, s string, limit int) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	switch {
	case s == "":
		return s, apperr.E(apperr.Invalid, field, "field.required", label)
	case utf8.RuneCountInString(s) > limit:
		return s, apperr.E(apperr.Invalid, field, "field.too_long", limit)
	case strings.ContainsAny(s, "<>\x00") || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return s, apperr.E(apperr.Invalid, field, "field.markup", label)
	}
	return s, nil
}

// RollUp adds the values reported for the parts of a scope (the cities of
// a province) into the scope's value, for additive indicators. A ratio
// cannot be formed from the parts' ratios, so it must be reported for the
// scope itself: false.
func RollUp(ind *Indicator, parts []float64) (float64, bool) {
	if !ind.Aggregate.Additive() || len(parts) == 0 {
		return 0, false
	}
	var sum float64
	for _, v := range parts {
		sum += v
	}
	return sum, true
}
