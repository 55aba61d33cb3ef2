package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

type cityCount struct {
	Code, Name string
	Count      int
}

// visibleCities lists the cities a principal may filter by.
func visibleCities(p auth.Principal) []refdata.Division {
	switch p.Scope().Kind {
	case auth.ScopeAll:
		return refdata.Cities(refdata.ShandongCode)
	}
	return nil
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	counts, err := s.Schools.Counts(r.Context(), c.P)
	if err != nil {
		return err
	}
	var cities []cityCount
	if c.P.Scope().Kind == auth.ScopeAll {
		for code, n := range counts.ByCity {
			name := code
			if d, ok := refdata.LookupDivision(code); ok {
				name = d.Name
			}
			cities = append(cities, cityCount{Code: code, Name: name, Count: n})
		}
		sort.Slice(cities, func(i, j int) bool { return cities[i].Code < cities[j].Code })
	}
	scope := map[auth.ScopeKind]string{auth.ScopeAll: "all", auth.ScopeCity: "city", auth.ScopeSchool: "school"}[c.P.Scope().Kind]
	return s.render(w, r, http.StatusOK, "home.html", newView(c, "概览", "home", map[string]any{
		"Counts": counts, "Types": school.Types, "Cities": cities, "Scope": scope,
	}))
}

// defaultPageSize is the page size when a list request names none.
const defaultPageSize = 50

// schoolFilter reads list filters from a query string.
func schoolFilter(q url.Values) (school.Filter, error) {
	f := school.Filter{
		Query:        strings.TrimSpace(q.Get("q")),
		CityCode:     q.Get("city_code"),
		DivisionCode: q.Get("division_code"),
		Type:         q.Get("type"),
		Status:       q.Get("status"),
		Limit:        defaultPageSize,
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > school.MaxPageSize {
			return f, apperr.E(apperr.Invalid, "limit", "list.limit.invalid", school.MaxPageSize)
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		after, err := decodeCursor(v)
		if err != nil {
			return f, err
		}
		f.After = after
	}
	return f, nil
}

type schoolListData struct {
	Filter    school.Filter
	Items     []*school.School
	Total     int
	NextURL   string
	Cities    []refdata.Division
	Types     []string
	Statuses  []string
	CanCreate bool
}

func (s *Server) handleSchoolList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := schoolFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Schools.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	d := schoolListData{Filter: f, Items: items, Total: total, Cities: visibleCities(c.P), Types: school.Types,
		Statuses: school.Statuses, CanCreate: c.P.Role == auth.RoleProvince}
	if next := nextCursor(items, f.Limit, total); next != "" {
		q := r.URL.Query()
		q.Set("cursor", next)
		d.NextURL = "/schools?" + q.Encode()
	}
	return s.render(w, r, http.StatusOK, "schools.html", newView(c, "学校", "schools", d))
}

// nextCursor is the cursor of the page after items, "" on the last page.
func nextCursor(items []*school.School, limit, total int) string {
	if len(items) == 0 || len(items) < limit {
		return ""
	}
	return encodeCursor(items[len(items)-1].Code)
}

func (s *Server) canEdit(p auth.Principal, sc *school.School) bool {
	return p.Role == auth.RoleProvince || (p.Role == auth.RoleCity && p.ScopeCode == sc.CityCode)
}

func (s *Server) handleSchoolShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sc, err := s.Schools.Get(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	history, err := s.DB.RecentAudit(r.Context(), "school", sc.Code, 0, 20)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "school_show.html", newView(c, sc.Name, "schools", map[string]any{
		"School": sc, "CanEdit": s.canEdit(c.P, sc), "History": history,
	}))
}

type divisionOption struct{ Code, Label string }

type schoolFormData struct {
	School     *school.School
	Editing    bool
	Action     string
	Cancel     string
	Error      string
	Field      string
	Types      []string
	Ownerships []string
	Statuses   []string
	Divisions  []divisionOption
}

// divisionOptions lists the counties a principal may place a school in.
func divisionOptions(p auth.Principal) []divisionOption {
	var out []divisionOption
	for _, city := range refdata.Cities(refdata.ShandongCode) {
		if p.Role == auth.RoleCity && city.Code != p.ScopeCode {
			continue
		}
		for _, c := range refdata.Counties(city.Code) {
			out = append(out, divisionOption{Code: c.Code, Label: city.Name + " " + c.Name})
		}
	}
	return out
}

