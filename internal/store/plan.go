package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/plan"
)

// The plan service's storage.
var _ plan.Store = (*DB)(nil)

const planColumns = `id, version, body, is_current, builtin, created_by, created_at, updated_at`

func scanPlan(row interface{ Scan(...any) error }) (plan.StoredPlan, error) {
	var sp plan.StoredPlan
	var id, body string
	var version int
	var created, updated int64
	if err := row.Scan(&id, &version, &body, &sp.Current, &sp.Builtin, &sp.CreatedBy, &created, &updated); err != nil {
		return sp, err
	}
	if err := json.Unmarshal([]byte(body), &sp.Plan); err != nil {
		return sp, err
	}
	// The row's keys are authoritative over the body's copy of them.
	sp.ID, sp.Version = id, version
	sp.CreatedAt, sp.UpdatedAt = fromMicros(created), fromMicros(updated)
	return sp, nil
}

func planBody(p plan.Plan) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", apperr.Internalf("store: plan body: %w", err)
	}
	return string(b), nil
}

func (db *DB) queryPlans(ctx context.Context, q string, args ...any) ([]plan.StoredPlan, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.Internalf("store: plans: %w", err)
	}
	defer rows.Close()
	var out []plan.StoredPlan
	for rows.Next() {
		sp, err := scanPlan(rows)
		if err != nil {
			return nil, apperr.Internalf("store: scan plan: %w", err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: plans: %w", err)
	}
	return out, nil
}

// ListPlans returns the current version of every plan: national first,
// then provincial, departmental and city plans, each by ID.
func (db *DB) ListPlans(ctx context.Context) ([]plan.StoredPlan, error) {
	list, err := db.queryPlans(ctx, `SELECT `+planColumns+` FROM plans WHERE is_current ORDER BY id`)
	if err != nil {
		return nil, err
	}
	level := func(l plan.Level) int {
		for i, x := range plan.Levels {
			if x == l {
				return i
			}
		}
		return len(plan.Levels)
	}
	slices.SortStableFunc(list, func(a, b plan.StoredPlan) int { return level(a.Level) - level(b.Level) })
	return list, nil
}

// FindPlan returns a version of a plan; version 0 is the current one.
func (db *DB) FindPlan(ctx context.Context, id string, version int) (plan.StoredPlan, error) {
	q, args := `SELECT `+planColumns+` FROM plans WHERE id = $1 AND is_current`, []any{id}
	if version != 0 {
		q, args = `SELECT `+planColumns+` FROM plans WHERE id = $1 AND version = $2`, []any{id, version}
	}
	sp, err := scanPlan(db.read.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		if version != 0 {
			return sp, apperr.E(apperr.NotFound, "", "plans.version.not_found", id, version)
		}
		return sp, apperr.E(apperr.NotFound, "", "plans.not_found", id)
	}
	if err != nil {
		return sp, apperr.Internalf("store: plan %s: %w", id, err)
	}
	return sp, nil
}

// PlanVersions returns every version of a plan, oldest first.
func (db *DB) PlanVersions(ctx context.Context, id string) ([]plan.StoredPlan, error) {
	list, err := db.queryPlans(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1 ORDER BY version`, id)
	if err == nil && len(list) == 0 {
		return nil, apperr.E(apperr.NotFound, "", "plans.not_found", id)
	}
	return list, err
}

// CreatePlan stores a new plan; an ID that exists is a duplicate.
func (db *DB) CreatePlan(ctx context.Context, sp plan.StoredPlan, e audit.Entry) error {
	body, err := planBody(sp.Plan)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM plans WHERE id = $1`, sp.ID).Scan(&n); err != nil {
			return apperr.Internalf("store: create plan: %w", err)
		}
		if n > 0 {
			return apperr.E(apperr.Duplicate, "id", "plans.duplicate", sp.ID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO plans (`+planColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			sp.ID, sp.Version, body, true, sp.Builtin, sp.CreatedBy, micros(sp.CreatedAt), micros(sp.UpdatedAt))
		if isUniqueViolation(err) {
			return apperr.E(apperr.Duplicate, "id", "plans.duplicate", sp.ID)
		}
		if err != nil {
			return apperr.Internalf("store: create plan: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// lockPlan takes the current version's row lock (PostgreSQL; SQLite has
// one writer) if it is still prev's version as prev read it.
func lockPlan(ctx context.Context, tx *sql.Tx, id string, version int, updatedAt time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE plans SET updated_at = updated_at WHERE id = $1 AND version = $2 AND is_current AND updated_at = $3`,
		id, version, micros(updatedAt))
	if err != nil {
		return false, apperr.Internalf("store: lock plan: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RevisePlan stores an edit of prev as plan.Revise decided. Under the
// plan's row lock it checks that prev is unchanged and, for an edit in
// place, that still nothing was reported against it: a report taken
// between the service's check and this write would otherwise end up
// attached to content its reporter never saw.
func (db *DB) RevisePlan(ctx context.Context, edit plan.Plan, rev plan.Revision, prev plan.StoredPlan, by string, at time.Time, e audit.Entry) error {
	body, err := planBody(edit)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := lockPlan(ctx, tx, prev.ID, prev.Version, prev.UpdatedAt)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.E(apperr.Conflict, "version", "plans.changed")
		}
		switch rev {
		case plan.InPlace:
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM plan_reports WHERE plan_id = $1 AND plan_version = $2`,
				prev.ID, prev.Version).Scan(&n); err != nil {
				return apperr.Internalf("store: revise plan: %w", err)
			}
			if n > 0 {
				return apperr.E(apperr.Conflict, "version", "plans.changed")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE plans SET body = $1, updated_at = $2 WHERE id = $3 AND version = $4`,
				body, micros(at), prev.ID, prev.Version); err != nil {
				return apperr.Internalf("store: revise plan: %w", err)
			}
		case plan.NewVersion:
			if _, err := tx.ExecContext(ctx, `UPDATE plans SET is_current = $1 WHERE id = $2 AND version = $3`, false, prev.ID, prev.Version); err != nil {
				return apperr.Internalf("store: revise plan: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plans (`+planColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				edit.ID, edit.Version, body, true, false, by, micros(at), micros(at)); err != nil {
				return apperr.Internalf("store: revise plan: %w", err)
			}
		default:
			return apperr.Internalf("store: revise plan: revision %d stores nothing", rev)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// PlanHasReports reports whether any value was reported against the
// version, returned and superseded ones included.
func (db *DB) PlanHasReports(ctx context.Context, id string, version int) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM plan_reports WHERE plan_id = $1 AND plan_version = $2`, id, version).Scan(&n)
	if err != nil {
		return false, apperr.Internalf("store: plan reports: %w", err)
	}
	return n > 0, nil
}

const reportColumns = `id, plan_id, plan_version, indicator, year, scope_code, value, entered, evidence, reported_by, reported_by_name,
	reported_at, state, reviewed_by, reviewed_at, review_note, superseded_by`

func scanReport(row interface{ Scan(...any) error }) (plan.StoredReport, error) {
	var r plan.StoredReport
	var reported, reviewed int64
	err := row.Scan(&r.ID, &r.PlanID, &r.Version, &r.Indicator, &r.Year, &r.Scope, &r.Value, &r.Entered, &r.Evidence, &r.ReportedBy,
		&r.ReportedByName, &reported, &r.State, &r.ReviewedBy, &reviewed, &r.ReviewNote, &r.SupersededBy)
	r.ReportedAt = fromMicros(reported)
	if reviewed != 0 {
		r.ReviewedAt = fromMicros(reviewed)
	}
	return r, err
}

// AddReport stores r as pending, superseding the live report of the same
// plan version, indicator, year and scope (which stays, pointing at its
// successor), if the version is still current and unchanged since
// planUpdatedAt.
func (db *DB) AddReport(ctx context.Context, r plan.Report, planUpdatedAt time.Time, e audit.Entry) (plan.StoredReport, error) {
	out := plan.StoredReport{Report: r, State: plan.ReportPending}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := lockPlan(ctx, tx, r.PlanID, r.Version, planUpdatedAt)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.E(apperr.Conflict, "version", "plans.report.plan_changed")
		}
		var old int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM plan_reports WHERE plan_id = $1 AND plan_version = $2 AND indicator = $3 AND year = $4
			AND scope_code = $5 AND superseded_by = 0`, r.PlanID, r.Version, r.Indicator, r.Year, r.Scope).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return apperr.Internalf("store: live report: %w", err)
		}
		// The unique index allows one live report: the old one leaves it
		// before the new one takes it, then names its successor.
		if old != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE plan_reports SET superseded_by = -1 WHERE id = $1`, old); err != nil {
				return apperr.Internalf("store: supersede report: %w", err)
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO plan_reports (plan_id, plan_version, indicator, year, scope_code, value, entered, evidence,
			reported_by, reported_by_name, reported_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			r.PlanID, r.Version, r.Indicator, r.Year, r.Scope, r.Value, r.Entered, r.Evidence, r.ReportedBy, r.ReportedByName,
			micros(r.ReportedAt), plan.ReportPending).Scan(&out.ID)
		if err != nil {
			return apperr.Internalf("store: add report: %w", err)
		}
		if old != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE plan_reports SET superseded_by = $1 WHERE id = $2`, out.ID, old); err != nil {
				return apperr.Internalf("store: supersede report: %w", err)
			}
		}
		if m, ok := e.Data.(map[string]any); ok {
			m["report"] = out.ID
			if old != 0 {
				m["supersedes"] = old
			}
		}
		return db.appendAudit(ctx, tx, e)
	})
	if err != nil {
		return plan.StoredReport{}, err
	}
	out.ReportedAt = fromMicros(micros(r.ReportedAt))
	return out, nil
}

