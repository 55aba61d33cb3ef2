-- +goose Up
-- Plans (规划) as data, one row per version: body is the plan as JSON
-- (plan.Plan). is_current marks the version the dashboards show, one per
-- plan by a unique index. A version with reported values is never
-- rewritten: an edit then adds the next version (plan.Revise), and the
-- reports stay with the version they were entered for. builtin marks the
-- plans seeded from the source documents; a province edit of one is an
-- ordinary edit, and seeding never touches a plan that exists.
CREATE TABLE plans (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    is_current BOOLEAN NOT NULL,
    builtin BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX plans_current ON plans (id) WHERE is_current;

-- Values of reported indicators: one year, one scope (province or city
-- division code), against one plan version, by a named user with the
-- evidence, reviewed by the province (pending, accepted, returned). A new
-- report of the same indicator, year and scope supersedes the live one
-- (superseded_by names its successor), which stays as history: at most one
-- live report per plan version, indicator, year and scope.
CREATE TABLE plan_reports (
    id INTEGER PRIMARY KEY,
    plan_id TEXT NOT NULL,
    plan_version INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    year INTEGER NOT NULL,
    scope_code TEXT NOT NULL,
    value REAL NOT NULL,
    entered TEXT NOT NULL,
    evidence TEXT NOT NULL,
    reported_by BIGINT NOT NULL,
    reported_by_name TEXT NOT NULL,
    reported_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'returned')),
    reviewed_by TEXT NOT NULL DEFAULT '',
    reviewed_at BIGINT NOT NULL DEFAULT 0,
    review_note TEXT NOT NULL DEFAULT '',
    superseded_by BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (plan_id, plan_version) REFERENCES plans (id, version)
);
CREATE UNIQUE INDEX plan_reports_live ON plan_reports (plan_id, plan_version, indicator, year, scope_code) WHERE superseded_by = 0;
CREATE INDEX plan_reports_plan ON plan_reports (plan_id, id);

-- School groups indicators are measured on (e.g. 厅属院校) and their
-- member schools, which the province maintains.
CREATE TABLE school_groups (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope_code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    named_in_source TEXT NOT NULL DEFAULT '[]',
    builtin BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE school_group_members (
    group_code TEXT NOT NULL REFERENCES school_groups (code),
    school_code TEXT NOT NULL REFERENCES schools (code),
    PRIMARY KEY (group_code, school_code)
);

-- +goose Down
DROP TABLE school_group_members;
DROP TABLE school_groups;
DROP TABLE plan_reports;
DROP TABLE plans;
