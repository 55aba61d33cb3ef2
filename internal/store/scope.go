package store

import "github.com/gongjiang/gongjiang/internal/auth"

// applyScope restricts a query to what scope may see. It is the one place
// where a caller's scope becomes SQL: cityCol and schoolCol name the columns
// holding the row's city division code and school code.
func applyScope(w *where, s auth.Scope, cityCol, schoolCol string) {
	switch s.Kind {
	case auth.ScopeAll:
	case auth.ScopeCity:
		w.add(cityCol + " = " + w.arg(s.Code))
	case auth.ScopeSchool:
		w.add(schoolCol + " = " + w.arg(s.Code))
	default:
		w.add("1 = 0")
	}
}
