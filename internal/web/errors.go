package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// httpStatus is the one mapping from error codes to HTTP statuses.
func httpStatus(code apperr.Code) int {
	switch code {
	case apperr.Invalid, apperr.UnknownDivision, apperr.InvalidIDNumber, apperr.BadJSON,
		apperr.InvalidPayload, apperr.InvalidSignature:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict, apperr.Duplicate, apperr.DuplicateRegistration, apperr.InvalidTransition:
		return http.StatusConflict
	case apperr.Forbidden, apperr.CSRF:
		return http.StatusForbidden
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

// writeError answers err as JSON for the API and as a page otherwise. Only
// internal errors are logged; users see a plain message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.As(err)
	if e.Code == apperr.Internal {
		s.logInternal(r, err)
	}
	status := httpStatus(e.Code)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message(), Field: e.Field}})
		return
	}
	s.renderError(w, r, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
