package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/student"
)

const changeColumns = `c.id, c.student_id, s.student_no, s.name, c.school_code, sc.name, c.city_code, c.target_school_code,
	COALESCE(tc.name, ''), c.target_city_code,
	c.type, c.reason, c.effective_date, c.changes, c.new_id_sealed, c.new_id_blind, c.state, c.needs, c.approvals,
	c.proposed_by, c.proposed_at, c.decided_by, c.decided_at, c.decision_note, c.applied_at, c.failure, c.version`

const changeFrom = ` FROM change_requests c JOIN students s ON s.id = c.student_id JOIN schools sc ON sc.code = c.school_code
	LEFT JOIN schools tc ON tc.code = c.target_school_code`

func scanChange(row interface{ Scan(...any) error }) (*student.ChangeRequest, error) {
	var r student.ChangeRequest
	var changes, needs, approvals string
	var proposed, decided, applied int64
	err := row.Scan(&r.ID, &r.StudentID, &r.StudentNo, &r.StudentName, &r.SchoolCode, &r.SchoolName, &r.CityCode, &r.TargetSchoolCode,
		&r.TargetSchoolName, &r.TargetCityCode,
		&r.Type, &r.Reason, &r.EffectiveDate, &changes, &r.NewIDSealed, &r.NewIDBlind, &r.State, &needs, &approvals,
		&r.ProposedBy, &proposed, &r.DecidedBy, &decided, &r.DecisionNote, &applied, &r.Failure, &r.Version)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(changes), &r.Changes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(approvals), &r.Approvals); err != nil {
		return nil, err
	}
	if needs != "" {
		r.Needs = strings.Split(needs, ",")
	}
	r.ProposedAt, r.DecidedAt, r.AppliedAt = fromMicros(proposed), fromMicros(decided), fromMicros(applied)
	return &r, nil
}

func changeJSON(r *student.ChangeRequest) (changes, approvals string) {
	c, _ := json.Marshal(r.Changes)
	a, _ := json.Marshal(r.Approvals)
	if r.Approvals == nil {
		a = []byte("[]")
	}
	return string(c), string(a)
}

// CreateChange files a request; a student with an open request already is
// a conflict (one open request per student, by a unique index).
func (db *DB) CreateChange(ctx context.Context, r *student.ChangeRequest, e audit.Entry) error {
	changes, approvals := changeJSON(r)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO change_requests (student_id, school_code, city_code, target_school_code, target_city_code,
			type, reason, effective_date, changes, new_id_sealed, new_id_blind, state, needs, approvals, proposed_by, proposed_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			r.StudentID, r.SchoolCode, r.CityCode, r.TargetSchoolCode, r.TargetCityCode, r.Type, r.Reason, r.EffectiveDate,
			changes, r.NewIDSealed, r.NewIDBlind, r.State, strings.Join(r.Needs, ","), approvals, r.ProposedBy, micros(r.ProposedAt), r.Version).Scan(&r.ID)
		if isUniqueViolation(err) {
			return apperr.E(apperr.Conflict, "", "change.open_exists")
		}
		if err != nil {
			return apperr.Internalf("store: create change: %w", err)
		}
		if m, ok := e.Data.(map[string]any); ok {
			m["request"] = r.ID
		}
		return db.appendAudit(ctx, tx, e)
	})
}

func changeWhere(f student.ChangeFilter) *where {
	w := &where{}
	applyScope(w, f.Scope, cols("c.city_code", "c.target_city_code"), cols("c.school_code", "c.target_school_code"))
	if f.State != "" {
		w.add("c.state = " + w.arg(f.State))
	}
	if f.Type != "" {
		w.add("c.type = " + w.arg(f.Type))
	}
	if f.SchoolCode != "" {
		w.add("(c.school_code = " + w.arg(f.SchoolCode) + " OR c.target_school_code = " + w.arg(f.SchoolCode) + ")")
	}
	if f.StudentID > 0 {
		w.add("c.student_id = " + w.arg(f.StudentID))
	}
	return w
}

