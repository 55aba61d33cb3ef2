-- +goose Up
-- The facts computed plan indicators are aggregated from (plan.SchoolYear),
-- per school and calendar year: the intake (enrolled during the year) and
-- the students in school on 31 December, all and in 高级工班 or above.
-- They are counted from the student records by RebuildFacts (see
-- internal/store/facts.go); years in which a school had neither intake nor
-- students have no row. The school's own attributes are not copied here:
-- readers join schools, so they are always current.
CREATE TABLE school_year_facts (
    school_code TEXT NOT NULL,
    year INTEGER NOT NULL,
    intake INTEGER NOT NULL,
    enrolled INTEGER NOT NULL,
    enrolled_senior INTEGER NOT NULL,
    PRIMARY KEY (school_code, year)
);

-- The rebuild's bookkeeping, one row: when the last rebuild started (it
-- reflects every change committed before then; 0: never built), the
-- highest student id it saw, the last year the rows run to, and the lease
-- that keeps rebuilds on several nodes from running at once.
CREATE TABLE fact_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rebuilt_at BIGINT NOT NULL DEFAULT 0,
    full_at BIGINT NOT NULL DEFAULT 0,
    max_student_id BIGINT NOT NULL DEFAULT 0,
    horizon INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0
);
INSERT INTO fact_state (id) VALUES (1);

-- Changes already counted in the facts (a student row at a version, an
-- applied status change at a version) among those recent enough to be
-- looked at again by the next rebuild's overlap window; at is the
-- change's own timestamp, by which the window passes it.
CREATE TABLE fact_seen (
    kind TEXT NOT NULL CHECK (kind IN ('student', 'change')),
    id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (kind, id, version)
);

-- "Which schools changed since T": students written and status changes
-- applied since then.
CREATE INDEX students_updated ON students (updated_at);
CREATE INDEX change_requests_applied ON change_requests (applied_at);

-- +goose Down
DROP INDEX change_requests_applied;
DROP INDEX students_updated;
DROP TABLE fact_seen;
DROP TABLE fact_state;
DROP TABLE school_year_facts;
