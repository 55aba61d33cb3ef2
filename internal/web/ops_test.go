package web_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/demo"
)

func testOps(t *testing.T, e *env) {
	engine := string(e.db.Engine)
	e.run(t, []scenario{
		{name: "healthz", url: "/healthz", status: 200, contains: []string{`"status":"ok"`, `"version":"test"`}},
		{name: "readyz", url: "/readyz", status: 200, contains: []string{`"status":"ready"`, `"database":"` + engine + `"`}},
		{name: "unknown API route", url: "/api/v1/xyz", as: demo.ProvinceUser, status: 404, code: "not_found", contains: []string{"/api/v1/xyz"}},
		{name: "unknown API route without credentials", url: "/api/v1/xyz", status: 404, code: "not_found"},
		{name: "unknown API version", method: "POST", url: "/api/v2/schools", body: "{}", status: 404, code: "not_found"},
		{name: "unknown API route echoes no markup", url: "/api/v1/%3Cscript%3E", status: 404, code: "not_found", absent: []string{"<script>"}},
		{name: "OpenAPI needs no credentials", url: "/api/v1/openapi.json", status: 200, contains: []string{`"openapi": "3.1.0"`}},
		{name: "unknown static asset", url: "/static/000000000000/app.css", status: 404},
		{name: "unknown page", url: "/nowhere", status: 404},
	})

	t.Run("static assets are served by hash", func(t *testing.T) {
		page := e.do(t, req{method: "GET", url: "/login"})
		m := regexp.MustCompile(`href="(/static/[0-9a-f]{12}/app\.css)"`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("login page links no hashed stylesheet:\n%s", page.body)
		}
		r := e.do(t, req{method: "GET", url: m[1]})
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q %q", m[1], r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		tok := e.token(t, demo.ProvinceUser)
		e.do(t, req{method: "GET", url: "/api/v1/schools", bearer: tok})
		e.do(t, req{method: "GET", url: "/api/v1/schools/" + e.all[3].Code, bearer: tok})
		e.do(t, req{method: "GET", url: "/api/v1/schools/ZZ9999", bearer: tok})
		e.do(t, req{method: "GET", url: "/nowhere"})
		r := e.do(t, req{method: "GET", url: "/metrics"})
		if r.status != 200 {
			t.Fatalf("/metrics: %d", r.status)
		}
		for _, want := range []string{
			`gongjiang_http_requests_total{method="GET",route="GET /api/v1/schools",status="200"} `,
			`gongjiang_http_requests_total{method="GET",route="GET /api/v1/schools/{code}",status="200"} `,
			`gongjiang_http_requests_total{method="GET",route="GET /api/v1/schools/{code}",status="404"} `,
			`gongjiang_http_requests_total{method="GET",route="unmatched",status="404"} `,
			`gongjiang_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/schools",le="0.001"}`,
			`go_sql_max_open_connections{db_name="` + engine + `"}`,
			`go_sql_open_connections{db_name="` + engine + `"}`,
			`go_goroutines `,
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(r.body, e.all[3].Code) || strings.Contains(r.body, "ZZ9999") || strings.Contains(r.body, "/nowhere") {
			t.Error("/metrics labels requests by raw path, not by route")
		}
	})

	t.Run("OpenAPI documents every API route", func(t *testing.T) {
		r := e.do(t, req{method: "GET", url: "/api/v1/openapi.json"})
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		var doc struct {
			OpenAPI string                                `json:"openapi"`
			Paths   map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatalf("openapi.json is not valid JSON: %v", err)
		}
		if !strings.HasPrefix(doc.OpenAPI, "3.") {
			t.Errorf("openapi %q", doc.OpenAPI)
		}
		src, err := os.ReadFile("routes.go")
		if err != nil {
			t.Fatal(err)
		}
		routes := regexp.MustCompile(`"([A-Z]+) (/api/v1/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
		if len(routes) < 5 {
			t.Fatalf("found only %d API routes in routes.go", len(routes))
		}
		registered := map[string]bool{}
		for _, m := range routes {
			method, path := strings.ToLower(m[1]), m[2]
			registered[method+" "+path] = true
			if _, ok := doc.Paths[path][method]; !ok {
				t.Errorf("route %s %s is not documented in openapi.json", m[1], path)
			}
		}
		for path, ops := range doc.Paths {
			for method := range ops {
				if method == "parameters" || method == "summary" || method == "description" {
					continue
				}
				if !registered[method+" "+path] {
					t.Errorf("openapi.json documents %s %s, which routes.go does not register", strings.ToUpper(method), path)
				}
			}
		}
	})
}

// TestReadyzAfterClose runs on a server of its own: it closes the database.
func TestReadyzAfterClose(t *testing.T) {
	eachEngine(t, envOptions{noDemo: true}, func(t *testing.T, e *env) {
		if r := e.do(t, req{method: "GET", url: "/readyz"}); r.status != 200 {
			t.Fatalf("readyz before close: %d %s", r.status, r.body)
		}
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.do(t, req{method: "GET", url: "/readyz"})
		if r.status != 503 || !strings.Contains(r.body, `"status":"unavailable"`) || strings.Contains(r.body, "sql:") {
			t.Errorf("readyz after close: %d %s", r.status, r.body)
		}
		if r := e.do(t, req{method: "GET", url: "/healthz"}); r.status != 200 {
			t.Errorf("healthz after close: %d", r.status)
		}
	})
}