// FindReport returns one report.
func (db *DB) FindReport(ctx context.Context, id int64) (plan.StoredReport, error) {
	r, err := scanReport(db.read.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM plan_reports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.E(apperr.NotFound, "", "plans.report.not_found")
	}
	if err != nil {
		return r, apperr.Internalf("store: report %d: %w", id, err)
	}
	return r, nil
}

// ListReports returns the reports matching f, newest first, and how many
// match in all. Limit 0 means all of them.
func (db *DB) ListReports(ctx context.Context, f plan.ReportFilter) ([]plan.StoredReport, int, error) {
	w := &where{}
	w.add("plan_id = " + w.arg(f.PlanID))
	applyScope(w, f.Scope, cols("scope_code"), nil)
	if f.Version != 0 {
		w.add("plan_version = " + w.arg(f.Version))
	}
	if f.Indicator != "" {
		w.add("indicator = " + w.arg(f.Indicator))
	}
	if f.Year != 0 {
		w.add("year = " + w.arg(f.Year))
	}
	if f.State != "" {
		w.add("state = " + w.arg(f.State))
	}
	if !f.History {
		w.add("superseded_by = 0")
	}
	switch within := f.Within; {
	case within == "" || within == plan.NationalScope:
	case strings.HasSuffix(within, "0000"): // a province and its cities
		w.add("scope_code LIKE " + w.arg(within[:2]+"%"))
	default:
		w.add("scope_code = " + w.arg(within))
	}
	if f.After > 0 {
		w.add("id < " + w.arg(f.After))
	}
	q := `SELECT ` + reportColumns + `, COUNT(*) OVER () FROM plan_reports` + w.String() + ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += " LIMIT " + w.arg(f.Limit)
	}
	rows, err := db.read.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: reports: %w", err)
	}
	defer rows.Close()
	out := []plan.StoredReport{}
	total := 0
	for rows.Next() {
		var r plan.StoredReport
		var reported, reviewed int64
		if err := rows.Scan(&r.ID, &r.PlanID, &r.Version, &r.Indicator, &r.Year, &r.Scope, &r.Value, &r.Entered, &r.Evidence, &r.ReportedBy,
			&r.ReportedByName, &reported, &r.State, &r.ReviewedBy, &reviewed, &r.ReviewNote, &r.SupersededBy, &total); err != nil {
			return nil, 0, apperr.Internalf("store: scan report: %w", err)
		}
		r.ReportedAt = fromMicros(reported)
		if reviewed != 0 {
			r.ReviewedAt = fromMicros(reviewed)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, apperr.Internalf("store: reports: %w", err)
	}
	if len(out) == 0 && f.After > 0 {
		total = 0
	}
	return out, total, nil
}

