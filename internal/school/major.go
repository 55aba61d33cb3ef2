package school

import (
	"cmp"
	"context"
	"regexp"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
)

// Major is an entry of the major catalogue (技工院校专业目录). The names
// ship with gongjiang; the official codes are not in our reference data,
// so a code is optional until the official list is imported.
type Major struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Code     string `json:"code,omitempty"`
	Category string `json:"category,omitempty"`
	Source   string `json:"source,omitempty"`
}

// MajorStore is what the catalogue needs from storage.
type MajorStore interface {
	MajorCatalogue(ctx context.Context) ([]Major, error)
	// SaveMajors inserts the majors without an id and updates the others,
	// in one transaction; a name or code taken by another is a duplicate.
	SaveMajors(ctx context.Context, list []*Major, e audit.Entry) error
}

var majorCodePattern = regexp.MustCompile(`^[0-9A-Za-z-]{2,12}$`)

// checkMajor normalizes and checks one catalogue entry.
func checkMajor(m *Major) error {
	var err error
	if m.Name, err = checkText("name", "专业名称", m.Name, 60, true); err != nil {
		return err
	}
	if m.Code = strings.TrimSpace(m.Code); m.Code != "" && !majorCodePattern.MatchString(m.Code) {
		return apperr.E(apperr.Invalid, "code", "major.code.invalid", m.Code)
	}
	if m.Category, err = checkText("category", "专业类别", m.Category, 60, false); err != nil {
		return err
	}
	m.Source, err = checkText("source", "来源", m.Source, 200, false)
	return err
}

// SaveMajor adds a major to the catalogue, or changes the code, category
// and source of one (province only; a name never changes, records use it).
func SaveMajor(ctx context.Context, store MajorStore, p auth.Principal, m Major) (*Major, error) {
	if p.Role != auth.RoleProvince {
		return nil, apperr.E(apperr.Forbidden, "", "major.forbidden")
	}
	if err := checkMajor(&m); err != nil {
		return nil, err
	}
	action := "major.add"
	if m.ID != 0 {
		action = "major.update"
	}
	if err := store.SaveMajors(ctx, []*Major{&m}, audit.Entry{Actor: p.Name, Action: action, Entity: "major", EntityID: m.Name,
		Data: map[string]any{"code": m.Code, "category": m.Category}}); err != nil {
		return nil, err
	}
	return &m, nil
}

// ImportSummary is what an import of the official list did.
type ImportSummary struct {
	Added, Updated, Unchanged int
}

// ImportMajors loads an official list into the catalogue. Entries are
// matched by name: a match takes the official code and category, a new
// name is added. A code already held by another name refuses the import:
// renaming a major would orphan the records that name it. Nothing is
// written if any row is wrong.
func ImportMajors(ctx context.Context, store MajorStore, actor string, rows []Major, dryRun bool) (ImportSummary, error) {
	var sum ImportSummary
	current, err := store.MajorCatalogue(ctx)
	if err != nil {
		return sum, err
	}
	byCode, byName := map[string]*Major{}, map[string]*Major{}
	for i := range current {
		m := &current[i]
		byName[m.Name] = m
		if m.Code != "" {
			byCode[m.Code] = m
		}
	}
	var changed []*Major
	seen := map[string]int{}
	for i, r := range rows {
		line := i + 2 // the header is line 1
		if err := checkMajor(&r); err != nil {
			e := apperr.As(err)
			return sum, apperr.E(e.Code, e.Field, "major.import.row", line, e.Message())
		}
		// A repeated row is harmless (lists compiled from several sources
		// have them); a name or code given two different ways is not.
		if prev, dup := seen[r.Name]; dup {
			if p := rows[prev-2]; p.Code == r.Code && p.Category == r.Category {
				continue
			}
			return sum, apperr.E(apperr.Invalid, "", "major.import.duplicate", line, prev)
		}
		if prev, dup := seen["code:"+r.Code]; dup && r.Code != "" {
			return sum, apperr.E(apperr.Invalid, "", "major.import.duplicate", line, prev)
		}
		seen[r.Name], seen["code:"+r.Code] = line, line
		if holder := byCode[r.Code]; r.Code != "" && holder != nil && holder.Name != r.Name {
			return sum, apperr.E(apperr.Conflict, "code", "major.import.code_taken", line, r.Code, holder.Name)
		}
		if r.Source == "" {
			r.Source = "技工院校专业目录（导入）"
		}
		m := byName[r.Name]
		if m != nil { // a blank cell keeps what the catalogue has
			r.Code, r.Category = cmp.Or(r.Code, m.Code), cmp.Or(r.Category, m.Category)
		}
		switch {
		case m == nil:
			add := r
			changed = append(changed, &add)
			sum.Added++
		case m.Code == r.Code && m.Category == r.Category:
			sum.Unchanged++
		default:
			m.Code, m.Category, m.Source = r.Code, r.Category, r.Source
			changed = append(changed, m)
			sum.Updated++
		}
	}
	if dryRun || len(changed) == 0 {
		return sum, nil
	}
	return sum, store.SaveMajors(ctx, changed, audit.Entry{Actor: actor, Action: "major.import", Entity: "major", EntityID: "catalogue",
		Data: map[string]any{"added": sum.Added, "updated": sum.Updated, "unchanged": sum.Unchanged}})
}