// FindChange returns a request scope may see.
func (db *DB) FindChange(ctx context.Context, scope auth.Scope, id int64) (*student.ChangeRequest, error) {
	w := changeWhere(student.ChangeFilter{Scope: scope})
	w.add("c.id = " + w.arg(id))
	r, err := scanChange(db.read.QueryRowContext(ctx, `SELECT `+changeColumns+changeFrom+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "change.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: find change: %w", err)
	}
	return r, nil
}

// FindChanges returns a page of requests, newest first.
func (db *DB) FindChanges(ctx context.Context, f student.ChangeFilter) ([]*student.ChangeRequest, int, error) {
	w := changeWhere(f)
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM change_requests c`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count changes: %w", err)
	}
	if f.After > 0 {
		w.add("c.id < " + w.arg(f.After))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+changeColumns+changeFrom+w.String()+` ORDER BY c.id DESC LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: find changes: %w", err)
	}
	defer rows.Close()
	var out []*student.ChangeRequest
	for rows.Next() {
		r, err := scanChange(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: scan change: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// updateChange writes a request's review state if its version is still prev.
func updateChange(ctx context.Context, tx *sql.Tx, r *student.ChangeRequest, prev int64) error {
	_, approvals := changeJSON(r)
	res, err := tx.ExecContext(ctx, `UPDATE change_requests SET state = $1, approvals = $2, decided_by = $3, decided_at = $4,
		decision_note = $5, applied_at = $6, failure = $7, version = $8 WHERE id = $9 AND version = $10`,
		r.State, approvals, r.DecidedBy, micros(r.DecidedAt), r.DecisionNote, micros(r.AppliedAt), r.Failure, r.Version, r.ID, prev)
	if err != nil {
		return apperr.Internalf("store: update change: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.E(apperr.Conflict, "", "change.concurrent")
	}
	return nil
}

// UpdateChange records a review step (approval, rejection, withdrawal).
func (db *DB) UpdateChange(ctx context.Context, r *student.ChangeRequest, prev int64, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := updateChange(ctx, tx, r, prev); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// ApplyChange writes the changed student and the applied request in one
// transaction. The one-active rule still holds: a change that would give
// a person a second active 学籍 is refused by the database.
func (db *DB) ApplyChange(ctx context.Context, r *student.ChangeRequest, prevReq int64, s *student.Student, prevStudent int64, e audit.Entry) error {
	var left any
	if s.LeftDate != "" {
		left = s.LeftDate
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE students SET school_code = $1, city_code = $2, name = $3, id_type = $4, id_sealed = $5,
			id_blind = $6, id_masked = $7, sex = $8, birth_date = $9, ethnicity = $10, major = $11, expected_graduation = $12,
			status = $13, active = $14, left_date = $15, last_activity_at = $16, updated_at = $17, version = $18
			WHERE id = $19 AND version = $20`,
			s.SchoolCode, s.CityCode, s.Name, s.IDType, s.IDSealed, s.IDBlind, s.IDMasked, s.Sex, s.BirthDate, s.Ethnicity, s.Major,
			s.ExpectedGraduation, s.Status, s.Active(), left, micros(s.LastActivity), micros(s.UpdatedAt), s.Version, s.ID, prevStudent)
		if isUniqueViolation(err) {
			return errDuplicate
		}
		if err != nil {
			return apperr.Internalf("store: apply change: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.E(apperr.Conflict, "", "change.concurrent")
		}
		if err := updateChange(ctx, tx, r, prevReq); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
	if errors.Is(err, errDuplicate) {
		return db.duplicateRegistration(ctx, s.IDBlind)
	}
	return err
}

// DueChanges lists approved requests whose effective date has come.
func (db *DB) DueChanges(ctx context.Context, today string, limit int) ([]*student.ChangeRequest, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+changeColumns+changeFrom+` WHERE c.state = 'approved' AND c.effective_date <= $1
		ORDER BY c.effective_date, c.id LIMIT $2`, today, limit)
	if err != nil {
		return nil, apperr.Internalf("store: due changes: %w", err)
	}
	defer rows.Close()
	var out []*student.ChangeRequest
	for rows.Next() {
		r, err := scanChange(rows)
		if err != nil {
			return nil, apperr.Internalf("store: scan change: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
