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
	// Job, if set, makes the run resumable (see JobRun), with a checkpoint
	// after each row written (each row is its own transaction) or each
	// 100 rows checked; refusals then go to Checkpoints and Run returns
	// none.
	Job         *JobRun
	Checkpoints interface {
		SaveImportCheckpoint(ctx context.Context, cp Checkpoint) error
	}
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
	if err != nil || dryRun || mode == ModeValidOnly || sum.Refused > 0 { // with a job, the refusals are stored, not returned
		sum.Committed = write && err == nil
		return sum, refused, err
	}
	if im.Job != nil { // the write pass counts afresh
		im.Job.From = Checkpoint{}
	}
	sum, refused, err = im.pass(ctx, p, open, true)
	sum.Committed = err == nil
	return sum, refused, err
}

func (im *SchoolImport) pass(ctx context.Context, p auth.Principal, open Opener, write bool) (Summary, []Refusal, error) {
	var sum Summary
	var refused []Refusal // with a job, only those since the last checkpoint
	resume, line, sinceCheckpoint := 0, 0, 0
	if im.Job != nil {
		sum, resume = im.Job.From.Summary, im.Job.From.Line
	}
	checkpoint := func(every int) error {
		if im.Job == nil || sinceCheckpoint < every {
			return nil
		}
		if err := im.Checkpoints.SaveImportCheckpoint(ctx, im.Job.checkpoint(line, sum, refused)); err != nil {
			return err
		}
		refused, sinceCheckpoint = refused[:0], 0
		return nil
	}
	refuse := func(r Refusal) {
		refused = append(refused, r)
		sum.Refused++
	}
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
		if err != nil && (row.Line == 0 || apperr.CodeOf(err) == apperr.Internal) {
			return sum, refused, err
		}
		if row.Line <= resume {
			if err == nil { // accounted for by an earlier run; only the duplicate check needs it
				schoolInputSeen(row, index, seen)
			}
			continue
		}
		if err == nil && Schools.IsExample(row.Cells, index) { // the template's example row, left in
			continue
		}
		line = row.Line
		sum.Rows++
		sinceCheckpoint++
		if err != nil { // a bad cell refuses its row
			refuse(Refusal{Line: row.Line, Cells: row.Cells, Reason: apperr.As(err).Message()})
		} else {
			outcome, err := im.row(ctx, p, row, index, seen, write)
			switch {
			case err != nil && apperr.CodeOf(err) == apperr.Internal:
				return sum, refused, err
			case err != nil:
				e := apperr.As(err)
				refuse(Refusal{Line: row.Line, Cells: row.Cells, Column: headerOf[e.Field], Reason: e.Message()})
			case outcome == "added":
				sum.Added++
			case outcome == "updated":
				sum.Updated++
			default:
				sum.Unchanged++
			}
		}
		every := 100
		if write {
			every = 1
		}
		if err := checkpoint(every); err != nil {
			return sum, refused, err
		}
	}
	return sum, refused, checkpoint(1)
}

// schoolInputSeen records a row's school code as seen, as row does.
func schoolInputSeen(row Row, index map[string]int, seen map[string]int) {
	if code, _, err := schoolInput(row, index); err == nil && code != "" {
		if _, dup := seen[code]; !dup {
			seen[code] = row.Line
		}
	}
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
