package school

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Offering is a major a school offers at a class level and study mode.
type Offering struct {
	Major      string `json:"major"`
	ClassLevel string `json:"class_level"`
	StudyMode  string `json:"study_mode"`
}

// StudyModes of an offering (the registry's two registries).
var StudyModes = []string{"全日制", "非全日制"}

// YearSettings are the province's settings for a filing year.
type YearSettings struct {
	Year     int    `json:"year"`
	Deadline string `json:"deadline"` // YYYY-MM-DD, the last day to submit on time; "" none
}

// FilingFilter selects filings.
type FilingFilter struct {
	Scope      auth.Scope
	Kind       string
	Year       int
	State      string
	SchoolCode string
	CityCode   string
	Late       bool
	After      int64
	Limit      int
}

// CityProgress is a city's state of a year at a glance.
type CityProgress struct {
	CityCode  string         `json:"city_code"`
	CityName  string         `json:"city_name"`
	Schools   int            `json:"schools"`
	Submitted int            `json:"submitted"` // schools with a plan past draft
	Reviewed  int            `json:"reviewed"`  // past the city's review
	Approved  int            `json:"approved"`  // approved or published
	Published int            `json:"published"`
	Late      int            `json:"late"`
	ByState   map[string]int `json:"by_state"`
}

// FilingStore is what the filing service needs from storage.
type FilingStore interface {
	FindSchool(ctx context.Context, scope auth.Scope, code string) (*School, error)
	Offerings(ctx context.Context, schoolCode string) ([]Offering, error)
	SetOfferings(ctx context.Context, schoolCode string, list []Offering, e audit.Entry) error
	// CreateFiling refuses a second live plan of a school for a year.
	CreateFiling(ctx context.Context, f *Filing, ev Event, e audit.Entry) error
	// UpdateFiling writes f if it is still at version prev, appends ev,
	// and marks superseded (if not 0) superseded, in one transaction.
	UpdateFiling(ctx context.Context, f *Filing, prev int64, ev Event, superseded int64, e audit.Entry) error
	FindFiling(ctx context.Context, scope auth.Scope, id int64) (*Filing, error)
	ListFilings(ctx context.Context, f FilingFilter) ([]*Filing, int, error)
	// SiteOverlaps reports whether another live site filing of the school
	// at the same address has a term overlapping [from, to].
	SiteOverlaps(ctx context.Context, f *Filing) (bool, error)
	OpenAmendment(ctx context.Context, id int64) (bool, error)
	FilingYear(ctx context.Context, year int) (YearSettings, error)
	SetFilingYear(ctx context.Context, y YearSettings, e audit.Entry) error
	YearProgress(ctx context.Context, scope auth.Scope, year int) ([]CityProgress, error)
	// PublishedFilings are the published plans of a year and the
	// published sites and joint programs in force on day.
	PublishedFilings(ctx context.Context, year int, day string) ([]*Filing, error)
}

// FilingService runs the yearly review.
type FilingService struct {
	Store FilingStore
	Now   func() time.Time
}

// NewFilingService returns a filing service.
func NewFilingService(store FilingStore) *FilingService {
	return &FilingService{Store: store, Now: time.Now}
}

var shanghai = time.FixedZone("CST", 8*3600)

func (s *FilingService) today() string { return s.Now().In(shanghai).Format(time.DateOnly) }

// mayFile reports whether p may write filings for school sc.
func mayFile(p auth.Principal, sc *School) bool {
	return p.Role == auth.RoleProvince || (p.Role == auth.RoleSchool && p.ScopeCode == sc.Code)
}

// Offerings lists the majors a school offers.
func (s *FilingService) Offerings(ctx context.Context, p auth.Principal, code string) ([]Offering, error) {
	if _, err := s.Store.FindSchool(ctx, p.Scope(), code); err != nil {
		return nil, err
	}
	return s.Store.Offerings(ctx, code)
}

