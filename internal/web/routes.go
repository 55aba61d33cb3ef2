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
	mux.Handle("GET /students", s.page(s.handleStudentList))
	mux.Handle("GET /students/new", s.page(s.handleStudentNew))
	mux.Handle("POST /students", s.page(s.handleStudentCreate))
	mux.Handle("GET /students/{id}", s.page(s.handleStudentShow))
	mux.Handle("POST /students/{id}/reveal", s.page(s.handleStudentReveal))
	mux.Handle("GET /students/{id}/changes/new", s.page(s.handleChangeNew))
	mux.Handle("POST /students/{id}/changes", s.page(s.handleChangeCreate))
	mux.Handle("GET /changes", s.page(s.handleChangeList))
	mux.Handle("GET /changes/{id}", s.page(s.handleChangeShow))
	mux.Handle("POST /changes/{id}/approve", s.page(s.handleChangeAction("approve")))
	mux.Handle("POST /changes/{id}/reject", s.page(s.handleChangeAction("reject")))
	mux.Handle("POST /changes/{id}/withdraw", s.page(s.handleChangeAction("withdraw")))
	mux.Handle("GET /compare", s.page(s.handleCompare))
	mux.Handle("POST /compare/run", s.page(s.handleCompareRun))
	mux.Handle("POST /findings/{id}/resolve", s.page(s.handleFindingResolve))

	// Public pages: no login.
	mux.HandleFunc("GET /query", s.handleQueryPage)
	mux.HandleFunc("POST /query", s.handleQuery)
	mux.HandleFunc("GET /favicon.ico", s.handleFavicon)

	// JSON API.
	mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)
	mux.Handle("GET /api/v1/me", s.api(s.handleAPIMe))
	mux.Handle("GET /api/v1/schools", s.api(s.handleAPISchoolList))
	mux.Handle("POST /api/v1/schools", s.api(s.handleAPISchoolCreate))
	mux.Handle("GET /api/v1/schools/{code}", s.api(s.handleAPISchoolGet))
	mux.Handle("PATCH /api/v1/schools/{code}", s.api(s.handleAPISchoolUpdate))
	mux.Handle("GET /api/v1/divisions", s.api(s.handleAPIDivisions))
	mux.Handle("GET /api/v1/students", s.api(s.handleAPIStudentList))
	mux.Handle("POST /api/v1/students", s.api(s.handleAPIStudentCreate))
	mux.Handle("GET /api/v1/students/{id}", s.api(s.handleAPIStudentGet))
	mux.Handle("POST /api/v1/students/{id}/changes", s.api(s.handleAPIChangeCreate))
	mux.Handle("GET /api/v1/changes", s.api(s.handleAPIChangeList))
	mux.Handle("GET /api/v1/changes/{id}", s.api(s.handleAPIChangeGet))
	mux.Handle("POST /api/v1/changes/{id}/approve", s.api(s.handleAPIChangeAction("approve")))
	mux.Handle("POST /api/v1/changes/{id}/reject", s.api(s.handleAPIChangeAction("reject")))
	mux.Handle("POST /api/v1/changes/{id}/withdraw", s.api(s.handleAPIChangeAction("withdraw")))
	mux.Handle("POST /api/v1/comparisons", s.api(s.handleAPICompareRun))
	mux.Handle("GET /api/v1/findings", s.api(s.handleAPIFindingList))
	mux.Handle("POST /api/v1/findings/{id}/resolve", s.api(s.handleAPIFindingResolve))
	mux.HandleFunc("POST /api/v1/public/student-status", s.handleAPIStatusQuery)
	mux.Handle("/api/", http.HandlerFunc(s.handleAPINotFound))

	return s.observe(s.secure(mux))
}
