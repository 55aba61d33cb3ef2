package transfer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// JobStore is what running import jobs needs from storage.
type JobStore interface {
	StudentStore
	ClaimImportJob(ctx context.Context, node string, lease time.Duration) (*Job, error)
	RenewImportLease(ctx context.Context, id int64, node string, lease time.Duration) (bool, error)
	ReleaseImportLease(ctx context.Context, id int64, node string) error
	ImportChunks(ctx context.Context, id int64, fn func(seq int, sealed []byte) error) error
	FinishImportPhase(ctx context.Context, id int64, node, state string, sum Summary, failure *apperr.Error) (bool, error)
	ImportRefusals(ctx context.Context, id int64, phase string, afterLine, limit int) ([]StoredRefusal, error)
	FindUserByName(ctx context.Context, name string) (*auth.User, error)
}

// DefaultLease is how long a node holds a job without renewing: a node
// that dies leaves its job to another after at most this long.
const DefaultLease = 30 * time.Second

// Runner runs import jobs on one node, one at a time (an import is the
// heaviest write there is; on SQLite there is one writer anyway). Any
// node may take any job: the file and the progress are in the database.
type Runner struct {
	Store    JobStore
	Students *student.Service
	Schools  *school.Service
	Sealer   pii.Protector
	Node     string        // this node's name in leases
	Lease    time.Duration // how long a lease lasts without renewal
	Logger   *slog.Logger

	wake chan struct{}
	mu   sync.Mutex
	live map[int64]progress // the job this node runs
}

// NewRunner makes a runner with a node name unique to this process and
// the default lease; change Lease and Logger before Run if need be.
func NewRunner(store JobStore, students *student.Service, schools *school.Service, sealer pii.Protector) *Runner {
	host, _ := os.Hostname()
	return &Runner{Store: store, Students: students, Schools: schools, Sealer: sealer,
		Node:  fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8]),
		Lease: DefaultLease, Logger: slog.Default(), wake: make(chan struct{}, 1), live: map[int64]progress{}}
}

// principal is who a job runs as: its creator, as the account is now (a
// disabled account's jobs fail).
func (r *Runner) principal(ctx context.Context, name string) (auth.Principal, error) {
	u, err := r.Store.FindUserByName(ctx, name)
	if err != nil {
		return auth.Principal{}, err
	}
	if u.Disabled {
		return auth.Principal{}, apperr.E(apperr.Forbidden, "", "import.forbidden")
	}
	return u.Principal(), nil
}

// Wake makes Run look for work now (a job was just created).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// progress is how far the job a node runs has got.
type progress struct{ read, written int }

// Live updates j with the rows read and written so far if this node is
// running it: fresher than the last checkpoint.
func (r *Runner) Live(j *Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.live[j.ID]; ok && j.State == JobRunning {
		j.RowsRead, j.RowsWritten = max(j.RowsRead, p.read), p.written
	}
}

func (r *Runner) setLive(id int64, read, written int) {
	r.mu.Lock()
	r.live[id] = progress{read, written}
	r.mu.Unlock()
}

func (r *Runner) clearLive(id int64) {
	r.mu.Lock()
	delete(r.live, id)
	r.mu.Unlock()
}

// Run takes and runs jobs until ctx ends, looking for one every two
// seconds or when woken. It first removes the plaintext files a killed
// process left behind.
func (r *Runner) Run(ctx context.Context) {
	if n := SweepTemp(); n > 0 {
		r.Logger.Info("removed temporary import files left by stopped processes", "directories", n)
	}
	for {
		j, err := r.Store.ClaimImportJob(ctx, r.Node, r.Lease)
		if err != nil && ctx.Err() == nil {
			r.Logger.Error("claim an import job", "error", err)
		}
		if j != nil {
			r.process(ctx, j)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(2 * time.Second):
		}
	}
}

