package web

// Plans, their dashboards, reported values and school groups: the JSON
// API and the pages. The plan service applies every access rule; the
// handlers read parameters and shape answers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/plan"
)

// planParams reads ?year= and ?scope= of a dashboard.
func planParams(q url.Values) (year int, scope string, err error) {
	if v := q.Get("year"); v != "" {
		if year, err = strconv.Atoi(v); err != nil || year < plan.MinYear || year > plan.MaxYear {
			return 0, "", errInvalidParam("year")
		}
	}
	scope = strings.TrimSpace(q.Get("scope"))
	if len(scope) > 20 {
		return 0, "", errInvalidParam("scope")
	}
	return year, scope, nil
}

// decodePlan reads a plan as JSON, refusing unknown fields, from a body
// already limited in size.
func decodePlan(body []byte) (plan.Plan, error) {
	var p plan.Plan
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, jsonError(err)
	}
	if dec.More() {
		return p, apperr.E(apperr.BadJSON, "", "json.trailing")
	}
	return p, nil
}

// --- JSON API ------------------------------------------------------------

func (s *Server) handleAPIPlanList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	list, err := s.Plans.List(r.Context(), c.P)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody[plan.Summary]{Items: list, Total: len(list)})
	return nil
}

func (s *Server) handleAPIPlanGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errInvalidParam("version")
		}
		version = n
	}
	sp, err := s.Plans.Get(r.Context(), c.P, r.PathValue("id"), version)
	if err != nil {
		return err
	}
	// The plan alone, so that what is read can be edited and sent back.
	writeJSON(w, http.StatusOK, sp.Plan)
	return nil
}

func (s *Server) handleAPIPlanVersions(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	versions, err := s.Plans.Versions(r.Context(), c.P, r.PathValue("id"))
	if err != nil {
		return err
	}
	items := make([]plan.Summary, len(versions))
	for i, v := range versions {
		items[i] = v.Summary()
	}
	writeJSON(w, http.StatusOK, listBody[plan.Summary]{Items: items, Total: len(items)})
	return nil
}

func (s *Server) handleAPIPlanCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var p plan.Plan
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	sp, err := s.Plans.Create(r.Context(), c.P, p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+sp.ID)
	writeJSON(w, http.StatusCreated, sp.Plan)
	return nil
}

// revisionNames name what an edit did, for the API and the pages.
var revisionNames = map[plan.Revision]string{plan.Unchanged: "unchanged", plan.InPlace: "in_place", plan.NewVersion: "new_version"}

func (s *Server) handleAPIPlanUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var p plan.Plan
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	sp, rev, err := s.Plans.Update(r.Context(), c.P, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": revisionNames[rev], "version": sp.Version, "plan": sp.Plan})
	return nil
}

func (s *Server) handleAPIPlanDashboard(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	year, scope, err := planParams(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := s.Plans.Dashboard(r.Context(), c.P, r.PathValue("id"), year, scope)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newDashboardBody(d))
	return nil
}

func (s *Server) handleAPIPlanIndicator(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	year, scope, err := planParams(r.URL.Query())
	if err != nil {
		return err
	}
	x, err := s.Plans.Indicator(r.Context(), c.P, r.PathValue("id"), r.PathValue("code"), year, scope)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"plan": x.Plan.Summary(), "year": x.Year, "scope": x.Scope, "indicator": x.Indicator, "item": newDashboardItem(&x.Row),
		"regions": nonNilParts(x.Regions), "groups": nonNilParts(x.Groups), "schools": nonNilParts(x.Schools), "reports": nonNilReports(x.Reports),
	})
	return nil
}

func nonNilParts(p []plan.Breakdown) []plan.Breakdown {
	if p == nil {
		return []plan.Breakdown{}
	}
	return p
}

func nonNilReports(p []plan.StoredReport) []plan.StoredReport {
	if p == nil {
		return []plan.StoredReport{}
	}
	return p
}

