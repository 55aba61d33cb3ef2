package store

// Import jobs: the uploaded file (sealed, in chunks), the job's state and
// lease, its checkpoints and the rows it refused. See transfer.Job.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// importChunk is how much of an uploaded file one row of import_chunks
// holds.
const importChunk = 1 << 20

const importJobColumns = `id, kind, file_name, file_size, encoding, mode, phase, state, created_by, owner_scope, line,
	rows_read, rows_total, added, updated, unchanged, refused, committed, error_code, error_message, header, lease_owner,
	attempts, created_at, updated_at, finished_at`

func scanImportJob(row interface{ Scan(...any) error }) (*transfer.Job, error) {
	var j transfer.Job
	var header string
	var created, updated, finished int64
	err := row.Scan(&j.ID, &j.Kind, &j.FileName, &j.FileSize, &j.Encoding, &j.Mode, &j.Phase, &j.State, &j.CreatedBy, &j.OwnerScope,
		&j.Line, &j.RowsRead, &j.RowsTotal, &j.Summary.Added, &j.Summary.Updated, &j.Summary.Unchanged, &j.Summary.Refused,
		&j.Summary.Committed, &j.ErrorCode, &j.Error, &header, &j.LeaseOwner, &j.Attempts, &created, &updated, &finished)
	if err != nil {
		return nil, err
	}
	if header != "" {
		if err := json.Unmarshal([]byte(header), &j.Header); err != nil {
			return nil, err
		}
	}
	j.Summary.Rows = j.RowsRead
	j.CreatedAt, j.UpdatedAt, j.FinishedAt = fromMicros(created), fromMicros(updated), fromMicros(finished)
	return &j, nil
}