// SetOfferings replaces the majors a school offers. Every major must be in
// the catalogue.
func (s *FilingService) SetOfferings(ctx context.Context, p auth.Principal, code string, list []Offering, catalogue []string) ([]Offering, error) {
	sc, err := s.Store.FindSchool(ctx, p.Scope(), code)
	if err != nil {
		return nil, err
	}
	if !mayFile(p, sc) {
		return nil, apperr.E(apperr.Forbidden, "", "filing.offerings.forbidden")
	}
	if len(list) > MaxPlanLines {
		return nil, apperr.E(apperr.Invalid, "offerings", "filing.too_many", MaxPlanLines)
	}
	seen := map[Offering]bool{}
	out := make([]Offering, 0, len(list))
	for i, o := range list {
		field := "offerings[" + strconv.Itoa(i) + "]"
		o.Major = strings.TrimSpace(o.Major)
		if !slices.Contains(catalogue, o.Major) {
			return nil, apperr.E(apperr.Invalid, field+".major", "filing.major.unknown", o.Major)
		}
		level, ok := refdata.NormalizeClassLevel(o.ClassLevel)
		if !ok {
			return nil, apperr.E(apperr.Invalid, field+".class_level", "filing.level.invalid", o.ClassLevel)
		}
		o.ClassLevel = level
		if !slices.Contains(StudyModes, o.StudyMode) {
			return nil, apperr.E(apperr.Invalid, field+".study_mode", "filing.mode.invalid", o.StudyMode)
		}
		if seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, o)
	}
	if err := s.Store.SetOfferings(ctx, code, out, audit.Entry{Actor: p.Name, Action: "school.offerings", Entity: "school", EntityID: code,
		Data: map[string]any{"offerings": len(out)}}); err != nil {
		return nil, err
	}
	return out, nil
}

