-- +goose Up
-- The majors a school offers, by class level and study mode.
CREATE TABLE school_majors (
    school_code TEXT NOT NULL REFERENCES schools (code),
    major TEXT NOT NULL,
    class_level TEXT NOT NULL,
    study_mode TEXT NOT NULL,
    PRIMARY KEY (school_code, major, class_level, study_mode)
);

-- Yearly filings (申报): enrollment plans with qualification applications,
-- off-campus teaching sites and joint programs, and their review. The
-- kind-specific content is JSON in body. live marks the filing that holds
-- a school's place for a plan year: one at most, by a unique index.
CREATE TABLE filings (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('plan', 'site', 'joint')),
    school_code TEXT NOT NULL REFERENCES schools (code),
    city_code TEXT NOT NULL,
    year INTEGER NOT NULL,
    state TEXT NOT NULL,
    amends INTEGER NOT NULL DEFAULT 0,
    live INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    site_address TEXT NOT NULL DEFAULT '',
    valid_from TEXT NOT NULL DEFAULT '',
    valid_to TEXT NOT NULL DEFAULT '',
    late INTEGER NOT NULL DEFAULT 0,
    submitted_at INTEGER NOT NULL DEFAULT 0,
    submitted_by TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX filings_live_plan ON filings (school_code, year) WHERE kind = 'plan' AND live;
CREATE INDEX filings_school ON filings (school_code, id);
CREATE INDEX filings_city ON filings (city_code, id);
CREATE INDEX filings_year ON filings (year, kind, state);
CREATE INDEX filings_amends ON filings (amends) WHERE amends <> 0;

-- Every step of a filing's review: who, when, why.
CREATE TABLE filing_events (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings (id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX filing_events_filing ON filing_events (filing_id, id);

-- The province's settings per filing year: the submission deadline.
CREATE TABLE filing_years (
    year INTEGER PRIMARY KEY,
    deadline TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE filing_years;
DROP TABLE filing_events;
DROP TABLE filings;
DROP TABLE school_majors;