// CreateImportJob stores a new job with its file, read from file in
// chunks that seal encrypts (with the job's id and the chunk's number as
// associated data, so chunks cannot be moved between jobs or reordered).
// All in one transaction: a job never exists without its whole file.
func (db *DB) CreateImportJob(ctx context.Context, j *transfer.Job, file io.Reader, seal func(id int64, seq int, chunk []byte) []byte) error {
	header, err := json.Marshal(j.Header)
	if err != nil {
		return apperr.Internalf("store: import header: %w", err)
	}
	now := micros(time.Now())
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO import_jobs (kind, file_name, file_size, encoding, mode, phase, state, created_by,
			owner_scope, header, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			j.Kind, j.FileName, j.FileSize, j.Encoding, j.Mode, j.Phase, transfer.JobQueued, j.CreatedBy, j.OwnerScope, string(header), now).Scan(&j.ID)
		if err != nil {
			return apperr.Internalf("store: create import job: %w", err)
		}
		buf := make([]byte, importChunk)
		for seq := 0; ; seq++ {
			n, err := io.ReadFull(file, buf)
			if n > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO import_chunks (job_id, seq, data) VALUES ($1, $2, $3)`,
					j.ID, seq, seal(j.ID, seq, buf[:n])); err != nil {
					return apperr.Internalf("store: import chunk: %w", err)
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return apperr.Internalf("store: read upload: %w", err)
			}
		}
		j.State, j.CreatedAt, j.UpdatedAt = transfer.JobQueued, fromMicros(now), fromMicros(now)
		return nil
	})
}

// ImportJob finds a job; ownerScope "" finds any, otherwise only a job
// created in that scope.
func (db *DB) ImportJob(ctx context.Context, id int64, ownerScope string, all bool) (*transfer.Job, error) {
	w := where{}
	w.add("id = " + w.arg(id))
	if !all {
		w.add("owner_scope = " + w.arg(ownerScope))
	}
	j, err := scanImportJob(db.read.QueryRowContext(ctx, `SELECT `+importJobColumns+` FROM import_jobs`+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "import.job.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: import job: %w", err)
	}
	return j, nil
}

// ImportJobs lists the latest jobs, newest first, and counts them all:
// those created in ownerScope, or all.
func (db *DB) ImportJobs(ctx context.Context, ownerScope string, all bool, limit int) ([]*transfer.Job, int, error) {
	w := where{}
	if !all {
		w.add("owner_scope = " + w.arg(ownerScope))
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_jobs`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count import jobs: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+importJobColumns+` FROM import_jobs`+w.String()+` ORDER BY id DESC LIMIT `+w.arg(limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: import jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*transfer.Job
	for rows.Next() {
		j, err := scanImportJob(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: import jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, apperr.Internalf("store: import jobs: %w", err)
	}
	return jobs, total, nil
}

// ClaimImportJob gives node the lease of the oldest job waiting, or of a
// running job whose lease has expired (its node died), and counts the
// attempt; nil when there is none.
func (db *DB) ClaimImportJob(ctx context.Context, node string, lease time.Duration) (*transfer.Job, error) {
	now := time.Now()
	for {
		var id int64
		err := db.read.QueryRowContext(ctx, `SELECT id FROM import_jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < $1)
			ORDER BY id LIMIT 1`, micros(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, apperr.Internalf("store: import job to run: %w", err)
		}
		res, err := db.write.ExecContext(ctx, `UPDATE import_jobs SET state = 'running', lease_owner = $1, lease_until = $2, updated_at = $3,
			attempts = attempts + 1 WHERE id = $4 AND (state = 'queued' OR (state = 'running' AND lease_until < $3))`, node, micros(now.Add(lease)), micros(now), id)
		if err != nil {
			return nil, apperr.Internalf("store: claim import job: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return db.ImportJob(ctx, id, "", true)
		}
		// Another node took it first: look again.
	}
}

// RenewImportLease extends node's lease on a running job; false when the lease is no longer node's (the
// job was cancelled, or taken over after the lease ran out).
func (db *DB) RenewImportLease(ctx context.Context, id int64, node string, lease time.Duration) (bool, error) {
	now := time.Now()
	res, err := db.write.ExecContext(ctx, `UPDATE import_jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND state = 'running' AND lease_owner = $4`,
		micros(now.Add(lease)), micros(now), id, node)
	if err != nil {
		return false, apperr.Internalf("store: renew import lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseImportLease lets another run take a job at once (the node is
// shutting down in the middle of it, or the run met a passing error).
func (db *DB) ReleaseImportLease(ctx context.Context, id int64, node string) error {
	_, err := db.write.ExecContext(ctx, `UPDATE import_jobs SET lease_until = 0 WHERE id = $1 AND state = 'running' AND lease_owner = $2`, id, node)
	if err != nil {
		return apperr.Internalf("store: release import lease: %w", err)
	}
	return nil
}

// ImportChunks calls fn with each chunk of a job's file, in order, as
// stored (sealed).
func (db *DB) ImportChunks(ctx context.Context, id int64, fn func(seq int, sealed []byte) error) error {
	for seq := 0; ; seq++ {
		var data []byte
		err := db.read.QueryRowContext(ctx, `SELECT data FROM import_chunks WHERE job_id = $1 AND seq = $2`, id, seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			if seq == 0 {
				return apperr.E(apperr.NotFound, "", "import.job.file_gone")
			}
			return nil
		}
		if err != nil {
			return apperr.Internalf("store: import chunk: %w", err)
		}
		if err := fn(seq, data); err != nil {
			return err
		}
	}
}

// SaveImportCheckpoint writes a checkpoint in a transaction of its own.
func (db *DB) SaveImportCheckpoint(ctx context.Context, cp transfer.Checkpoint) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return saveCheckpoint(ctx, tx, &cp) })
}

// writeCheckpoint writes the checkpoint a batch's outcome makes, if any.
func writeCheckpoint(ctx context.Context, tx *sql.Tx, checkpoint func(dup []bool) *transfer.Checkpoint, dup []bool) error {
	if checkpoint == nil {
		return nil
	}
	return saveCheckpoint(ctx, tx, checkpoint(dup))
}

// saveCheckpoint records a job's progress and the rows refused since the
// previous checkpoint, in tx. A refusal already stored for the line (a
// phase repeated from the start) is replaced.
func saveCheckpoint(ctx context.Context, tx *sql.Tx, cp *transfer.Checkpoint) error {
	if cp == nil {
		return nil
	}
	s := cp.Summary
	// Only the node holding the lease may move the job on: a node that
	// lost it (the job was cancelled, or taken over after the node
	// stalled) has its batch rolled back with the checkpoint.
	res, err := tx.ExecContext(ctx, `UPDATE import_jobs SET line = $1, rows_read = $2, added = $3, updated = $4, unchanged = $5, refused = $6,
		committed = $7, updated_at = $8 WHERE id = $9 AND phase = $10 AND state = 'running' AND lease_owner = $11`,
		cp.Line, s.Rows, s.Added, s.Updated, s.Unchanged, s.Refused, s.Committed, micros(time.Now()), cp.Job, cp.Phase, cp.Node)
	if err != nil {
		return apperr.Internalf("store: import checkpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.E(apperr.Conflict, "", "import.job.lease_lost")
	}
	for _, r := range cp.Refused {
		_, err := tx.ExecContext(ctx, `INSERT INTO import_refusals (job_id, phase, line, column_name, reason, cells) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (job_id, phase, line) DO UPDATE SET column_name = excluded.column_name, reason = excluded.reason, cells = excluded.cells`,
			cp.Job, cp.Phase, r.Line, r.Column, r.Reason, r.Cells)
		if err != nil {
			return apperr.Internalf("store: import refusal: %w", err)
		}
	}
	return nil
}

// FinishImportPhase ends the phase node was running: state is
// transfer.JobChecked or JobDone with the phase's summary, or JobFailed
// with the reason (the counts stay those of the last checkpoint: what is
// stored). A job that ends (done or failed) loses its file. False when
// the lease was no longer node's.
func (db *DB) FinishImportPhase(ctx context.Context, id int64, node, state string, sum transfer.Summary, failure *apperr.Error) (bool, error) {
	now := micros(time.Now())
	ended := state != transfer.JobChecked
	finished := int64(0)
	if ended {
		finished = now
	}
	ok := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if failure != nil {
			res, err = tx.ExecContext(ctx, `UPDATE import_jobs SET state = $1, error_code = $2, error_message = $3, lease_owner = '', lease_until = 0,
				updated_at = $4, finished_at = $5 WHERE id = $6 AND state = 'running' AND lease_owner = $7`,
				state, string(failure.Code), failure.Message(), now, finished, id, node)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE import_jobs SET state = $1, rows_read = $2, rows_total = CASE WHEN phase = 'check' THEN $2 ELSE rows_total END,
				added = $3, updated = $4, unchanged = $5, refused = $6, committed = $7, lease_owner = '', lease_until = 0, updated_at = $8, finished_at = $9
				WHERE id = $10 AND state = 'running' AND lease_owner = $11`,
				state, sum.Rows, sum.Added, sum.Updated, sum.Unchanged, sum.Refused, sum.Committed, now, finished, id, node)
		}
		if err != nil {
			return apperr.Internalf("store: finish import phase: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		ok = true
		if ended {
			return deleteImportFile(ctx, tx, id)
		}
		return nil
	})
	return ok, err
}

func deleteImportFile(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_chunks WHERE job_id = $1`, id); err != nil {
		return apperr.Internalf("store: delete import file: %w", err)
	}
	return nil
}

// ConfirmImportJob queues the commit phase of a checked job, in mode.
func (db *DB) ConfirmImportJob(ctx context.Context, id int64, mode string) error {
	now := micros(time.Now())
	res, err := db.write.ExecContext(ctx, `UPDATE import_jobs SET phase = 'commit', state = 'queued', mode = $1, line = 0, rows_read = 0,
		added = 0, updated = 0, unchanged = 0, refused = 0, committed = FALSE, updated_at = $2 WHERE id = $3 AND state = 'checked'`, mode, now, id)
	if err != nil {
		return apperr.Internalf("store: confirm import job: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.E(apperr.Conflict, "", "import.job.not_checked")
	}
	return nil
}

// CancelImportJob stops a job that has not finished and deletes its file.
// Rows a valid-only commit has already written stay (they are valid and
// audited); the job says how many. An all-or-nothing commit that has
// committed is finished, whatever its state says for the moment.
func (db *DB) CancelImportJob(ctx context.Context, id int64) error {
	now := micros(time.Now())
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE import_jobs SET state = 'cancelled', lease_owner = '', lease_until = 0, updated_at = $1, finished_at = $1
			WHERE id = $2 AND state IN ('queued', 'running', 'checked') AND NOT committed`, now, id)
		if err != nil {
			return apperr.Internalf("store: cancel import job: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.E(apperr.Conflict, "", "import.job.finished")
		}
		return deleteImportFile(ctx, tx, id)
	})
}

// ImportRefusals lists a phase's refused rows after a line, in line order.
func (db *DB) ImportRefusals(ctx context.Context, id int64, phase string, afterLine, limit int) ([]transfer.StoredRefusal, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT line, column_name, reason, cells FROM import_refusals
		WHERE job_id = $1 AND phase = $2 AND line > $3 ORDER BY line LIMIT $4`, id, phase, afterLine, limit)
	if err != nil {
		return nil, apperr.Internalf("store: import refusals: %w", err)
	}
	defer rows.Close()
	var out []transfer.StoredRefusal
	for rows.Next() {
		var r transfer.StoredRefusal
		if err := rows.Scan(&r.Line, &r.Column, &r.Reason, &r.Cells); err != nil {
			return nil, apperr.Internalf("store: import refusals: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: import refusals: %w", err)
	}
	return out, nil
}

// PurgeImportJobs deletes jobs that ended before cutoff, and dry runs
// left unconfirmed (or jobs left waiting) since then, with their files and
// the rows they refused (which hold personal data): an office keeps what
// it needs by downloading the report.
func (db *DB) PurgeImportJobs(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		const old = `(finished_at > 0 AND finished_at < $1) OR (state IN ('checked', 'queued') AND updated_at < $1)`
		for _, q := range []string{`DELETE FROM import_refusals WHERE job_id IN (SELECT id FROM import_jobs WHERE ` + old + `)`,
			`DELETE FROM import_chunks WHERE job_id IN (SELECT id FROM import_jobs WHERE ` + old + `)`} {
			if _, err := tx.ExecContext(ctx, q, micros(cutoff)); err != nil {
				return apperr.Internalf("store: purge import jobs: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE `+old, micros(cutoff))
		if err != nil {
			return apperr.Internalf("store: purge import jobs: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
