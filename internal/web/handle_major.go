package web

import (
	"net/http"
	"strconv"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
)

func (s *Server) handleAPIMajorList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	list, err := s.DB.MajorCatalogue(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody[school.Major]{Items: list, Total: len(list)})
	return nil
}

// handleAPIMajorSave adds a major (POST) or changes one (PATCH …/{id}).
func (s *Server) handleAPIMajorSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in school.Major
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.ID = 0
	status := http.StatusCreated
	if v := r.PathValue("id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return apperr.E(apperr.NotFound, "", "major.not_found")
		}
		in.ID, status = id, http.StatusOK
	}
	m, err := school.SaveMajor(r.Context(), s.DB, c.P, in)
	if err != nil {
		return err
	}
	writeJSON(w, status, m)
	return nil
}

func (s *Server) renderMajors(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, formErr error, saved string) error {
	list, err := s.DB.MajorCatalogue(r.Context())
	if err != nil {
		return err
	}
	d := map[string]any{"Majors": list, "CanEdit": c.P.Role == auth.RoleProvince, "Saved": saved}
	if formErr != nil {
		d["Error"] = apperr.As(formErr).Message()
	}
	return s.render(w, r, status, "majors.html", newView(c, "专业目录", "schools", d))
}

func (s *Server) handleMajors(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.renderMajors(w, r, c, http.StatusOK, nil, "")
}

// handleMajorSave is the page's add and edit form.
func (s *Server) handleMajorSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	m := school.Major{Name: r.PostFormValue("name"), Code: r.PostFormValue("code"), Category: r.PostFormValue("category"),
		Source: r.PostFormValue("source")}
	if v := r.PostFormValue("id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return apperr.E(apperr.NotFound, "", "major.not_found")
		}
		m.ID = id
	}
	saved, err := school.SaveMajor(r.Context(), s.DB, c.P, m)
	if err != nil {
		if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		return s.renderMajors(w, r, c, httpStatus(apperr.CodeOf(err)), err, "")
	}
	return s.renderMajors(w, r, c, http.StatusOK, nil, saved.Name)
}