// reportFilter reads the filters of a report list.
func reportFilter(q url.Values, id string) (plan.ReportFilter, error) {
	limit, after, err := pageParams(q)
	if err != nil {
		return plan.ReportFilter{}, err
	}
	f := plan.ReportFilter{PlanID: id, Indicator: q.Get("indicator"), State: plan.ReportState(q.Get("state")), Within: q.Get("scope"),
		History: q.Get("history") == "1" || q.Get("history") == "true", Limit: limit, After: after}
	switch f.State {
	case "", plan.ReportPending, plan.ReportAccepted, plan.ReportReturned:
	default:
		return f, errInvalidParam("state")
	}
	if v := q.Get("year"); v != "" {
		if f.Year, err = strconv.Atoi(v); err != nil || f.Year < plan.MinYear || f.Year > plan.MaxYear {
			return f, errInvalidParam("year")
		}
	}
	return f, nil
}

func (s *Server) handleAPIPlanReports(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := reportFilter(r.URL.Query(), r.PathValue("id"))
	if err != nil {
		return err
	}
	items, total, err := s.Plans.Reports(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	body := listBody[plan.StoredReport]{Items: items, Total: total}
	if len(items) > 0 {
		body.Next = idCursor(items[len(items)-1].ID, len(items), f.Limit)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPIPlanReportCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in plan.ReportInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	rep, err := s.Plans.AddReport(r.Context(), c.P, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rep)
	return nil
}

func (s *Server) handleAPIPlanReview(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in filingActionInput
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &in); err != nil {
				return err
			}
		}
		rep, err := s.Plans.Review(r.Context(), c.P, id, accept, in.Note)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
}

func (s *Server) handleAPIGroupList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	groups, err := s.Plans.Groups(r.Context(), c.P)
	if err != nil {
		return err
	}
	items := make([]plan.Group, len(groups))
	for i, g := range groups {
		items[i] = withSchools(g)
	}
	writeJSON(w, http.StatusOK, listBody[plan.Group]{Items: items, Total: len(items)})
	return nil
}

// withSchools lists no members as [] rather than leaving the field out.
func withSchools(g plan.Group) plan.Group {
	if g.Schools == nil {
		g.Schools = []string{}
	}
	return g
}

func (s *Server) handleAPIGroupGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	g, err := s.Plans.Group(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withSchools(g))
	return nil
}

// groupInput is what PUT /api/v1/school-groups/{code} takes.
type groupInput struct {
	Name        string   `json:"name"`
	ScopeCode   string   `json:"scope_code"`
	Description string   `json:"description"`
	Schools     []string `json:"schools"`
}

func (s *Server) handleAPIGroupSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in groupInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	g, err := s.Plans.SaveGroup(r.Context(), c.P, plan.Group{Code: r.PathValue("code"), Name: in.Name, ScopeCode: in.ScopeCode,
		Description: in.Description, Schools: in.Schools})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withSchools(g))
	return nil
}

// --- Pages ---------------------------------------------------------------

type planListData struct {
	Plans   []plan.Summary
	Groups  []groupRow
	CanEdit bool
}

type groupRow struct {
	plan.Group
	ScopeName string
	Members   int
}

func (s *Server) handlePlanList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	plans, err := s.Plans.List(r.Context(), c.P)
	if err != nil {
		return err
	}
	groups, err := s.Plans.Groups(r.Context(), c.P)
	if err != nil {
		return err
	}
	d := planListData{Plans: plans, CanEdit: c.P.Role == auth.RoleProvince}
	for _, g := range groups {
		d.Groups = append(d.Groups, groupRow{Group: g, ScopeName: plan.DivisionName(g.ScopeCode), Members: len(g.Schools)})
	}
	return s.render(w, r, http.StatusOK, "plans.html", newView(c, "规划指标", "plans", d))
}

// planPageData is a dashboard page, and its print view.
type planPageData struct {
	D         *plan.Dashboard
	Summary   plan.Summary
	Rows      []planRow
	Counts    []statusCount
	Query     template.URL // year=&scope= of what is shown, for links
	Charts    []planRow
	CanEdit   bool
	CanReport bool
	Saved     string
}