// ReviewReport writes r's review if r is still live and pending.
func (db *DB) ReviewReport(ctx context.Context, r plan.StoredReport, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plan_reports SET state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4
			WHERE id = $5 AND state = $6 AND superseded_by = 0`, r.State, r.ReviewedBy, micros(r.ReviewedAt), r.ReviewNote, r.ID, plan.ReportPending)
		if err != nil {
			return apperr.Internalf("store: review report: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.E(apperr.Conflict, "", "plans.review.changed")
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// Groups returns every school group with its member schools, by code.
func (db *DB) Groups(ctx context.Context) ([]plan.Group, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT code, name, scope_code, description, named_in_source FROM school_groups ORDER BY code`)
	if err != nil {
		return nil, apperr.Internalf("store: school groups: %w", err)
	}
	defer rows.Close()
	var out []plan.Group
	index := map[string]int{}
	for rows.Next() {
		var g plan.Group
		var named string
		if err := rows.Scan(&g.Code, &g.Name, &g.ScopeCode, &g.Description, &named); err != nil {
			return nil, apperr.Internalf("store: scan school group: %w", err)
		}
		if err := json.Unmarshal([]byte(named), &g.NamedInSource); err != nil {
			return nil, apperr.Internalf("store: school group %s: %w", g.Code, err)
		}
		index[g.Code] = len(out)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: school groups: %w", err)
	}
	rows.Close()
	members, err := db.read.QueryContext(ctx, `SELECT group_code, school_code FROM school_group_members ORDER BY group_code, school_code`)
	if err != nil {
		return nil, apperr.Internalf("store: school group members: %w", err)
	}
	defer members.Close()
	for members.Next() {
		var g, s string
		if err := members.Scan(&g, &s); err != nil {
			return nil, apperr.Internalf("store: scan school group member: %w", err)
		}
		if i, ok := index[g]; ok {
			out[i].Schools = append(out[i].Schools, s)
		}
	}
	if err := members.Err(); err != nil {
		return nil, apperr.Internalf("store: school group members: %w", err)
	}
	return out, nil
}

