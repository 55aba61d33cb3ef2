package transfer_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

var quiet = slog.New(slog.DiscardHandler)

// newJob stores a job for the file at path as the province's user "prov".
func (f *importFixture) newJob(t *testing.T, path, mode, phase string) *transfer.Job {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.FindUserByName(ctx, "prov"); err != nil {
		u := &auth.User{Name: "prov", DisplayName: "省厅", Role: auth.RoleProvince, PasswordHash: "x", CreatedAt: importNow}
		if err := f.db.CreateUser(ctx, u, audit.Entry{Actor: "t", Action: "user.create"}); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	st, _ := file.Stat()
	j := &transfer.Job{Kind: "students", FileName: "学生.csv", FileSize: st.Size(), Mode: mode, Phase: phase, CreatedBy: "prov", Header: studentHeader}
	if err := f.db.CreateImportJob(ctx, j, file, transfer.SealChunk(storetest.Protector())); err != nil {
		t.Fatal(err)
	}
	return j
}

// runUntil runs r until the job reaches a state where it waits for
// nobody (checked, done, failed).
func runUntil(t *testing.T, f *importFixture, r *transfer.Runner, id int64) *transfer.Job {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r.Wake()
		j, err := f.db.ImportJob(ctx, id, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if !j.Active() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
	return nil
}

// crashingStore stops its runner (as a node dies) when a commit batch
// is about to be written for the nth time: that batch must leave no
// trace.
type crashingStore struct {
	transfer.JobStore
	n, calls int
	stop     context.CancelFunc
}

func (c *crashingStore) ImportStudents(ctx context.Context, batch []*student.Student, e audit.Entry, cp func([]bool) *transfer.Checkpoint) ([]bool, error) {
	c.calls++
	if c.calls == c.n {
		c.stop()
		return nil, context.Canceled
	}
	return c.JobStore.ImportStudents(ctx, batch, e, cp)
}

func TestImportJobResumesAfterCrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		var rows [][]string
		for n := range 12_500 {
			rows = append(rows, row(n, "3701001"))
		}
		rows[7500] = row(7, "3701001") // the same person as line 9: refused, after the crash
		f.file(t, "big.csv", studentHeader, rows...)
		j := f.newJob(t, f.dir+"/big.csv", transfer.ModeValidOnly, transfer.PhaseCommit)
		before := f.count(t)

		// The first node commits one batch, then dies writing the second.
		runCtx, stop := context.WithCancel(ctx)
		crash := &crashingStore{JobStore: f.db, n: 2, stop: stop}
		first := transfer.NewRunner(crash, f.students, f.schools, storetest.Protector())
		first.Lease, first.Logger = 200*time.Millisecond, quiet
		first.Run(runCtx) // returns once stopped
		got, err := f.db.ImportJob(ctx, j.ID, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != transfer.JobRunning || got.Line != 5001 || got.Summary.Added != 5000 {
			t.Fatalf("after the crash: state %s line %d added %d, want running at line 5001 with 5000 added", got.State, got.Line, got.Summary.Added)
		}
		if n := f.count(t) - before; n != 5000 {
			t.Fatalf("after the crash %d students are in, want exactly the first batch's 5000", n)
		}

		// Another node takes the job over once the lease has run out and
		// finishes it: every row in once, the duplicate refused once.
		second := transfer.NewRunner(f.db, f.students, f.schools, storetest.Protector())
		second.Lease, second.Logger = 200*time.Millisecond, quiet
		done := runUntil(t, f, second, j.ID)
		want := transfer.Summary{Rows: 12_500, Added: 12_499, Refused: 1, Committed: true}
		if done.State != transfer.JobDone || done.Summary != want {
			t.Fatalf("job ended %s %+v, want done %+v", done.State, done.Summary, want)
		}
		if n := f.count(t) - before; n != 12_499 {
			t.Fatalf("%d students in, want 12,499", n)
		}
		refused, err := second.Refusals(ctx, done, 0, 10)
		if err != nil || len(refused) != 1 || refused[0].Line != 7502 || refused[0].Cells[2] != rows[7500][2] {
			t.Fatalf("refusals %+v, %v: want line 7502 with its cells", refused, err)
		}
		if err := f.db.ImportChunks(ctx, j.ID, func(int, []byte) error { return nil }); err == nil {
			t.Errorf("the file of a finished job is still stored")
		}
	})
}

func TestImportJobDryRunThenCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		bad := row(3, "3701001")
		bad[4] = "2010-13-01"
		f.file(t, "a.csv", studentHeader, row(1, "3701001"), bad, row(2, "3701001"))
		j := f.newJob(t, f.dir+"/a.csv", transfer.ModeAllOrNothing, transfer.PhaseCheck)
		r := transfer.NewRunner(f.db, f.students, f.schools, storetest.Protector())
		r.Logger = quiet
		before := f.count(t)
		checked := runUntil(t, f, r, j.ID)
		if checked.State != transfer.JobChecked || checked.RowsTotal != 3 || checked.Summary.Added != 2 || checked.Summary.Refused != 1 {
			t.Fatalf("dry run ended %s total %d %+v", checked.State, checked.RowsTotal, checked.Summary)
		}
		if f.count(t) != before {
			t.Fatal("the dry run wrote")
		}
		// The report has the refused row as it was, with the reason.
		var buf bytes.Buffer
		if err := r.WriteReport(ctx, &buf, checked); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		sheet := x.GetSheetName(0)
		cells, _ := x.GetRows(sheet)
		if len(cells) != 2 || cells[1][0] != "3" || cells[1][2+4] != "2010-13-01" {
			t.Fatalf("report rows %q", cells)
		}

		// Confirming all-or-nothing with a refused row writes nothing; the
		// valid rows go in with valid-only.
		if err := f.db.ConfirmImportJob(ctx, j.ID, transfer.ModeAllOrNothing); err != nil {
			t.Fatal(err)
		}
		refusedWhole := runUntil(t, f, r, j.ID)
		if refusedWhole.State != transfer.JobDone || refusedWhole.Summary.Committed || f.count(t) != before {
			t.Fatalf("all-or-nothing with a bad row: %s %+v, %d students added", refusedWhole.State, refusedWhole.Summary, f.count(t)-before)
		}
		if err := f.db.ConfirmImportJob(ctx, j.ID, transfer.ModeValidOnly); err == nil {
			t.Fatal("a finished job was confirmed again")
		}
		again := f.newJob(t, f.dir+"/a.csv", transfer.ModeValidOnly, transfer.PhaseCommit)
		done := runUntil(t, f, r, again.ID)
		if done.Summary.Added != 2 || done.Summary.Refused != 1 || !done.Summary.Committed || f.count(t) != before+2 {
			t.Fatalf("valid-only: %+v", done.Summary)
		}
		// The same file once more changes nothing.
		third := runUntil(t, f, r, f.newJob(t, f.dir+"/a.csv", transfer.ModeValidOnly, transfer.PhaseCommit).ID)
		if third.Summary.Added != 0 || third.Summary.Unchanged != 2 || f.count(t) != before+2 {
			t.Fatalf("re-import: %+v", third.Summary)
		}
	})
}

// A checkpoint that cannot be written takes its batch down with it: the
// rows and the progress that counts them are one transaction. So does one
// written by a node that no longer holds the job's lease (the job was
// cancelled, or taken over while the node stalled).
func TestImportCheckpointIsAtomicWithItsRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		f.file(t, "a.csv", studentHeader, row(1, "3701001"))
		j := f.newJob(t, f.dir+"/a.csv", transfer.ModeValidOnly, transfer.PhaseCommit)
		if claimed, err := f.db.ClaimImportJob(ctx, "node-a", time.Minute); err != nil || claimed == nil || claimed.ID != j.ID {
			t.Fatalf("claim: %+v, %v", claimed, err)
		}
		st, err := f.students.Prepare(ctx, mustSchool(t, f, "3701001"), registration(row(1, "3701001")))
		if err != nil {
			t.Fatal(err)
		}
		before := f.count(t)
		write := func(cp transfer.Checkpoint) error {
			_, err := f.db.ImportStudents(ctx, []*student.Student{st}, audit.Entry{Actor: "t", Action: "import.students", Entity: "import", EntityID: "students"},
				func([]bool) *transfer.Checkpoint { return &cp })
			return err
		}
		unchanged := func(what string) {
			t.Helper()
			if f.count(t) != before {
				t.Fatalf("%s: the batch was committed", what)
			}
			got, _ := f.db.ImportJob(ctx, j.ID, "", true)
			if got.Line != 0 || got.Summary.Added != 0 {
				t.Fatalf("%s: checkpoint %d/%+v written without its batch", what, got.Line, got.Summary)
			}
		}
		added := transfer.Summary{Rows: 1, Added: 1}
		if err := write(transfer.Checkpoint{Job: j.ID, Node: "node-a", Phase: transfer.PhaseCommit, Line: 2, Summary: added,
			Refused: []transfer.StoredRefusal{{Line: 2, Reason: "x", Cells: nil}}}); err == nil { // cells NOT NULL: the write fails
			t.Fatal("a checkpoint that could not be written was accepted")
		}
		unchanged("a refusal that cannot be stored")
		if err := write(transfer.Checkpoint{Job: j.ID, Node: "node-b", Phase: transfer.PhaseCommit, Line: 2, Summary: added}); err == nil {
			t.Fatal("a node without the lease wrote a batch")
		}
		unchanged("another node")
		if err := f.db.CancelImportJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := write(transfer.Checkpoint{Job: j.ID, Node: "node-a", Phase: transfer.PhaseCommit, Line: 2, Summary: added}); err == nil {
			t.Fatal("a batch was written after the job was cancelled")
		}
		unchanged("after the cancel")
	})
}

