package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/pressly/goose/v3"
)

// goMigrations are the schema steps SQL files cannot express. They take
// their numbers in the same sequence as the files, which leave them free.
func (db *DB) goMigrations() []*goose.Migration {
	if db.Engine != SQLite {
		// PostgreSQL tests IN lists cheaply; the version is only recorded.
		return []*goose.Migration{goose.NewGoMigration(11, nil, nil)}
	}
	return []*goose.Migration{goose.NewGoMigration(11,
		&goose.GoFunc{RunTx: rewriteChecks(checkAsComparisons)},
		&goose.GoFunc{RunTx: rewriteChecks(checkAsInList)})}
}

// SQLite evaluates a CHECK (col IN ('a', 'b', 'c')) by building a
// temporary index of the list for every row it writes: for the students'
// status and class level that was a third of a bulk insert's time. The
// same rule as a chain of comparisons costs next to nothing, so the
// migration rewrites every such CHECK in the stored table definitions. A
// change that keeps each constraint's meaning is the case SQLite's
// documentation allows through writable_schema (ALTER TABLE, section 7);
// setting schema_version makes every connection, this one included, read
// the definitions again.
var (
	checkInList      = regexp.MustCompile(`CHECK \((\w+) IN \(('[^']*'(?:, '[^']*')*)\)\)`)
	checkComparisons = regexp.MustCompile(`CHECK \((\w+) = '[^']*'(?: OR \w+ = '[^']*')*\)`)
	quoted           = regexp.MustCompile(`'[^']*'`)
	column           = regexp.MustCompile(`^CHECK \((\w+) `)
)

// checkAsComparisons turns the IN lists of a table definition into
// comparison chains; checkAsInList turns them back.
func checkAsComparisons(def string) string {
	return checkInList.ReplaceAllStringFunc(def, func(c string) string {
		col := column.FindStringSubmatch(c)[1]
		var terms []string
		for _, v := range quoted.FindAllString(c, -1) {
			terms = append(terms, col+" = "+v)
		}
		return "CHECK (" + strings.Join(terms, " OR ") + ")"
	})
}

func checkAsInList(def string) string {
	return checkComparisons.ReplaceAllStringFunc(def, func(c string) string {
		col := column.FindStringSubmatch(c)[1]
		return "CHECK (" + col + " IN (" + strings.Join(quoted.FindAllString(c, -1), ", ") + "))"
	})
}

func rewriteChecks(rewrite func(string) string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL`)
		if err != nil {
			return err
		}
		changed := map[string]string{}
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				rows.Close()
				return err
			}
			if next := rewrite(def); next != def {
				changed[name] = next
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(changed) == 0 {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `PRAGMA writable_schema = ON`); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, `PRAGMA writable_schema = OFF`)
		for name, def := range changed {
			if _, err := tx.ExecContext(ctx, `UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?`, def, name); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA schema_version = %d`, version+1))
		return err
	}
}