type statusCount struct {
	plan.StatusCount
	Class string
}

func (s *Server) dashboardPage(r *http.Request, c *reqCtx, id string) (planPageData, error) {
	year, scope, err := planParams(r.URL.Query())
	if err != nil {
		return planPageData{}, err
	}
	d, err := s.Plans.Dashboard(r.Context(), c.P, id, year, scope)
	if err != nil {
		return planPageData{}, err
	}
	names, err := s.groupNames(r, c)
	if err != nil {
		return planPageData{}, err
	}
	pd := planPageData{D: d, Summary: d.Plan.Summary(), Rows: planRows(d, names), Query: template.URL(scopeQuery(d.Year, d.Scope, d.Scope.Whole)),
		CanEdit: c.P.Role == auth.RoleProvince, CanReport: canReport(c.P) && !d.Scope.School && hasReported(d)}
	for _, sc := range d.Counts {
		pd.Counts = append(pd.Counts, statusCount{StatusCount: sc, Class: statusClass(sc.Status)})
	}
	for _, row := range pd.Rows {
		if row.Chart.HasValues() {
			pd.Charts = append(pd.Charts, row)
		}
	}
	return pd, nil
}

func hasReported(d *plan.Dashboard) bool {
	for _, ind := range d.Plan.Indicators {
		if ind.Source.Kind == plan.Reported {
			return true
		}
	}
	return false
}

// canReport says whether the caller's role may report values at all.
func canReport(p auth.Principal) bool {
	return p.Role == auth.RoleProvince || p.Role == auth.RoleCity
}

func (s *Server) groupNames(r *http.Request, c *reqCtx) (map[string]string, error) {
	groups, err := s.Plans.Groups(r.Context(), c.P)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range groups {
		out[g.Code] = g.Name
	}
	return out, nil
}

// handlePlanShow is the dashboard, GET /plans/{id}; GET /plans/{id}.xlsx
// is its workbook (a wildcard is a whole path segment, so the suffix is
// told apart here).
func (s *Server) handlePlanShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id := r.PathValue("id")
	if base, ok := strings.CutSuffix(id, ".xlsx"); ok {
		return s.writePlanWorkbook(w, r, c, base)
	}
	pd, err := s.dashboardPage(r, c, id)
	if err != nil {
		return err
	}
	pd.Saved = map[string]string{"in_place": "已保存修改", "new_version": "已保存为新版本；原版本及其填报值保留不变",
		"unchanged": "没有修改任何内容", "created": "已新建规划"}[r.URL.Query().Get("saved")]
	return s.render(w, r, http.StatusOK, "plan_show.html", newView(c, pd.D.Plan.Name, "plans", pd))
}

func (s *Server) handlePlanPrint(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	pd, err := s.dashboardPage(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "plan_print.html", newView(c, pd.D.Plan.Name+"（打印）", "plans", pd))
}

// planIndicatorData is the drill-down page of one indicator.
type planIndicatorData struct {
	X           *plan.IndicatorDetail
	Row         planRow
	Query       template.URL
	GroupName   string
	Quote       string
	Regions     []breakdownRow
	RegionChart chartData
	Groups      []breakdownRow
	Schools     []breakdownRow
	SchoolsMore int // schools not listed
	Records     string
	Reports     []reportRow
	CanReport   bool
}

type breakdownRow struct {
	plan.Breakdown
	ValueText  string
	ShareText  string
	Figures    string // the numerator and denominator of a ratio
	URL        string // this part's own drill-down
	RecordsURL string
}

// maxSchoolRows bounds the schools listed on a drill-down page; the API
// and the workbook give them all.
const maxSchoolRows = 300

func (s *Server) handlePlanIndicator(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	year, scope, err := planParams(r.URL.Query())
	if err != nil {
		return err
	}
	id, code := r.PathValue("id"), r.PathValue("code")
	x, err := s.Plans.Indicator(r.Context(), c.P, id, code, year, scope)
	if err != nil {
		return err
	}
	names, err := s.groupNames(r, c)
	if err != nil {
		return err
	}
	row := newPlanRow(&x.Row, &x.Plan.Plan, x.Year, x.Scope.Whole, names)
	row.Chart.Title = x.Indicator.Name
	d := planIndicatorData{X: x, Row: row, Query: template.URL(scopeQuery(x.Year, x.Scope, x.Scope.Whole)), GroupName: names[x.Indicator.Group],
		Quote: x.Indicator.Quote, CanReport: canReport(c.P) && x.Indicator.Source.Kind == plan.Reported && !x.Scope.School}
	unit := x.Indicator.Unit
	share := func(b plan.Breakdown) string {
		if b.Share == nil {
			return ""
		}
		return fmtNum(*b.Share) + "%"
	}
	figures := func(b plan.Breakdown) string {
		if b.Computation == nil || b.Computation.Aggregate != plan.AggregateRatio || b.Computation.Source != plan.Computed {
			return ""
		}
		var num, den float64
		for _, y := range b.Computation.Years {
			num, den = num+y.Numerator, den+y.Denominator
		}
		return fmtNum(num) + " / " + fmtNum(den)
	}
	for _, b := range x.Regions {
		d.Regions = append(d.Regions, breakdownRow{Breakdown: b, ValueText: withUnit(b.Value, unit), ShareText: share(b), Figures: figures(b),
			URL: "/plans/" + x.Plan.ID + "/indicators/" + url.PathEscape(code) + "?" + scopeQuery(x.Year, plan.Scope{Code: b.Code}, false)})
	}
	if len(x.Regions) > 0 {
		d.RegionChart = barChart(x.Indicator.Name+"（"+x.RegionsLabel+"）", unit, x.Regions)
	}
	for _, b := range x.Groups {
		d.Groups = append(d.Groups, breakdownRow{Breakdown: b, ValueText: withUnit(b.Value, unit), ShareText: share(b), Figures: figures(b)})
	}
	recordsURL, label := recordLinks(x.Indicator.Source.Rule, x.Year)
	d.Records = label
	for i, b := range x.Schools {
		if i == maxSchoolRows {
			d.SchoolsMore = len(x.Schools) - i
			break
		}
		br := breakdownRow{Breakdown: b, ValueText: withUnit(b.Value, unit), ShareText: share(b), Figures: figures(b),
			URL: "/plans/" + x.Plan.ID + "/indicators/" + url.PathEscape(code) + "?" + scopeQuery(x.Year, plan.Scope{Code: b.Code}, false)}
		if recordsURL != nil {
			br.RecordsURL = recordsURL(b.Code)
		}
		d.Schools = append(d.Schools, br)
	}
	d.Reports = reportRows(x.Reports, &x.Plan.Plan, c.P)
	return s.render(w, r, http.StatusOK, "plan_indicator.html", newView(c, x.Indicator.Name, "plans", d))
}

// recordLinks says where the records behind a school's figure are listed:
// a year's intake among the students enrolled that year; students in
// school among those in school at the end of that year; a count of
// schools at the school itself.
func recordLinks(rule string, year int) (func(code string) string, string) {
	switch rule {
	case "intake", "avg_intake":
		return func(code string) string {
			return "/students?" + url.Values{"school_code": {code}, "year": {strconv.Itoa(year)}}.Encode()
		}, strconv.Itoa(year) + " 年入学的学籍"
	case "enrolled", "avg_enrolled", "senior_share", "schools_over_10000":
		return func(code string) string {
			return "/students?" + url.Values{"school_code": {code}, "in_school": {strconv.Itoa(year)}}.Encode()
		}, strconv.Itoa(year) + " 年末在校的学籍"
	case "schools", "technician_colleges", "quality_schools":
		return func(code string) string { return "/schools/" + url.PathEscape(code) }, "学校登记信息"
	}
	return nil, ""
}

// reportRow is a report as listed.
type reportRow struct {
	plan.StoredReport
	IndicatorName string
	ScopeName     string
	ValueText     string
	StateLabel    string
	StateClass    string
	Superseded    bool
	CanReview     bool
}

