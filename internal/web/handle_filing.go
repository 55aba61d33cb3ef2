package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

// currentFilingYear is the enrollment year filed for now: plans are filed
// in spring for the autumn intake.
func (s *Server) currentFilingYear() int { return s.Now().In(shanghai).Year() }

func filingFilter(q url.Values, defaultYear int) (school.FilingFilter, error) {
	limit, after, err := pageParams(q)
	if err != nil {
		return school.FilingFilter{}, err
	}
	f := school.FilingFilter{Kind: q.Get("kind"), State: q.Get("state"), SchoolCode: q.Get("school_code"), CityCode: q.Get("city_code"),
		Late: q.Get("late") == "1" || q.Get("late") == "true", Limit: limit, After: after, Year: defaultYear}
	if v := q.Get("year"); v != "" {
		if f.Year, err = strconv.Atoi(v); err != nil || f.Year < school.MinFilingYear || f.Year > school.MaxFilingYear {
			return f, errInvalidParam("year")
		}
	}
	return f, nil
}

// --- JSON API ------------------------------------------------------------

func (s *Server) handleAPIFilingList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := filingFilter(r.URL.Query(), 0)
	if err != nil {
		return err
	}
	items, total, err := s.Filings.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*school.Filing{}
	}
	body := listBody[*school.Filing]{Items: items, Total: total}
	if len(items) > 0 {
		body.Next = idCursor(items[len(items)-1].ID, len(items), f.Limit)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPIFilingCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in school.FilingInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	f, err := s.Filings.Create(r.Context(), c.P, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/filings/"+strconv.FormatInt(f.ID, 10))
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *Server) handleAPIFilingGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, err := s.Filings.Get(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) handleAPIFilingUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in school.FilingInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	f, err := s.Filings.Update(r.Context(), c.P, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

type filingActionInput struct {
	Note string `json:"note"`
}

// handleAPIFilingAction takes a review step: POST /api/v1/filings/{id}/{action}.
func (s *Server) handleAPIFilingAction(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
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
	action := strings.ReplaceAll(r.PathValue("action"), "-", "_")
	var f *school.Filing
	if action == "amend" {
		if f, err = s.Filings.Amend(r.Context(), c.P, id); err == nil {
			w.Header().Set("Location", "/api/v1/filings/"+strconv.FormatInt(f.ID, 10))
			writeJSON(w, http.StatusCreated, f)
		}
		return err
	}
	if !slices.Contains(school.Actions, action) {
		return apperr.E(apperr.NotFound, "", "record.not_found")
	}
	if f, err = s.Filings.Act(r.Context(), c.P, id, action, in.Note); err != nil {
		return err
	}
	if action == school.ActPublish {
		s.portal.forget()
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) handleAPIFilingProgress(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := filingFilter(r.URL.Query(), s.currentFilingYear())
	if err != nil {
		return err
	}
	progress, err := s.Filings.Progress(r.Context(), c.P, f.Year)
	if err != nil {
		return err
	}
	y, err := s.Filings.Year(r.Context(), f.Year)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"year": f.Year, "deadline": y.Deadline, "cities": progress})
	return nil
}

func (s *Server) handleAPIFilingYearSet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return errInvalidParam("year")
	}
	var in school.YearSettings
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.Year = year
	if err := s.Filings.SetYear(r.Context(), c.P, in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (s *Server) handleAPIOfferingsGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	list, err := s.Filings.Offerings(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list, "total": len(list)})
	return nil
}

