package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// ActiveByBlind finds the active 学籍 of each blind index given (imports
// check a batch of rows at once); missing keys have none.
func (db *DB) ActiveByBlind(ctx context.Context, blinds []string) (map[string]*student.Student, error) {
	out := make(map[string]*student.Student, len(blinds))
	for start := 0; start < len(blinds); start += 500 {
		chunk := blinds[start:min(start+500, len(blinds))]
		w := &where{}
		ph := make([]string, len(chunk))
		for i, b := range chunk {
			ph[i] = w.arg(b)
		}
		rows, err := db.read.QueryContext(ctx, `SELECT `+studentColumns+studentFrom+` WHERE s.active AND s.id_blind IN (`+strings.Join(ph, ", ")+`)`, w.args...)
		if err != nil {
			return nil, apperr.Internalf("store: active by blind: %w", err)
		}
		for rows.Next() {
			s, err := scanStudent(rows)
			if err != nil {
				rows.Close()
				return nil, apperr.Internalf("store: scan student: %w", err)
			}
			out[s.IDBlind] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, apperr.Internalf("store: active by blind: %w", err)
		}
	}
	return out, nil
}

// ImportStudents registers a batch in one transaction. e is the batch's
// one audit entry; its Data, a map, gets the student numbers. The batch
// was checked against the active registrations just before, so it is
// numbered per registry with one counter update each and inserted in
// multi-row statements; if a person became active elsewhere meanwhile,
// that fails the whole transaction, and the batch is written again row by
// row, each in a savepoint, refusing only that person (dup[i] is true).
func (db *DB) ImportStudents(ctx context.Context, batch []*student.Student, e audit.Entry, checkpoint func(dup []bool) *transfer.Checkpoint) (dup []bool, err error) {
	if len(batch) >= bulkRows {
		db.warmBulk(ctx, "students", studentBulkColumns)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.numberBatch(ctx, tx, batch); err != nil {
			return err
		}
		numbers := make([]string, len(batch))
		for i, s := range batch {
			numbers[i] = s.StudentNo
		}
		if err := db.insertEach(ctx, tx, "students", studentBulkColumns, len(batch), func(args []any, i int) []any {
			return appendStudentRow(args, batch[i])
		}); err != nil {
			return err
		}
		if m, ok := e.Data.(map[string]any); ok {
			m["added"], m["student_nos"] = len(numbers), numbers
		}
		if err := db.appendAudit(ctx, tx, e); err != nil {
			return err
		}
		return writeCheckpoint(ctx, tx, checkpoint, make([]bool, len(batch)))
	})
	if err == nil {
		return make([]bool, len(batch)), nil
	}
	for _, s := range batch {
		s.StudentNo = ""
	}
	if apperr.CodeOf(err) != apperr.Duplicate {
		return nil, err
	}
	return db.importRowByRow(ctx, batch, e, checkpoint)
}

// numberBatch gives each student of a batch the next number of its
// registry (school, study mode, year), in the batch's order.
func (db *DB) numberBatch(ctx context.Context, tx *sql.Tx, batch []*student.Student) error {
	type registry struct {
		school, mode string
		year         int
	}
	var order []registry
	members := map[registry][]*student.Student{}
	for _, s := range batch {
		year := 0
		fmt.Sscanf(s.EnrollmentDate, "%4d", &year)
		r := registry{s.SchoolCode, s.StudyMode, year}
		if members[r] == nil {
			order = append(order, r)
		}
		members[r] = append(members[r], s)
	}
	for _, r := range order {
		n := len(members[r])
		var last int64
		err := tx.QueryRowContext(ctx, `INSERT INTO student_counters (school_code, study_mode, year, last) VALUES ($1, $2, $3, $4)
			ON CONFLICT (school_code, study_mode, year) DO UPDATE SET last = student_counters.last + $4 RETURNING last`,
			r.school, r.mode, r.year, n).Scan(&last)
		if err != nil {
			return apperr.Internalf("store: student numbers: %w", err)
		}
		for i, s := range members[r] {
			s.StudentNo = StudentNo(r.school, r.mode, r.year, int(last)-n+1+i)
		}
	}
	return nil
}

// importRowByRow is ImportStudents' careful path: each row in a savepoint.
func (db *DB) importRowByRow(ctx context.Context, batch []*student.Student, e audit.Entry, checkpoint func(dup []bool) *transfer.Checkpoint) (dup []bool, err error) {
	dup = make([]bool, len(batch))
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var numbers []string
		for i, s := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT import_row"); err != nil {
				return apperr.Internalf("store: savepoint: %w", err)
			}
			no, err := db.insertStudent(ctx, tx, s)
			switch {
			case errors.Is(err, errDuplicate):
				dup[i] = true
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT import_row"); err != nil {
					return apperr.Internalf("store: savepoint: %w", err)
				}
			case err != nil:
				return err
			default:
				s.StudentNo = no
				numbers = append(numbers, no)
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT import_row"); err != nil {
				return apperr.Internalf("store: savepoint: %w", err)
			}
		}
		if len(numbers) > 0 {
			if m, ok := e.Data.(map[string]any); ok {
				m["added"], m["student_nos"] = len(numbers), numbers
			}
			if err := db.appendAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return writeCheckpoint(ctx, tx, checkpoint, dup)
	})
	if err != nil {
		for _, s := range batch {
			s.StudentNo, s.ID = "", 0
		}
		return nil, err
	}
	return dup, nil
}

// ImportAllStudents registers every batch next returns (nil at the end)
// in one transaction, for an all-or-nothing import: a person who became
// active elsewhere since the file was checked refuses the whole import.
// It returns how many it added.
func (db *DB) ImportAllStudents(ctx context.Context, next func() ([]*student.Student, error), e audit.Entry, final func(added int) *transfer.Checkpoint) (int, error) {
	added := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for {
			batch, err := next()
			if err != nil {
				return err
			}
			if batch == nil {
				break
			}
			for _, s := range batch {
				no, err := db.insertStudent(ctx, tx, s)
				if errors.Is(err, errDuplicate) {
					return apperr.E(apperr.DuplicateRegistration, "id_number", "import.raced", s.IDMasked)
				}
				if err != nil {
					return err
				}
				s.StudentNo = no
				added++
			}
		}
		if final != nil {
			if err := saveCheckpoint(ctx, tx, final(added)); err != nil {
				return err
			}
		}
		if added == 0 {
			return nil
		}
		if m, ok := e.Data.(map[string]any); ok {
			m["added"] = added
		}
		return db.appendAudit(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}
