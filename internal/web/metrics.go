package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gongjiang/gongjiang/internal/store"
)

// metrics counts requests and their latency by route, and exposes the
// database pool, in a registry of the server's own (tests run many).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// certChecks counts public certificate checks by channel and outcome.
	certChecks *prometheus.CounterVec
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gongjiang_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gongjiang_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method"}),
		certChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gongjiang_certificate_checks_total", Help: "Public certificate checks by channel (number, payload, qr, page) and outcome.",
		}, []string{"via", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.certChecks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.Stats(), string(db.Engine)))
	if db.Replica().Configured {
		m.registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "gongjiang_db_replica_in_use", Help: "1 while public reads go to the read replica, 0 while they fall back to the primary.",
			}, func() float64 {
				if db.Replica().InUse {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "gongjiang_db_replica_lag_seconds", Help: "How far the read replica was behind the primary at the last check.",
			}, func() float64 { return db.Replica().LagSeconds }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "gongjiang_db_public_reads_total", Help: "Public reads (verification, portal, dashboards) by the pool that answered.",
				ConstLabels: prometheus.Labels{"pool": "replica"},
			}, func() float64 { return float64(db.Replica().Served) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "gongjiang_db_public_reads_total", Help: "Public reads (verification, portal, dashboards) by the pool that answered.",
				ConstLabels: prometheus.Labels{"pool": "primary"},
			}, func() float64 { return float64(db.Replica().Fallbacks) }),
		)
	}
	return m
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
