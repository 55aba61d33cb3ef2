package school

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
)

// A filing (申报) is what a school submits each year for review and
// publication: its enrollment plan with its qualification application
// (招生计划与招生资质), an off-campus teaching site (校外教学点) or a
// joint program (联合办学). All three go through the same review: the
// city reviews, the province approves or rejects, the province publishes.
const (
	KindPlan  = "plan"
	KindSite  = "site"
	KindJoint = "joint"
)

// Kinds lists the filing kinds.
var Kinds = []string{KindPlan, KindSite, KindJoint}

// KindName is the Chinese name of a filing kind.
func KindName(kind string) string {
	switch kind {
	case KindPlan:
		return "招生计划与招生资质"
	case KindSite:
		return "校外教学点"
	case KindJoint:
		return "联合办学"
	}
	return kind
}

// Filing states.
const (
	FilingDraft        = "draft"         // the school is writing it
	FilingSubmitted    = "submitted"     // waiting for the city
	FilingReturned     = "returned"      // sent back with reasons; editable again
	FilingCityApproved = "city_approved" // waiting for the province
	FilingApproved     = "approved"      // approved, not yet published; locked
	FilingRejected     = "rejected"      // refused by the province; final
	FilingPublished    = "published"     // on the public portal; locked
	FilingSuperseded   = "superseded"    // replaced by a published change
	FilingWithdrawn    = "withdrawn"     // withdrawn by the school; final
)

// FilingStates lists the states in the order of the review.
var FilingStates = []string{FilingDraft, FilingSubmitted, FilingReturned, FilingCityApproved, FilingApproved, FilingPublished,
	FilingRejected, FilingSuperseded, FilingWithdrawn}

// FilingStateName is the Chinese name of a state.
func FilingStateName(state string) string {
	switch state {
	case FilingDraft:
		return "草稿"
	case FilingSubmitted:
		return "已提交，待市级审核"
	case FilingReturned:
		return "已退回修改"
	case FilingCityApproved:
		return "市级审核通过，待省级审批"
	case FilingApproved:
		return "省级已批准，待公示"
	case FilingRejected:
		return "省级不予批准"
	case FilingPublished:
		return "已公示"
	case FilingSuperseded:
		return "已被变更取代"
	case FilingWithdrawn:
		return "已撤回"
	}
	return state
}

// Review actions.
const (
	ActSubmit      = "submit"
	ActCityApprove = "city_approve"
	ActReturn      = "return"
	ActApprove     = "approve"
	ActReject      = "reject"
	ActPublish     = "publish"
	ActWithdraw    = "withdraw"
)

// ActionName is the Chinese name of a review action.
func ActionName(action string) string {
	switch action {
	case ActSubmit:
		return "提交"
	case ActCityApprove:
		return "市级审核通过"
	case ActReturn:
		return "退回修改"
	case ActApprove:
		return "省级批准"
	case ActReject:
		return "不予批准"
	case ActPublish:
		return "公示"
	case ActWithdraw:
		return "撤回"
	case "create":
		return "创建"
	case "edit":
		return "修改"
	}
	return action
}

// transition is one allowed step of the review: who may take it from
// which states, where it leads, and whether it needs a reason.
type transition struct {
	from       []string
	to         string
	roles      []auth.Role
	needReason bool
}

// transitions is the whole review state machine.
var transitions = map[string]transition{
	ActSubmit:      {from: []string{FilingDraft, FilingReturned}, to: FilingSubmitted, roles: []auth.Role{auth.RoleSchool, auth.RoleProvince}},
	ActCityApprove: {from: []string{FilingSubmitted}, to: FilingCityApproved, roles: []auth.Role{auth.RoleCity}},
	ActReturn:      {from: []string{FilingSubmitted}, to: FilingReturned, roles: []auth.Role{auth.RoleCity}, needReason: true},
	ActApprove:     {from: []string{FilingCityApproved}, to: FilingApproved, roles: []auth.Role{auth.RoleProvince}},
	ActReject:      {from: []string{FilingCityApproved}, to: FilingRejected, roles: []auth.Role{auth.RoleProvince}, needReason: true},
	ActPublish:     {from: []string{FilingApproved}, to: FilingPublished, roles: []auth.Role{auth.RoleProvince}},
	ActWithdraw:    {from: []string{FilingDraft, FilingReturned, FilingSubmitted}, to: FilingWithdrawn, roles: []auth.Role{auth.RoleSchool, auth.RoleProvince}},
}

// Actions lists the review actions.
var Actions = []string{ActSubmit, ActCityApprove, ActReturn, ActApprove, ActReject, ActPublish, ActWithdraw}

