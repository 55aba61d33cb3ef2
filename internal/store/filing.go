package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

// Offerings lists the majors a school offers.
func (db *DB) Offerings(ctx context.Context, schoolCode string) ([]school.Offering, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT major, class_level, study_mode FROM school_majors WHERE school_code = $1
		ORDER BY major, class_level, study_mode`, schoolCode)
	if err != nil {
		return nil, apperr.Internalf("store: offerings: %w", err)
	}
	defer rows.Close()
	out := []school.Offering{}
	for rows.Next() {
		var o school.Offering
		if err := rows.Scan(&o.Major, &o.ClassLevel, &o.StudyMode); err != nil {
			return nil, apperr.Internalf("store: scan offering: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// SetOfferings replaces a school's offerings.
func (db *DB) SetOfferings(ctx context.Context, schoolCode string, list []school.Offering, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM school_majors WHERE school_code = $1`, schoolCode); err != nil {
			return apperr.Internalf("store: clear offerings: %w", err)
		}
		rows := make([][]any, len(list))
		for i, o := range list {
			rows[i] = []any{schoolCode, o.Major, o.ClassLevel, o.StudyMode}
		}
		if err := db.insertRows(ctx, tx, "school_majors", []string{"school_code", "major", "class_level", "study_mode"}, rows); err != nil {
			return apperr.Internalf("store: set offerings: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// filingBody is the kind-specific content of a filing, stored as JSON.
type filingBody struct {
	Lines     []school.PlanLine `json:"lines,omitempty"`
	Statement string            `json:"statement,omitempty"`
	Site      *school.Site      `json:"site,omitempty"`
	Joint     *school.Joint     `json:"joint,omitempty"`
}

func bodyOf(f *school.Filing) string {
	b, _ := json.Marshal(filingBody{Lines: f.Lines, Statement: f.Statement, Site: f.Site, Joint: f.Joint})
	return string(b)
}

func siteAddress(f *school.Filing) string {
	if f.Site == nil {
		return ""
	}
	return strings.Join(strings.Fields(f.Site.Address), "")
}

const filingColumns = `f.id, f.kind, f.school_code, sc.name, sc.type, f.city_code, f.year, f.state, f.amends, f.body, f.valid_from,
	f.valid_to, f.late, f.submitted_at, f.submitted_by, f.created_by, f.created_at, f.updated_at, f.version`

const filingFrom = ` FROM filings f JOIN schools sc ON sc.code = f.school_code`

func scanFiling(row interface{ Scan(...any) error }) (*school.Filing, error) {
	var f school.Filing
	var body string
	var submitted, created, updated int64
	err := row.Scan(&f.ID, &f.Kind, &f.SchoolCode, &f.SchoolName, &f.SchoolType, &f.CityCode, &f.Year, &f.State, &f.Amends, &body,
		&f.ValidFrom, &f.ValidTo, &f.Late, &submitted, &f.SubmittedBy, &f.CreatedBy, &created, &updated, &f.Version)
	if err != nil {
		return nil, err
	}
	var b filingBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return nil, err
	}
	f.Lines, f.Statement, f.Site, f.Joint = b.Lines, b.Statement, b.Site, b.Joint
	f.SubmittedAt, f.CreatedAt, f.UpdatedAt = fromMicros(submitted), fromMicros(created), fromMicros(updated)
	return &f, nil
}

func insertFilingEvent(ctx context.Context, tx *sql.Tx, id int64, ev school.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO filing_events (filing_id, action, from_state, to_state, actor, at, note) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, ev.Step, ev.From, ev.To, ev.Actor, micros(ev.At), ev.Note)
	if err != nil {
		return apperr.Internalf("store: filing event: %w", err)
	}
	return nil
}

// live is whether f holds its school's place for its plan year: an
// amendment takes the place only when it is published.
func live(f *school.Filing) bool {
	if f.Amends != 0 {
		return f.State == school.FilingPublished
	}
	return school.Live(f.State)
}