func (s *Server) renderSchoolForm(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, sc *school.School, editing bool, formErr error) error {
	d := schoolFormData{School: sc, Editing: editing, Types: school.Types, Ownerships: school.Ownerships,
		Statuses: school.Statuses, Divisions: divisionOptions(c.P), Action: "/schools", Cancel: "/schools"}
	title := "新增学校"
	if editing {
		title, d.Action, d.Cancel = "编辑学校", "/schools/"+sc.Code, "/schools/"+sc.Code
	}
	if formErr != nil {
		e := apperr.As(formErr)
		if e.Code == apperr.Internal {
			return formErr
		}
		d.Error, d.Field = e.Message(), e.Field
		status = httpStatus(e.Code)
	}
	return s.render(w, r, status, "school_form.html", newView(c, title, "schools", d))
}

func (s *Server) handleSchoolNew(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if c.P.Role != auth.RoleProvince {
		return apperr.E(apperr.Forbidden, "", "school.create.forbidden")
	}
	return s.renderSchoolForm(w, r, c, http.StatusOK, &school.School{Type: school.Types[0], Ownership: school.Ownerships[0], Status: school.StatusOperating}, false, nil)
}

func (s *Server) handleSchoolEdit(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sc, err := s.Schools.Get(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	if !s.canEdit(c.P, sc) {
		return apperr.E(apperr.Forbidden, "", "school.update.forbidden")
	}
	return s.renderSchoolForm(w, r, c, http.StatusOK, sc, true, nil)
}

// formInput reads a school form. Unchecked boxes are absent, so they mean false.
func formInput(r *http.Request) (school.Input, error) {
	if err := r.ParseForm(); err != nil {
		return school.Input{}, apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	str := func(k string) *string { v := r.PostFormValue(k); return &v }
	in := school.Input{Code: str("code"), Name: str("name"), Type: str("type"), Ownership: str("ownership"),
		DivisionCode: str("division_code"), Status: str("status"), Address: str("address")}
	nk, pq := r.PostFormValue("national_key") != "", r.PostFormValue("provincial_quality") != ""
	in.NationalKey, in.ProvincialQuality = &nk, &pq
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return in, apperr.E(apperr.Invalid, "version", "school.version.stale")
		}
		in.Version = &n
	}
	return in, nil
}

// draft shows what the user typed back to them after a refused submission.
func draft(in school.Input, base *school.School) *school.School {
	d := *base
	for dst, src := range map[*string]*string{&d.Code: in.Code, &d.Name: in.Name, &d.Type: in.Type, &d.Ownership: in.Ownership,
		&d.DivisionCode: in.DivisionCode, &d.Status: in.Status, &d.Address: in.Address} {
		if src != nil {
			*dst = *src
		}
	}
	if in.NationalKey != nil {
		d.NationalKey = *in.NationalKey
	}
	if in.ProvincialQuality != nil {
		d.ProvincialQuality = *in.ProvincialQuality
	}
	return &d
}

func (s *Server) handleSchoolCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	in, err := formInput(r)
	if err != nil {
		return err
	}
	sc, err := s.Schools.Create(r.Context(), c.P, in)
	if apperr.CodeOf(err) == apperr.Forbidden {
		return err
	}
	if err != nil {
		return s.renderSchoolForm(w, r, c, http.StatusBadRequest, draft(in, &school.School{}), false, err)
	}
	http.Redirect(w, r, "/schools/"+sc.Code, http.StatusSeeOther)
	return nil
}

func (s *Server) handleSchoolUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	current, err := s.Schools.Get(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	in, err := formInput(r)
	if err != nil {
		return err
	}
	sc, err := s.Schools.Update(r.Context(), c.P, current.Code, in)
	if err != nil && apperr.As(err).Code == apperr.Forbidden && apperr.As(err).Field == "" {
		return err
	}
	if err != nil {
		return s.renderSchoolForm(w, r, c, http.StatusBadRequest, draft(in, current), true, err)
	}
	http.Redirect(w, r, "/schools/"+sc.Code, http.StatusSeeOther)
	return nil
}