func reportRows(list []plan.StoredReport, p *plan.Plan, viewer auth.Principal) []reportRow {
	out := make([]reportRow, 0, len(list))
	for _, rep := range list {
		rr := reportRow{StoredReport: rep, IndicatorName: rep.Indicator, ScopeName: plan.DivisionName(rep.Scope), ValueText: fmtNum(rep.Value),
			StateLabel: rep.State.Label(), StateClass: "rs-" + string(rep.State), Superseded: rep.SupersededBy != 0}
		if ind, ok := p.Indicator(rep.Indicator); ok {
			rr.IndicatorName = ind.Name
			rr.ValueText = withUnit(&rep.Value, ind.Unit)
		}
		rr.CanReview = viewer.Role == auth.RoleProvince && rep.State == plan.ReportPending && !rr.Superseded && rep.ReportedBy != viewer.UserID
		out = append(out, rr)
	}
	return out
}

// planReportData is the page to report values and review them.
type planReportData struct {
	Plan       plan.StoredPlan
	Indicators []plan.Indicator
	Years      []int
	Scopes     []plan.Scope
	Form       plan.ReportInput
	Error      string
	ErrorField string
	Done       string
	CanReport  bool
	Reports    []reportRow
	Total      int
	History    bool
	NextURL    string
}

func (s *Server) reportPage(r *http.Request, c *reqCtx, id string) (planReportData, error) {
	sp, err := s.Plans.Get(r.Context(), c.P, id, 0)
	if err != nil {
		return planReportData{}, err
	}
	q := r.URL.Query()
	d := planReportData{Plan: sp, CanReport: canReport(c.P), History: q.Get("history") == "1",
		Years: plan.Window{From: sp.BaselineYear, To: sp.TargetYear}.Years()}
	for _, ind := range sp.Indicators {
		if ind.Source.Kind == plan.Reported {
			d.Indicators = append(d.Indicators, ind)
		}
	}
	switch sc := c.P.Scope(); sc.Kind {
	case auth.ScopeAll:
		d.Scopes = append(d.Scopes, plan.Scope{Code: sp.ScopeCode, Name: plan.DivisionName(sp.ScopeCode)})
		for _, child := range plan.ChildScopes(sp.ScopeCode) {
			d.Scopes = append(d.Scopes, plan.Scope{Code: child, Name: plan.DivisionName(child)})
		}
	case auth.ScopeCity:
		d.Scopes = []plan.Scope{{Code: sc.Code, Name: plan.DivisionName(sc.Code)}}
	}
	f, err := reportFilter(q, id)
	if err != nil {
		return d, err
	}
	f.History = d.History
	list, total, err := s.Plans.Reports(r.Context(), c.P, f)
	if err != nil {
		return d, err
	}
	d.Reports, d.Total = reportRows(list, &sp.Plan, c.P), total
	if len(list) > 0 {
		if next := idCursor(list[len(list)-1].ID, len(list), f.Limit); next != "" {
			q.Set("cursor", next)
			d.NextURL = "/plans/" + id + "/report?" + q.Encode()
		}
	}
	d.Form = plan.ReportInput{Version: sp.Version, Scope: d.defaultScope(), Year: min(sp.TargetYear, s.Now().In(shanghai).Year()-1)}
	if ind := q.Get("indicator"); ind != "" {
		d.Form.Indicator = ind
	}
	return d, nil
}

func (d *planReportData) defaultScope() string {
	if len(d.Scopes) > 0 {
		return d.Scopes[0].Code
	}
	return ""
}

func (s *Server) handlePlanReportForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	d, err := s.reportPage(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("done"); id != "" {
		d.Done = id
	}
	return s.render(w, r, http.StatusOK, "plan_report.html", newView(c, "填报 · "+d.Plan.Name, "plans", d))
}

