package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

// listBody is the shape of every list answer.
type listBody[T any] struct {
	Items []T    `json:"items"`
	Total int    `json:"total"`
	Next  string `json:"next,omitempty"`
}

func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 64 {
		return "", apperr.E(apperr.Invalid, "cursor", "list.cursor.invalid")
	}
	return string(b), nil
}

// decodeJSON reads a JSON request body into dst: JSON content type, bounded
// size, no unknown fields, nothing after the value.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return apperr.E(apperr.UnsupportedMedia, "", "request.json_required")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.E(apperr.TooLarge, "", "request.too_large_limit", MaxJSONBody/1024)
	}
	if err != nil {
		return apperr.E(apperr.BadJSON, "", "request.unreadable")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return apperr.E(apperr.BadJSON, "", "json.trailing")
	}
	return nil
}

// jsonError says in Chinese what is wrong with a JSON body and where.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.E(apperr.BadJSON, "", "json.syntax", syntax.Offset)
	case errors.As(err, &typ):
		return apperr.E(apperr.Invalid, typ.Field, "json.type", typ.Field, jsonTypeName(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.E(apperr.BadJSON, "", "json.empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.E(apperr.Invalid, field, "json.unknown_field", field)
	}
	return apperr.E(apperr.BadJSON, "", "json.invalid")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值（true/false）"
	case "int", "int64", "int32", "float64":
		return "数字"
	}
	return kind
}

func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, apperr.E(apperr.NotFound, "", "api.not_found", r.URL.Path))
}

func (s *Server) handleAPIMe(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"name": c.P.Name, "display_name": c.P.DisplayName, "role": c.P.Role, "scope": c.P.ScopeCode,
	})
	return nil
}

func (s *Server) handleAPISchoolList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := schoolFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Schools.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*school.School{}
	}
	writeJSON(w, http.StatusOK, listBody[*school.School]{Items: items, Total: total, Next: nextCursor(items, f.Limit, total)})
	return nil
}

func (s *Server) handleAPISchoolGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	sc, err := s.Schools.Get(r.Context(), c.P, r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

func (s *Server) handleAPISchoolCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in school.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sc, err := s.Schools.Create(r.Context(), c.P, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/schools/"+sc.Code)
	writeJSON(w, http.StatusCreated, sc)
	return nil
}

func (s *Server) handleAPISchoolUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var in school.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sc, err := s.Schools.Update(r.Context(), c.P, r.PathValue("code"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

type divisionJSON struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      string `json:"level"`
	ParentCode string `json:"parent_code,omitempty"`
}

// handleAPIDivisions lists GB/T 2260 divisions: provinces, a province's
// cities (?parent=370000) or a city's counties (?parent=370100).
func (s *Server) handleAPIDivisions(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	parent := r.URL.Query().Get("parent")
	var ds []refdata.Division
	switch {
	case parent == "":
		ds = refdata.Provinces()
	default:
		d, ok := refdata.CurrentDivision(parent)
		if !ok {
			return apperr.E(apperr.UnknownDivision, "parent", "school.division.unknown", parent)
		}
		if d.Level == refdata.LevelProvince {
			ds = refdata.Cities(d.Code)
		} else {
			ds = refdata.Counties(d.Code)
		}
	}
	out := make([]divisionJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, divisionJSON{Code: d.Code, Name: d.Name, Level: string(d.Level), ParentCode: d.ParentCode})
	}
	writeJSON(w, http.StatusOK, listBody[divisionJSON]{Items: out, Total: len(out)})
	return nil
}
