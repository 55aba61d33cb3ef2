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
const bulkRows = 1000

// insertRows inserts rows (each len(cols) values) into table in batches.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	return db.insertEach(ctx, tx, table, cols, len(rows), func(args []any, i int) []any { return append(args, rows[i]...) })
}

// insertEach inserts n rows into table in batches, appending row i's
// values (len(cols) of them) to the statement's arguments with row: the
// bulk paths build no slice per row. SQLite gets anonymous ? placeholders:
// it treats $N as a named parameter and resolves names by a linear
// search, quadratic in a statement of thousands of values.
func (db *DB) insertEach(ctx context.Context, tx *sql.Tx, table string, cols []string, n int, row func(args []any, i int) []any) error {
	var full *sql.Stmt // full batches share one prepared statement
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, bulkRows*len(cols))
	for start := 0; start < n; start += bulkRows {
		end := min(start+bulkRows, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(args, i)
		}
		var err error
		if end-start == bulkRows {
			if full == nil {
				q := db.insertSQL(table, cols, bulkRows)
				if cached := db.writeStmts.lookup(q); cached != nil { // see warmBulk
					full = tx.StmtContext(ctx, cached)
				} else if full, err = tx.PrepareContext(ctx, q); err != nil {
					return apperr.Internalf("store: bulk insert into %s: %w", table, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, db.insertSQL(table, cols, end-start), args...)
		}
		if isUniqueViolation(err) {
			return apperr.E(apperr.Duplicate, "", "bulk.duplicate", table)
		}
		if err != nil {
			return apperr.Internalf("store: bulk insert into %s: %w", table, err)
		}
	}
	return nil
}

// warmBulk prepares the full-batch INSERT of table once, outside any
// transaction, for callers that insert batch after batch (imports):
// parsing a statement of thousands of parameters costs as much as a
// seventh of each batch.
func (db *DB) warmBulk(ctx context.Context, table string, cols []string) {
	db.writeStmts.get(ctx, db.insertSQL(table, cols, bulkRows)) // on failure, insertRows prepares its own
}

// insertSQL is a multi-row INSERT of n rows.
func (db *DB) insertSQL(table string, cols []string, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	p := 0
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j := range cols {
			if j > 0 {
				sb.WriteString(", ")
			}
			p++
			if db.Engine == SQLite {
				sb.WriteByte('?')
			} else {
				fmt.Fprintf(&sb, "$%d", p)
			}
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// LoadSchoolsAndUsers inserts many schools and accounts in one transaction
// with one audit event for the whole load: the demo generator's bulk path.
func (db *DB) LoadSchoolsAndUsers(ctx context.Context, schools []*school.School, users []*auth.User, e audit.Entry) error {
	schoolRows := make([][]any, len(schools))
	for i, s := range schools {
		schoolRows[i] = []any{s.Code, s.Name, s.Type, s.Ownership, s.DivisionCode, s.CityCode, s.ProvinceCode,
			s.NationalKey, s.ProvincialQuality, s.Status, s.Address, s.Capacity, micros(s.CreatedAt), micros(s.UpdatedAt), s.Version}
	}
	userRows := make([][]any, len(users))
	for i, u := range users {
		userRows[i] = []any{u.Name, u.DisplayName, string(u.Role), u.Scope, u.PasswordHash, u.Disabled, micros(u.CreatedAt)}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertRows(ctx, tx, "schools", []string{"code", "name", "type", "ownership", "division_code", "city_code",
			"province_code", "national_key", "provincial_quality", "status", "address", "capacity", "created_at", "updated_at", "version"}, schoolRows); err != nil {
			return err
		}
		if err := db.insertRows(ctx, tx, "users", []string{"name", "display_name", "role", "scope", "password_hash", "disabled", "created_at"}, userRows); err != nil {
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

// SetSchoolCapacities sets the approved size of many schools at once (the
// demo generator's path; changes through the service are audited singly).
func (db *DB) SetSchoolCapacities(ctx context.Context, capacity map[string]int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE schools SET capacity = $1 WHERE code = $2`)
		if err != nil {
			return apperr.Internalf("store: set capacities: %w", err)
		}
		defer stmt.Close()
		for code, n := range capacity {
			if _, err := stmt.ExecContext(ctx, n, code); err != nil {
				return apperr.Internalf("store: set capacity: %w", err)
			}
		}
		return nil
	})
}