// validate checks a filing's content against its kind and the school's
// offerings, and normalizes it.
func (s *FilingService) validate(ctx context.Context, f *Filing) error {
	if f.Kind != KindPlan { // the year of a site or joint program is that of its term
		if err := s.checkTerm(f); err != nil {
			return err
		}
	}
	if f.Year < MinFilingYear || f.Year > MaxFilingYear {
		return apperr.E(apperr.Invalid, "year", "filing.year.invalid", MinFilingYear, MaxFilingYear)
	}
	offered, err := s.Store.Offerings(ctx, f.SchoolCode)
	if err != nil {
		return err
	}
	offers := func(major string) bool {
		return slices.ContainsFunc(offered, func(o Offering) bool { return o.Major == major })
	}
	majors := func(field string, list []string) ([]string, error) {
		if len(list) == 0 {
			return nil, apperr.E(apperr.Invalid, field, "field.required", "专业")
		}
		if len(list) > MaxFilingMajors {
			return nil, apperr.E(apperr.Invalid, field, "filing.too_many", MaxFilingMajors)
		}
		var out []string
		for _, m := range list {
			m = strings.TrimSpace(m)
			if !offers(m) {
				return nil, apperr.E(apperr.Invalid, field, "filing.major.not_offered", m)
			}
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		return out, nil
	}
	switch f.Kind {
	case KindPlan:
		f.Site, f.Joint, f.ValidFrom, f.ValidTo = nil, nil, "", ""
		if f.Statement, err = checkText("statement", "招生资质申请说明", f.Statement, MaxStatement, true); err != nil {
			return err
		}
		if len(f.Lines) == 0 {
			return apperr.E(apperr.Invalid, "lines", "filing.lines.empty")
		}
		if len(f.Lines) > MaxPlanLines {
			return apperr.E(apperr.Invalid, "lines", "filing.too_many", MaxPlanLines)
		}
		seen := map[Offering]bool{}
		for i := range f.Lines {
			l := &f.Lines[i]
			field := "lines[" + strconv.Itoa(i) + "]"
			l.Major = strings.TrimSpace(l.Major)
			level, ok := refdata.NormalizeClassLevel(l.ClassLevel)
			if !ok {
				return apperr.E(apperr.Invalid, field+".class_level", "filing.level.invalid", l.ClassLevel)
			}
			l.ClassLevel = level
			if !slices.Contains(StudyModes, l.StudyMode) {
				return apperr.E(apperr.Invalid, field+".study_mode", "filing.mode.invalid", l.StudyMode)
			}
			o := Offering{Major: l.Major, ClassLevel: l.ClassLevel, StudyMode: l.StudyMode}
			if !slices.Contains(offered, o) {
				return apperr.E(apperr.Invalid, field+".major", "filing.line.not_offered", l.Major, l.ClassLevel, l.StudyMode)
			}
			if seen[o] {
				return apperr.E(apperr.Invalid, field, "filing.line.duplicate", l.Major, l.ClassLevel, l.StudyMode)
			}
			seen[o] = true
			if l.Intake < 1 || l.Intake > MaxIntake {
				return apperr.E(apperr.Invalid, field+".intake", "filing.intake.range", MaxIntake)
			}
		}
	case KindSite, KindJoint:
		f.Lines, f.Statement = nil, ""
		if f.Kind == KindSite {
			f.Joint = nil
			if f.Site == nil {
				return apperr.E(apperr.Invalid, "site", "field.required", "校外教学点")
			}
			st := f.Site
			if st.Name, err = checkText("site.name", "教学点名称", st.Name, maxShortText, true); err != nil {
				return err
			}
			if st.Address, err = checkText("site.address", "教学点地址", st.Address, maxShortText, true); err != nil {
				return err
			}
			if st.Capacity < 1 || st.Capacity > MaxSiteCapacity {
				return apperr.E(apperr.Invalid, "site.capacity", "filing.capacity.range", MaxSiteCapacity)
			}
			if st.Majors, err = majors("site.majors", st.Majors); err != nil {
				return err
			}
		} else {
			f.Site = nil
			if f.Joint == nil {
				return apperr.E(apperr.Invalid, "joint", "field.required", "联合办学")
			}
			j := f.Joint
			if len(j.Partners) == 0 || len(j.Partners) > MaxPartners {
				return apperr.E(apperr.Invalid, "joint.partners", "filing.partners.count", MaxPartners)
			}
			for i := range j.Partners {
				if j.Partners[i], err = checkText("joint.partners", "合作方", j.Partners[i], maxShortText, true); err != nil {
					return err
				}
			}
			if j.Responsibilities, err = checkText("joint.responsibilities", "各方职责", j.Responsibilities, maxResponsibility, true); err != nil {
				return err
			}
			if j.Majors, err = majors("joint.majors", j.Majors); err != nil {
				return err
			}
		}
	default:
		return apperr.E(apperr.Invalid, "kind", "filing.kind.invalid", f.Kind)
	}
	return nil
}

// checkTerm checks the term of approval of a site or joint program.
func (s *FilingService) checkTerm(f *Filing) error {
	from, err1 := time.Parse(time.DateOnly, f.ValidFrom)
	to, err2 := time.Parse(time.DateOnly, f.ValidTo)
	switch {
	case err1 != nil:
		return apperr.E(apperr.Invalid, "valid_from", "filing.date.invalid")
	case err2 != nil:
		return apperr.E(apperr.Invalid, "valid_to", "filing.date.invalid")
	case !to.After(from):
		return apperr.E(apperr.Invalid, "valid_to", "filing.term.order")
	case to.After(from.AddDate(MaxTermYears, 0, 0)):
		return apperr.E(apperr.Invalid, "valid_to", "filing.term.too_long", MaxTermYears)
	}
	f.Year = from.Year()
	return nil
}

// apply writes the parts in gives onto f; absent parts (nil, "" or 0)
// keep their value, so a PATCH may send only what changes.
func (in FilingInput) apply(f *Filing) {
	if in.Lines != nil {
		f.Lines = in.Lines
	}
	if in.Site != nil {
		f.Site = in.Site
	}
	if in.Joint != nil {
		f.Joint = in.Joint
	}
	f.Statement = cmp.Or(in.Statement, f.Statement)
	f.ValidFrom, f.ValidTo = cmp.Or(in.ValidFrom, f.ValidFrom), cmp.Or(in.ValidTo, f.ValidTo)
	f.Year = cmp.Or(in.Year, f.Year)
}

// Create starts a filing as a draft for a school p may file for.
func (s *FilingService) Create(ctx context.Context, p auth.Principal, in FilingInput) (*Filing, error) {
	if !slices.Contains(Kinds, in.Kind) {
		return nil, apperr.E(apperr.Invalid, "kind", "filing.kind.invalid", in.Kind)
	}
	code := in.SchoolCode
	if p.Role == auth.RoleSchool && code == "" {
		code = p.ScopeCode
	}
	sc, err := s.Store.FindSchool(ctx, p.Scope(), code)
	if err != nil {
		return nil, err
	}
	if !mayFile(p, sc) {
		return nil, apperr.E(apperr.Forbidden, "", "filing.create.forbidden")
	}
	// A closed school files nothing; one that stopped enrolling (停招)
	// files no enrollment plan.
	if sc.Status == StatusClosed || sc.Status == StatusSuspended && in.Kind == KindPlan {
		return nil, apperr.E(apperr.Conflict, "", "filing.school_status", sc.Name, sc.Status)
	}
	now := s.Now()
	f := &Filing{Kind: in.Kind, SchoolCode: sc.Code, SchoolName: sc.Name, SchoolType: sc.Type, CityCode: sc.CityCode, State: FilingDraft,
		CreatedBy: p.Name, CreatedAt: now, UpdatedAt: now, Version: 1}
	in.apply(f)
	if err := s.validate(ctx, f); err != nil {
		return nil, err
	}
	ev := Event{Step: "create", To: FilingDraft, Actor: p.Name, At: now}
	if err := s.Store.CreateFiling(ctx, f, ev, audit.Entry{Actor: p.Name, Action: "filing.create", Entity: "filing", EntityID: sc.Code,
		Data: map[string]any{"kind": f.Kind, "year": f.Year}}); err != nil {
		return nil, err
	}
	return f, nil
}

// Amend starts a change to an approved or published filing: a draft copy
// that goes through the whole review again; the original stays in force
// until the change is published.
func (s *FilingService) Amend(ctx context.Context, p auth.Principal, id int64) (*Filing, error) {
	orig, err := s.Store.FindFiling(ctx, p.Scope(), id)
	if err != nil {
		return nil, err
	}
	sc, err := s.Store.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, orig.SchoolCode)
	if err != nil {
		return nil, err
	}
	if !mayFile(p, sc) {
		return nil, apperr.E(apperr.Forbidden, "", "filing.create.forbidden")
	}
	if orig.State != FilingApproved && orig.State != FilingPublished {
		return nil, apperr.E(apperr.InvalidTransition, "", "filing.amend.state", FilingStateName(orig.State))
	}
	if open, err := s.Store.OpenAmendment(ctx, orig.ID); err != nil {
		return nil, err
	} else if open {
		return nil, apperr.E(apperr.Conflict, "", "filing.amend.open")
	}
	now := s.Now()
	f := *orig
	f.ID, f.State, f.Amends, f.Late, f.SubmittedAt, f.SubmittedBy, f.Events = 0, FilingDraft, orig.ID, false, time.Time{}, "", nil
	f.CreatedBy, f.CreatedAt, f.UpdatedAt, f.Version = p.Name, now, now, 1
	f.Lines = slices.Clone(orig.Lines)
	ev := Event{Step: "create", To: FilingDraft, Actor: p.Name, At: now, Note: "变更已批准的申报 #" + strconv.Itoa(int(orig.ID))}
	if err := s.Store.CreateFiling(ctx, &f, ev, audit.Entry{Actor: p.Name, Action: "filing.amend", Entity: "filing", EntityID: f.SchoolCode,
		Data: map[string]any{"kind": f.Kind, "year": f.Year, "amends": orig.ID}}); err != nil {
		return nil, err
	}
	return &f, nil
}