// CreateFiling stores a new filing and its first event.
func (db *DB) CreateFiling(ctx context.Context, f *school.Filing, ev school.Event, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if f.Amends != 0 {
			// One open amendment at a time: the original's row lock
			// queues concurrent amendments (SQLite has one writer anyway),
			// and the check is repeated inside the transaction.
			if _, err := tx.ExecContext(ctx, `UPDATE filings SET version = version WHERE id = $1`, f.Amends); err != nil {
				return apperr.Internalf("store: lock amended filing: %w", err)
			}
			var open int
			if err := tx.QueryRowContext(ctx, qOpenAmendments, f.Amends).Scan(&open); err != nil {
				return apperr.Internalf("store: open amendment: %w", err)
			}
			if open > 0 {
				return apperr.E(apperr.Conflict, "", "filing.amend.open")
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO filings (kind, school_code, city_code, year, state, amends, live, body, site_address,
			valid_from, valid_to, late, created_by, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			f.Kind, f.SchoolCode, f.CityCode, f.Year, f.State, f.Amends, live(f), bodyOf(f), siteAddress(f), f.ValidFrom, f.ValidTo,
			f.Late, f.CreatedBy, micros(f.CreatedAt), micros(f.UpdatedAt), f.Version).Scan(&f.ID)
		if isUniqueViolation(err) {
			return apperr.E(apperr.Conflict, "year", "filing.duplicate", f.Year)
		}
		if err != nil {
			return apperr.Internalf("store: create filing: %w", err)
		}
		if err := insertFilingEvent(ctx, tx, f.ID, ev); err != nil {
			return err
		}
		f.Events = []school.Event{ev}
		if m, ok := e.Data.(map[string]any); ok {
			m["filing"] = f.ID
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// UpdateFiling writes a changed filing and its event; publishing an
// amendment supersedes the filing it changes in the same transaction.
func (db *DB) UpdateFiling(ctx context.Context, f *school.Filing, prev int64, ev school.Event, superseded int64, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if superseded != 0 {
			var was string // approved or published: the history says which
			if err := tx.QueryRowContext(ctx, `SELECT state FROM filings WHERE id = $1`, superseded).Scan(&was); err != nil {
				return apperr.Internalf("store: supersede filing: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE filings SET state = $1, live = $2, updated_at = $3, version = version + 1 WHERE id = $4`,
				school.FilingSuperseded, false, micros(ev.At), superseded); err != nil {
				return apperr.Internalf("store: supersede filing: %w", err)
			}
			if err := insertFilingEvent(ctx, tx, superseded, school.Event{Step: "supersede", From: was,
				To: school.FilingSuperseded, Actor: ev.Actor, At: ev.At, Note: fmt.Sprintf("被变更申报 #%d 取代", f.ID)}); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE filings SET year = $1, state = $2, live = $3, body = $4, site_address = $5, valid_from = $6,
			valid_to = $7, late = $8, submitted_at = $9, submitted_by = $10, updated_at = $11, version = $12 WHERE id = $13 AND version = $14`,
			f.Year, f.State, live(f), bodyOf(f), siteAddress(f), f.ValidFrom, f.ValidTo, f.Late, micros(f.SubmittedAt), f.SubmittedBy,
			micros(f.UpdatedAt), f.Version, f.ID, prev)
		if isUniqueViolation(err) {
			return apperr.E(apperr.Conflict, "year", "filing.duplicate", f.Year)
		}
		if err != nil {
			return apperr.Internalf("store: update filing: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.E(apperr.Conflict, "version", "filing.version.stale")
		}
		if err := insertFilingEvent(ctx, tx, f.ID, ev); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

func filingWhere(f school.FilingFilter) *where {
	w := &where{}
	applyScope(w, f.Scope, cols("f.city_code"), cols("f.school_code"))
	if f.Kind != "" {
		w.add("f.kind = " + w.arg(f.Kind))
	}
	if f.Year != 0 {
		w.add("f.year = " + w.arg(f.Year))
	}
	if f.State != "" {
		w.add("f.state = " + w.arg(f.State))
	}
	if f.SchoolCode != "" {
		w.add("f.school_code = " + w.arg(f.SchoolCode))
	}
	if f.CityCode != "" {
		w.add("f.city_code = " + w.arg(f.CityCode))
	}
	if f.Late {
		w.add("f.late = " + w.arg(true))
	}
	return w
}

// FindFiling returns a filing scope may see, with its history.
func (db *DB) FindFiling(ctx context.Context, scope auth.Scope, id int64) (*school.Filing, error) {
	w := filingWhere(school.FilingFilter{Scope: scope})
	w.add("f.id = " + w.arg(id))
	f, err := scanFiling(db.read.QueryRowContext(ctx, `SELECT `+filingColumns+filingFrom+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "filing.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: find filing: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT action, from_state, to_state, actor, at, note FROM filing_events WHERE filing_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, apperr.Internalf("store: filing events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev school.Event
		var at int64
		if err := rows.Scan(&ev.Step, &ev.From, &ev.To, &ev.Actor, &at, &ev.Note); err != nil {
			return nil, apperr.Internalf("store: scan filing event: %w", err)
		}
		ev.At = fromMicros(at)
		f.Events = append(f.Events, ev)
	}
	return f, rows.Err()
}

func (db *DB) queryFilings(ctx context.Context, query string, args ...any) ([]*school.Filing, error) {
	return scanFilings(ctx, db.read, query, args...)
}

func scanFilings(ctx context.Context, q queryer, query string, args ...any) ([]*school.Filing, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, apperr.Internalf("store: filings: %w", err)
	}
	defer rows.Close()
	var out []*school.Filing
	for rows.Next() {
		f, err := scanFiling(rows)
		if err != nil {
			return nil, apperr.Internalf("store: scan filing: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// ListFilings returns a page of filings, newest first.
func (db *DB) ListFilings(ctx context.Context, f school.FilingFilter) ([]*school.Filing, int, error) {
	w := filingWhere(f)
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM filings f`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count filings: %w", err)
	}
	if f.After > 0 {
		w.add("f.id < " + w.arg(f.After))
	}
	out, err := db.queryFilings(ctx, `SELECT `+filingColumns+filingFrom+w.String()+` ORDER BY f.id DESC LIMIT `+w.arg(f.Limit), w.args...)
	return out, total, err
}

// SiteOverlaps reports a live site filing of the same school at the same
// address whose term overlaps f's.
func (db *DB) SiteOverlaps(ctx context.Context, f *school.Filing) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM filings WHERE kind = 'site' AND school_code = $1 AND site_address = $2
		AND id <> $3 AND id <> $4 AND amends <> $3 AND state NOT IN ('rejected', 'superseded', 'withdrawn')
		AND valid_from <= $5 AND valid_to >= $6`,
		f.SchoolCode, siteAddress(f), f.ID, f.Amends, f.ValidTo, f.ValidFrom).Scan(&n)
	if err != nil {
		return false, apperr.Internalf("store: site overlap: %w", err)
	}
	return n > 0, nil
}

const qOpenAmendments = `SELECT COUNT(*) FROM filings WHERE amends = $1 AND state NOT IN ('rejected', 'superseded', 'withdrawn', 'published')`

// OpenAmendment reports whether an amendment of filing id is under way.
func (db *DB) OpenAmendment(ctx context.Context, id int64) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, qOpenAmendments, id).Scan(&n)
	if err != nil {
		return false, apperr.Internalf("store: open amendment: %w", err)
	}
	return n > 0, nil
}

// FilingYear returns a year's settings (no deadline when unset).
func (db *DB) FilingYear(ctx context.Context, year int) (school.YearSettings, error) {
	y := school.YearSettings{Year: year}
	err := db.read.QueryRowContext(ctx, `SELECT deadline FROM filing_years WHERE year = $1`, year).Scan(&y.Deadline)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return y, apperr.Internalf("store: filing year: %w", err)
	}
	return y, nil
}

// SetFilingYear stores a year's settings.
func (db *DB) SetFilingYear(ctx context.Context, y school.YearSettings, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO filing_years (year, deadline) VALUES ($1, $2)
			ON CONFLICT (year) DO UPDATE SET deadline = excluded.deadline`, y.Year, y.Deadline); err != nil {
			return apperr.Internalf("store: set filing year: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// YearProgress counts, per city in scope, the schools and the state of
// their plan for the year.
func (db *DB) YearProgress(ctx context.Context, scope auth.Scope, year int) ([]school.CityProgress, error) {
	w := &where{}
	applyScope(w, scope, cols("sc.city_code"), cols("sc.code"))
	w.add("sc.status <> " + w.arg(school.StatusClosed))
	rows, err := db.read.QueryContext(ctx, `SELECT sc.city_code, COALESCE(f.state, ''), COALESCE(f.late, `+w.arg(false)+`), COUNT(*)
		FROM schools sc LEFT JOIN filings f ON f.school_code = sc.code AND f.kind = 'plan' AND f.live AND f.year = `+w.arg(year)+
		w.String()+` GROUP BY sc.city_code, f.state, f.late ORDER BY sc.city_code`, w.args...)
	if err != nil {
		return nil, apperr.Internalf("store: year progress: %w", err)
	}
	defer rows.Close()
	var out []school.CityProgress
	for rows.Next() {
		var city, state string
		var late bool
		var n int
		if err := rows.Scan(&city, &state, &late, &n); err != nil {
			return nil, apperr.Internalf("store: scan progress: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].CityCode != city {
			name := city
			if d, ok := refdata.LookupDivision(city); ok {
				name = d.Name
			}
			out = append(out, school.CityProgress{CityCode: city, CityName: name, ByState: map[string]int{}})
		}
		p := &out[len(out)-1]
		p.Schools += n
		if state == "" {
			continue
		}
		p.ByState[state] += n
		if state != school.FilingDraft {
			p.Submitted += n
		}
		switch state {
		case school.FilingCityApproved, school.FilingApproved, school.FilingPublished:
			p.Reviewed += n
		}
		if state == school.FilingApproved || state == school.FilingPublished {
			p.Approved += n
		}
		if state == school.FilingPublished {
			p.Published += n
		}
		if late {
			p.Late += n
		}
	}
	return out, rows.Err()
}

// PublishedFilings are the published plans of a year and the published
// sites and joint programs whose term covers day, by school.
// The public portal reads them, from the replica when there is one.
func (db *DB) PublishedFilings(ctx context.Context, year int, day string) ([]*school.Filing, error) {
	var out []*school.Filing
	err := db.publicRead(ctx, func(q queryer) error {
		var err error
		out, err = scanFilings(ctx, q, `SELECT `+filingColumns+filingFrom+` WHERE f.state = 'published' AND (
			(f.kind = 'plan' AND f.year = $1) OR (f.kind <> 'plan' AND f.valid_from <= $2 AND f.valid_to >= $2))
			ORDER BY f.city_code, f.school_code, f.kind, f.id`, year, day)
		return err
	})
	return out, err
}

// OfferingIntake is how many students a school enrolled in an offering.
type OfferingIntake struct {
	SchoolCode string
	school.Offering
	Students int
}

// IntakeByOffering counts the students enrolled in a calendar year by
// school, major, class level and study mode (the demo derives offerings
// and plans from them).
func (db *DB) IntakeByOffering(ctx context.Context, year int) ([]OfferingIntake, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT school_code, major, class_level, study_mode, COUNT(*) FROM students
		WHERE enrollment_date >= $1 AND enrollment_date < $2 GROUP BY school_code, major, class_level, study_mode
		ORDER BY school_code, major, class_level, study_mode`, fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1))
	if err != nil {
		return nil, apperr.Internalf("store: intake by offering: %w", err)
	}
	defer rows.Close()
	var out []OfferingIntake
	for rows.Next() {
		var o OfferingIntake
		if err := rows.Scan(&o.SchoolCode, &o.Major, &o.ClassLevel, &o.StudyMode, &o.Students); err != nil {
			return nil, apperr.Internalf("store: scan intake: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
