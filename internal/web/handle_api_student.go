package web

import (
	"net/http"
	"strconv"

	"github.com/gongjiang/gongjiang/internal/student"
)

func (s *Server) handleAPIStudentList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := studentFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Students.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*student.Student{}
	}
	body := listBody[*student.Student]{Items: items, Total: total}
	if len(items) > 0 {
		body.Next = idCursor(items[len(items)-1].ID, len(items), f.Limit)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPIStudentCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in student.Registration
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := s.Students.Register(r.Context(), c.P, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/students/"+strconv.FormatInt(st.ID, 10))
	writeJSON(w, http.StatusCreated, st)
	return nil
}

// handleAPIStudentGet shows the full document number to those who may see
// it (the reveal is audited), masked to everyone else.
func (s *Server) handleAPIStudentGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.pathStudent(r, c)
	if err != nil {
		return err
	}
	if student.CanReveal(c.P, st) && r.URL.Query().Get("masked") == "" {
		if st, err = s.Students.Reveal(r.Context(), c.P, st.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleAPIChangeCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in student.ChangeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	req, err := s.Students.ProposeChange(r.Context(), c.P, id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/changes/"+strconv.FormatInt(req.ID, 10))
	writeJSON(w, http.StatusCreated, req)
	return nil
}

func (s *Server) handleAPIChangeList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	limit, after, err := pageParams(q)
	if err != nil {
		return err
	}
	f := student.ChangeFilter{State: q.Get("state"), Type: q.Get("type"), SchoolCode: q.Get("school_code"), Limit: limit, After: after}
	if v := q.Get("student_id"); v != "" {
		if f.StudentID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errInvalidParam("student_id")
		}
	}
	items, total, err := s.Students.ListChanges(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*student.ChangeRequest{}
	}
	body := listBody[*student.ChangeRequest]{Items: items, Total: total}
	if len(items) == limit {
		body.Next = encodeCursor(strconv.FormatInt(items[len(items)-1].ID, 10))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPIChangeGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	req, err := s.Students.GetChange(r.Context(), c.P, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

type reviewBody struct {
	Note string `json:"note"`
}

// handleAPIChangeAction approves, rejects or withdraws; the body is optional
// JSON with a note.
func (s *Server) handleAPIChangeAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var body reviewBody
		if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
			if err := decodeJSON(w, r, &body); err != nil {
				return err
			}
		}
		var req *student.ChangeRequest
		switch action {
		case "approve":
			req, err = s.Students.Approve(r.Context(), c.P, id, body.Note)
		case "reject":
			req, err = s.Students.Reject(r.Context(), c.P, id, body.Note)
		default:
			req, err = s.Students.Withdraw(r.Context(), c.P, id)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, req)
		return nil
	}
}

func (s *Server) handleAPICompareRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sum, err := s.Compare.Run(r.Context(), c.P, student.CompareOptions{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (s *Server) handleAPIFindingList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	limit, after, err := pageParams(q)
	if err != nil {
		return err
	}
	items, total, err := s.Compare.ListFindings(r.Context(), c.P, student.FindingFilter{Kind: q.Get("kind"), State: q.Get("state"), Limit: limit, After: after})
	if err != nil {
		return err
	}
	if items == nil {
		items = []student.Finding{}
	}
	body := listBody[student.Finding]{Items: items, Total: total}
	if len(items) == limit {
		body.Next = encodeCursor(strconv.FormatInt(items[len(items)-1].ID, 10))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPIFindingResolve(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body reviewBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	f, err := s.Compare.Resolve(r.Context(), c.P, id, body.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}
