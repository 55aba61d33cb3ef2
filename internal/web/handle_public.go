package web

import (
	"crypto/subtle"
	"net/http"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/student"
)

// publicCSRF is the double-submit cookie of the public forms (no session).
const publicCSRF = "gj_public_csrf"

// publicToken reads or sets the double-submit token of the public form at
// path.
func (s *Server) publicToken(w http.ResponseWriter, r *http.Request, path string) string {
	if ck, err := r.Cookie(publicCSRF); err == nil && len(ck.Value) == 32 {
		return ck.Value
	}
	token, _ := auth.NewToken("")
	token = token[:32]
	http.SetCookie(w, &http.Cookie{Name: publicCSRF, Value: token, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
	return token
}

type queryData struct {
	CSRF, Name, IDType, Error string
	IDTypes                   []string
	Records                   []student.HolderRecord
	Asked                     bool
}

// handleQueryPage is the holder's status query (学籍查询): no login.
func (s *Server) handleQueryPage(w http.ResponseWriter, r *http.Request) {
	d := queryData{CSRF: s.publicToken(w, r, "/query"), IDType: student.ResidentID, IDTypes: student.IDTypes}
	if err := s.render(w, r, http.StatusOK, "query.html", view{Title: "学籍查询", Data: d}); err != nil {
		s.writeError(w, r, err)
	}
}

// publicForm reads a public form and checks its double-submit token; it
// returns the token for the page to keep.
func publicForm(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
	if err := r.ParseForm(); err != nil {
		return "", apperr.E(apperr.TooLarge, "", "request.too_large")
	}
	ck, err := r.Cookie(publicCSRF)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		return "", apperr.E(apperr.CSRF, "", "csrf.failed")
	}
	return ck.Value, nil
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	token, err := publicForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d := queryData{CSRF: token, Name: r.PostFormValue("name"), IDType: r.PostFormValue("id_type"), IDTypes: student.IDTypes, Asked: true}
	recs, err := s.Students.QueryStatus(r.Context(), d.Name, d.IDType, r.PostFormValue("id_number"), clientAddress(r))
	status := http.StatusOK
	if err != nil {
		e := apperr.As(err)
		if e.Code == apperr.Internal {
			s.writeError(w, r, err)
			return
		}
		d.Error, status = e.Message(), httpStatus(e.Code)
	}
	d.Records = recs
	if err := s.render(w, r, status, "query.html", view{Title: "学籍查询", Data: d}); err != nil {
		s.writeError(w, r, err)
	}
}

type statusQuery struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type"`
	IDNumber string `json:"id_number"`
}

// handleAPIStatusQuery is the same query for programs: POST keeps the
// number out of URLs and logs.
func (s *Server) handleAPIStatusQuery(w http.ResponseWriter, r *http.Request) {
	var q statusQuery
	if err := decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, err := s.Students.QueryStatus(r.Context(), q.Name, q.IDType, q.IDNumber, clientAddress(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody[student.HolderRecord]{Items: recs, Total: len(recs)})
}
