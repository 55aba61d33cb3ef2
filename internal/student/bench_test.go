package student_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// BenchmarkRegister measures registration through the service, with every
// check and the duplicate rule, on SQLite, one client waiting for each
// reply: the latency of a lone commit. It reports students/s and the ratio
// to the floor of 2,000 students/s.
func BenchmarkRegister(b *testing.B) {
	f := newFixture(b, storetest.DSN(b, store.SQLite))
	ctx := context.Background()
	regs := make([]student.Registration, b.N)
	for i := range regs {
		birth := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
		sex := []string{"女", "男"}[i%2]
		regs[i] = student.Registration{SchoolCode: "3701001", Name: "学生甲", IDNumber: idcard.Synthesize("370102", birth, i%1000/2, idcard.Sex(sex)),
			Sex: sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: "汉族", Major: "汽车维修", ClassLevel: "中级工班",
			StudyMode: "全日制", EnrollmentDate: "2025-09-01"}
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := f.svc.Register(ctx, f.schoolA, regs[i]); err != nil {
			b.Fatal(err)
		}
	}
	perSec := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(perSec, "students/s")
	b.ReportMetric(perSec/2000, "x_floor_2000/s")
}

// BenchmarkRegisterParallel is the same with registrations arriving from
// several clients at once, as they do from many schools: reads and checks
// overlap while SQLite's single writer commits the registrations that
// queued meanwhile in one transaction. This is the registry's capacity,
// the figure the floor of 2,000 students/s is held against.
func BenchmarkRegisterParallel(b *testing.B) {
	f := newFixture(b, storetest.DSN(b, store.SQLite))
	ctx := context.Background()
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			birth := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
			sex := []string{"女", "男"}[i%2]
			r := student.Registration{SchoolCode: "3701001", Name: "学生乙", IDNumber: idcard.Synthesize("370102", birth, i%1000/2, idcard.Sex(sex)),
				Sex: sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: "汉族", Major: "汽车维修", ClassLevel: "中级工班",
				StudyMode: "全日制", EnrollmentDate: "2025-09-01"}
			if _, err := f.svc.Register(ctx, f.schoolA, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	perSec := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(perSec, "students/s")
	b.ReportMetric(perSec/2000, "x_floor_2000/s")
}

// benchDB opens a demo database prepared by bench/run (GONGJIANG_BENCH_DB
// and the key file beside it); without one the benchmark is skipped.
func benchDB(b *testing.B) (*store.DB, pii.Protector) {
	path := os.Getenv("GONGJIANG_BENCH_DB")
	if path == "" {
		b.Skip("set GONGJIANG_BENCH_DB to a demo database (bench/run makes one)")
	}
	kr, err := keyring.LoadFile(path + ".key")
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(context.Background(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, pii.NewAESGCM(kr)
}

// BenchmarkComparison runs the whole data comparison over a demo database;
// the limits are 10 s for the province and 60 s for the nation.
func BenchmarkComparison(b *testing.B) {
	db, protect := benchDB(b)
	c := &student.Comparison{Store: readOnlyFindings{db}, Protect: protect, Now: time.Now}
	for range b.N {
		sum, err := c.RunAll(context.Background(), student.CompareOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sum.Elapsed.Seconds(), "s/run")
	}
}

// readOnlyFindings runs the comparison's queries but keeps the results out
// of the benchmark database, so runs stay comparable.
type readOnlyFindings struct{ *store.DB }

func (readOnlyFindings) SaveFindings(context.Context, auth.Scope, []string, []student.Finding, time.Time, audit.Entry) (int, error) {
	return 0, nil
}

// BenchmarkStudentList pages a filtered list the way the screens do.
func BenchmarkStudentList(b *testing.B) {
	db, protect := benchDB(b)
	svc := student.NewService(db, protect)
	p := auth.Principal{Name: "bench", Role: auth.RoleProvince}
	filters := []student.Filter{
		{Status: "active", Limit: 50},
		{CityCode: "370200", ClassLevel: "高级工班", Status: "active", Limit: 50},
		{SchoolCode: "3701001", Year: 2024, Limit: 50},
		{Query: "王伟", Limit: 50},
		{Limit: 50},
	}
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := svc.List(context.Background(), p, filters[i%len(filters)]); err != nil {
			b.Fatal(err)
		}
	}
}
