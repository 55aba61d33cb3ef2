-- +goose Up
-- Import jobs: an uploaded file checked (dry run) and then committed in
-- the background, on whichever node holds the job's lease. A node that
-- dies leaves its lease to expire; another run picks the job up from its
-- checkpoint (line and totals), written in the same transaction as the
-- rows it counts.
CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('students', 'schools')),
    file_name TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    encoding TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL CHECK (mode IN ('all-or-nothing', 'valid-only')),
    phase TEXT NOT NULL CHECK (phase IN ('check', 'commit')),
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'checked', 'done', 'failed', 'cancelled')),
    created_by TEXT NOT NULL,
    owner_scope TEXT NOT NULL,
    line BIGINT NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_total BIGINT NOT NULL DEFAULT 0,
    added BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    committed BOOLEAN NOT NULL DEFAULT FALSE,
    error_code TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    header TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX import_jobs_owner ON import_jobs (owner_scope, id);
CREATE INDEX import_jobs_waiting ON import_jobs (state, lease_until) WHERE state IN ('queued', 'running');

-- The uploaded file, sealed (it holds identity numbers in the clear) in
-- chunks of up to 1 MiB; deleted when the job ends.
CREATE TABLE import_chunks (
    job_id BIGINT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- Rows a phase refused, with the original cells (sealed) for the report.
CREATE TABLE import_refusals (
    job_id BIGINT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    line BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    cells BLOB NOT NULL,
    PRIMARY KEY (job_id, phase, line)
);

-- +goose Down
DROP TABLE import_refusals;
DROP TABLE import_chunks;
DROP TABLE import_jobs;