// Update changes a draft or returned filing. Approved filings are locked:
// a change after approval is an amendment.
func (s *FilingService) Update(ctx context.Context, p auth.Principal, id int64, in FilingInput) (*Filing, error) {
	f, err := s.Store.FindFiling(ctx, p.Scope(), id)
	if err != nil {
		return nil, err
	}
	sc, err := s.Store.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, f.SchoolCode)
	if err != nil {
		return nil, err
	}
	if !mayFile(p, sc) {
		return nil, apperr.E(apperr.Forbidden, "", "filing.edit.forbidden")
	}
	if !Editable(f.State) {
		return nil, apperr.E(apperr.InvalidTransition, "", "filing.locked", FilingStateName(f.State))
	}
	if in.Version != nil && *in.Version != f.Version {
		return nil, apperr.E(apperr.Conflict, "version", "filing.version.stale")
	}
	if in.Year != 0 && in.Year != f.Year && f.Kind == KindPlan {
		return nil, apperr.E(apperr.Invalid, "year", "filing.year.immutable")
	}
	prev := f.Version
	in.apply(f)
	if err := s.validate(ctx, f); err != nil {
		return nil, err
	}
	now := s.Now()
	f.UpdatedAt, f.Version = now, prev+1
	ev := Event{Step: "edit", From: f.State, To: f.State, Actor: p.Name, At: now}
	if err := s.Store.UpdateFiling(ctx, f, prev, ev, 0, audit.Entry{Actor: p.Name, Action: "filing.edit", Entity: "filing", EntityID: f.SchoolCode,
		Data: map[string]any{"filing": f.ID}}); err != nil {
		return nil, err
	}
	f.Events = append(f.Events, ev)
	return f, nil
}

