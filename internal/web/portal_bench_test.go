package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/web"
)

// benchPortal opens a demo database prepared by bench/run
// (GONGJIANG_BENCH_DB) and returns a server factory over it; without one
// the benchmark is skipped.
func benchPortal(b *testing.B) (newServer func() *web.Server, published int) {
	path := os.Getenv("GONGJIANG_BENCH_DB")
	if path == "" {
		b.Skip("set GONGJIANG_BENCH_DB to a demo database (bench/run makes one)")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	year := time.Now().In(cst).Year()
	_, published, err = db.ListFilings(ctx, school.FilingFilter{Scope: auth.Scope{Kind: auth.ScopeAll}, Kind: school.KindPlan, Year: year,
		State: school.FilingPublished, Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if published == 0 {
		b.Fatalf("%s has no published plan of %d", path, year)
	}
	return func() *web.Server {
		srv, err := web.New(web.Deps{DB: db, Auth: auth.NewService(db), Schools: school.NewService(db), Filings: school.NewFilingService(db),
			Logger: slog.New(slog.DiscardHandler), Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		return srv
	}, published
}

// get serves one GET through the whole handler (middleware, router,
// portal) without a network in between.
func benchGet(b *testing.B, srv http.Handler, u string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%s", u, rec.Code, rec.Body.String())
	}
	return rec
}

// BenchmarkPortalListing serves the public listing of every published plan
// of the year on one page (?per_page=200: all of a province's 181 schools
// that have one), with the sites and joint programs in force, through
// web.New over a demo database. ms/op is what a request sees while the
// year's listing is in memory (the portal keeps it 30 s and refreshes it
// in the background under steady traffic); cold-ms is the year's first
// request, which reads every published filing; xlsx-ms is the first
// download of the same listing as a workbook (later ones are kept).
func BenchmarkPortalListing(b *testing.B) {
	newServer, published := benchPortal(b)
	const u = "/public/qualifications?per_page=200"
	var cold, xlsx []float64
	for range 5 {
		srv := newServer()
		start := time.Now()
		rec := benchGet(b, srv, u)
		cold = append(cold, float64(time.Since(start).Microseconds())/1000)
		// A province fits on the page; the nation's first page holds 200
		// schools.
		if n := strings.Count(rec.Body.String(), `<tr data-school=`); n < min(published, 200) {
			b.Fatalf("the listing shows %d rows, %d plans are published", n, published)
		}
		start = time.Now()
		benchGet(b, srv, "/public/qualifications.xlsx")
		xlsx = append(xlsx, float64(time.Since(start).Microseconds())/1000)
	}
	slices.Sort(cold)
	slices.Sort(xlsx)
	srv := newServer()
	benchGet(b, srv, u)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		benchGet(b, srv, u)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(cold[len(cold)/2], "cold-ms")
	b.ReportMetric(xlsx[len(xlsx)/2], "xlsx-ms")
	b.ReportMetric(float64(published), "schools")
}
