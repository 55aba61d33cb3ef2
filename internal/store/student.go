package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/student"
)

const studentColumns = `s.id, s.student_no, s.school_code, sc.name, s.city_code, s.name, s.id_type, s.id_sealed, s.id_blind, s.id_masked,
	s.sex, s.birth_date, s.ethnicity, s.major, s.class_level, s.study_mode, s.entry_point, s.enrollment_date,
	s.expected_graduation, s.status, s.left_date, s.last_activity_at, s.created_at, s.updated_at, s.version`

const studentFrom = ` FROM students s JOIN schools sc ON sc.code = s.school_code`

func scanStudent(row interface{ Scan(...any) error }) (*student.Student, error) {
	var st student.Student
	var left sql.NullString
	var last, created, updated int64
	err := row.Scan(&st.ID, &st.StudentNo, &st.SchoolCode, &st.SchoolName, &st.CityCode, &st.Name, &st.IDType, &st.IDSealed, &st.IDBlind,
		&st.IDMasked, &st.Sex, &st.BirthDate, &st.Ethnicity, &st.Major, &st.ClassLevel, &st.StudyMode, &st.EntryPoint,
		&st.EnrollmentDate, &st.ExpectedGraduation, &st.Status, &left, &last, &created, &updated, &st.Version)
	if err != nil {
		return nil, err
	}
	st.LeftDate = left.String
	st.LastActivity, st.CreatedAt, st.UpdatedAt = fromMicros(last), fromMicros(created), fromMicros(updated)
	return &st, nil
}

// MajorExists reports whether name is in the major catalogue. The
// catalogue is small and rarely edited, so it is read at most once a minute.
func (db *DB) MajorExists(ctx context.Context, name string) (bool, error) {
	db.majorsMu.Lock()
	defer db.majorsMu.Unlock()
	if db.majors == nil || time.Since(db.majorsAt) > time.Minute {
		names, err := db.Majors(ctx)
		if err != nil {
			return false, err
		}
		db.majors = make(map[string]bool, len(names))
		for _, n := range names {
			db.majors[n] = true
		}
		db.majorsAt = time.Now()
	}
	return db.majors[name], nil
}

