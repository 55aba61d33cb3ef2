package store

import (
	"strings"

	"github.com/gongjiang/gongjiang/internal/auth"
)

// applyScope restricts a query to what scope may see. It is the one place
// where a caller's scope becomes SQL. cityCols and schoolCols name the
// columns holding a row's city division code and school code; a row is
// visible when any of them matches (a transfer is seen by both sides).
func applyScope(w *where, s auth.Scope, cityCols, schoolCols []string) {
	var cols []string
	switch s.Kind {
	case auth.ScopeAll:
		return
	case auth.ScopeCity:
		cols = cityCols
	case auth.ScopeSchool:
		cols = schoolCols
	}
	if len(cols) == 0 {
		w.add("1 = 0")
		return
	}
	p := w.arg(s.Code)
	conds := make([]string, len(cols))
	for i, c := range cols {
		conds[i] = c + " = " + p
	}
	w.add("(" + strings.Join(conds, " OR ") + ")")
}

// cols is shorthand for a column list.
func cols(c ...string) []string { return c }
