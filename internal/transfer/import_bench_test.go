package transfer_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// BenchmarkStudentImport imports a CSV of fresh students (valid-only,
// committed) into SQLite and reports rows per second. The issue's
// 400,000-row figure scales from it; the bare-insert comparison is for a
// later step.
func BenchmarkStudentImport(b *testing.B) {
	const rows = 20_000
	dir := b.TempDir()
	path := filepath.Join(dir, "students.csv")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(out)
	w.Write(studentHeader)
	schools := []string{"3701001", "3701002", "3702001"}
	for n := range rows {
		// n = 1000·day + 500·sex + sequence: every row a different person.
		birth := time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/1000)
		sex := []string{"男", "女"}[n/500%2]
		id := idcard.Synthesize("370102", birth, n%500, idcard.Sex(sex))
		w.Write([]string{schools[n%3], "学生", id, sex, birth.Format("2006-01-02"), "汉族", "汽车维修", "中级工班", "全日制", "初中毕业生", "2026-09-01"})
	}
	w.Flush()
	out.Close()
	open := func() (transfer.Table, error) { return transfer.Open(path, transfer.Options{}) }
	province := auth.Principal{Name: "bench", Role: auth.RoleProvince}
	for b.Loop() {
		b.StopTimer()
		f := newImportFixture(b, storetest.DSN(b, store.SQLite))
		im := &transfer.StudentImport{Store: f.db, Students: f.students}
		b.StartTimer()
		sum, refused, err := im.Run(context.Background(), province, open, transfer.ModeValidOnly, false)
		if err != nil || sum.Added+sum.Unchanged != rows {
			b.Fatalf("%+v, %v, %d refused: %+v", sum, err, len(refused), refused[:min(3, len(refused))])
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
