package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// Import modes.
const (
	ModeAllOrNothing = "all-or-nothing" // one refused row refuses the file
	ModeValidOnly    = "valid-only"     // load the valid rows, return the rest
)

// Summary is what an import did, or would do in a dry run.
type Summary struct {
	Rows      int  `json:"rows"`
	Added     int  `json:"added"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	Refused   int  `json:"refused"`
	Committed bool `json:"committed"`
}

// Refusal is a row that was not loaded and why.
type Refusal struct {
	Line   int      `json:"line"`
	Cells  []string `json:"cells"`
	Column string   `json:"column,omitempty"` // the header of the column at fault
	Reason string   `json:"reason"`
}

// Explain is the refusal for people: the column at fault and what is
// wrong.
func (r Refusal) Explain() string {
	if r.Column != "" {
		return "“" + r.Column + "”：" + r.Reason
	}
	return r.Reason
}

// StudentStore is what a student import needs from storage.
type StudentStore interface {
	FindSchool(ctx context.Context, scope auth.Scope, code string) (*school.School, error)
	ActiveByBlind(ctx context.Context, blinds []string) (map[string]*student.Student, error)
	// ImportStudents registers a batch in one transaction and answers
	// which rows were refused as duplicates; checkpoint, given those, is
	// the job's progress to write in the same transaction (nil: none).
	ImportStudents(ctx context.Context, batch []*student.Student, e audit.Entry, checkpoint func(dup []bool) *Checkpoint) ([]bool, error)
	// ImportAllStudents registers every batch next returns in one
	// transaction; final, given how many were added, is the job's
	// progress to write in it (nil: none).
	ImportAllStudents(ctx context.Context, next func() ([]*student.Student, error), e audit.Entry, final func(added int) *Checkpoint) (int, error)
	SaveImportCheckpoint(ctx context.Context, cp Checkpoint) error
}

// StudentImport loads student registrations from a sheet with the
// registry's own rules: identity numbers, codes, dates, majors, the
// caller's scope, one active 学籍 per person (within the file and against
// the database). Re-importing a file changes nothing: a row whose person
// is already registered at that school with the same details is
// unchanged. Details that differ are refused: they change through the
// status-change workflow, not by import.
type StudentImport struct {
	Store    StudentStore
	Students *student.Service
	// Progress, if set, is told how many rows have been read and, in the
	// write pass of an all-or-nothing commit, written.
	Progress func(read, written int)
	// Job, if set, makes the run resumable (see JobRun); refusals then go
	// to the store and Run returns none.
	Job *JobRun

	unchanged map[string]bool // blind indexes found already registered, by the first pass
	lastLine  int             // the last line the latest pass read
}

// importBatch is how many rows are checked against the database, and
// committed, together.
const importBatch = 5000

// Open opens the file again for each pass over it.
type Opener func() (Table, error)

// pending is a checked row waiting for its batch's database check.
type pending struct {
	line  int
	cells []string
	st    *student.Student
}

// Run imports students from the sheet open returns. In a dry run, or in
// all-or-nothing mode with refusals, nothing is written. Valid-only mode
// commits batch by batch; all-or-nothing checks the whole file first and
// then commits it in one transaction.
func (im *StudentImport) Run(ctx context.Context, p auth.Principal, open Opener, mode string, dryRun bool) (Summary, []Refusal, error) {
	if mode != ModeAllOrNothing && mode != ModeValidOnly {
		return Summary{}, nil, apperr.E(apperr.Invalid, "mode", "import.mode.invalid", mode)
	}
	if !p.CanWrite() {
		return Summary{}, nil, apperr.E(apperr.Forbidden, "", "student.register.forbidden")
	}
	commit := !dryRun && mode == ModeValidOnly
	job := im.Job
	if !dryRun && mode == ModeAllOrNothing {
		// Nothing this commit writes survives a crash until its single
		// transaction ends, so it has no checkpoints: it starts over.
		im.Job = nil
		defer func() { im.Job = job }()
	}
	sum, refused, err := im.pass(ctx, p, open, commit)
	if err != nil || dryRun || mode == ModeValidOnly {
		sum.Committed = commit && err == nil
		return sum, refused, err
	}
	if len(refused) > 0 { // all-or-nothing: nothing is written
		if job != nil {
			return sum, nil, im.Store.SaveImportCheckpoint(ctx, job.checkpoint(im.lastLine, sum, refused))
		}
		return sum, refused, nil
	}
	// Second pass: the file checked clean; commit it whole.
	t, err := open()
	if err != nil {
		return sum, nil, err
	}
	defer t.Close()
	chunks, stop := readAhead(im.rowReader(ctx, p, t), 0)
	defer stop()
	var final func(int) *Checkpoint
	if job != nil {
		final = func(added int) *Checkpoint {
			s := sum
			s.Added, s.Committed = added, true
			cp := job.checkpoint(im.lastLine, s, nil)
			return &cp
		}
	}
	written := 0
	added, err := im.Store.ImportAllStudents(ctx, func() ([]*student.Student, error) {
		if im.Progress != nil {
			im.Progress(sum.Rows, written)
		}
		for c := range chunks { // until a chunk has rows to write
			if c.err != nil {
				return nil, c.err
			}
			if len(c.refused) > 0 {
				return nil, apperr.E(apperr.Conflict, "", "import.changed", c.refused[0].Line, c.refused[0].Reason)
			}
			var batch []*student.Student
			for _, r := range c.rows {
				if !im.known(r.st) {
					batch = append(batch, r.st)
				}
			}
			if len(batch) > 0 {
				written += len(batch)
				return batch, nil
			}
		}
		return nil, nil
	}, audit.Entry{Actor: p.Name, Action: "import.students", Entity: "import", EntityID: "students",
		Data: map[string]any{"mode": mode, "rows": sum.Rows}}, final)
	if err != nil {
		return sum, nil, err
	}
	sum.Added, sum.Committed = added, true
	return sum, nil, nil
}

// pass reads the whole file once, checking every row; with commit it
// loads each batch's valid rows as it goes. With a job, each batch ends
// in a checkpoint, written with the batch's rows.
func (im *StudentImport) pass(ctx context.Context, p auth.Principal, open Opener, commit bool) (Summary, []Refusal, error) {
	var sum Summary
	resume := 0
	if im.Job != nil {
		sum, resume = im.Job.From.Summary, im.Job.From.Line
	}
	var refused []Refusal // with a job, only those since the last checkpoint
	t, err := open()
	if err != nil {
		return sum, nil, err
	}
	defer t.Close()
	im.unchanged = map[string]bool{}
	im.lastLine = resume
	rd := im.rowReader(ctx, p, t)
	var batch []pending
	refuse := func(r Refusal) {
		refused = append(refused, r)
		sum.Refused++
	}
	// stored is set when a batch's commit wrote the checkpoint itself.
	stored := false
	flush := func() error {
		stored = false
		if len(batch) == 0 {
			return nil
		}
		blinds := make([]string, len(batch))
		for i, b := range batch {
			blinds[i] = b.st.IDBlind
		}
		active, err := im.Store.ActiveByBlind(ctx, blinds)
		if err != nil {
			return err
		}
		var load []*student.Student
		var loadRows []pending
		for _, b := range batch {
			held := active[b.st.IDBlind]
			switch {
			case held == nil:
				load, loadRows = append(load, b.st), append(loadRows, b)
			case held.SchoolCode == b.st.SchoolCode && sameRegistration(held, b.st):
				sum.Unchanged++
				im.unchanged[b.st.IDBlind] = true
			case held.SchoolCode == b.st.SchoolCode:
				refuse(Refusal{Line: b.line, Cells: b.cells, Reason: apperr.E(apperr.Conflict, "", "import.differs", held.StudentNo).Message()})
			default:
				refuse(Refusal{Line: b.line, Cells: b.cells, Column: "证件号码",
					Reason: apperr.E(apperr.DuplicateRegistration, "", "student.duplicate", held.SchoolName).Message()})
			}
		}
		batch = batch[:0]
		if !commit || len(load) == 0 {
			sum.Added += len(load)
			return nil
		}
		// outcome is the batch's effect once the database has said which
		// rows another registration took first.
		outcome := func(dup []bool) (s Summary, raced []Refusal) {
			s = sum
			for i, d := range dup {
				if d {
					raced = append(raced, Refusal{Line: loadRows[i].line, Cells: loadRows[i].cells, Column: "证件号码",
						Reason: apperr.E(apperr.DuplicateRegistration, "", "import.raced", load[i].IDMasked).Message()})
					s.Refused++
				} else {
					s.Added++
				}
			}
			return s, raced
		}
		var checkpoint func([]bool) *Checkpoint
		if im.Job != nil {
			checkpoint = func(dup []bool) *Checkpoint {
				s, raced := outcome(dup)
				cp := im.Job.checkpoint(im.lastLine, s, append(slices.Clone(refused), raced...))
				return &cp
			}
		}
		dup, err := im.Store.ImportStudents(ctx, load, audit.Entry{Actor: p.Name, Action: "import.students", Entity: "import", EntityID: "students",
			Data: map[string]any{"mode": ModeValidOnly, "first_line": loadRows[0].line}}, checkpoint)
		if err != nil {
			return err
		}
		var raced []Refusal
		sum, raced = outcome(dup)
		refused = append(refused, raced...)
		if im.Job != nil {
			refused, stored = refused[:0], true
		}
		return nil
	}
	// checkpoint ends a batch for a job: its refusals go to the store
	// (unless the batch's commit has written them with its rows).
	checkpoint := func() error {
		if im.Job == nil || stored {
			return nil
		}
		if err := im.Store.SaveImportCheckpoint(ctx, im.Job.checkpoint(im.lastLine, sum, refused)); err != nil {
			return err
		}
		refused = refused[:0]
		return nil
	}
	chunks, stop := readAhead(rd, resume)
	defer stop()
	for c := range chunks {
		if c.err != nil {
			return sum, refused, c.err
		}
		sum.Rows += c.read
		if c.read > 0 {
			im.lastLine = c.last
		}
		for _, r := range c.refused {
			refuse(r)
		}
		batch = c.rows
		if err := flush(); err != nil {
			return sum, refused, err
		}
		if err := checkpoint(); err != nil {
			return sum, refused, err
		}
		if im.Progress != nil {
			im.Progress(sum.Rows, 0)
		}
	}
	return sum, refused, nil
}

// chunk is a batch's worth of rows read and checked, on its way to the
// database.
type chunk struct {
	rows    []pending
	refused []Refusal
	read    int // rows read, after the line a job resumes from
	last    int // the last line read
	err     error
}

// readAhead reads and checks rows in a goroutine of its own, a batch
// ahead of the database: reading, checking and sealing cost about half
// as much as writing, and the machine has more than one core. Rows up to
// resume are read (for the duplicate check) but not passed on. stop ends
// the goroutine early.
func readAhead(rd func() (Row, *student.Student, *Refusal, error), resume int) (<-chan chunk, func()) {
	out := make(chan chunk, 1)
	done := make(chan struct{})
	go func() {
		defer close(out)
		var c chunk
		send := func() bool {
			select {
			case <-done: // stopping wins over a reader ready to take more
				return false
			default:
			}
			select {
			case out <- c:
				c = chunk{}
				return true
			case <-done:
				return false
			}
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			row, st, refusal, err := rd()
			if errors.Is(err, io.EOF) {
				send()
				return
			}
			if err != nil {
				c.err = err
				send()
				return
			}
			if row.Line <= resume {
				continue // accounted for by an earlier run of this job
			}
			c.read, c.last = c.read+1, row.Line
			if refusal != nil {
				c.refused = append(c.refused, *refusal)
			} else {
				c.rows = append(c.rows, pending{line: row.Line, cells: row.Cells, st: st})
			}
			if len(c.rows)+len(c.refused) >= importBatch && !send() {
				return
			}
		}
	}()
	return out, func() {
		close(done)
		for range out { // let the reader finish its row before the file closes
		}
	}
}

// known reports whether the second pass should skip st: its person was
// found unchanged in the first.
func (im *StudentImport) known(st *student.Student) bool { return im.unchanged[st.IDBlind] }

// rowReader returns a function reading the next row of t as a checked
// student or a refusal. Schools are looked up once each, in p's scope.
// Within the file, a person's second row is refused.
func (im *StudentImport) rowReader(ctx context.Context, p auth.Principal, t Table) func() (Row, *student.Student, *Refusal, error) {
	index, _, missing := Students.Match(t.Header())
	headerOf := map[string]string{}
	for _, c := range Students.Columns {
		headerOf[c.Key] = c.Header
	}
	schools := map[string]*school.School{}
	seen := map[string]int{}
	return func() (Row, *student.Student, *Refusal, error) {
		if len(missing) > 0 {
			return Row{}, nil, nil, apperr.E(apperr.Invalid, "", "import.columns.missing", strings.Join(missing, "、"))
		}
		row, err := t.Next()
		for err == nil && Students.IsExample(row.Cells, index) { // the template's example row, left in
			row, err = t.Next()
		}
		refuse := func(err error) (Row, *student.Student, *Refusal, error) {
			e := apperr.As(err)
			if e.Code == apperr.Internal {
				return row, nil, nil, err
			}
			return row, nil, &Refusal{Line: row.Line, Cells: row.Cells, Column: headerOf[e.Field], Reason: e.Message()}, nil
		}
		if err != nil && row.Line > 0 && apperr.CodeOf(err) != apperr.Internal {
			return refuse(err) // a bad cell refuses its row; the table goes on
		}
		if err != nil {
			return row, nil, nil, err
		}
		v := func(key string) string { return Value(row.Cells, index, key) }
		r := student.Registration{SchoolCode: strings.ToUpper(v("school_code")), Name: v("name"), IDType: v("id_type"),
			IDNumber: v("id_number"), Sex: v("sex"), BirthDate: v("birth_date"), Ethnicity: v("ethnicity"), Major: v("major"),
			ClassLevel: v("class_level"), StudyMode: v("study_mode"), EntryPoint: v("entry_point"), EnrollmentDate: v("enrollment_date")}
		if r.SchoolCode == "" && p.Role == auth.RoleSchool {
			r.SchoolCode = p.ScopeCode
		}
		if r.SchoolCode == "" {
			return refuse(apperr.E(apperr.Invalid, "school_code", "field.required", "学校代码"))
		}
		sc, ok := schools[r.SchoolCode]
		if !ok {
			sc, err = im.Store.FindSchool(ctx, p.Scope(), r.SchoolCode)
			if err != nil && apperr.CodeOf(err) != apperr.NotFound {
				return row, nil, nil, err
			}
			schools[r.SchoolCode] = sc // nil: not found or out of scope
		}
		if sc == nil {
			return refuse(apperr.E(apperr.NotFound, "school_code", "import.school.unknown", r.SchoolCode))
		}
		st, err := im.Students.Prepare(ctx, sc, r)
		if err != nil {
			return refuse(err)
		}
		if first, dup := seen[st.IDBlind]; dup {
			return refuse(apperr.E(apperr.Duplicate, "id_number", "import.file.duplicate", first))
		}
		seen[st.IDBlind] = row.Line
		return row, st, nil, nil
	}
}

// sameRegistration reports whether a registered student has the details a
// row gives: then the row is already in (re-import).
func sameRegistration(held, row *student.Student) bool {
	return held.Name == row.Name && held.Sex == row.Sex && held.BirthDate == row.BirthDate && held.Ethnicity == row.Ethnicity &&
		held.Major == row.Major && held.ClassLevel == row.ClassLevel && held.StudyMode == row.StudyMode &&
		held.EnrollmentDate == row.EnrollmentDate
}

// String is the summary for people.
func (s Summary) String() string {
	verb := "试运行（未写入）"
	if s.Committed {
		verb = "已导入"
	}
	return fmt.Sprintf("%s：共 %d 行，新增 %d，更新 %d，未变 %d，拒绝 %d", verb, s.Rows, s.Added, s.Updated, s.Unchanged, s.Refused)
}
