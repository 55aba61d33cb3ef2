package store

import (
	"context"
	"database/sql"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/school"
)

// MajorCatalogue returns the major catalogue in its order.
func (db *DB) MajorCatalogue(ctx context.Context) ([]school.Major, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, COALESCE(code, ''), category, source FROM majors ORDER BY id`)
	if err != nil {
		return nil, apperr.Internalf("store: major catalogue: %w", err)
	}
	defer rows.Close()
	var out []school.Major
	for rows.Next() {
		var m school.Major
		if err := rows.Scan(&m.ID, &m.Name, &m.Code, &m.Category, &m.Source); err != nil {
			return nil, apperr.Internalf("store: scan major: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SaveMajors adds the majors without an id and updates the code, category
// and source of the others (never the name: records name their major). An
// empty code is stored as NULL: codes are unique only once given.
func (db *DB) SaveMajors(ctx context.Context, list []*school.Major, e audit.Entry) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range list {
			var code any
			if m.Code != "" {
				code = m.Code
			}
			var err error
			if m.ID == 0 {
				err = tx.QueryRowContext(ctx, `INSERT INTO majors (name, code, category, source) VALUES ($1, $2, $3, $4) RETURNING id`,
					m.Name, code, m.Category, m.Source).Scan(&m.ID)
			} else {
				var res sql.Result
				res, err = tx.ExecContext(ctx, `UPDATE majors SET code = $1, category = $2, source = $3 WHERE id = $4`,
					code, m.Category, m.Source, m.ID)
				if err == nil {
					if n, _ := res.RowsAffected(); n != 1 {
						return apperr.E(apperr.NotFound, "", "major.not_found")
					}
				}
			}
			if isUniqueViolation(err) {
				return apperr.E(apperr.Duplicate, "name", "major.duplicate", m.Name, m.Code)
			}
			if err != nil {
				return apperr.Internalf("store: save major: %w", err)
			}
		}
		return db.appendAudit(ctx, tx, e)
	})
	if err == nil {
		db.majorsMu.Lock()
		db.majors = nil // MajorExists reads the catalogue again
		db.majorsMu.Unlock()
	}
	return err
}
