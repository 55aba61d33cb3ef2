package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/web"
)

// benchPlans opens the demo database bench/run prepares
// (GONGJIANG_BENCH_DB, a SQLite file) with its instance key, migrated,
// with its facts built and the built-in plans seeded as serve would, and
// returns a factory of fresh servers over it and a province API token.
func benchPlans(b *testing.B) (func() *web.Server, string) {
	path := os.Getenv("GONGJIANG_BENCH_DB")
	if path == "" {
		b.Skip("set GONGJIANG_BENCH_DB to a demo database (bench/run makes one)")
	}
	ctx := context.Background()
	kr, err := keyring.LoadFile(filepath.Clean(path) + ".key")
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, path, audit.NewSigner(kr.AuditSigningKey()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if at, err := db.FactsAsOf(ctx); err != nil {
		b.Fatal(err)
	} else if at.IsZero() {
		if _, err := db.RebuildFacts(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
		b.Fatal(err)
	}
	authSvc := auth.NewService(db)
	token, err := authSvc.CreateAPIToken(ctx, "bench", demo.ProvinceUser, "plan benchmark", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return func() *web.Server {
		srv, err := web.New(web.Deps{DB: db, Auth: authSvc, Schools: school.NewService(db), Filings: school.NewFilingService(db),
			Logger: slog.New(slog.DiscardHandler), Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		return srv
	}, token
}

func benchAPI(b *testing.B, srv http.Handler, token, u string) {
	r := httptest.NewRequest("GET", u, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%s", u, rec.Code, rec.Body.String())
	}
}

// BenchmarkPlanDashboard answers GET /api/v1/plans/{id}/dashboard for
// the plan's target year at its own scope, through the whole handler, for
// the Shandong plan (its province's facts) and the national plan (every
// school's). ms/op is a request while the scope's facts are in memory
// (until the next rebuild of the facts); cold-ms is a new server's first
// request, which reads the facts from the database. The limits
// are 200 ms warm and 2 s cold at national scale.
func BenchmarkPlanDashboard(b *testing.B) {
	newServer, token := benchPlans(b)
	for _, id := range []string{"sd-jg-14-5", "mohrss-jg-14-5"} {
		b.Run(id, func(b *testing.B) {
			u := "/api/v1/plans/" + id + "/dashboard?year=2025"
			var cold []float64
			for range 5 {
				srv := newServer()
				start := time.Now()
				benchAPI(b, srv, token, u)
				cold = append(cold, float64(time.Since(start).Microseconds())/1000)
			}
			slices.Sort(cold)
			srv := newServer()
			benchAPI(b, srv, token, u)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				benchAPI(b, srv, token, u)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(cold[len(cold)/2], "cold-ms")
		})
	}
}

// BenchmarkPlanIndicator answers the drill-down of the national plan's
// enrolment (by province and by each of the nation's schools) with the
// facts in memory.
func BenchmarkPlanIndicator(b *testing.B) {
	newServer, token := benchPlans(b)
	srv := newServer()
	const u = "/api/v1/plans/mohrss-jg-14-5/indicators/enrolled?year=2025"
	benchAPI(b, srv, token, u)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		benchAPI(b, srv, token, u)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