// maxAttempts is how many runs a job gets: a run that meets an internal
// error (the database away for a moment) lets the lease go and the job
// is taken again; one that keeps failing, or crashing its node, stops.
const maxAttempts = 3

// process runs the phase j is in, renewing its lease meanwhile, and ends
// the phase. If the node is shutting down it lets the lease go so that
// the next run resumes at once; if it lost the lease (the job was
// cancelled or taken over) it stops without a word.
func (r *Runner) process(ctx context.Context, j *Job) {
	log := r.Logger.With("import_job", j.ID, "kind", j.Kind, "phase", j.Phase, "mode", j.Mode)
	if j.Attempts > maxAttempts {
		failure := apperr.E(apperr.Internal, "", "import.job.attempts", j.Attempts-1)
		if _, err := r.Store.FinishImportPhase(ctx, j.ID, r.Node, JobFailed, Summary{}, failure); err != nil {
			log.Error("finish import phase", "error", err)
		}
		log.Error("import job stopped after repeated failures", "attempts", j.Attempts-1)
		return
	}
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.setLive(j.ID, j.RowsRead, 0)
	defer r.clearLive(j.ID)
	go r.holdLease(jobCtx, cancel, j.ID)
	start := time.Now()
	log.Info("import job started", "resume_line", j.Line, "attempt", j.Attempts)
	sum, err := r.runPhase(jobCtx, j)
	e := apperr.As(err)
	switch {
	case ctx.Err() != nil || (err != nil && e.Code == apperr.Internal && jobCtx.Err() == nil):
		// Shutting down, or a passing error: the next run resumes from
		// the last checkpoint.
		if err != nil && ctx.Err() == nil {
			log.Error("import job interrupted; it will be resumed", "error", err)
		}
		if err := r.Store.ReleaseImportLease(context.WithoutCancel(ctx), j.ID, r.Node); err != nil {
			log.Error("release import lease", "error", err)
		}
		return
	case jobCtx.Err() != nil || e.Key == "import.job.lease_lost":
		log.Info("import job stopped: lease lost (cancelled or taken over)")
		return
	}
	state := JobDone
	if j.Phase == PhaseCheck {
		state = JobChecked
	}
	var failure *apperr.Error
	if err != nil {
		failure, state = e, JobFailed
	}
	ok, err := r.Store.FinishImportPhase(ctx, j.ID, r.Node, state, sum, failure)
	switch {
	case err != nil:
		log.Error("finish import phase", "error", err)
		return
	case !ok:
		log.Info("import job phase ended but the lease was lost before it could be recorded")
		return
	}
	log.Info("import job phase ended", "state", state, "rows", sum.Rows, "added", sum.Added, "updated", sum.Updated,
		"unchanged", sum.Unchanged, "refused", sum.Refused, "duration_ms", time.Since(start).Milliseconds())
}

// holdLease renews the lease on job id until ctx ends; when the lease is
// lost — refused, or not renewed within its length — it cancels the run,
// so that a node cut off from the database does not go on believing it
// holds the job.
func (r *Runner) holdLease(ctx context.Context, cancel context.CancelFunc, id int64) {
	tick := time.NewTicker(r.Lease / 3)
	defer tick.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			ok, err := r.Store.RenewImportLease(ctx, id, r.Node, r.Lease)
			switch {
			case err == nil && ok:
				renewed = time.Now()
			case err == nil && !ok, time.Since(renewed) > r.Lease:
				cancel()
				return
			}
		}
	}
}

