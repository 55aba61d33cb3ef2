package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/student"
)

var studentBulkColumns = []string{"student_no", "school_code", "city_code", "name", "id_type", "id_sealed", "id_blind", "id_masked",
	"sex", "birth_date", "ethnicity", "major", "class_level", "study_mode", "entry_point", "enrollment_date", "expected_graduation",
	"status", "active", "left_date", "last_activity_at", "created_at", "updated_at", "version"}

func studentRow(s *student.Student) []any {
	var left any
	if s.LeftDate != "" {
		left = s.LeftDate
	}
	return []any{s.StudentNo, s.SchoolCode, s.CityCode, s.Name, s.IDType, s.IDSealed, s.IDBlind, s.IDMasked, s.Sex, s.BirthDate,
		s.Ethnicity, s.Major, s.ClassLevel, s.StudyMode, s.EntryPoint, s.EnrollmentDate, s.ExpectedGraduation, s.Status, s.Active(),
		left, micros(s.LastActivity), micros(s.CreatedAt), micros(s.UpdatedAt), s.Version}
}

// LoadStudents bulk-inserts already numbered students in one transaction:
// COPY on PostgreSQL, batched multi-row INSERTs on SQLite. It is the demo
// generator's and the importer's path; the one-active rule still holds
// (the unique index refuses a batch that breaks it).
func (db *DB) LoadStudents(ctx context.Context, students []*student.Student) error {
	if len(students) == 0 {
		return nil
	}
	if db.Engine == Postgres {
		return db.copyStudents(ctx, students)
	}
	rows := make([][]any, len(students))
	for i, s := range students {
		rows[i] = studentRow(s)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.insertRows(ctx, tx, "students", studentBulkColumns, rows)
	})
}

func (db *DB) copyStudents(ctx context.Context, students []*student.Student) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return apperr.Internalf("store: copy students: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"students"}, studentBulkColumns,
				pgx.CopyFromSlice(len(students), func(i int) ([]any, error) { return studentRow(students[i]), nil }))
			return err
		})
		if isUniqueViolation(err) {
			return apperr.E(apperr.Duplicate, "", "bulk.duplicate", "students")
		}
		if err != nil {
			return apperr.Internalf("store: copy students: %w", err)
		}
		return nil
	})
}

// SetStudentCounters records the last number used per school, mode and
// year after a bulk load, so registrations continue the sequences.
func (db *DB) SetStudentCounters(ctx context.Context, last map[[3]string]int) error {
	rows := make([][]any, 0, len(last))
	for k, n := range last {
		var year int
		fmt.Sscan(k[2], &year)
		rows = append(rows, []any{k[0], k[1], year, n})
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.insertRows(ctx, tx, "student_counters", []string{"school_code", "study_mode", "year", "last"}, rows)
	})
}

// StudentNo formats a 学籍号 as registration assigns it.
func StudentNo(schoolCode, mode string, year, seq int) string {
	return fmt.Sprintf("%s%s%04d%05d", modeLetter(mode), schoolCode, year, seq)
}

// bulkIndexes are the students' secondary indexes, as the migrations
// create them. A bulk load into an empty registry drops them and builds
// them again afterwards (a sorted build, far cheaper than millions of
// random inserts). The one-active rule is checked when its unique index is
// built again: a load that breaks it fails.
var bulkIndexes = []struct{ name, create string }{
	{"students_one_active", "CREATE UNIQUE INDEX students_one_active ON students (id_blind) WHERE active"},
	{"students_blind", "CREATE INDEX students_blind ON students (id_blind)"},
	{"students_school", "CREATE INDEX students_school ON students (school_code, id)"},
	{"students_city", "CREATE INDEX students_city ON students (city_code, id)"},
	{"students_name", "CREATE INDEX students_name ON students (name, id)"},
	{"students_person", "CREATE INDEX students_person ON students (name, sex, birth_date, id_blind) WHERE active"},
	{"students_status", "CREATE INDEX students_status ON students (status, id)"},
	{"students_updated", "CREATE INDEX students_updated ON students (updated_at)"},
}

// BulkLoadStudents runs load with the registry's secondary indexes
// dropped and a large page cache, and rebuilds the indexes afterwards. It
// refuses a registry that already holds students.
func (db *DB) BulkLoadStudents(ctx context.Context, load func() error) error {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM students LIMIT 1) x`).Scan(&n); err != nil {
		return apperr.Internalf("store: bulk load: %w", err)
	}
	if n > 0 {
		return apperr.E(apperr.Conflict, "", "bulk.not_empty")
	}
	for _, ix := range bulkIndexes {
		if _, err := db.write.ExecContext(ctx, "DROP INDEX "+ix.name); err != nil {
			return apperr.Internalf("store: bulk load: %w", err)
		}
	}
	if db.Engine == SQLite {
		db.write.ExecContext(ctx, "PRAGMA cache_size = -262144")
		defer db.write.ExecContext(ctx, "PRAGMA cache_size = -2000")
	}
	loadErr := load()
	for _, ix := range bulkIndexes {
		if _, err := db.write.ExecContext(ctx, ix.create); err != nil {
			return errors.Join(loadErr, apperr.Internalf("store: rebuild index %s: %w", ix.name, err))
		}
	}
	// Statistics for the planner, on both engines: without them SQLite
	// lists a school's students through the status index, reading hundreds
	// of thousands of rows instead of the school's own (2 s of ANALYZE
	// against 3 s for each such list on the province set).
	if _, err := db.write.ExecContext(ctx, "ANALYZE students"); err != nil {
		return errors.Join(loadErr, apperr.Internalf("store: analyze: %w", err))
	}
	return loadErr
}
