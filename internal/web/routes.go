package web

import "net/http"

// routes lists every route of both surfaces, with the access rule each needs.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("GET /static/", s.assets)

	// Pages.
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.Handle("POST /logout", s.page(s.handleLogout))
	mux.Handle("GET /{$}", s.page(s.handleHome))
	mux.Handle("GET /schools", s.page(s.handleSchoolList))
	mux.Handle("GET /schools/new", s.page(s.handleSchoolNew))
	mux.Handle("POST /schools", s.page(s.handleSchoolCreate))
	mux.Handle("GET /schools/{code}", s.page(s.handleSchoolShow))
	mux.Handle("GET /schools/{code}/edit", s.page(s.handleSchoolEdit))
	mux.Handle("POST /schools/{code}", s.page(s.handleSchoolUpdate))
	mux.Handle("GET /audit", s.page(s.requireAuditReader(s.handleAuditPage)))
	mux.Handle("POST /audit/verify", s.page(s.requireAuditReader(s.handleAuditVerify)))

	// JSON API.
	mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)
	mux.Handle("GET /api/v1/me", s.api(s.handleAPIMe))
	mux.Handle("GET /api/v1/schools", s.api(s.handleAPISchoolList))
	mux.Handle("POST /api/v1/schools", s.api(s.handleAPISchoolCreate))
	mux.Handle("GET /api/v1/schools/{code}", s.api(s.handleAPISchoolGet))
	mux.Handle("PATCH /api/v1/schools/{code}", s.api(s.handleAPISchoolUpdate))
	mux.Handle("GET /api/v1/divisions", s.api(s.handleAPIDivisions))
	mux.Handle("/api/", http.HandlerFunc(s.handleAPINotFound))

	return s.observe(s.secure(mux))
}