// Majors lists the catalogue's names.
func (db *DB) Majors(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM majors ORDER BY id`)
	if err != nil {
		return nil, apperr.Internalf("store: majors: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, apperr.Internalf("store: majors: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

const (
	qCounterNext = `INSERT INTO student_counters (school_code, study_mode, year, last) VALUES ($1, $2, $3, 1)
		ON CONFLICT (school_code, study_mode, year) DO UPDATE SET last = student_counters.last + 1 RETURNING last`
	qStudentInsert = `INSERT INTO students (student_no, school_code, city_code, name, id_type, id_sealed, id_blind, id_masked,
		sex, birth_date, ethnicity, major, class_level, study_mode, entry_point, enrollment_date, expected_graduation, status, active,
		left_date, last_activity_at, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, NULL, $20, $21, $22, $23) RETURNING id`
)

// modeLetter starts a 学籍号: separate numbering per registry.
func modeLetter(mode string) string {
	if mode == student.ModePartTime {
		return "F"
	}
	return "Q"
}

// nextStudentNo takes the next number of a school's registry for a year.
func (db *DB) nextStudentNo(ctx context.Context, tx *sql.Tx, schoolCode, mode string, year int) (string, error) {
	var seq int64
	err := db.txQueryRow(ctx, tx, qCounterNext,
		schoolCode, mode, year).Scan(&seq)
	if err != nil {
		return "", apperr.Internalf("store: student number: %w", err)
	}
	return StudentNo(schoolCode, mode, year, int(seq)), nil
}

// duplicateRegistration names the school where blind is active.
func (db *DB) duplicateRegistration(ctx context.Context, blind string) error {
	var name string
	err := db.write.QueryRowContext(ctx, `SELECT sc.name FROM students s JOIN schools sc ON sc.code = s.school_code
		WHERE s.id_blind = $1 AND s.active`, blind).Scan(&name)
	if err != nil {
		name = "其他学校"
	}
	return apperr.E(apperr.DuplicateRegistration, "id_number", "student.duplicate", name)
}

// CreateStudent registers s, numbering it in its registry. A person already
// active anywhere is refused by the database's unique index, which holds
// under concurrency on both engines. Registrations arriving together are
// committed together (see registrationWriter).
func (db *DB) CreateStudent(ctx context.Context, s *student.Student, e audit.Entry) error {
	req := &registration{ctx: ctx, s: s, e: e, done: make(chan error, 1)}
	db.regOnce.Do(func() {
		db.regs, db.regDone = make(chan *registration, maxRegBatch), make(chan struct{})
		go db.registrationWriter()
	})
	// With nothing queued and no group being written, the registration is
	// a group of one and its own goroutine writes it: handing it to the
	// writer and being woken again was 7% of a lone registration's CPU.
	written := false
	if db.regWriting.TryLock() {
		if len(db.regs) == 0 {
			db.writeRegistrations([]*registration{req})
			written = true
		}
		db.regWriting.Unlock()
	}
	if !written {
		select {
		case db.regs <- req:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Written here or queued, the registration is stored or refused; see which.
	if err := <-req.done; !errors.Is(err, errDuplicate) {
		return err
	}
	return db.duplicateRegistration(ctx, s.IDBlind)
}

// registration is a queued CreateStudent.
type registration struct {
	ctx  context.Context
	s    *student.Student
	e    audit.Entry
	done chan error
}

// maxRegBatch bounds how many registrations share one transaction.
const maxRegBatch = 64

// registrationWriter commits registrations in groups: whatever has queued
// while the previous transaction ran goes into the next one, each in its
// own savepoint (a refused duplicate rolls back only itself), with one
// audit append and one signed head for the group. A lone registration is a
// group of one, so nothing waits for company.
func (db *DB) registrationWriter() {
	defer close(db.regDone)
	for first := range db.regs {
		batch := []*registration{first}
	drain:
		for len(batch) < maxRegBatch {
			select {
			case r, ok := <-db.regs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.regWriting.Lock()
		db.writeRegistrations(batch)
		db.regWriting.Unlock()
	}
}

func (db *DB) writeRegistrations(batch []*registration) {
	results := make([]error, len(batch))
	ctx := context.WithoutCancel(batch[0].ctx)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var entries []audit.Entry
		if len(batch) == 1 { // alone: no savepoint needed, a duplicate just rolls back
			no, err := db.insertStudent(ctx, tx, batch[0].s)
			if err != nil {
				return err
			}
			batch[0].s.StudentNo, batch[0].e.EntityID = no, no
			return db.appendAudit(ctx, tx, batch[0].e)
		}
		for i, r := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT registration"); err != nil {
				return apperr.Internalf("store: savepoint: %w", err)
			}
			no, err := db.insertStudent(ctx, tx, r.s)
			if errors.Is(err, errDuplicate) {
				results[i] = errDuplicate
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT registration"); err != nil {
					return apperr.Internalf("store: savepoint: %w", err)
				}
			} else if err != nil {
				return err
			} else {
				r.s.StudentNo = no
				r.e.EntityID = no
				entries = append(entries, r.e)
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT registration"); err != nil {
				return apperr.Internalf("store: savepoint: %w", err)
			}
		}
		if len(entries) == 0 {
			return nil
		}
		return db.appendAudit(ctx, tx, entries...)
	})
	for i, r := range batch {
		if err != nil {
			results[i] = err
			r.s.StudentNo, r.s.ID = "", 0
		}
		r.done <- results[i]
	}
}

// insertStudent numbers s in its registry and inserts it.
func (db *DB) insertStudent(ctx context.Context, tx *sql.Tx, s *student.Student) (string, error) {
	year := 0
	fmt.Sscanf(s.EnrollmentDate, "%4d", &year)
	no, err := db.nextStudentNo(ctx, tx, s.SchoolCode, s.StudyMode, year)
	if err != nil {
		return "", err
	}
	err = db.txQueryRow(ctx, tx, qStudentInsert,
		no, s.SchoolCode, s.CityCode, s.Name, s.IDType, s.IDSealed, s.IDBlind, s.IDMasked, s.Sex, s.BirthDate, s.Ethnicity, s.Major,
		s.ClassLevel, s.StudyMode, s.EntryPoint, s.EnrollmentDate, s.ExpectedGraduation, s.Status, s.Active(),
		micros(s.LastActivity), micros(s.CreatedAt), micros(s.UpdatedAt), s.Version).Scan(&s.ID)
	if isUniqueViolation(err) {
		return "", errDuplicate
	}
	if err != nil {
		return "", apperr.Internalf("store: create student: %w", err)
	}
	return no, nil
}

// errDuplicate leaves a transaction that hit the one-active rule, so the
// holding school is looked up outside it (PostgreSQL aborts the rest).
var errDuplicate = errors.New("store: person already active")

func studentWhere(f student.Filter) *where {
	w := &where{}
	applyScope(w, f.Scope, cols("s.city_code"), cols("s.school_code"))
	if f.SchoolCode != "" {
		w.add("s.school_code = " + w.arg(f.SchoolCode))
	}
	if f.CityCode != "" {
		w.add("s.city_code = " + w.arg(f.CityCode))
	}
	if f.Major != "" {
		w.add("s.major = " + w.arg(f.Major))
	}
	if f.ClassLevel != "" {
		w.add("s.class_level = " + w.arg(f.ClassLevel))
	}
	if f.StudyMode != "" {
		w.add("s.study_mode = " + w.arg(f.StudyMode))
	}
	switch f.Status {
	case "":
	case "active":
		w.add("s.active")
	default:
		w.add("s.status = " + w.arg(f.Status))
	}
	if f.Year > 0 {
		w.add("s.enrollment_date >= " + w.arg(fmt.Sprintf("%04d-01-01", f.Year)))
		w.add("s.enrollment_date <= " + w.arg(fmt.Sprintf("%04d-12-31", f.Year)))
	}
	if f.InSchool > 0 {
		end := w.arg(fmt.Sprintf("%04d-12-31", f.InSchool))
		w.add("s.enrollment_date <= " + end + " AND (s.left_date IS NULL OR s.left_date > " + end + ")")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if q[0] == 'Q' || q[0] == 'F' {
			w.add("(s.student_no = " + w.arg(strings.ToUpper(q)) + " OR s.name = " + w.arg(q) + ")")
		} else {
			// The range lets the name index narrow the search; LIKE keeps
			// the match exact whatever the collation.
			w.add("s.name >= " + w.arg(q) + " AND s.name < " + w.arg(q+"\U0010FFFF") +
				" AND s.name LIKE " + w.arg(strings.TrimPrefix(likeArg(q), "%")) + ` ESCAPE '\'`)
		}
	}
	return w
}

