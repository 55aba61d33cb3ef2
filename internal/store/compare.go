package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/student"
)

func activeWhere(scope auth.Scope) *where {
	w := &where{}
	w.add("s.active")
	applyScope(w, scope, cols("s.city_code"), cols("s.school_code"))
	return w
}

// NearDuplicates finds active people who share name, sex and birth date
// under different document numbers, searching the whole registry so that a
// pair across two cities is found whichever city runs the comparison; a
// group is reported when any member is in scope, and it belongs to the
// school of its first-registered member.
func (db *DB) NearDuplicates(ctx context.Context, scope auth.Scope) ([]student.Finding, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT s.id, s.school_code, s.city_code, s.name, s.sex, s.birth_date FROM students s
		WHERE s.active AND (s.name, s.sex, s.birth_date) IN (SELECT name, sex, birth_date FROM students WHERE active
			GROUP BY name, sex, birth_date HAVING COUNT(DISTINCT id_blind) > 1)
		ORDER BY s.name, s.sex, s.birth_date, s.id`)
	if err != nil {
		return nil, apperr.Internalf("store: near duplicates: %w", err)
	}
	defer rows.Close()
	inScope := func(school, city string) bool {
		switch scope.Kind {
		case auth.ScopeAll:
			return true
		case auth.ScopeCity:
			return city == scope.Code
		case auth.ScopeSchool:
			return school == scope.Code
		}
		return false
	}
	var out []student.Finding
	var prevKey string
	visible := false
	for rows.Next() {
		var id int64
		var school, city, name, sex, birth string
		if err := rows.Scan(&id, &school, &city, &name, &sex, &birth); err != nil {
			return nil, apperr.Internalf("store: near duplicates: %w", err)
		}
		sum := sha256.Sum256([]byte(name + "|" + sex + "|" + birth))
		key := hex.EncodeToString(sum[:12])
		if key != prevKey {
			if len(out) > 0 && !visible {
				out = out[:len(out)-1]
			}
			out = append(out, student.Finding{Kind: student.FindNearDuplicate, Key: key, SchoolCode: school, CityCode: city})
			prevKey, visible = key, false
		}
		visible = visible || inScope(school, city)
		f := &out[len(out)-1]
		f.StudentIDs = append(f.StudentIDs, id)
		f.Detail = fmt.Sprintf("%d 条在籍学籍的姓名、性别、出生日期（%s）相同，证件号码不同", len(f.StudentIDs), birth)
	}
	if len(out) > 0 && !visible {
		out = out[:len(out)-1]
	}
	return out, rows.Err()
}

// SchoolCapacities returns the approved size of the schools in scope.
func (db *DB) SchoolCapacities(ctx context.Context, scope auth.Scope) (map[string]student.SchoolCapacity, error) {
	w := &where{}
	applyScope(w, scope, cols("city_code"), cols("code"))
	rows, err := db.read.QueryContext(ctx, `SELECT code, city_code, capacity FROM schools`+w.String(), w.args...)
	if err != nil {
		return nil, apperr.Internalf("store: capacities: %w", err)
	}
	defer rows.Close()
	out := map[string]student.SchoolCapacity{}
	for rows.Next() {
		var code string
		var c student.SchoolCapacity
		if err := rows.Scan(&code, &c.CityCode, &c.Capacity); err != nil {
			return nil, apperr.Internalf("store: capacities: %w", err)
		}
		out[code] = c
	}
	return out, rows.Err()
}

// StudentIDRange returns the smallest and largest student id (0, 0 when
// there are none), for splitting a scan.
func (db *DB) StudentIDRange(ctx context.Context) (int64, int64, error) {
	var lo, hi sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM students`).Scan(&lo, &hi); err != nil {
		return 0, 0, apperr.Internalf("store: student ids: %w", err)
	}
	return lo.Int64, hi.Int64, nil
}

// EachActive streams the active students in scope with ids in [fromID, toID].
func (db *DB) EachActive(ctx context.Context, scope auth.Scope, fromID, toID int64, fn func(student.CompareCandidate) error) error {
	w := activeWhere(scope)
	w.add("s.id >= " + w.arg(fromID))
	w.add("s.id <= " + w.arg(toID))
	rows, err := db.read.QueryContext(ctx, `SELECT s.id, s.school_code, s.city_code, s.id_type, s.id_sealed, s.sex, s.birth_date,
		s.study_mode, s.entry_point, s.enrollment_date, s.expected_graduation, s.last_activity_at FROM students s`+w.String(), w.args...)
	if err != nil {
		return apperr.Internalf("store: active students: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c student.CompareCandidate
		var last int64
		if err := rows.Scan(&c.ID, &c.SchoolCode, &c.CityCode, &c.IDType, &c.IDSealed, &c.Sex, &c.BirthDate, &c.StudyMode, &c.EntryPoint,
			&c.EnrollmentDate, &c.ExpectedGraduation, &last); err != nil {
			return apperr.Internalf("store: active students: %w", err)
		}
		c.LastActivity = fromMicros(last)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SaveFindings stores a run's findings: known ones keep their state (a
// cleared one reopens), new ones open, and open ones in the run's scope
// that were not seen again are cleared. It returns how many are new.
func (db *DB) SaveFindings(ctx context.Context, scope auth.Scope, kinds []string, found []student.Finding, now time.Time, e audit.Entry) (int, error) {
	fresh := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO findings (kind, key, school_code, city_code, student_ids, detail, state, first_seen_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)
			ON CONFLICT (kind, key) DO UPDATE SET school_code = excluded.school_code, city_code = excluded.city_code,
				student_ids = excluded.student_ids, detail = excluded.detail, last_seen_at = excluded.last_seen_at,
				state = CASE WHEN findings.state = 'cleared' THEN 'open' ELSE findings.state END
			RETURNING first_seen_at`)
		if err != nil {
			return apperr.Internalf("store: save findings: %w", err)
		}
		defer stmt.Close()
		for _, f := range found {
			ids, _ := json.Marshal(f.StudentIDs)
			var first int64
			if err := stmt.QueryRowContext(ctx, f.Kind, f.Key, f.SchoolCode, f.CityCode, string(ids), f.Detail, micros(now)).Scan(&first); err != nil {
				return apperr.Internalf("store: save finding: %w", err)
			}
			if first == micros(now) {
				fresh++
			}
		}
		w := &where{}
		applyScope(w, scope, cols("city_code"), cols("school_code"))
		w.add("state = 'open'")
		w.add("last_seen_at < " + w.arg(micros(now)))
		ks := make([]string, len(kinds))
		for i, k := range kinds {
			ks[i] = w.arg(k)
		}
		w.add("kind IN (" + strings.Join(ks, ", ") + ")")
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET state = 'cleared'`+w.String(), w.args...); err != nil {
			return apperr.Internalf("store: clear findings: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
	return fresh, err
}

const findingColumns = `id, kind, key, school_code, city_code, student_ids, detail, state, first_seen_at, last_seen_at, resolved_by, resolved_at, note`

func scanFinding(row interface{ Scan(...any) error }) (*student.Finding, error) {
	var f student.Finding
	var ids string
	var first, last, resolved int64
	if err := row.Scan(&f.ID, &f.Kind, &f.Key, &f.SchoolCode, &f.CityCode, &ids, &f.Detail, &f.State, &first, &last, &f.ResolvedBy, &resolved, &f.Note); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ids), &f.StudentIDs); err != nil {
		return nil, err
	}
	f.FirstSeen, f.LastSeen, f.ResolvedAt = fromMicros(first), fromMicros(last), fromMicros(resolved)
	return &f, nil
}

// FindFindings returns a page of findings, newest first.
func (db *DB) FindFindings(ctx context.Context, f student.FindingFilter) ([]student.Finding, int, error) {
	w := &where{}
	applyScope(w, f.Scope, cols("city_code"), cols("school_code"))
	if f.Kind != "" {
		w.add("kind = " + w.arg(f.Kind))
	}
	if f.State != "" {
		w.add("state = " + w.arg(f.State))
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM findings`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count findings: %w", err)
	}
	if f.After > 0 {
		w.add("id < " + w.arg(f.After))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+findingColumns+` FROM findings`+w.String()+` ORDER BY id DESC LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: find findings: %w", err)
	}
	defer rows.Close()
	var out []student.Finding
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: scan finding: %w", err)
		}
		out = append(out, *fd)
	}
	return out, total, rows.Err()
}

// ResolveFinding closes an open finding in scope with a note.
func (db *DB) ResolveFinding(ctx context.Context, scope auth.Scope, id int64, by, note string, now time.Time, e audit.Entry) (*student.Finding, error) {
	var out *student.Finding
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		w := &where{}
		applyScope(w, scope, cols("city_code"), cols("school_code"))
		w.add("id = " + w.arg(id))
		f, err := scanFinding(tx.QueryRowContext(ctx, `SELECT `+findingColumns+` FROM findings`+w.String(), w.args...))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.E(apperr.NotFound, "", "finding.not_found")
		}
		if err != nil {
			return apperr.Internalf("store: find finding: %w", err)
		}
		if f.State == student.FindingResolved {
			return apperr.E(apperr.InvalidTransition, "", "finding.already_resolved")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET state = 'resolved', resolved_by = $1, resolved_at = $2, note = $3 WHERE id = $4`,
			by, micros(now), note, id); err != nil {
			return apperr.Internalf("store: resolve finding: %w", err)
		}
		f.State, f.ResolvedBy, f.ResolvedAt, f.Note = student.FindingResolved, by, now, note
		out = f
		return db.appendAudit(ctx, tx, e)
	})
	return out, err
}