func (s *Server) handlePlanReportCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id := r.PathValue("id")
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	year, _ := strconv.Atoi(r.PostFormValue("year"))
	in := plan.ReportInput{Version: version, Indicator: r.PostFormValue("indicator"), Year: year, Scope: r.PostFormValue("scope"),
		Value: r.PostFormValue("value"), Evidence: r.PostFormValue("evidence")}
	if in.Version == 0 {
		// A form always names the version it showed; 0 would mean "the
		// current one" to the service.
		in.Version = -1
	}
	rep, err := s.Plans.AddReport(r.Context(), c.P, id, in)
	if err == nil {
		http.Redirect(w, r, "/plans/"+id+"/report?done="+strconv.FormatInt(rep.ID, 10), http.StatusSeeOther)
		return nil
	}
	e := apperr.As(err)
	if e.Code == apperr.Internal || e.Code == apperr.NotFound {
		return err
	}
	d, perr := s.reportPage(r, c, id)
	if perr != nil {
		return perr
	}
	d.Form, d.Error, d.ErrorField = in, e.Message(), e.Field
	d.Form.Version = d.Plan.Version
	return s.render(w, r, httpStatus(e.Code), "plan_report.html", newView(c, "填报 · "+d.Plan.Name, "plans", d))
}

func (s *Server) handlePlanReview(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		rep, err := s.Plans.Review(r.Context(), c.P, id, accept, r.PostFormValue("note"))
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/plans/"+url.PathEscape(rep.PlanID)+"/report", http.StatusSeeOther)
		return nil
	}
}

// planFormData is the plan editor: the plan as JSON in a text area.
type planFormData struct {
	ID      string // empty for a new plan
	JSON    string
	Error   string
	Field   string
	Version int
	Rules   []plan.Rule
	Groups  []plan.Group
}

func (s *Server) planForm(r *http.Request, c *reqCtx, id, text string) (planFormData, error) {
	if c.P.Role != auth.RoleProvince {
		return planFormData{}, apperr.E(apperr.Forbidden, "", "plans.edit.forbidden")
	}
	groups, err := s.Plans.Groups(r.Context(), c.P)
	if err != nil {
		return planFormData{}, err
	}
	return planFormData{ID: id, JSON: text, Rules: plan.Rules(), Groups: groups}, nil
}

func indentPlan(p plan.Plan) string {
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

func (s *Server) handlePlanNew(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	// A start: the Shandong plan as a template for the next five years.
	tmpl, _ := plan.BuiltinPlan("sd-jg-14-5")
	tmpl.ID, tmpl.Name, tmpl.Version = "sd-jg-15-5", "山东省技工教育“十五五”发展规划", 1
	tmpl.BaselineFrom, tmpl.BaselineYear, tmpl.TargetYear, tmpl.Document, tmpl.Note = 2021, 2025, 2030, "", ""
	for i := range tmpl.Indicators {
		tmpl.Indicators[i].Baseline, tmpl.Indicators[i].Milestones, tmpl.Indicators[i].TargetYear = nil, nil, 0
	}
	d, err := s.planForm(r, c, "", indentPlan(tmpl))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "plan_form.html", newView(c, "新建规划", "plans", d))
}