// CountCap bounds how far a list's total is counted exactly; beyond it the
// total is reported as the cap ("10000+"), so one page never counts
// millions of rows.
const CountCap = 10000

// FindStudents returns one page, newest registration first, and the total
// (capped at CountCap). Newest first is what registrars look at, and it
// finds active students, who are the recent ones, without scanning history.
func (db *DB) FindStudents(ctx context.Context, f student.Filter) ([]*student.Student, int, error) {
	w := studentWhere(f)
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM students s`+w.String()+` ORDER BY s.id DESC LIMIT `+fmt.Sprint(CountCap)+`) capped`, w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count students: %w", err)
	}
	if f.After > 0 {
		w.add("s.id < " + w.arg(f.After))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+studentColumns+studentFrom+w.String()+` ORDER BY s.id DESC LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: find students: %w", err)
	}
	defer rows.Close()
	var out []*student.Student
	for rows.Next() {
		s, err := scanStudent(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: scan student: %w", err)
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// FindStudent returns a student scope may see.
func (db *DB) FindStudent(ctx context.Context, scope auth.Scope, id int64) (*student.Student, error) {
	w := studentWhere(student.Filter{Scope: scope})
	w.add("s.id = " + w.arg(id))
	s, err := scanStudent(db.read.QueryRowContext(ctx, `SELECT `+studentColumns+studentFrom+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "student.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: find student: %w", err)
	}
	return s, nil
}

// FindHolderRecords is the public status query: the 学籍 of a document
// number under a name, newest first, with nothing personal.
func (db *DB) FindHolderRecords(ctx context.Context, blind, name string) ([]student.HolderRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT sc.name, s.major, s.class_level, s.study_mode, s.status`+studentFrom+`
		WHERE s.id_blind = $1 AND s.name = $2 ORDER BY s.enrollment_date DESC LIMIT 20`, blind, name)
	if err != nil {
		return nil, apperr.Internalf("store: holder query: %w", err)
	}
	defer rows.Close()
	var out []student.HolderRecord
	for rows.Next() {
		var r student.HolderRecord
		if err := rows.Scan(&r.SchoolName, &r.Major, &r.ClassLevel, &r.StudyMode, &r.Status); err != nil {
			return nil, apperr.Internalf("store: holder query: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AllowRate records one event under key and reports whether fewer than
// limit happened within window before it. The state is in the database,
// so every application node shares it.
func (db *DB) AllowRate(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error) {
	allowed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Upserting the key's row locks it on PostgreSQL, so concurrent
		// requests for one key count one after another (SQLite has one writer).
		if _, err := tx.ExecContext(ctx, `INSERT INTO rate_keys (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET key = excluded.key`, key); err != nil {
			return apperr.Internalf("store: rate lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rate_events WHERE key = $1 AND at < $2`, key, micros(now.Add(-window))); err != nil {
			return apperr.Internalf("store: rate prune: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_events WHERE key = $1`, key).Scan(&n); err != nil {
			return apperr.Internalf("store: rate count: %w", err)
		}
		if n >= limit {
			return nil
		}
		allowed = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO rate_events (key, at) VALUES ($1, $2)`, key, micros(now)); err != nil {
			return apperr.Internalf("store: rate record: %w", err)
		}
		return nil
	})
	return allowed, err
}