func (r *Runner) runPhase(ctx context.Context, j *Job) (sum Summary, err error) {
	defer func() {
		// A file that makes a reader panic fails its job, not the node
		// (and then, one after another, every node that takes it).
		if v := recover(); v != nil {
			err = apperr.E(apperr.Invalid, "file", "import.file.unreadable")
			r.Logger.Error("import job panicked", "import_job", j.ID, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	from := Checkpoint{Job: j.ID, Node: r.Node, Phase: j.Phase, Line: j.Line, Summary: j.Summary}
	if j.Phase == PhaseCommit && j.Summary.Committed {
		return from.Summary, nil // committed whole just before the node stopped
	}
	p, err := r.principal(ctx, j.CreatedBy)
	if err != nil {
		return from.Summary, err
	}
	path, err := r.materialize(ctx, j)
	if err != nil {
		return from.Summary, err
	}
	defer os.Remove(path)
	open := func() (Table, error) { return Open(path, Options{Encoding: j.Encoding}) }
	run := &JobRun{ID: j.ID, Node: r.Node, Phase: j.Phase, From: from,
		Seal: func(line int, cells []byte) []byte { return r.Sealer.Seal(cells, refusalAAD(j.ID, j.Phase, line)) }}
	progress := func(read, written int) { r.setLive(j.ID, read, written) }
	dryRun := j.Phase == PhaseCheck
	if j.Kind == "schools" {
		im := &SchoolImport{Schools: r.Schools, Job: run, Checkpoints: r.Store}
		sum, _, err = im.Run(ctx, p, open, j.Mode, dryRun)
	} else {
		im := &StudentImport{Store: r.Store, Students: r.Students, Progress: progress, Job: run}
		sum, _, err = im.Run(ctx, p, open, j.Mode, dryRun)
	}
	return sum, err
}

// materialize writes the job's file, unsealed, to a private temporary
// file (see CreateTemp; removed when the phase ends) for the readers,
// which need to seek.
func (r *Runner) materialize(ctx context.Context, j *Job) (string, error) {
	f, err := CreateTemp("job-*")
	if err != nil {
		return "", apperr.Internalf("transfer: import file: %w", err)
	}
	err = r.Store.ImportChunks(ctx, j.ID, func(seq int, sealed []byte) error {
		plain, err := r.Sealer.Open(sealed, chunkAAD(j.ID, seq))
		if err != nil {
			return apperr.Internalf("transfer: import file chunk %d: %w", seq, err)
		}
		_, err = f.Write(plain)
		return err
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// SealChunk seals a chunk of an uploaded file for CreateImportJob.
func SealChunk(p pii.Protector) func(id int64, seq int, chunk []byte) []byte {
	return func(id int64, seq int, chunk []byte) []byte { return p.Seal(chunk, chunkAAD(id, seq)) }
}

func chunkAAD(id int64, seq int) []byte { return fmt.Appendf(nil, "import-file:%d:%d", id, seq) }
func refusalAAD(id int64, phase string, line int) []byte {
	return fmt.Appendf(nil, "import-refusal:%d:%s:%d", id, phase, line)
}

// Refusals pages through the rows a job's phase refused, unsealed.
func (r *Runner) Refusals(ctx context.Context, j *Job, afterLine, limit int) ([]Refusal, error) {
	stored, err := r.Store.ImportRefusals(ctx, j.ID, j.Phase, afterLine, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Refusal, len(stored))
	for i, s := range stored {
		plain, err := r.Sealer.Open(s.Cells, refusalAAD(j.ID, j.Phase, s.Line))
		if err != nil {
			return nil, apperr.Internalf("transfer: refused row %d: %w", s.Line, err)
		}
		out[i] = Refusal{Line: s.Line, Column: s.Column, Reason: s.Reason}
		if err := json.Unmarshal(plain, &out[i].Cells); err != nil {
			return nil, apperr.Internalf("transfer: refused row %d: %w", s.Line, err)
		}
	}
	return out, nil
}

// WriteReport writes the rows a job's phase refused as an .xlsx (see
// WriteRefusals), a page at a time.
func (r *Runner) WriteReport(ctx context.Context, w io.Writer, j *Job) error {
	after := 0
	return WriteRefusalPages(w, j.Header, func() ([]Refusal, error) {
		page, err := r.Refusals(ctx, j, after, 1000)
		if len(page) > 0 {
			after = page[len(page)-1].Line
		}
		return page, err
	})
}
