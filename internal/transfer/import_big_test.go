package transfer_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// The import benchmark: 400,000 student rows from .xlsx, checked
// and committed, against a bare loop inserting the same prepared rows with
// one prepared statement in batched transactions into the same schema.
// Both take minutes, so they run only with GONGJIANG_BENCH_IMPORT=1
// (bench/run sets it); GONGJIANG_BENCH_ROWS changes the row count.

func bigRows(b *testing.B) int {
	if os.Getenv("GONGJIANG_BENCH_IMPORT") != "1" {
		b.Skip("set GONGJIANG_BENCH_IMPORT=1 to run the 400,000-row import benchmarks")
	}
	if n, err := strconv.Atoi(os.Getenv("GONGJIANG_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 400_000
}

// bigSheet writes rows distinct people to an .xlsx (excelize's stream
// writer, as a large office export would be) spread over three schools.
func bigSheet(b *testing.B, rows int) string {
	path := filepath.Join(b.TempDir(), "students.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	cells := func(s []string) []any {
		out := make([]any, len(s))
		for i, v := range s {
			out[i] = v
		}
		return out
	}
	if err := sw.SetRow("A1", cells(studentHeader)); err != nil {
		b.Fatal(err)
	}
	schools := []string{"3701001", "3701002", "3702001"}
	areas := []string{"370102", "370103", "370104", "370105", "370112", "370202", "370203", "370211"}
	for n := range rows {
		// n = 8000·day + 1000·area + 500·sex + sequence: every row a different person.
		birth := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/8000)
		sex := []string{"男", "女"}[n/500%2]
		id := idcard.Synthesize(areas[n/1000%8], birth, n%500, idcard.Sex(sex))
		cell, _ := excelize.CoordinatesToCellName(1, n+2)
		row := []string{schools[n%3], "学生", id, sex, birth.Format("2006-01-02"), "汉族", "汽车维修", "中级工班", "全日制", "初中毕业生", "2026-09-01"}
		if err := sw.SetRow(cell, cells(row)); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	return path
}

// eachEngine runs a benchmark on SQLite and, when GONGJIANG_TEST_PG is
// set, PostgreSQL.
func eachEngine(b *testing.B, fn func(b *testing.B, dsn string)) {
	for _, e := range storetest.Engines {
		b.Run(string(e), func(b *testing.B) { fn(b, storetest.DSN(b, e)) })
	}
}

func BenchmarkImport400k(b *testing.B) {
	rows := bigRows(b)
	path := bigSheet(b, rows)
	open := func() (transfer.Table, error) { return transfer.Open(path, transfer.Options{}) }
	eachEngine(b, func(b *testing.B, dsn string) {
		for b.Loop() {
			b.StopTimer()
			f := newImportFixture(b, dsn)
			im := &transfer.StudentImport{Store: f.db, Students: f.students}
			b.StartTimer()
			sum, _, err := im.Run(context.Background(), auth.Principal{Name: "bench", Role: auth.RoleProvince}, open, transfer.ModeValidOnly, false)
			if err != nil || sum.Added != rows {
				b.Fatalf("%+v, %v", sum, err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/import")
	})
}

// BenchmarkBareInsert400k is the limit's yardstick: the same rows, already
// checked and sealed, inserted with one prepared single-row statement in
// transactions of 1,000 — no reading, no checks, no audit.
func BenchmarkBareInsert400k(b *testing.B) {
	eachEngine(b, bareInsert)
}

func bareInsert(b *testing.B, dsn string) {
	rows := bigRows(b)
	f := newImportFixture(b, dsn)
	sc := &school.School{Code: "3701001", Name: "测试3701001技工学校", CityCode: "370100", Status: school.StatusOperating}
	students := make([]*student.Student, rows)
	for n := range rows {
		birth := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/8000)
		sex := []string{"男", "女"}[n/500%2]
		st, err := f.students.Prepare(context.Background(), sc, student.Registration{SchoolCode: sc.Code, Name: "学生",
			IDNumber: idcard.Synthesize([]string{"370102", "370103", "370104", "370105", "370112", "370202", "370203", "370211"}[n/1000%8], birth, n%500, idcard.Sex(sex)),
			Sex:      sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: "汉族", Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制",
			EntryPoint: "初中毕业生", EnrollmentDate: "2026-09-01"})
		if err != nil {
			b.Fatal(err)
		}
		st.StudentNo = "B" + strconv.Itoa(n)
		students[n] = st
	}
	raw := storetest.Raw(b, f.dsn)
	if !store.IsPostgres(f.dsn) {
		// The connection settings the product's writer has: WAL,
		// synchronous NORMAL, a 64 MiB page cache.
		var err error
		raw, err = sql.Open("sqlite", "file:"+f.dsn+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)")
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		raw.SetMaxOpenConns(1)
	}
	for b.Loop() {
		b.StopTimer()
		if _, err := raw.Exec(`DELETE FROM students`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for start := 0; start < rows; start += 1000 {
			if err := bareBatch(raw, students[start:min(start+1000, rows)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/import")
}

func bareBatch(db *sql.DB, batch []*student.Student) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO students (student_no, school_code, city_code, name, id_type, id_sealed, id_blind, id_masked,
		sex, birth_date, ethnicity, major, class_level, study_mode, entry_point, enrollment_date, expected_graduation, status, active,
		last_activity_at, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
		$17, $18, $19, $20, $21, $22, $23)`)
	if err != nil {
		return err
	}
	for _, s := range batch {
		if _, err := stmt.Exec(s.StudentNo, s.SchoolCode, s.CityCode, s.Name, s.IDType, s.IDSealed, s.IDBlind, s.IDMasked, s.Sex,
			s.BirthDate, s.Ethnicity, s.Major, s.ClassLevel, s.StudyMode, s.EntryPoint, s.EnrollmentDate, s.ExpectedGraduation,
			s.Status, true, 0, 0, 0, 1); err != nil {
			return err
		}
	}
	return tx.Commit()
}
