package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
)

// bulkRows is how many rows one multi-row INSERT carries: well under
// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const bulkRows = 500

// insertRows inserts rows (each len(cols) values) into table in batches.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	for start := 0; start < len(rows); start += bulkRows {
		batch := rows[start:min(start+bulkRows, len(rows))]
		var sb strings.Builder
		fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		args := make([]any, 0, len(batch)*len(cols))
		for i, row := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					sb.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&sb, "$%d", len(args))
			}
			sb.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			if isUniqueViolation(err) {
				return apperr.E(apperr.Duplicate, "", "bulk.duplicate", table)
			}
			return apperr.Internalf("store: bulk insert into %s: %w", table, err)
		}
	}
	return nil
}

// LoadSchoolsAndUsers inserts many schools and accounts in one transaction
// with one audit event for the whole load: the demo generator's bulk path.
func (db *DB) LoadSchoolsAndUsers(ctx context.Context, schools []*school.School, users []*auth.User, e audit.Entry) error {
	schoolRows := make([][]any, len(schools))
	for i, s := range schools {
		schoolRows[i] = []any{s.Code, s.Name, s.Type, s.Ownership, s.DivisionCode, s.CityCode, s.ProvinceCode,
			s.NationalKey, s.ProvincialQuality, s.Status, s.Address, micros(s.CreatedAt), micros(s.UpdatedAt), s.Version}
	}
	userRows := make([][]any, len(users))
	for i, u := range users {
		userRows[i] = []any{u.Name, u.DisplayName, string(u.Role), u.Scope, u.PasswordHash, u.Disabled, micros(u.CreatedAt)}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertRows(ctx, tx, "schools", []string{"code", "name", "type", "ownership", "division_code", "city_code",
			"province_code", "national_key", "provincial_quality", "status", "address", "created_at", "updated_at", "version"}, schoolRows); err != nil {
			return err
		}
		if err := insertRows(ctx, tx, "users", []string{"name", "display_name", "role", "scope", "password_hash", "disabled", "created_at"}, userRows); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// CountSchoolsAll counts every school (no scope): used to tell an empty
// database from a populated one.
func (db *DB) CountSchoolsAll(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools`).Scan(&n); err != nil {
		return 0, apperr.Internalf("store: count schools: %w", err)
	}
	return n, nil
}
