package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/student"
)

// changeForm reads a proposal from a form: the change-specific fields are
// named change_<field>.
func changeForm(r *http.Request) (student.ChangeInput, error) {
	if err := r.ParseForm(); err != nil {
		return student.ChangeInput{}, apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	in := student.ChangeInput{Type: r.PostFormValue("type"), Reason: r.PostFormValue("reason"), EffectiveDate: r.PostFormValue("effective_date"),
		Changes: map[string]string{}}
	for k, v := range r.PostForm {
		if field, ok := strings.CutPrefix(k, "change_"); ok && len(v) > 0 && strings.TrimSpace(v[0]) != "" {
			in.Changes[field] = v[0]
		}
	}
	return in, nil
}

func (s *Server) handleChangeNew(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.pathStudent(r, c)
	if err != nil {
		return err
	}
	in := student.ChangeInput{Type: r.URL.Query().Get("type"), EffectiveDate: s.Now().In(shanghai).Format("2006-01-02")}
	return s.renderChangeForm(w, r, c, st, in, nil)
}

func (s *Server) renderChangeForm(w http.ResponseWriter, r *http.Request, c *reqCtx, st *student.Student, in student.ChangeInput, formErr error) error {
	t, ok := student.LookupChangeType(in.Type)
	if !ok {
		t = student.ChangeTypes[0]
		in.Type = t.Name
	}
	majors, err := s.DB.Majors(r.Context())
	if err != nil {
		return err
	}
	d := map[string]any{"Student": st, "In": in, "Type": t, "Types": student.ChangeTypes, "Majors": majors}
	status := http.StatusOK
	if formErr != nil {
		e := apperr.As(formErr)
		if e.Code == apperr.Internal {
			return formErr
		}
		d["Error"], d["Field"], status = e.Message(), e.Field, httpStatus(e.Code)
	}
	return s.render(w, r, status, "change_form.html", newView(c, "学籍异动申请", "changes", d))
}

func (s *Server) handleChangeCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.pathStudent(r, c)
	if err != nil {
		return err
	}
	in, err := changeForm(r)
	if err != nil {
		return err
	}
	req, err := s.Students.ProposeChange(r.Context(), c.P, st.ID, in)
	if err != nil {
		if apperr.As(err).Code == apperr.Forbidden {
			return err
		}
		return s.renderChangeForm(w, r, c, st, in, err)
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(req.ID, 10), http.StatusSeeOther)
	return nil
}

type changeListData struct {
	Items   []*student.ChangeRequest
	Total   int
	State   string
	Type    string
	States  []string
	Types   []string
	NextURL string
	Label   func(string) string
}

func (s *Server) handleChangeList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	limit, after, err := pageParams(q)
	if err != nil {
		return err
	}
	f := student.ChangeFilter{State: q.Get("state"), Type: q.Get("type"), Limit: limit, After: after}
	if f.State == "" && !q.Has("state") {
		f.State = student.StatePending
	}
	items, total, err := s.Students.ListChanges(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	d := changeListData{Items: items, Total: total, State: f.State, Type: f.Type, States: student.States, Types: student.ChangeTypeNames(), Label: student.StateLabel}
	if len(items) == limit {
		q.Set("cursor", encodeCursor(strconv.FormatInt(items[len(items)-1].ID, 10)))
		q.Set("state", f.State)
		d.NextURL = "/changes?" + q.Encode()
	}
	return s.render(w, r, http.StatusOK, "changes.html", newView(c, "学籍异动", "changes", d))
}

// canReview reports whether p could act as a reviewer of r now.
func canReview(p auth.Principal, r *student.ChangeRequest) bool {
	if r.State != student.StatePending || r.ProposedBy == p.Name {
		return false
	}
	for _, slot := range r.Missing() {
		if p.Role == auth.RoleProvince || slot == "city:"+p.ScopeCode && p.Role == auth.RoleCity {
			return true
		}
	}
	return false
}

func (s *Server) renderChange(w http.ResponseWriter, r *http.Request, c *reqCtx, req *student.ChangeRequest, actionErr error) error {
	d := map[string]any{"Req": req, "CanReview": canReview(c.P, req), "Label": student.StateLabel(req.State),
		"CanWithdraw": (req.State == student.StatePending || req.State == student.StateApproved) &&
			(req.ProposedBy == c.P.Name || c.P.Role == auth.RoleSchool && c.P.ScopeCode == req.SchoolCode)}
	status := http.StatusOK
	if actionErr != nil {
		e := apperr.As(actionErr)
		if e.Code == apperr.Internal {
			return actionErr
		}
		d["Error"], status = e.Message(), httpStatus(e.Code)
	}
	return s.render(w, r, status, "change_show.html", newView(c, "异动申请 #"+strconv.FormatInt(req.ID, 10), "changes", d))
}

func (s *Server) handleChangeShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	req, err := s.Students.GetChange(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	return s.renderChange(w, r, c, req, nil)
}

// handleChangeAction approves, rejects or withdraws a request from its page.
func (s *Server) handleChangeAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		note := r.PostFormValue("note")
		var actErr error
		switch action {
		case "approve":
			_, actErr = s.Students.Approve(r.Context(), c.P, id, note)
		case "reject":
			_, actErr = s.Students.Reject(r.Context(), c.P, id, note)
		case "withdraw":
			_, actErr = s.Students.Withdraw(r.Context(), c.P, id)
		}
		req, err := s.Students.GetChange(r.Context(), c.P, id)
		if err != nil {
			return err
		}
		if actErr == nil {
			http.Redirect(w, r, "/changes/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
			return nil
		}
		return s.renderChange(w, r, c, req, actErr)
	}
}

func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	limit, after, err := pageParams(q)
	if err != nil {
		return err
	}
	f := student.FindingFilter{Kind: q.Get("kind"), State: q.Get("state"), Limit: limit, After: after}
	if !q.Has("state") {
		f.State = student.FindingOpen
	}
	items, total, err := s.Compare.ListFindings(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	d := map[string]any{"Items": items, "Total": total, "Filter": f, "Kinds": student.FindingKinds, "KindLabel": student.FindingLabel,
		"CanRun": c.P.CanWrite()}
	if len(items) == limit {
		q.Set("cursor", encodeCursor(strconv.FormatInt(items[len(items)-1].ID, 10)))
		d["NextURL"] = "/compare?" + q.Encode()
	}
	if run := q.Get("ran"); run != "" {
		d["Ran"] = run
	}
	return s.render(w, r, http.StatusOK, "compare.html", newView(c, "数据比对", "compare", d))
}

func (s *Server) handleCompareRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sum, err := s.Compare.Run(r.Context(), c.P, student.CompareOptions{})
	if err != nil {
		return err
	}
	n := 0
	for _, v := range sum.ByKind {
		n += v
	}
	http.Redirect(w, r, "/compare?ran="+strconv.Itoa(n)+"&new="+strconv.Itoa(sum.New), http.StatusSeeOther)
	return nil
}

func (s *Server) handleFindingResolve(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Compare.Resolve(r.Context(), c.P, id, r.PostFormValue("note")); err != nil {
		return err
	}
	http.Redirect(w, r, "/compare", http.StatusSeeOther)
	return nil
}
