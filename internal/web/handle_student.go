package web

import (
	"github.com/gongjiang/gongjiang/internal/cert"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
)

// studentFilter reads list filters from a query string.
func studentFilter(q url.Values) (student.Filter, error) {
	f := student.Filter{
		SchoolCode: strings.ToUpper(strings.TrimSpace(q.Get("school_code"))),
		CityCode:   q.Get("city_code"),
		Major:      q.Get("major"),
		ClassLevel: q.Get("class_level"),
		StudyMode:  q.Get("study_mode"),
		Status:     q.Get("status"),
		Query:      strings.TrimSpace(q.Get("q")),
	}
	if f.Status != "" && f.Status != "active" && !contains(student.Statuses, f.Status) {
		return f, apperr.E(apperr.Invalid, "status", "field.one_of", "学籍状态", strings.Join(student.Statuses, "、"))
	}
	if v := q.Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 1980 || y > 2100 {
			return f, apperr.E(apperr.Invalid, "year", "list.year.invalid")
		}
		f.Year = y
	}
	if v := q.Get("in_school"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 1980 || y > 2100 {
			return f, apperr.E(apperr.Invalid, "in_school", "list.in_school.invalid")
		}
		f.InSchool = y
	}
	limit, after, err := pageParams(q)
	f.Limit, f.After = limit, after
	return f, err
}

// pageParams reads ?limit= (defaultPageSize when absent) and an id cursor.
func pageParams(q url.Values) (int, int64, error) {
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > student.MaxPageSize {
			return 0, 0, apperr.E(apperr.Invalid, "limit", "list.limit.invalid", student.MaxPageSize)
		}
		limit = n
	}
	var after int64
	if v := q.Get("cursor"); v != "" {
		c, err := decodeCursor(v)
		if err != nil {
			return 0, 0, err
		}
		if after, err = strconv.ParseInt(c, 10, 64); err != nil || after < 0 {
			return 0, 0, apperr.E(apperr.Invalid, "cursor", "list.cursor.invalid")
		}
	}
	return limit, after, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// idCursor is the cursor after the last id of a full page, "" otherwise.
func idCursor(lastID int64, n, limit int) string {
	if n == 0 || n < limit {
		return ""
	}
	return encodeCursor(strconv.FormatInt(lastID, 10))
}

type studentListData struct {
	Filter      student.Filter
	Items       []*student.Student
	Total       int
	TotalCapped bool
	NextURL     string
	Levels      []string
	Modes       []string
	Statuses    []string
	Majors      []string
	CanRegister bool
}

func (s *Server) handleStudentList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := studentFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Students.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	majors, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	d := studentListData{Filter: f, Items: items, Total: total, TotalCapped: total >= store.CountCap, Levels: refdata.ClassLevelNames(),
		Modes: student.Modes, Statuses: student.Statuses, Majors: majors, CanRegister: c.P.CanWrite()}
	if len(items) > 0 {
		if next := idCursor(items[len(items)-1].ID, len(items), f.Limit); next != "" {
			q := r.URL.Query()
			q.Set("cursor", next)
			d.NextURL = "/students?" + q.Encode()
		}
	}
	return s.render(w, r, http.StatusOK, "students.html", newView(c, "学籍", "students", d))
}

type studentFormData struct {
	Reg       student.Registration
	Error     string
	Field     string
	IDTypes   []string
	Levels    []string
	Entries   []string
	Modes     []string
	Majors    []string
	Ethnic    []refdata.EthnicGroup
	FixSchool bool
}

