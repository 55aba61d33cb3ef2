// Package web is gongjiang's HTTP surface: the HTML pages (html/template +
// htmx), the JSON API under /api/v1, health and metrics. Both surfaces call
// the same domain services; access rules are wrapped at the route.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/plan"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// Limits on what a request may carry.
const (
	MaxJSONBody = 1 << 20  // 1 MiB
	MaxFormBody = 64 << 10 // 64 KiB
)

// Deps are the services a server calls.
type Deps struct {
	DB       *store.DB
	Auth     *auth.Service
	Schools  *school.Service
	Students *student.Service
	Compare  *student.Comparison
	Certs    *cert.Service
	Filings  *school.FilingService
	Imports  *transfer.Runner
	Plans    *plan.Service // nil: a service over DB
	Logger   *slog.Logger
	Version  string
	// PublicURL is the address the public reaches this instance at (for
	// the QR code's verify link); empty: the address of each request.
	PublicURL string
	// VerifyPerMinute limits public certificate checks per client
	// address (DefaultVerifyPerMinute when 0).
	VerifyPerMinute int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed: the client's address (for
	// throttling and logs) and whether it came over TLS (Secure cookies,
	// HSTS). Empty: the peer is the client.
	TrustedProxies []netip.Prefix
}

// Server holds the services the handlers call.
type Server struct {
	Deps
	Now func() time.Time

	pages   *pages
	assets  *assets
	metrics *metrics
	handler http.Handler

	verifyLimiter *addressLimiter
	portal        *portal
}

// New wires a server; it parses templates and hashes assets once.
func New(d Deps) (*Server, error) {
	s := &Server{Deps: d, Now: time.Now}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(d.DB)
	if s.Plans == nil {
		s.Plans = plan.NewService(d.DB)
	}
	if s.VerifyPerMinute <= 0 {
		s.VerifyPerMinute = DefaultVerifyPerMinute
	}
	// A burst never exceeds what the page promises per minute, and keeps
	// up with high limits (benchmarks) within a second.
	s.verifyLimiter = newAddressLimiter(s.VerifyPerMinute, max(min(verifyBurst, s.VerifyPerMinute), s.VerifyPerMinute/60))
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Registry exposes the metrics registry (for tests).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }
