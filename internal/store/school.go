package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

const schoolColumns = `id, code, name, type, ownership, division_code, city_code, province_code,
	national_key, provincial_quality, status, address, capacity, created_at, updated_at, version`

func scanSchool(row interface{ Scan(...any) error }) (*school.School, error) {
	var s school.School
	var created, updated int64
	err := row.Scan(&s.ID, &s.Code, &s.Name, &s.Type, &s.Ownership, &s.DivisionCode, &s.CityCode, &s.ProvinceCode,
		&s.NationalKey, &s.ProvincialQuality, &s.Status, &s.Address, &s.Capacity, &created, &updated, &s.Version)
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	if d, ok := refdata.LookupDivision(s.DivisionCode); ok {
		s.DivisionName = d.Name
	}
	if d, ok := refdata.LookupDivision(s.CityCode); ok {
		s.CityName = d.Name
	}
	return &s, nil
}

func schoolWhere(f school.Filter) *where {
	w := &where{}
	applyScope(w, f.Scope, cols("city_code"), cols("code"))
	if f.Query != "" {
		w.add("(name LIKE " + w.arg(likeArg(f.Query)) + ` ESCAPE '\' OR code LIKE ` + w.arg(likeArg(f.Query)) + ` ESCAPE '\')`)
	}
	if f.CityCode != "" {
		w.add("city_code = " + w.arg(f.CityCode))
	}
	if f.DivisionCode != "" {
		w.add("division_code = " + w.arg(f.DivisionCode))
	}
	if f.Type != "" {
		w.add("type = " + w.arg(f.Type))
	}
	if f.Status != "" {
		w.add("status = " + w.arg(f.Status))
	}
	return w
}

// FindSchools returns one page of schools ordered by code, and the total
// matching the filter (regardless of the page).
func (db *DB) FindSchools(ctx context.Context, f school.Filter) ([]*school.School, int, error) {
	w := schoolWhere(f)
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count schools: %w", err)
	}
	if f.After != "" {
		w.add("code > " + w.arg(f.After))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+schoolColumns+` FROM schools`+w.String()+` ORDER BY code LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: find schools: %w", err)
	}
	defer rows.Close()
	var out []*school.School
	for rows.Next() {
		s, err := scanSchool(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: scan school: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, apperr.Internalf("store: find schools: %w", err)
	}
	return out, total, nil
}

// FindSchool returns the school with code if scope may see it.
func (db *DB) FindSchool(ctx context.Context, scope auth.Scope, code string) (*school.School, error) {
	w := schoolWhere(school.Filter{Scope: scope})
	w.add("code = " + w.arg(code))
	s, err := scanSchool(db.readQueryRow(ctx, `SELECT `+schoolColumns+` FROM schools`+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "school.not_found", code)
	}
	if err != nil {
		return nil, apperr.Internalf("store: find school: %w", err)
	}
	return s, nil
}

// SchoolExists reports whether a school with code exists (any scope).
func (db *DB) SchoolExists(ctx context.Context, code string) (bool, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools WHERE code = $1`, code).Scan(&n); err != nil {
		return false, apperr.Internalf("store: school exists: %w", err)
	}
	return n > 0, nil
}

// CountSchools summarises the schools in scope by type and by city.
func (db *DB) CountSchools(ctx context.Context, scope auth.Scope) (school.Counts, error) {
	w := schoolWhere(school.Filter{Scope: scope})
	c := school.Counts{ByType: map[string]int{}, ByCity: map[string]int{}}
	rows, err := db.read.QueryContext(ctx, `SELECT city_code, type, COUNT(*) FROM schools`+w.String()+` GROUP BY city_code, type`, w.args...)
	if err != nil {
		return c, apperr.Internalf("store: count schools: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var city, typ string
		var n int
		if err := rows.Scan(&city, &typ, &n); err != nil {
			return c, apperr.Internalf("store: count schools: %w", err)
		}
		c.Total += n
		c.ByType[typ] += n
		c.ByCity[city] += n
	}
	return c, rows.Err()
}

// CreateSchool inserts s; a taken code is a conflict.
func (db *DB) CreateSchool(ctx context.Context, s *school.School, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO schools (code, name, type, ownership, division_code, city_code, province_code,
			national_key, provincial_quality, status, address, capacity, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			s.Code, s.Name, s.Type, s.Ownership, s.DivisionCode, s.CityCode, s.ProvinceCode,
			s.NationalKey, s.ProvincialQuality, s.Status, s.Address, s.Capacity, micros(s.CreatedAt), micros(s.UpdatedAt), s.Version).Scan(&s.ID)
		if isUniqueViolation(err) {
			return apperr.E(apperr.Duplicate, "code", "school.code.taken", s.Code)
		}
		if err != nil {
			return apperr.Internalf("store: create school: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// UpdateSchool writes s if its stored version is still prevVersion.
func (db *DB) UpdateSchool(ctx context.Context, s *school.School, prevVersion int64, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE schools SET name = $1, type = $2, ownership = $3, division_code = $4, city_code = $5,
			province_code = $6, national_key = $7, provincial_quality = $8, status = $9, address = $10, capacity = $11, updated_at = $12,
			version = $13 WHERE code = $14 AND version = $15`,
			s.Name, s.Type, s.Ownership, s.DivisionCode, s.CityCode, s.ProvinceCode, s.NationalKey, s.ProvincialQuality,
			s.Status, s.Address, s.Capacity, micros(s.UpdatedAt), s.Version, s.Code, prevVersion)
		if err != nil {
			return apperr.Internalf("store: update school: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.E(apperr.Conflict, "version", "school.version.stale")
		}
		return db.appendAudit(ctx, tx, e)
	})
}