func (s *Server) handlePlanEdit(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sp, err := s.Plans.Get(r.Context(), c.P, r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	d, err := s.planForm(r, c, sp.ID, indentPlan(sp.Plan))
	if err != nil {
		return err
	}
	d.Version = sp.Version
	return s.render(w, r, http.StatusOK, "plan_form.html", newView(c, "修改规划 · "+sp.Name, "plans", d))
}

// maxPlanForm bounds the editor's form: a plan of MaxJSONBody, percent-
// encoded (a Chinese character takes nine bytes).
const maxPlanForm = 4 * MaxJSONBody

// planFormRoute is page for the plan editor's form, whose JSON may be
// larger than MaxFormBody allows other forms.
func (s *Server) planFormRoute(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.sessionCaller(r)
		if err == nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxPlanForm)
			err = r.ParseForm()
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				err = apperr.E(apperr.TooLarge, "", "request.too_large_limit", maxPlanForm/1024)
			} else if err != nil {
				err = apperr.E(apperr.Invalid, "", "request.unreadable")
			}
		}
		if err == nil {
			err = checkCSRF(r, c.Session.CSRFToken)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// savePlanForm creates (id "") or updates a plan from the editor and
// shows the editor again, with the error and its field, when refused.
func (s *Server) savePlanForm(w http.ResponseWriter, r *http.Request, c *reqCtx, id string) error {
	text := r.PostFormValue("plan")
	if len(text) > MaxJSONBody {
		return apperr.E(apperr.TooLarge, "", "request.too_large_limit", MaxJSONBody/1024)
	}
	p, err := decodePlan([]byte(text))
	var sp plan.StoredPlan
	saved := "created"
	if err == nil {
		if id == "" {
			sp, err = s.Plans.Create(r.Context(), c.P, p)
		} else {
			var rev plan.Revision
			sp, rev, err = s.Plans.Update(r.Context(), c.P, id, p)
			saved = revisionNames[rev]
		}
	}
	if err == nil {
		http.Redirect(w, r, "/plans/"+url.PathEscape(sp.ID)+"?saved="+saved, http.StatusSeeOther)
		return nil
	}
	e := apperr.As(err)
	if e.Code == apperr.Internal || e.Code == apperr.Forbidden || e.Code == apperr.NotFound {
		return err
	}
	d, ferr := s.planForm(r, c, id, text)
	if ferr != nil {
		return ferr
	}
	d.Error, d.Field, d.Version = e.Message(), e.Field, p.Version
	title := "新建规划"
	if id != "" {
		title = "修改规划"
	}
	return s.render(w, r, httpStatus(e.Code), "plan_form.html", newView(c, title, "plans", d))
}

func (s *Server) handlePlanCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.savePlanForm(w, r, c, "")
}

func (s *Server) handlePlanUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.savePlanForm(w, r, c, r.PathValue("id"))
}

// groupPageData is a school group's page.
type groupPageData struct {
	Group   plan.Group
	Members []plan.SchoolInfo
	Codes   string // one code per line, for the form
	CanEdit bool
	Error   string
	Saved   bool
}

func (s *Server) groupPage(r *http.Request, c *reqCtx, g plan.Group) (groupPageData, error) {
	info, err := s.DB.Schools(r.Context(), g.Schools)
	if err != nil {
		return groupPageData{}, err
	}
	d := groupPageData{Group: g, Codes: strings.Join(g.Schools, "\n"), CanEdit: c.P.Role == auth.RoleProvince}
	for _, code := range g.Schools {
		sch, ok := info[code]
		if !ok {
			sch = plan.SchoolInfo{Code: code, Name: code}
		}
		d.Members = append(d.Members, sch)
	}
	return d, nil
}

func (s *Server) handleGroupShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	g, err := s.Plans.Group(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	d, err := s.groupPage(r, c, g)
	if err != nil {
		return err
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	return s.render(w, r, http.StatusOK, "school_group.html", newView(c, g.Name, "plans", d))
}

func (s *Server) handleGroupSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	g, err := s.Plans.Group(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	edit := g
	edit.Name, edit.Description = r.PostFormValue("name"), r.PostFormValue("description")
	edit.Schools = strings.FieldsFunc(r.PostFormValue("schools"), func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == '，' || r == '、' || r == ' ' || r == '\t'
	})
	if _, err := s.Plans.SaveGroup(r.Context(), c.P, edit); err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		d, perr := s.groupPage(r, c, g)
		if perr != nil {
			return perr
		}
		d.Error, d.Codes = e.Message(), strings.Join(edit.Schools, "\n")
		d.Group.Name, d.Group.Description = edit.Name, edit.Description
		return s.render(w, r, http.StatusBadRequest, "school_group.html", newView(c, g.Name, "plans", d))
	}
	http.Redirect(w, r, "/school-groups/"+url.PathEscape(g.Code)+"?saved=1", http.StatusSeeOther)
	return nil
}