// MayAct reports whether p may take action on f now.
func MayAct(p auth.Principal, f *Filing, action string) bool { return checkAct(p, f, action) == nil }

// checkAct applies the state machine's rules for p taking action on f:
// the role, the scope (a city reviews its own schools), the state, and
// nobody reviews what they submitted.
func checkAct(p auth.Principal, f *Filing, action string) error {
	t, ok := transitions[action]
	if !ok {
		return apperr.E(apperr.Invalid, "action", "filing.action.invalid", action)
	}
	if !slices.Contains(t.roles, p.Role) || p.Role == auth.RoleSchool && p.ScopeCode != f.SchoolCode || p.Role == auth.RoleCity && p.ScopeCode != f.CityCode {
		return apperr.E(apperr.Forbidden, "", "filing.action.role", ActionName(action))
	}
	if !slices.Contains(t.from, f.State) {
		return apperr.E(apperr.InvalidTransition, "", "filing.transition", ActionName(action), FilingStateName(f.State))
	}
	if action != ActSubmit && action != ActWithdraw && f.SubmittedBy == p.Name {
		return apperr.E(apperr.Forbidden, "", "filing.self_review")
	}
	return nil
}

// Act takes one step of the review.
func (s *FilingService) Act(ctx context.Context, p auth.Principal, id int64, action, note string) (*Filing, error) {
	t, ok := transitions[action]
	if !ok {
		return nil, apperr.E(apperr.Invalid, "action", "filing.action.invalid", action)
	}
	f, err := s.Store.FindFiling(ctx, p.Scope(), id)
	if err != nil {
		return nil, err
	}
	if err := checkAct(p, f, action); err != nil {
		return nil, err
	}
	if note, err = checkText("note", "意见", note, MaxStatement, t.needReason); err != nil {
		return nil, err
	}
	now := s.Now()
	switch action {
	case ActSubmit:
		if err := s.validate(ctx, f); err != nil { // the offerings may have changed
			return nil, err
		}
		if f.SubmittedAt.IsZero() {
			y, err := s.Store.FilingYear(ctx, f.Year)
			if err != nil {
				return nil, err
			}
			f.Late = y.Deadline != "" && now.In(shanghai).Format(time.DateOnly) > y.Deadline
		}
		f.SubmittedAt, f.SubmittedBy = now, p.Name
	}
	if f.Kind == KindSite && (action == ActSubmit || action == ActApprove) {
		if clash, err := s.Store.SiteOverlaps(ctx, f); err != nil {
			return nil, err
		} else if clash {
			return nil, apperr.E(apperr.Conflict, "site.address", "filing.site.overlap")
		}
	}
	var superseded int64
	if action == ActPublish {
		superseded = f.Amends
	}
	prev, from := f.Version, f.State
	f.State, f.UpdatedAt, f.Version = t.to, now, prev+1
	ev := Event{Step: action, From: from, To: t.to, Actor: p.Name, At: now, Note: note}
	if err := s.Store.UpdateFiling(ctx, f, prev, ev, superseded, audit.Entry{Actor: p.Name, Action: auditAction(action), Entity: "filing",
		EntityID: f.SchoolCode, Data: map[string]any{"filing": f.ID, "kind": f.Kind, "year": f.Year, "from": from, "to": t.to, "note": note}}); err != nil {
		return nil, err
	}
	f.Events = append(f.Events, ev)
	return f, nil
}

