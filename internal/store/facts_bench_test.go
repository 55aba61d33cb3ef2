package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// factsBenchDB opens the demo database bench/run prepares
// (GONGJIANG_BENCH_DB), migrating it and building its facts if an older
// binary made it; without one it loads the small demo, so the benchmarks
// always run. It returns the database's path (or DSN).
func factsBenchDB(b *testing.B) (*store.DB, string) {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("GONGJIANG_BENCH_DB")
	if path == "" {
		dsn := storetest.DSN(b, store.SQLite)
		db := storetest.Open(b, dsn)
		if _, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1); err != nil {
			b.Fatal(err)
		}
		if _, err := db.RebuildFacts(ctx, true); err != nil {
			b.Fatal(err)
		}
		return db, dsn
	}
	db, err := store.Open(ctx, path, nil)
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
		start := time.Now()
		if _, err := db.RebuildFacts(ctx, true); err != nil {
			b.Fatal(err)
		}
		b.Logf("built the facts of %s in %v", path, time.Since(start))
	}
	return db, path
}

// BenchmarkSchoolYears reads every school's facts for every year in the
// province's scope, as a plan's dashboard does (warm: the pools are open
// and the pages cached). The limit is 200 ms for the dashboard.
func BenchmarkSchoolYears(b *testing.B) {
	db, _ := factsBenchDB(b)
	ctx := context.Background()
	first, last, err := db.FactYears(ctx)
	if err != nil {
		b.Fatal(err)
	}
	all := auth.Scope{Kind: auth.ScopeAll}
	if _, err := db.SchoolYears(ctx, all, first, last); err != nil { // warm
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var rows int
	for range b.N {
		facts, err := db.SchoolYears(ctx, all, first, last)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(facts)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/read")
	b.ReportMetric(float64(rows), "rows")
}

// BenchmarkSchoolYearsCold is the same read on a database opened just
// before it: new connections, nothing prepared (the operating system's
// page cache is not dropped). The limit is 2 s for the dashboard.
func BenchmarkSchoolYearsCold(b *testing.B) {
	db, dsn := factsBenchDB(b)
	ctx := context.Background()
	first, last, err := db.FactYears(ctx)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		cold, err := store.Open(ctx, dsn, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cold.SchoolYears(ctx, auth.Scope{Kind: auth.ScopeAll}, first, last); err != nil {
			b.Fatal(err)
		}
		cold.Close()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/read")
}

// BenchmarkRebuildFactsFull recomputes every school's facts from the
// student records: what a new year, or a database without facts, costs.
func BenchmarkRebuildFactsFull(b *testing.B) {
	db, _ := factsBenchDB(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := db.RebuildFacts(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/rebuild")
}

// BenchmarkRebuildFactsIdle is the serve job's minute when nothing
// changed: finding that out is all it costs.
func BenchmarkRebuildFactsIdle(b *testing.B) {
	db, _ := factsBenchDB(b)
	ctx := context.Background()
	if _, err := db.RebuildFacts(ctx, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := db.RebuildFacts(ctx, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/rebuild")
}
