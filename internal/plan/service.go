package plan

import (
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

// StoredPlan is a plan version as stored, with who made it and when.
type StoredPlan struct {
	Plan
	Current   bool
	Builtin   bool
	CreatedBy string
	CreatedAt time.Time
	// UpdatedAt changes when the version is edited in place: a report is
	// stored only against the content its reporter saw.
	UpdatedAt time.Time
}

// ReportState is where a reported value stands in the province's review.
type ReportState string

const (
	ReportPending  ReportState = "pending"  // entered, not yet reviewed; counts, marked as such
	ReportAccepted ReportState = "accepted" // reviewed and accepted
	ReportReturned ReportState = "returned" // sent back with a note; does not count
)

// Label is the state's Chinese name.
func (s ReportState) Label() string {
	switch s {
	case ReportPending:
		return "待审核"
	case ReportAccepted:
		return "已采纳"
	case ReportReturned:
		return "已退回"
	}
	return string(s)
}

// StoredReport is a report as stored, with its review.
type StoredReport struct {
	ID int64 `json:"id"`
	Report
	State      ReportState `json:"state"`
	ReviewedBy string      `json:"reviewed_by,omitempty"`
	ReviewedAt time.Time   `json:"reviewed_at,omitzero"`
	ReviewNote string      `json:"review_note,omitempty"`
	// SupersededBy is the report that replaced this one (0: live).
	SupersededBy int64 `json:"superseded_by,omitempty"`
}

// Counts reports whether the value counts on dashboards: live and not
// returned.
func (r *StoredReport) Counts() bool { return r.SupersededBy == 0 && r.State != ReportReturned }

// ReportFilter selects reports.
type ReportFilter struct {
	PlanID    string
	Version   int // 0: every version
	Indicator string
	Year      int
	// Scope is what the caller may see: the province all, a city the
	// reports for itself.
	Scope auth.Scope
	// Within narrows to reports for this division and those inside it.
	Within string
	State  ReportState
	// History includes superseded reports.
	History bool
	After   int64 // keyset cursor: ids below this (newest first)
	Limit   int
}

// SchoolInfo is what the plans need to know of a school.
type SchoolInfo struct {
	Code string
	Name string
	City string // city division code
}

// Store is what the plan service needs from storage.
type Store interface {
	// ListPlans returns the current version of every plan.
	ListPlans(ctx context.Context) ([]StoredPlan, error)
	// FindPlan returns a version of a plan; version 0 is the current one.
	FindPlan(ctx context.Context, id string, version int) (StoredPlan, error)
	// PlanVersions returns every version of a plan, oldest first.
	PlanVersions(ctx context.Context, id string) ([]StoredPlan, error)
	// CreatePlan stores a new plan; an ID that exists is a duplicate.
	CreatePlan(ctx context.Context, p StoredPlan, e audit.Entry) error
	// RevisePlan stores an edit of prev (the current version, as read) as
	// Revise decided: in place or as the next version. It fails with a
	// conflict when prev changed since it was read or, for an edit in
	// place, when a value was reported against it meanwhile.
	RevisePlan(ctx context.Context, edit Plan, rev Revision, prev StoredPlan, by string, at time.Time, e audit.Entry) error
	// PlanHasReports reports whether any value was reported against the
	// version, returned and superseded ones included.
	PlanHasReports(ctx context.Context, id string, version int) (bool, error)
	// AddReport stores r, superseding the live report of the same plan
	// version, indicator, year and scope, if the version is still current
	// and unchanged since planUpdatedAt.
	AddReport(ctx context.Context, r Report, planUpdatedAt time.Time, e audit.Entry) (StoredReport, error)
	FindReport(ctx context.Context, id int64) (StoredReport, error)
	ListReports(ctx context.Context, f ReportFilter) ([]StoredReport, int, error)
	// ReviewReport writes r's review if r is still live and pending.
	ReviewReport(ctx context.Context, r StoredReport, e audit.Entry) error
	// Groups returns every school group with its member schools.
	Groups(ctx context.Context) ([]Group, error)
	// SaveGroup creates or replaces a group and its members.
	SaveGroup(ctx context.Context, g Group, by string, at time.Time, e audit.Entry) error
	// Schools returns what is known of the schools with these codes;
	// unknown codes are left out.
	Schools(ctx context.Context, codes []string) (map[string]SchoolInfo, error)
	// SchoolYears returns the facts of the schools scope may see.
	SchoolYears(ctx context.Context, scope auth.Scope, from, to int) ([]SchoolYear, error)
	// FactsAsOf says when the facts were last brought up to date.
	FactsAsOf(ctx context.Context) (time.Time, error)
	// FactsChanged says when the facts last changed: caches are kept
	// until then.
	FactsChanged(ctx context.Context) (time.Time, error)
}

// Service runs plans, reports, school groups and dashboards with the
// access rules of each.
type Service struct {
	Store Store
	Now   func() time.Time
	facts *factsCache
}

// NewService returns a service over store.
func NewService(store Store) *Service {
	return &Service{Store: store, Now: time.Now, facts: newFactsCache(factsCacheScopes)}
}

// Summary is a plan in a list.
type Summary struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Issuer       string    `json:"issuer"`
	Document     string    `json:"document,omitempty"`
	Level        Level     `json:"level"`
	LevelLabel   string    `json:"level_label"`
	Scope        string    `json:"scope"`
	ScopeName    string    `json:"scope_name"`
	Period       string    `json:"period"` // "2021—2025"
	BaselineYear int       `json:"baseline_year"`
	TargetYear   int       `json:"target_year"`
	Version      int       `json:"version"`
	Builtin      bool      `json:"builtin"`
	Indicators   int       `json:"indicators"`
	Computed     int       `json:"computed"`
	Reported     int       `json:"reported"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// PeriodLabel is the plan period as shown: "2021—2025".
func (p *Plan) PeriodLabel() string {
	w := p.Period()
	return strconv.Itoa(w.From) + "—" + strconv.Itoa(w.To)
}

// Summary is the plan's list entry.
func (sp StoredPlan) Summary() Summary {
	s := Summary{ID: sp.ID, Name: sp.Name, Issuer: sp.Issuer, Document: sp.Document, Level: sp.Level, LevelLabel: sp.Level.Label(),
		Scope: sp.ScopeCode, ScopeName: DivisionName(sp.ScopeCode), Period: sp.PeriodLabel(), BaselineYear: sp.BaselineYear,
		TargetYear: sp.TargetYear, Version: sp.Version, Builtin: sp.Builtin, Indicators: len(sp.Indicators), UpdatedAt: sp.UpdatedAt}
	for _, ind := range sp.Indicators {
		if ind.Source.Kind == Computed {
			s.Computed++
		} else {
			s.Reported++
		}
	}
	return s
}

// DivisionName names a scope code: 全国, a province, a city.
func DivisionName(code string) string {
	if code == NationalScope {
		return "全国"
	}
	d, ok := refdata.LookupDivision(code)
	if !ok {
		return code
	}
	if d.Name == "市辖区" || d.Name == "县" { // the cities of 北京, 天津, 上海, 重庆
		if prov, ok := refdata.ProvinceOf(code); ok {
			return prov.Name
		}
	}
	return d.Name
}

// List returns the plans that concern the caller: all for the province
// and auditors, those whose scope holds its city for a city or a school.
func (s *Service) List(ctx context.Context, pr auth.Principal) ([]Summary, error) {
	city, err := s.callerCity(ctx, pr)
	if err != nil {
		return nil, err
	}
	plans, err := s.Store.ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, sp := range plans {
		if city == "" || scopeContains(sp.ScopeCode, city) {
			out = append(out, sp.Summary())
		}
	}
	return out, nil
}

// callerCity is the city a city or school user belongs to; "" for the
// province and auditors.
func (s *Service) callerCity(ctx context.Context, pr auth.Principal) (string, error) {
	switch sc := pr.Scope(); sc.Kind {
	case auth.ScopeAll:
		return "", nil
	case auth.ScopeCity:
		return sc.Code, nil
	case auth.ScopeSchool:
		info, err := s.Store.Schools(ctx, []string{sc.Code})
		if err != nil {
			return "", err
		}
		if sch, ok := info[sc.Code]; ok {
			return sch.City, nil
		}
	}
	return "", apperr.E(apperr.Forbidden, "", "plans.forbidden")
}

// Get returns a version of a plan (0: the current one) if it concerns
// the caller.
func (s *Service) Get(ctx context.Context, pr auth.Principal, id string, version int) (StoredPlan, error) {
	city, err := s.callerCity(ctx, pr)
	if err != nil {
		return StoredPlan{}, err
	}
	sp, err := s.Store.FindPlan(ctx, id, version)
	if err != nil {
		return StoredPlan{}, err
	}
	if city != "" && !scopeContains(sp.ScopeCode, city) {
		return StoredPlan{}, apperr.E(apperr.NotFound, "", "plans.not_found", id)
	}
	return sp, nil
}

// Versions returns every version of a plan the caller may see.
func (s *Service) Versions(ctx context.Context, pr auth.Principal, id string) ([]StoredPlan, error) {
	if _, err := s.Get(ctx, pr, id, 0); err != nil {
		return nil, err
	}
	return s.Store.PlanVersions(ctx, id)
}

func requireProvince(pr auth.Principal) error {
	if pr.Role != auth.RoleProvince {
		return apperr.E(apperr.Forbidden, "", "plans.edit.forbidden")
	}
	return nil
}

// groupExists returns a GroupExists over the stored groups.
func (s *Service) groupExists(ctx context.Context) (GroupExists, error) {
	groups, err := s.Store.Groups(ctx)
	if err != nil {
		return nil, err
	}
	return func(code string) bool {
		return slices.ContainsFunc(groups, func(g Group) bool { return g.Code == code })
	}, nil
}

// Create stores a new plan as its version 1 (province only).
func (s *Service) Create(ctx context.Context, pr auth.Principal, p Plan) (StoredPlan, error) {
	if err := requireProvince(pr); err != nil {
		return StoredPlan{}, err
	}
	exists, err := s.groupExists(ctx)
	if err != nil {
		return StoredPlan{}, err
	}
	if p.Version == 0 {
		p.Version = 1
	}
	if p.Version != 1 {
		return StoredPlan{}, apperr.E(apperr.Invalid, "version", "plans.version.first")
	}
	if err := ValidatePlan(&p, exists); err != nil {
		return StoredPlan{}, err
	}
	now := s.Now()
	sp := StoredPlan{Plan: p, Current: true, CreatedBy: pr.Name, CreatedAt: now, UpdatedAt: now}
	err = s.Store.CreatePlan(ctx, sp, audit.Entry{Actor: pr.Name, Action: "plans.create", Entity: "plan", EntityID: p.ID,
		Data: map[string]any{"version": 1, "plan": p}})
	return sp, err
}

// Update stores an edit of a plan (province only): in place while no
// value was reported against the current version, else as the next
// version, so that the old version and its reports stay as they were.
// edit.Version must be the version the editor started from.
func (s *Service) Update(ctx context.Context, pr auth.Principal, id string, edit Plan) (StoredPlan, Revision, error) {
	if err := requireProvince(pr); err != nil {
		return StoredPlan{}, Unchanged, err
	}
	current, err := s.Store.FindPlan(ctx, id, 0)
	if err != nil {
		return StoredPlan{}, Unchanged, err
	}
	if edit.Version == 0 {
		return StoredPlan{}, Unchanged, apperr.E(apperr.Invalid, "version", "plans.version.required", current.Version)
	}
	exists, err := s.groupExists(ctx)
	if err != nil {
		return StoredPlan{}, Unchanged, err
	}
	reported, err := s.Store.PlanHasReports(ctx, id, current.Version)
	if err != nil {
		return StoredPlan{}, Unchanged, err
	}
	revised, rev, err := Revise(current.Plan, edit, reported, exists)
	if err != nil || rev == Unchanged {
		return current, rev, err
	}
	now := s.Now()
	data := map[string]any{"from_version": current.Version, "version": revised.Version, "plan": revised}
	e := audit.Entry{Actor: pr.Name, Action: "plans.update", Entity: "plan", EntityID: id, Data: data}
	if rev == NewVersion {
		e = audit.Entry{Actor: pr.Name, Action: "plans.revise", Entity: "plan", EntityID: id, Data: data}
	}
	if err := s.Store.RevisePlan(ctx, revised, rev, current, pr.Name, now, e); err != nil {
		return StoredPlan{}, Unchanged, err
	}
	out := StoredPlan{Plan: revised, Current: true, Builtin: current.Builtin && rev == InPlace, CreatedBy: current.CreatedBy,
		CreatedAt: current.CreatedAt, UpdatedAt: now}
	if rev == NewVersion {
		out.CreatedBy, out.CreatedAt = pr.Name, now
	}
	return out, rev, nil
}

// AddReport enters a value for a reported indicator of the current
// version (plan.NewReport has the rules). Version 0 in the input means
// the current version.
func (s *Service) AddReport(ctx context.Context, pr auth.Principal, id string, in ReportInput) (StoredReport, error) {
	sp, err := s.Get(ctx, pr, id, 0)
	if err != nil {
		return StoredReport{}, err
	}
	if in.Version == 0 {
		in.Version = sp.Version
	}
	r, err := NewReport(&sp.Plan, in, pr, s.Now())
	if err != nil {
		return StoredReport{}, err
	}
	if pr.DisplayName != "" {
		r.ReportedByName = pr.DisplayName
	}
	return s.Store.AddReport(ctx, r, sp.UpdatedAt, audit.Entry{Actor: pr.Name, Action: "plans.report", Entity: "plan", EntityID: id,
		Data: map[string]any{"version": r.Version, "indicator": r.Indicator, "year": r.Year, "scope": r.Scope, "value": r.Value,
			"entered": r.Entered, "evidence": r.Evidence}})
}

// reportScope is what reports a caller may read: the province and
// auditors all, a city its own; schools none (they report nothing).
func reportScope(pr auth.Principal) (auth.Scope, error) {
	sc := pr.Scope()
	if sc.Kind != auth.ScopeAll && sc.Kind != auth.ScopeCity {
		return sc, apperr.E(apperr.Forbidden, "", "plans.reports.forbidden")
	}
	return sc, nil
}

// Reports lists the reports of a plan the caller may read, newest first.
func (s *Service) Reports(ctx context.Context, pr auth.Principal, f ReportFilter) ([]StoredReport, int, error) {
	sc, err := reportScope(pr)
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.Get(ctx, pr, f.PlanID, 0); err != nil {
		return nil, 0, err
	}
	f.Scope = sc
	return s.Store.ListReports(ctx, f)
}

// Review accepts or returns a pending report (province only, not one's
// own); returning needs a note saying why.
func (s *Service) Review(ctx context.Context, pr auth.Principal, id int64, accept bool, note string) (StoredReport, error) {
	if pr.Role != auth.RoleProvince {
		return StoredReport{}, apperr.E(apperr.Forbidden, "", "plans.review.forbidden")
	}
	r, err := s.Store.FindReport(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	if note, err = checkReviewNote(note, !accept); err != nil {
		return StoredReport{}, err
	}
	switch {
	case r.SupersededBy != 0:
		return StoredReport{}, apperr.E(apperr.InvalidTransition, "", "plans.review.superseded", r.SupersededBy)
	case r.State != ReportPending:
		return StoredReport{}, apperr.E(apperr.InvalidTransition, "", "plans.review.state", r.State.Label())
	case r.ReportedBy == pr.UserID:
		return StoredReport{}, apperr.E(apperr.Forbidden, "", "plans.review.self")
	}
	r.State, r.ReviewedBy, r.ReviewedAt, r.ReviewNote = ReportReturned, pr.Name, s.Now(), note
	e := audit.Entry{Actor: pr.Name, Action: "plans.report_return", Entity: "plan", EntityID: r.PlanID,
		Data: map[string]any{"report": r.ID, "note": note}}
	if accept {
		r.State = ReportAccepted
		e = audit.Entry{Actor: pr.Name, Action: "plans.report_accept", Entity: "plan", EntityID: r.PlanID,
			Data: map[string]any{"report": r.ID, "note": note}}
	}
	if err := s.Store.ReviewReport(ctx, r, e); err != nil {
		return StoredReport{}, err
	}
	return r, nil
}

func checkReviewNote(note string, required bool) (string, error) {
	if strings.TrimSpace(note) == "" && !required {
		return "", nil
	}
	return checkNote("note", "审核意见", note, MaxEvidence)
}

// Groups returns every school group with its members.
func (s *Service) Groups(ctx context.Context, pr auth.Principal) ([]Group, error) {
	if pr.Scope().Kind == auth.ScopeNone {
		return nil, apperr.E(apperr.Forbidden, "", "plans.forbidden")
	}
	return s.Store.Groups(ctx)
}

// Group returns one school group with its members.
func (s *Service) Group(ctx context.Context, pr auth.Principal, code string) (Group, error) {
	groups, err := s.Groups(ctx, pr)
	if err != nil {
		return Group{}, err
	}
	for _, g := range groups {
		if g.Code == code {
			return g, nil
		}
	}
	return Group{}, apperr.E(apperr.NotFound, "", "plans.group.not_found", code)
}

// MaxGroupSchools bounds a group's members.
const MaxGroupSchools = 5000

// SaveGroup creates a school group or replaces its name, description and
// members (province only). Every member must be a school within the
// group's scope.
func (s *Service) SaveGroup(ctx context.Context, pr auth.Principal, g Group) (Group, error) {
	if err := requireProvince(pr); err != nil {
		return Group{}, err
	}
	if err := ValidateGroup(&g); err != nil {
		return Group{}, err
	}
	groups, err := s.Store.Groups(ctx)
	if err != nil {
		return Group{}, err
	}
	if i := slices.IndexFunc(groups, func(x Group) bool { return x.Code == g.Code }); i >= 0 {
		if old := groups[i]; old.ScopeCode != g.ScopeCode {
			return Group{}, apperr.E(apperr.Invalid, "scope_code", "plans.group.scope.immutable", old.ScopeCode)
		}
		g.NamedInSource = groups[i].NamedInSource
	}
	if len(g.Schools) > MaxGroupSchools {
		return Group{}, apperr.E(apperr.Invalid, "schools", "plans.group.too_many", MaxGroupSchools)
	}
	codes := make([]string, 0, len(g.Schools))
	seen := map[string]bool{}
	for _, c := range g.Schools {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c != "" && !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	info, err := s.Store.Schools(ctx, codes)
	if err != nil {
		return Group{}, err
	}
	for i, c := range codes {
		sch, ok := info[c]
		if !ok {
			return Group{}, apperr.E(apperr.Invalid, "schools["+strconv.Itoa(i)+"]", "plans.group.school.unknown", c)
		}
		if !scopeContains(g.ScopeCode, sch.City) {
			return Group{}, apperr.E(apperr.Invalid, "schools["+strconv.Itoa(i)+"]", "plans.group.school.outside", sch.Name, DivisionName(g.ScopeCode))
		}
	}
	slices.Sort(codes)
	g.Schools = codes
	err = s.Store.SaveGroup(ctx, g, pr.Name, s.Now(), audit.Entry{Actor: pr.Name, Action: "plans.group", Entity: "school_group", EntityID: g.Code,
		Data: map[string]any{"name": g.Name, "scope_code": g.ScopeCode, "schools": g.Schools}})
	if err != nil {
		return Group{}, err
	}
	return g, nil
}
