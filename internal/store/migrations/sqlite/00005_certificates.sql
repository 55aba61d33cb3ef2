-- +goose Up
-- Certificate signing keys. The private key is sealed with the instance
-- master secret; every node of an instance can sign. At most one key is
-- active (retired_at = 0); retired keys stay to verify what they signed.
CREATE TABLE cert_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    public_key BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cert_keys_active ON cert_keys (retired_at) WHERE retired_at = 0;

-- Certificates as issued: the shown fields are a copy taken at issue.
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    no TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    student_id INTEGER NOT NULL REFERENCES students (id),
    school_code TEXT NOT NULL,
    city_code TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    school_name TEXT NOT NULL,
    major TEXT NOT NULL,
    class_level TEXT NOT NULL,
    study_mode TEXT NOT NULL,
    entry_date TEXT NOT NULL,
    graduation_date TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    province_code TEXT NOT NULL,
    alg TEXT NOT NULL,
    kid TEXT NOT NULL REFERENCES cert_keys (kid),
    signature BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'voided')),
    reason TEXT NOT NULL DEFAULT '',
    revoked_at INTEGER NOT NULL DEFAULT 0,
    revoked_by TEXT NOT NULL DEFAULT '',
    replaces TEXT NOT NULL DEFAULT '',
    replaced_by TEXT NOT NULL DEFAULT '',
    issued_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
-- One valid certificate per 学籍: a reissue voids the old one first.
CREATE UNIQUE INDEX certificates_valid_student ON certificates (student_id) WHERE status = 'valid';
CREATE INDEX certificates_student ON certificates (student_id);
CREATE INDEX certificates_school ON certificates (school_code, id);
CREATE INDEX certificates_city ON certificates (city_code, id);

-- +goose Down
DROP TABLE certificates;
DROP TABLE cert_keys;