// Editable reports whether a filing in state may be changed.
func Editable(state string) bool { return state == FilingDraft || state == FilingReturned }

// Live reports whether a filing in state holds its school's place for its
// year and kind: a second one is a duplicate.
func Live(state string) bool {
	return state != FilingRejected && state != FilingSuperseded && state != FilingWithdrawn
}

// PlanLine is one line of an enrollment plan.
type PlanLine struct {
	Major      string `json:"major"`
	ClassLevel string `json:"class_level"`
	StudyMode  string `json:"study_mode"`
	Intake     int    `json:"intake"`
}

// Site is an off-campus teaching site (校外教学点).
type Site struct {
	Name     string   `json:"name"`
	Address  string   `json:"address"`
	Majors   []string `json:"majors"`
	Capacity int      `json:"capacity"`
}

// Joint is a joint program (联合办学).
type Joint struct {
	Partners         []string `json:"partners"`
	Responsibilities string   `json:"responsibilities"`
	Majors           []string `json:"majors"`
}

// Filing is one submission and its review.
type Filing struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	SchoolCode string `json:"school_code"`
	SchoolName string `json:"school_name"`
	SchoolType string `json:"school_type"`
	CityCode   string `json:"city_code"`
	Year       int    `json:"year"`
	State      string `json:"state"`
	// Amends is the filing this one changes after its approval (0: none);
	// when this one is published, that one is superseded.
	Amends int64 `json:"amends,omitempty"`
	// Plan: the lines and the qualification statement.
	Lines     []PlanLine `json:"lines,omitempty"`
	Statement string     `json:"statement,omitempty"`
	// Site or joint program, with the term of its approval.
	Site      *Site  `json:"site,omitempty"`
	Joint     *Joint `json:"joint,omitempty"`
	ValidFrom string `json:"valid_from,omitempty"` // YYYY-MM-DD
	ValidTo   string `json:"valid_to,omitempty"`

	Late        bool      `json:"late"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	SubmittedBy string    `json:"submitted_by,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
	Events      []Event   `json:"events,omitempty"`
}

// Intake is the planned intake of a plan: the sum of its lines.
func (f *Filing) Intake() int {
	n := 0
	for _, l := range f.Lines {
		n += l.Intake
	}
	return n
}

// Majors lists the majors a filing names, in order, once each.
func (f *Filing) Majors() []string {
	var out []string
	add := func(m string) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, l := range f.Lines {
		add(l.Major)
	}
	if f.Site != nil {
		for _, m := range f.Site.Majors {
			add(m)
		}
	}
	if f.Joint != nil {
		for _, m := range f.Joint.Majors {
			add(m)
		}
	}
	return out
}

// Event is one step of a filing's history: who, when, why.
type Event struct {
	Step  string    `json:"action"` // a review action, or create, edit, supersede
	From  string    `json:"from"`
	To    string    `json:"to"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Limits of a filing.
const (
	MaxPlanLines      = 300
	MaxIntake         = 5000 // per line: more than any school's whole intake
	MaxStatement      = 2000
	MaxPartners       = 10
	MaxSiteCapacity   = 20000
	MaxFilingMajors   = 50
	MaxTermYears      = 5
	MinFilingYear     = 2000
	MaxFilingYear     = 2100
	maxShortText      = 200
	maxResponsibility = 2000
)

// FilingInput is what a school writes; absent parts keep their value.
type FilingInput struct {
	Kind       string     `json:"kind"`
	SchoolCode string     `json:"school_code"`
	Year       int        `json:"year"`
	Lines      []PlanLine `json:"lines"`
	Statement  string     `json:"statement"`
	Site       *Site      `json:"site"`
	Joint      *Joint     `json:"joint"`
	ValidFrom  string     `json:"valid_from"`
	ValidTo    string     `json:"valid_to"`
	Version    *int64     `json:"version"`
}

// checkText refuses text with markup or control characters: what a
// school writes is shown on public pages, escaped, but never as HTML.
func checkText(field, label, s string, limit int, required bool) (string, error) {
	// Browsers send a textarea's line breaks as CRLF: keep them as LF.
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	switch {
	case s == "" && required:
		return s, apperr.E(apperr.Invalid, field, "field.required", label)
	case utf8.RuneCountInString(s) > limit:
		return s, apperr.E(apperr.Invalid, field, "field.too_long", limit)
	case strings.ContainsAny(s, "<>\x00") || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return s, apperr.E(apperr.Invalid, field, "field.markup", label)
	}
	return s, nil
}
