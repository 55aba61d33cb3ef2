package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/student"
)

var studentBulkColumns = []string{"student_no", "school_code", "city_code", "name", "id_type", "id_sealed", "id_blind", "id_masked",
	"sex", "birth_date", "ethnicity", "major", "class_level", "study_mode", "entry_point", "enrollment_date", "expected_graduation",
	"status", "active", "left_date", "last_activity_at", "created_at", "updated_at", "version"}

// appendStudentRow appends the values of studentBulkColumns for s.
func appendStudentRow(args []any, s *student.Student) []any {
	var left any
	if s.LeftDate != "" {
		left = s.LeftDate
	}
	return append(args, s.StudentNo, s.SchoolCode, s.CityCode, s.Name, s.IDType, s.IDSealed, s.IDBlind, s.IDMasked, s.Sex, s.BirthDate,
		s.Ethnicity, s.Major, s.ClassLevel, s.StudyMode, s.EntryPoint, s.EnrollmentDate, s.ExpectedGraduation, s.Status, s.Active(),
		left, micros(s.LastActivity), micros(s.CreatedAt), micros(s.UpdatedAt), s.Version)
}

// LoadStudents bulk-inserts already numbered students in one transaction:
// COPY on PostgreSQL, batched multi-row INSERTs on SQLite. It is the demo
// generator's path; the one-active rule still holds (the unique index
// refuses a batch that breaks it). Students that carry an ID keep it (the
// demo numbers the records of an empty registry as it generates them);
// otherwise the database assigns one. A batch is all one or the other.
func (db *DB) LoadStudents(ctx context.Context, students []*student.Student) error {
	if len(students) == 0 {
		return nil
	}
	cols, row := studentBulkColumns, appendStudentRow
	if students[0].ID != 0 {
		cols = append([]string{"id"}, studentBulkColumns...)
		row = func(args []any, s *student.Student) []any { return appendStudentRow(append(args, s.ID), s) }
	}
	if db.Engine == Postgres {
		return db.copyStudents(ctx, cols, students, row)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.insertEach(ctx, tx, "students", cols, len(students), func(args []any, i int) []any { return row(args, students[i]) })
	})
}

// copyStudents writes students with COPY, which also writes the values
// given for the identity column; the sequence is moved past them.
func (db *DB) copyStudents(ctx context.Context, cols []string, students []*student.Student, row func([]any, *student.Student) []any) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return apperr.Internalf("store: copy students: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"students"}, cols,
				pgx.CopyFromSlice(len(students), func(i int) ([]any, error) { return row(nil, students[i]), nil }))
			if err != nil || cols[0] != "id" {
				return err
			}
			_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('students', 'id'), (SELECT MAX(id) FROM students))`)
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
		// The writer's one connection keeps the growing table's pages
		// cached and does not sync: a registry is bulk loaded only while
		// empty (the demo), so a power cut mid-load loses nothing that
		// cannot be generated again.
		db.write.ExecContext(ctx, "PRAGMA cache_size = -262144")
		db.write.ExecContext(ctx, "PRAGMA synchronous = OFF")
		defer func() {
			db.write.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", sqliteWriterCache))
			db.write.ExecContext(ctx, "PRAGMA synchronous = NORMAL")
			db.write.ExecContext(ctx, "PRAGMA threads = 0")
		}()
	}
	loadErr := load()
	if db.Engine == SQLite {
		// An index build sorts its keys in runs the size of the page
		// cache. Small runs, sorted and merged by worker threads, beat
		// one large sort in memory: a third less time for the eight
		// indexes at two million rows on two cores.
		db.write.ExecContext(ctx, "PRAGMA cache_size = -8192")
		db.write.ExecContext(ctx, fmt.Sprintf("PRAGMA threads = %d", max(2, runtime.GOMAXPROCS(0))))
	}
	for _, ix := range bulkIndexes {
		if _, err := db.write.ExecContext(ctx, ix.create); err != nil {
			return errors.Join(loadErr, apperr.Internalf("store: rebuild index %s: %w", ix.name, err))
		}
	}
	// Statistics for the planner, on both engines: without them SQLite
	// lists a school's students through the status index, reading hundreds
	// of thousands of rows instead of the school's own. SQLite's ANALYZE
	// reads every index in full, about a second each at two million rows;
	// a sample serves the indexes whose keys are nearly unique, while the
	// ones led by a column of few values (school, city, status) need the
	// full count, or the sample makes them look selective.
	analyze := []string{"ANALYZE students"}
	if db.Engine == SQLite {
		analyze = []string{"PRAGMA analysis_limit = 1000", "ANALYZE students", "PRAGMA analysis_limit = 0",
			"ANALYZE students_school", "ANALYZE students_city", "ANALYZE students_status"}
	}
	for _, q := range analyze {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			return errors.Join(loadErr, apperr.Internalf("store: analyze: %w", err))
		}
	}
	return loadErr
}