// auditAction names a review step in the audit log (filing.submit …;
// each has a label in the catalogue).
func auditAction(action string) string { return "filing." + action }

// Get returns a filing with its history.
func (s *FilingService) Get(ctx context.Context, p auth.Principal, id int64) (*Filing, error) {
	return s.Store.FindFiling(ctx, p.Scope(), id)
}

// List returns a page of the filings p may see.
func (s *FilingService) List(ctx context.Context, p auth.Principal, f FilingFilter) ([]*Filing, int, error) {
	f.Scope = p.Scope()
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		return nil, 0, apperr.E(apperr.Invalid, "kind", "filing.kind.invalid", f.Kind)
	}
	if f.State != "" && !slices.Contains(FilingStates, f.State) {
		return nil, 0, apperr.E(apperr.Invalid, "state", "filing.state.invalid", f.State)
	}
	return s.Store.ListFilings(ctx, f)
}

// Progress is the year at a glance, by city, within p's scope.
func (s *FilingService) Progress(ctx context.Context, p auth.Principal, year int) ([]CityProgress, error) {
	return s.Store.YearProgress(ctx, p.Scope(), year)
}

// Year returns the settings of a year.
func (s *FilingService) Year(ctx context.Context, year int) (YearSettings, error) {
	return s.Store.FilingYear(ctx, year)
}

// SetYear sets a year's deadline (province only).
func (s *FilingService) SetYear(ctx context.Context, p auth.Principal, y YearSettings) error {
	if p.Role != auth.RoleProvince {
		return apperr.E(apperr.Forbidden, "", "filing.year.forbidden")
	}
	if y.Year < MinFilingYear || y.Year > MaxFilingYear {
		return apperr.E(apperr.Invalid, "year", "filing.year.invalid", MinFilingYear, MaxFilingYear)
	}
	if y.Deadline != "" {
		if _, err := time.Parse(time.DateOnly, y.Deadline); err != nil {
			return apperr.E(apperr.Invalid, "deadline", "filing.date.invalid")
		}
	}
	return s.Store.SetFilingYear(ctx, y, audit.Entry{Actor: p.Name, Action: "filing.year", Entity: "filing_year", EntityID: strconv.Itoa(y.Year),
		Data: map[string]any{"deadline": y.Deadline}})
}

// Published returns what the public portal shows for a year: the
// published plans and the sites and joint programs in force today.
func (s *FilingService) Published(ctx context.Context, year int) ([]*Filing, error) {
	return s.Store.PublishedFilings(ctx, year, s.today())
}