func (s *Server) handleAPIOfferingsSet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in struct {
		Items []school.Offering `json:"items"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	catalogue, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	list, err := s.Filings.SetOfferings(r.Context(), c.P, r.PathValue("code"), in.Items, catalogue)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list, "total": len(list)})
	return nil
}

// --- Pages ---------------------------------------------------------------

type filingListData struct {
	Filter    school.FilingFilter
	Items     []*school.Filing
	Total     int
	NextURL   string
	Progress  []school.CityProgress
	Totals    school.CityProgress
	Deadline  string
	Kinds     []string
	States    []string
	CanCreate bool
	CanSetDue bool
}

func (s *Server) handleFilingList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	f, err := filingFilter(q, s.currentFilingYear())
	if err != nil {
		return err
	}
	items, total, err := s.Filings.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	progress, err := s.Filings.Progress(r.Context(), c.P, f.Year)
	if err != nil {
		return err
	}
	y, err := s.Filings.Year(r.Context(), f.Year)
	if err != nil {
		return err
	}
	d := filingListData{Filter: f, Items: items, Total: total, Progress: progress, Deadline: y.Deadline, Kinds: school.Kinds,
		States: school.FilingStates, CanCreate: c.P.Role == auth.RoleSchool || c.P.Role == auth.RoleProvince,
		CanSetDue: c.P.Role == auth.RoleProvince}
	d.Totals.ByState = map[string]int{}
	for _, p := range progress {
		d.Totals.Schools += p.Schools
		d.Totals.Submitted += p.Submitted
		d.Totals.Reviewed += p.Reviewed
		d.Totals.Approved += p.Approved
		d.Totals.Published += p.Published
		d.Totals.Late += p.Late
	}
	if next := idCursorOf(items, f.Limit); next != "" {
		q.Set("cursor", next)
		d.NextURL = "/filings?" + q.Encode()
	}
	return s.render(w, r, http.StatusOK, "filings.html", newView(c, "招生资质审核", "filings", d))
}

func idCursorOf(items []*school.Filing, limit int) string {
	if len(items) == 0 {
		return ""
	}
	return idCursor(items[len(items)-1].ID, len(items), limit)
}

// filingFormData is the form of a filing of any kind.
type filingFormData struct {
	Filing    *school.Filing
	Editing   bool
	Offerings []school.Offering
	Intake    map[school.Offering]int
	Majors    []string // the school's majors, for sites and joint programs
	Chosen    map[string]bool
	Partners  string
	Schools   []*school.School // for the province, filing for a school
	Error     string
	Field     string
}

// renderFilingForm shows the form for f (new when f.ID is 0).
func (s *Server) renderFilingForm(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *school.Filing, formErr error) error {
	d := filingFormData{Filing: f, Editing: f.ID != 0, Intake: map[school.Offering]int{}, Chosen: map[string]bool{}}
	if f.SchoolCode != "" {
		var err error
		if d.Offerings, err = s.Filings.Offerings(r.Context(), c.P, f.SchoolCode); err != nil {
			return err
		}
	}
	for _, o := range d.Offerings {
		if !slices.Contains(d.Majors, o.Major) {
			d.Majors = append(d.Majors, o.Major)
		}
	}
	for _, l := range f.Lines {
		d.Intake[school.Offering{Major: l.Major, ClassLevel: l.ClassLevel, StudyMode: l.StudyMode}] = l.Intake
	}
	for _, m := range f.Majors() {
		d.Chosen[m] = true
	}
	if f.Joint != nil {
		d.Partners = strings.Join(f.Joint.Partners, "\n")
	}
	if c.P.Role == auth.RoleProvince && f.ID == 0 {
		list, _, err := s.Schools.List(r.Context(), c.P, school.Filter{Limit: 5000})
		if err != nil {
			return err
		}
		d.Schools = list
	}
	if formErr != nil {
		e := apperr.As(formErr)
		if e.Code == apperr.Internal {
			return formErr
		}
		d.Error, d.Field = e.Message(), e.Field
	}
	title := "新建申报：" + school.KindName(f.Kind)
	if d.Editing {
		title = "修改申报 #" + strconv.FormatInt(f.ID, 10)
	}
	return s.render(w, r, status, "filing_form.html", newView(c, title, "filings", d))
}

func (s *Server) handleFilingNew(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	f := &school.Filing{Kind: q.Get("kind"), SchoolCode: q.Get("school_code"), Year: s.currentFilingYear()}
	if !slices.Contains(school.Kinds, f.Kind) {
		f.Kind = school.KindPlan
	}
	if c.P.Role == auth.RoleSchool {
		f.SchoolCode = c.P.ScopeCode
	}
	if c.P.Role != auth.RoleSchool && c.P.Role != auth.RoleProvince {
		return apperr.E(apperr.Forbidden, "", "filing.create.forbidden")
	}
	if f.SchoolCode != "" {
		sc, err := s.Schools.Get(r.Context(), c.P, f.SchoolCode)
		if err != nil {
			return err
		}
		f.SchoolName = sc.Name
	}
	if f.Kind != school.KindPlan {
		today := s.Now().In(shanghai)
		f.ValidFrom, f.ValidTo = today.Format(time.DateOnly), today.AddDate(3, 0, -1).Format(time.DateOnly)
	}
	return s.renderFilingForm(w, r, c, http.StatusOK, f, nil)
}

// filingForm reads a filing form: the plan's intake per offering, or the
// site's or joint program's fields.
func filingForm(r *http.Request) (school.FilingInput, error) {
	if err := r.ParseForm(); err != nil {
		return school.FilingInput{}, apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	pf := r.PostForm
	in := school.FilingInput{Kind: pf.Get("kind"), SchoolCode: pf.Get("school_code"), Statement: pf.Get("statement"),
		ValidFrom: pf.Get("valid_from"), ValidTo: pf.Get("valid_to")}
	if v := pf.Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil {
			return in, apperr.E(apperr.Invalid, "year", "filing.year.invalid", school.MinFilingYear, school.MaxFilingYear)
		}
		in.Year = y
	}
	if v := pf.Get("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			in.Version = &n
		}
	}
	// A plan line per offering with an intake: intake.<i> with its
	// offering in major.<i>, level.<i>, mode.<i>. All blank is no lines.
	if in.Kind == school.KindPlan {
		in.Lines = []school.PlanLine{}
	}
	for i := 0; i < school.MaxPlanLines*2; i++ {
		k := strconv.Itoa(i)
		if !pf.Has("major." + k) {
			break
		}
		v := strings.TrimSpace(pf.Get("intake." + k))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return in, apperr.E(apperr.Invalid, "lines["+k+"].intake", "filing.intake.range", school.MaxIntake)
		}
		in.Lines = append(in.Lines, school.PlanLine{Major: pf.Get("major." + k), ClassLevel: pf.Get("level." + k), StudyMode: pf.Get("mode." + k), Intake: n})
	}
	switch in.Kind {
	case school.KindSite:
		capacity, _ := strconv.Atoi(strings.TrimSpace(pf.Get("capacity")))
		in.Site = &school.Site{Name: pf.Get("site_name"), Address: pf.Get("address"), Majors: pf["majors"], Capacity: capacity}
	case school.KindJoint:
		var partners []string
		for _, p := range strings.Split(pf.Get("partners"), "\n") {
			if p = strings.TrimSpace(p); p != "" {
				partners = append(partners, p)
			}
		}
		in.Joint = &school.Joint{Partners: partners, Responsibilities: pf.Get("responsibilities"), Majors: pf["majors"]}
	}
	return in, nil
}

// draftFiling is what a refused form shows again.
func draftFiling(in school.FilingInput, base *school.Filing) *school.Filing {
	f := *base
	f.Kind, f.Lines, f.Statement, f.Site, f.Joint, f.ValidFrom, f.ValidTo = in.Kind, in.Lines, in.Statement, in.Site, in.Joint, in.ValidFrom, in.ValidTo
	if base.ID == 0 {
		f.SchoolCode = in.SchoolCode
		if in.Year != 0 {
			f.Year = in.Year
		}
	}
	return &f
}

func (s *Server) handleFilingCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	in, err := filingForm(r)
	if err != nil {
		return err
	}
	f, err := s.Filings.Create(r.Context(), c.P, in)
	if err != nil {
		if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		return s.renderFilingForm(w, r, c, httpStatus(apperr.CodeOf(err)), draftFiling(in, &school.Filing{Year: s.currentFilingYear()}), err)
	}
	http.Redirect(w, r, "/filings/"+strconv.FormatInt(f.ID, 10), http.StatusSeeOther)
	return nil
}

func (s *Server) pathFiling(r *http.Request, c *reqCtx) (*school.Filing, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.Filings.Get(r.Context(), c.P, id)
}

func (s *Server) handleFilingEdit(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := s.pathFiling(r, c)
	if err != nil {
		return err
	}
	return s.renderFilingForm(w, r, c, http.StatusOK, f, nil)
}

func (s *Server) handleFilingUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := s.pathFiling(r, c)
	if err != nil {
		return err
	}
	in, err := filingForm(r)
	if err != nil {
		return err
	}
	in.Kind = f.Kind
	if _, err := s.Filings.Update(r.Context(), c.P, f.ID, in); err != nil {
		if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		return s.renderFilingForm(w, r, c, httpStatus(apperr.CodeOf(err)), draftFiling(in, f), err)
	}
	http.Redirect(w, r, "/filings/"+strconv.FormatInt(f.ID, 10), http.StatusSeeOther)
	return nil
}

// filingActions lists the review steps p could take on f now.
func filingActions(p auth.Principal, f *school.Filing) []string {
	var out []string
	for _, a := range school.Actions {
		if school.MayAct(p, f, a) {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) renderFiling(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *school.Filing, actionErr error) error {
	d := map[string]any{"Filing": f, "Actions": filingActions(c.P, f),
		"CanEdit":  school.Editable(f.State) && (c.P.Role == auth.RoleProvince || c.P.Role == auth.RoleSchool && c.P.ScopeCode == f.SchoolCode),
		"CanAmend": (f.State == school.FilingApproved || f.State == school.FilingPublished) && (c.P.Role == auth.RoleProvince || c.P.Role == auth.RoleSchool && c.P.ScopeCode == f.SchoolCode),
		"Done":     r.URL.Query().Get("done")}
	if actionErr != nil {
		d["Error"] = apperr.As(actionErr).Message()
	}
	return s.render(w, r, status, "filing_show.html", newView(c, school.KindName(f.Kind)+" #"+strconv.FormatInt(f.ID, 10), "filings", d))
}

func (s *Server) handleFilingShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := s.pathFiling(r, c)
	if err != nil {
		return err
	}
	return s.renderFiling(w, r, c, http.StatusOK, f, nil)
}

// handleFilingAct takes a review step from the page's forms.
func (s *Server) handleFilingAct(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := s.pathFiling(r, c)
	if err != nil {
		return err
	}
	action := r.PostFormValue("action")
	var next *school.Filing
	if action == "amend" {
		next, err = s.Filings.Amend(r.Context(), c.P, f.ID)
	} else {
		next, err = s.Filings.Act(r.Context(), c.P, f.ID, action, r.PostFormValue("note"))
		if err == nil && action == school.ActPublish {
			s.portal.forget()
		}
	}
	if err != nil {
		if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		return s.renderFiling(w, r, c, httpStatus(apperr.CodeOf(err)), f, err)
	}
	http.Redirect(w, r, "/filings/"+strconv.FormatInt(next.ID, 10)+"?done="+url.QueryEscape(action), http.StatusSeeOther)
	return nil
}

func (s *Server) handleFilingYearSet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	year, err := strconv.Atoi(r.PostFormValue("year"))
	if err != nil {
		return errInvalidParam("year")
	}
	if err := s.Filings.SetYear(r.Context(), c.P, school.YearSettings{Year: year, Deadline: r.PostFormValue("deadline")}); err != nil {
		return err
	}
	http.Redirect(w, r, "/filings?year="+strconv.Itoa(year), http.StatusSeeOther)
	return nil
}

// offeringGrid is the offerings page: every catalogue major against every
// class level and study mode.
func (s *Server) handleOfferings(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.renderOfferings(w, r, c, http.StatusOK, nil, false)
}

func (s *Server) renderOfferings(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, formErr error, saved bool) error {
	sc, err := s.Schools.Get(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	offered, err := s.Filings.Offerings(r.Context(), c.P, sc.Code)
	if err != nil {
		return err
	}
	catalogue, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, o := range offered {
		has[o.Major+"|"+o.ClassLevel+"|"+o.StudyMode] = true
	}
	d := map[string]any{"School": sc, "Catalogue": catalogue, "Levels": refdata.ClassLevelNames(), "Modes": school.StudyModes, "Has": has,
		"Count": len(offered), "CanEdit": c.P.Role == auth.RoleProvince || c.P.Role == auth.RoleSchool && c.P.ScopeCode == sc.Code, "Saved": saved}
	if formErr != nil {
		d["Error"] = apperr.As(formErr).Message()
	}
	return s.render(w, r, status, "offerings.html", newView(c, sc.Name+" · 开设专业", "schools", d))
}

func (s *Server) handleOfferingsSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	// The CSRF check may have read the token from a header: parse the
	// form here, or an unread form would save an empty list.
	if err := r.ParseForm(); err != nil {
		return apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	var list []school.Offering
	for _, v := range r.PostForm["offer"] {
		parts := strings.SplitN(v, "|", 3)
		if len(parts) == 3 {
			list = append(list, school.Offering{Major: parts[0], ClassLevel: parts[1], StudyMode: parts[2]})
		}
	}
	catalogue, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	if _, err := s.Filings.SetOfferings(r.Context(), c.P, r.PathValue("code"), list, catalogue); err != nil {
		if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		return s.renderOfferings(w, r, c, httpStatus(apperr.CodeOf(err)), err, false)
	}
	return s.renderOfferings(w, r, c, http.StatusOK, nil, true)
}