// SaveGroup creates a school group or replaces its name, description and
// members.
func (db *DB) SaveGroup(ctx context.Context, g plan.Group, by string, at time.Time, e audit.Entry) error {
	named, _ := json.Marshal(nonNil(g.NamedInSource))
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO school_groups (code, name, scope_code, description, named_in_source, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, description = excluded.description, updated_by = excluded.updated_by,
			updated_at = excluded.updated_at, version = school_groups.version + 1`,
			g.Code, g.Name, g.ScopeCode, g.Description, string(named), by, micros(at)); err != nil {
			return apperr.Internalf("store: save school group: %w", err)
		}
		if err := setGroupMembers(ctx, db, tx, g.Code, g.Schools); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

func setGroupMembers(ctx context.Context, db *DB, tx *sql.Tx, code string, schools []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM school_group_members WHERE group_code = $1`, code); err != nil {
		return apperr.Internalf("store: school group members: %w", err)
	}
	rows := make([][]any, len(schools))
	for i, s := range schools {
		rows[i] = []any{code, s}
	}
	if err := db.insertRows(ctx, tx, "school_group_members", []string{"group_code", "school_code"}, rows); err != nil {
		return apperr.Internalf("store: school group members: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Schools returns the name and city of the schools with these codes;
// unknown codes are left out.
func (db *DB) Schools(ctx context.Context, codes []string) (map[string]plan.SchoolInfo, error) {
	out := make(map[string]plan.SchoolInfo, len(codes))
	const chunk = 500
	for start := 0; start < len(codes); start += chunk {
		part := codes[start:min(start+chunk, len(codes))]
		w := &where{}
		marks := make([]string, len(part))
		for i, c := range part {
			marks[i] = w.arg(c)
		}
		rows, err := db.read.QueryContext(ctx, `SELECT code, name, city_code FROM schools WHERE code IN (`+strings.Join(marks, ", ")+`)`, w.args...)
		if err != nil {
			return nil, apperr.Internalf("store: schools: %w", err)
		}
		for rows.Next() {
			var s plan.SchoolInfo
			if err := rows.Scan(&s.Code, &s.Name, &s.City); err != nil {
				rows.Close()
				return nil, apperr.Internalf("store: schools: %w", err)
			}
			out[s.Code] = s
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, apperr.Internalf("store: schools: %w", err)
		}
	}
	return out, nil
}

// builtinGroupSize is how many stand-in members a built-in group gets on a
// demo database.
const builtinGroupSize = 8

// EnsureBuiltinPlans stores the plans and school groups of the seed
// documents (plan.BuiltinPlans, plan.BuiltinGroups) that are absent, and
// returns how many it stored. What exists is never touched, so a
// province's edit of a built-in plan or group stands; serve runs it at
// every start.
//
// A new group's members are the schools the source documents name. The
// demo's school names are synthetic, so on a demo database (its audit log
// says it was loaded) the public 技师学院 of the group's scope stand in,
// those of its capital first, so that the group's dashboards have figures.
func (db *DB) EnsureBuiltinPlans(ctx context.Context) (int, error) {
	now := db.now()
	added := 0
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		added, ids = 0, nil
		for _, g := range plan.BuiltinGroups() {
			named, _ := json.Marshal(nonNil(g.NamedInSource))
			res, err := tx.ExecContext(ctx, `INSERT INTO school_groups (code, name, scope_code, description, named_in_source, builtin, updated_by, updated_at)
				SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM school_groups WHERE code = $1)
				ON CONFLICT DO NOTHING`, g.Code, g.Name, g.ScopeCode, g.Description, string(named), true, "system", micros(now))
			if err != nil {
				return apperr.Internalf("store: builtin group %s: %w", g.Code, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			members, err := builtinMembers(ctx, tx, g)
			if err != nil {
				return err
			}
			if err := setGroupMembers(ctx, db, tx, g.Code, members); err != nil {
				return err
			}
			added++
			ids = append(ids, "group:"+g.Code)
		}
		for _, p := range plan.BuiltinPlans() {
			body, err := planBody(p)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO plans (`+planColumns+`)
				SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM plans WHERE id = $1)
				ON CONFLICT DO NOTHING`, p.ID, p.Version, body, true, true, "system", micros(now), micros(now))
			if err != nil {
				return apperr.Internalf("store: builtin plan %s: %w", p.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
				ids = append(ids, p.ID)
			}
		}
		if added == 0 {
			return nil
		}
		return db.appendAudit(ctx, tx, audit.Entry{Actor: "system", Action: "plans.builtin", Entity: "plan", EntityID: "builtin",
			Data: map[string]any{"added": ids}})
	})
	return added, err
}

// builtinMembers picks a new built-in group's members (see
// EnsureBuiltinPlans).
func builtinMembers(ctx context.Context, tx *sql.Tx, g plan.Group) ([]string, error) {
	in := func(w *where) {
		if g.ScopeCode != plan.NationalScope {
			w.add("province_code = " + w.arg(g.ScopeCode[:2]+"0000"))
		}
	}
	query := func(q string, w *where) ([]string, error) {
		rows, err := tx.QueryContext(ctx, q, w.args...)
		if err != nil {
			return nil, apperr.Internalf("store: builtin group members: %w", err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var code string
			if err := rows.Scan(&code); err != nil {
				return nil, apperr.Internalf("store: builtin group members: %w", err)
			}
			out = append(out, code)
		}
		return out, rows.Err()
	}
	var members []string
	if len(g.NamedInSource) > 0 {
		w := &where{}
		marks := make([]string, len(g.NamedInSource))
		for i, name := range g.NamedInSource {
			marks[i] = w.arg(name)
		}
		w.add("name IN (" + strings.Join(marks, ", ") + ")")
		in(w)
		var err error
		if members, err = query(`SELECT code FROM schools`+w.String()+` ORDER BY code`, w); err != nil {
			return nil, err
		}
	}
	if len(members) > 0 {
		return members, nil
	}
	var demo int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE entity = 'demo' AND action = 'demo.load'`).Scan(&demo); err != nil {
		return nil, apperr.Internalf("store: builtin group members: %w", err)
	}
	if demo == 0 {
		return nil, nil
	}
	w := &where{}
	w.add("type = '技师学院'")
	w.add("ownership = '公办'")
	in(w)
	capital := g.ScopeCode[:2] + "0100"
	return query(`SELECT code FROM schools`+w.String()+` ORDER BY CASE WHEN city_code = `+w.arg(capital)+` THEN 0 ELSE 1 END, code LIMIT `+
		w.arg(builtinGroupSize), w)
}
