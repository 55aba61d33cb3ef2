package transfer

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
)

// SchoolImport loads the school registry from a sheet through the school
// service's own rules and permissions: a new code is created (province
// only), an existing one updated where it differs (the province, or the
// school's city; each update audited with before and after), otherwise
// unchanged. There are few schools: rows are checked and written one by
// one, so valid-only needs no batches and all-or-nothing checks the file
// completely before the first write.
type SchoolImport struct {
	Schools *school.Service
}

// schoolInput reads a row as the fields of a school.
func schoolInput(row Row, index map[string]int) (string, school.Input, error) {
	v := func(key string) *string {
		if index[key] < 0 {
			return nil
		}
		s := Value(row.Cells, index, key)
		return &s
	}
	yes := func(key string) (*bool, error) {
		s := v(key)
		if s == nil || *s == "" {
			return nil, nil
		}
		switch *s {
		case "是", "Y", "y", "1", "TRUE", "true":
			b := true
			return &b, nil
		case "否", "N", "n", "0", "FALSE", "false":
			b := false
			return &b, nil
		}
		return nil, apperr.E(apperr.Invalid, key, "import.yes_no", *s)
	}
	in := school.Input{Code: v("code"), Name: v("name"), Type: v("type"), Ownership: v("ownership"), DivisionCode: v("division_code"),
		Status: v("status"), Address: v("address")}
	if in.Status != nil && *in.Status == "" {
		in.Status = nil
	}
	var err error
	if in.NationalKey, err = yes("national_key"); err != nil {
		return "", in, err
	}
	if in.ProvincialQuality, err = yes("provincial_quality"); err != nil {
		return "", in, err
	}
	if s := v("capacity"); s != nil && *s != "" {
		n, err := strconv.Atoi(*s)
		if err != nil {
			return "", in, apperr.E(apperr.Invalid, "capacity", "import.integer", *s)
		}
		in.Capacity = &n
	}
	code := ""
	if in.Code != nil {
		code = strings.ToUpper(*in.Code)
		in.Code = &code
	}
	return code, in, nil
}

// Run imports schools from the sheet open returns.
func (im *SchoolImport) Run(ctx context.Context, p auth.Principal, open Opener, mode string, dryRun bool) (Summary, []Refusal, error) {
	if mode != ModeAllOrNothing && mode != ModeValidOnly {
		return Summary{}, nil, apperr.E(apperr.Invalid, "mode", "import.mode.invalid", mode)
	}
	write := !dryRun && mode == ModeValidOnly
	sum, refused, err := im.pass(ctx, p, open, write)
	if err != nil || dryRun || mode == ModeValidOnly || len(refused) > 0 {
		sum.Committed = write && err == nil
		return sum, refused, err
	}
	sum, refused, err = im.pass(ctx, p, open, true)
	sum.Committed = err == nil
	return sum, refused, err
}

func (im *SchoolImport) pass(ctx context.Context, p auth.Principal, open Opener, write bool) (Summary, []Refusal, error) {
	var sum Summary
	var refused []Refusal
	t, err := open()
	if err != nil {
		return sum, nil, err
	}
	defer t.Close()
	index, _, missing := Schools.Match(t.Header())
	if len(missing) > 0 {
		return sum, nil, apperr.E(apperr.Invalid, "", "import.columns.missing", strings.Join(missing, "、"))
	}
	headerOf := map[string]string{}
	for _, c := range Schools.Columns {
		headerOf[c.Key] = c.Header
	}
	seen := map[string]int{}
	for {
		row, err := t.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && row.Line > 0 && apperr.CodeOf(err) != apperr.Internal { // a bad cell refuses its row
			sum.Rows++
			refused = append(refused, Refusal{Line: row.Line, Cells: row.Cells, Reason: apperr.As(err).Message()})
			continue
		}
		if err != nil {
			return sum, refused, err
		}
		if Schools.IsExample(row.Cells, index) { // the template's example row, left in
			continue
		}
		sum.Rows++
		outcome, err := im.row(ctx, p, row, index, seen, write)
		if err != nil {
			e := apperr.As(err)
			if e.Code == apperr.Internal {
				return sum, refused, err
			}
			refused = append(refused, Refusal{Line: row.Line, Cells: row.Cells, Column: headerOf[e.Field], Reason: e.Message()})
			continue
		}
		switch outcome {
		case "added":
			sum.Added++
		case "updated":
			sum.Updated++
		default:
			sum.Unchanged++
		}
	}
	sum.Refused = len(refused)
	return sum, refused, nil
}

// row checks (and with write, applies) one row: added, updated or
// unchanged.
func (im *SchoolImport) row(ctx context.Context, p auth.Principal, row Row, index map[string]int, seen map[string]int, write bool) (string, error) {
	code, in, err := schoolInput(row, index)
	if err != nil {
		return "", err
	}
	if first, dup := seen[code]; dup && code != "" {
		return "", apperr.E(apperr.Duplicate, "code", "import.school.duplicate", first)
	}
	seen[code] = row.Line
	_, err = im.Schools.Get(ctx, p, code)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		if !write {
			return "added", im.Schools.CheckNew(p, in)
		}
		_, err := im.Schools.Create(ctx, p, in)
		return "added", err
	case err != nil:
		return "", err
	}
	changed, err := im.Schools.Changes(ctx, p, code, in)
	if err != nil || !changed {
		return "unchanged", err
	}
	if write {
		_, err = im.Schools.Update(ctx, p, code, in)
	}
	return "updated", err
}