func (s *Server) renderStudentForm(w http.ResponseWriter, r *http.Request, c *reqCtx, reg student.Registration, formErr error) error {
	majors, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	var entries []string
	seen := map[string]bool{}
	for _, cl := range refdata.ClassLevels() {
		if !seen[cl.EntryPoint] {
			seen[cl.EntryPoint] = true
			entries = append(entries, cl.EntryPoint)
		}
	}
	d := studentFormData{Reg: reg, IDTypes: student.IDTypes, Levels: refdata.ClassLevelNames(), Entries: entries, Modes: student.Modes,
		Majors: majors, Ethnic: refdata.EthnicGroups(), FixSchool: c.P.Role == auth.RoleSchool}
	status := http.StatusOK
	if formErr != nil {
		e := apperr.As(formErr)
		if e.Code == apperr.Internal {
			return formErr
		}
		d.Error, d.Field, status = e.Message(), e.Field, httpStatus(e.Code)
	}
	return s.render(w, r, status, "student_form.html", newView(c, "学籍注册", "students", d))
}

func (s *Server) handleStudentNew(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.P.CanWrite() {
		return apperr.E(apperr.Forbidden, "", "student.register.forbidden")
	}
	reg := student.Registration{IDType: student.ResidentID, StudyMode: student.ModeFullTime, Ethnicity: "汉族"}
	if c.P.Role == auth.RoleSchool {
		reg.SchoolCode = c.P.ScopeCode
	}
	return s.renderStudentForm(w, r, c, reg, nil)
}

func (s *Server) handleStudentCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := r.ParseForm(); err != nil {
		return apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	f := r.PostFormValue
	reg := student.Registration{SchoolCode: f("school_code"), Name: f("name"), IDType: f("id_type"), IDNumber: f("id_number"),
		Sex: f("sex"), BirthDate: f("birth_date"), Ethnicity: f("ethnicity"), Major: f("major"), ClassLevel: f("class_level"),
		StudyMode: f("study_mode"), EntryPoint: f("entry_point"), EnrollmentDate: f("enrollment_date")}
	st, err := s.Students.Register(r.Context(), c.P, reg)
	if err != nil {
		if apperr.As(err).Code == apperr.Forbidden {
			return err
		}
		return s.renderStudentForm(w, r, c, reg, err)
	}
	http.Redirect(w, r, "/students/"+strconv.FormatInt(st.ID, 10)+"?registered=1", http.StatusSeeOther)
	return nil
}

func errInvalidParam(name string) error {
	return apperr.E(apperr.Invalid, name, "param.invalid", name)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.E(apperr.NotFound, "", "record.not_found")
	}
	return id, nil
}

// pathStudent loads the student named by the {id} of the path, if the
// caller may see it.
func (s *Server) pathStudent(r *http.Request, c *reqCtx) (*student.Student, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.Students.Get(r.Context(), c.P, id)
}

func (s *Server) handleStudentShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.pathStudent(r, c)
	if err != nil {
		return err
	}
	changes, _, err := s.Students.ListChanges(r.Context(), c.P, student.ChangeFilter{StudentID: st.ID, Limit: 100})
	if err != nil {
		return err
	}
	certs, _, err := s.Certs.List(r.Context(), c.P, cert.Filter{StudentID: st.ID, Limit: 20})
	if err != nil {
		return err
	}
	var types []student.ChangeType // the changes the student's status allows
	for _, t := range student.ChangeTypes {
		if contains(t.From, st.Status) {
			types = append(types, t)
		}
	}
	var open *student.ChangeRequest
	for _, ch := range changes {
		if ch.State == student.StatePending || ch.State == student.StateApproved {
			open = ch
		}
	}
	return s.render(w, r, http.StatusOK, "student_show.html", newView(c, st.Name, "students", map[string]any{
		"Student": st, "Changes": changes, "Open": open, "CanReveal": student.CanReveal(c.P, st),
		"CanPropose": c.P.CanWrite() && st.Active() && open == nil, "Types": types,
		"Registered": r.URL.Query().Get("registered") != "", "StateLabel": student.StateLabel, "Certificates": certs,
	}))
}

// handleStudentReveal shows the full document number (htmx) and audits it.
func (s *Server) handleStudentReveal(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, err := s.Students.Reveal(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	r.Header.Set("HX-Target", "id-number")
	return s.render(w, r, http.StatusOK, "student_show.html", newView(c, st.Name, "students", map[string]any{"Student": st, "Revealed": true}))
}