func TestImportJobEdges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		r := transfer.NewRunner(f.db, f.students, f.schools, storetest.Protector())
		r.Logger = quiet

		// An all-or-nothing school import with a bad row writes nothing,
		// although the job keeps its refusals in the store, not in memory.
		f.file(t, "schools.csv", []string{"学校代码", "学校名称", "学校类型", "举办性质", "所在区县代码"},
			[]string{"3701090", "新建技工学校", "技工学校", "公办", "370102"}, []string{"3701091", "", "技工学校", "公办", "370102"})
		j := f.newJob(t, f.dir+"/schools.csv", transfer.ModeAllOrNothing, transfer.PhaseCommit)
		j.Kind = "schools"
		raw := storetest.Raw(t, f.dsn)
		if _, err := raw.Exec(`UPDATE import_jobs SET kind = 'schools' WHERE id = $1`, j.ID); err != nil {
			t.Fatal(err)
		}
		done := runUntil(t, f, r, j.ID)
		if done.State != transfer.JobDone || done.Summary.Committed || done.Summary.Refused != 1 {
			t.Fatalf("school job: %s %+v", done.State, done.Summary)
		}
		if _, err := f.db.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, "3701090"); err == nil {
			t.Fatal("all-or-nothing created a school although a row was refused")
		}

		// A job that keeps failing stops after three runs.
		f.file(t, "one.csv", studentHeader, row(1, "3701001"))
		k := f.newJob(t, f.dir+"/one.csv", transfer.ModeValidOnly, transfer.PhaseCommit)
		if _, err := raw.Exec(`UPDATE import_jobs SET attempts = 3 WHERE id = $1`, k.ID); err != nil {
			t.Fatal(err)
		}
		failed := runUntil(t, f, r, k.ID)
		if failed.State != transfer.JobFailed || !strings.Contains(failed.Error, "多次") {
			t.Fatalf("a job past its attempts: %s %q", failed.State, failed.Error)
		}

		// Dry runs never confirmed are purged with the finished jobs.
		c := f.newJob(t, f.dir+"/one.csv", transfer.ModeValidOnly, transfer.PhaseCheck)
		if got := runUntil(t, f, r, c.ID); got.State != transfer.JobChecked {
			t.Fatalf("dry run: %s", got.State)
		}
		n, err := f.db.PurgeImportJobs(ctx, time.Now().Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("purged %d, %v; want the three jobs", n, err)
		}
		var left int
		raw.QueryRow(`SELECT COUNT(*) FROM import_refusals`).Scan(&left)
		if left != 0 {
			t.Errorf("%d refused rows survive the purge", left)
		}
	})
}

func mustSchool(t *testing.T, f *importFixture, code string) *school.School {
	t.Helper()
	sc, err := f.db.FindSchool(context.Background(), auth.Scope{Kind: auth.ScopeAll}, code)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// registration is a row of studentHeader as a registration.
func registration(r []string) student.Registration {
	return student.Registration{SchoolCode: r[0], Name: r[1], IDNumber: r[2], Sex: r[3], BirthDate: r[4], Ethnicity: r[5], Major: r[6],
		ClassLevel: r[7], StudyMode: r[8], EntryPoint: r[9], EnrollmentDate: r[10]}
}
