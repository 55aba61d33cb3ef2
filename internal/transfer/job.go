package transfer

import (
	"encoding/json"
	"time"
)

// Job states and phases. A job is created with its uploaded file and runs
// in the background: the check phase (the dry run) ends in JobChecked,
// where the user reads the summary and the conflicts and confirms; the
// commit phase ends in JobDone. A job created without a dry run starts in
// the commit phase.
const (
	JobQueued    = "queued"    // waiting for a node to take it
	JobRunning   = "running"   // a node holds its lease
	JobChecked   = "checked"   // dry run finished; waiting for confirmation
	JobDone      = "done"      // committed (or refused whole, all-or-nothing)
	JobFailed    = "failed"    // the file could not be read as a whole
	JobCancelled = "cancelled" // by the user

	PhaseCheck  = "check"
	PhaseCommit = "commit"
)

// Job is an import running in the background: it survives the browser
// closing and, through its checkpoints, the node dying.
type Job struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"` // students | schools
	FileName   string `json:"file_name"`
	FileSize   int64  `json:"file_size"`
	Encoding   string `json:"encoding,omitempty"`
	Mode       string `json:"mode"`
	Phase      string `json:"phase"`
	State      string `json:"state"`
	CreatedBy  string `json:"created_by"`
	OwnerScope string `json:"-"` // the creator's scope code ("" for the province)
	Line       int    `json:"-"` // the checkpoint: rows up to this line are accounted for
	RowsRead   int    `json:"rows_read"`
	RowsTotal  int    `json:"rows_total"` // known once the check phase has read the file
	// RowsWritten is how many rows the one transaction of an
	// all-or-nothing commit has written so far (only while it runs, on
	// the node running it).
	RowsWritten int       `json:"rows_written,omitempty"`
	Summary     Summary   `json:"summary"`
	ErrorCode   string    `json:"error_code,omitempty"`
	Error       string    `json:"error,omitempty"` // in Chinese, for the user
	Header      []string  `json:"-"`               // the file's header row, for the refusal report
	LeaseOwner  string    `json:"-"`
	Attempts    int       `json:"-"` // how many runs have taken the job
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

// StateName is the state in Chinese, as the import page shows it.
func (j *Job) StateName() string {
	switch j.State {
	case JobQueued:
		if j.Phase == PhaseCommit {
			return "等待导入"
		}
		return "等待检查"
	case JobRunning:
		if j.Phase == PhaseCommit {
			return "正在导入"
		}
		return "正在检查"
	case JobChecked:
		return "已检查，待确认"
	case JobDone:
		if !j.Summary.Committed {
			return "未导入"
		}
		return "已完成"
	case JobFailed:
		return "失败"
	case JobCancelled:
		return "已取消"
	}
	return j.State
}

// Percent is how far the commit phase has got: rows read, or for an
// all-or-nothing commit (which reads the file again, then writes it in
// one transaction) rows read and written, over the rows the dry run
// counted. The check phase reads a file of unknown length: 0.
func (j *Job) Percent() int {
	if j.RowsTotal == 0 || j.Phase != PhaseCommit {
		return 0
	}
	done, total := j.RowsRead, j.RowsTotal
	if j.Mode == ModeAllOrNothing {
		done, total = j.RowsRead+j.RowsWritten, 2*j.RowsTotal
	}
	return min(100, done*100/total)
}

// Active reports whether a node has work left on the job.
func (j *Job) Active() bool { return j.State == JobQueued || j.State == JobRunning }

// Checkpoint is how far a job's phase has got: every row up to Line is
// accounted for in Summary, and the rows refused since the previous
// checkpoint are in Refused. The store writes it in the transaction that
// commits the rows it counts, so after a crash the phase resumes after
// Line with nothing lost and nothing counted twice.
type Checkpoint struct {
	Job     int64
	Node    string // the node holding the lease: no other may write it
	Phase   string
	Line    int
	Summary Summary
	Refused []StoredRefusal
}

// StoredRefusal is a refusal as a job keeps it: the original cells sealed
// (they hold identity numbers in the clear).
type StoredRefusal struct {
	Line   int
	Column string
	Reason string
	Cells  []byte
}

// JobRun makes an import resumable: progress goes to the store as
// checkpoints, refusals go to the store rather than memory, and the rows
// up to From.Line, accounted for by an earlier run, are read (a person's
// second row in the file is still caught) but not counted again.
type JobRun struct {
	ID    int64
	Node  string
	Phase string
	From  Checkpoint
	// Seal encrypts a refused row's cells for storage.
	Seal func(line int, cells []byte) []byte
}

func (jr *JobRun) checkpoint(line int, sum Summary, refused []Refusal) Checkpoint {
	cp := Checkpoint{Job: jr.ID, Node: jr.Node, Phase: jr.Phase, Line: line, Summary: sum}
	for _, r := range refused {
		cells, _ := json.Marshal(r.Cells)
		cp.Refused = append(cp.Refused, StoredRefusal{Line: r.Line, Column: r.Column, Reason: r.Reason, Cells: jr.Seal(r.Line, cells)})
	}
	return cp
}
