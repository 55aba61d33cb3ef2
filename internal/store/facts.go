package store

// The facts layer: plan.SchoolYear rows kept in school_year_facts, so a
// plan's dashboard reads some 35,000 rows for the nation instead of
// counting four million student records.
//
// The rollup is derived data. RebuildFacts recomputes it from the student
// records, a whole school at a time (its rows are exact for the snapshot
// it read), and is run by the serve job every minute. The counting is done
// on the read side; one transaction then replaces the recomputed schools'
// rows and moves the watermark, so a rebuild holds SQLite's single writer
// only to write. An incremental rebuild recomputes only the schools whose
// records changed since the previous rebuild started (its watermark),
// found three ways:
//
//   - students written since the watermark, less factsMargin (the overlap
//     window): every write sets updated_at (registration, import, applying
//     a status change), and students_updated finds them by range;
//   - applied status changes in the same window, which name the school a
//     transfer (转学) left as well as the one it joined: the student row
//     only names the new one;
//   - students whose id is above the highest the previous rebuild saw:
//     inserts whose updated_at is not the time of writing (bulk loads with
//     historical timestamps). On SQLite, with its single writer, ids are
//     given in commit order, so this alone finds every insert.
//
// A change found in the window is remembered (fact_seen, by row and
// version) once its school is recomputed, so the overlap costs a lookup,
// not a recomputation every minute for factsMargin.
//
// Staleness bound: a write is in the facts once the first rebuild that
// starts after it commits has finished: with the job running every
// minute, within a minute plus a rebuild's duration of the commit. That
// needs its timestamp (updated_at, or applied_at for a status change,
// both from the writing node's clock when the write is prepared) to be at
// most factsMargin older than its commit by the rebuilding node's clock
// (the previous rebuild started before the commit, and the window reaches
// factsMargin before that start): the write's transaction and the clock
// difference between nodes must stay under factsMargin together. A write
// that misses it (an all-or-nothing import running longer) is found by its
// ids on SQLite, and on PostgreSQL only by the next full rebuild. A full
// rebuild runs when asked for, on a database whose facts were never
// built, and on the first rebuild of a new calendar year (the rows run to
// the current year). A failed rebuild leaves the watermark where it was,
// so the next one looks further back.
//
// Rebuilds hold a lease in fact_state, so nodes running the job at once
// take turns; every write of a rebuild renews it and checks it is still
// theirs, which also serialises them on PostgreSQL (the row lock).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/plan"
)

const (
	// factsMargin is the overlap window: how much older than the previous
	// rebuild's start a change may be stamped and still be found.
	factsMargin = 15 * time.Minute
	// factsLease is how long a rebuild may go without writing before
	// another node may take over.
	factsLease = 5 * time.Minute
	// factsFullShare: when the changed schools hold more than this share
	// of the records, an incremental rebuild does a full one.
	factsFullShare = 0.4
)

// factsZone is the calendar the years are counted in.
var factsZone = time.FixedZone("CST", 8*3600)

// The students are counted by a key that holds what the facts need of a
// record: the year of enrollment, the year of leaving (0: not left) and
// whether the class is above 中级工班. Year Y's intake are those enrolled
// in Y; in school on 31 December of Y are those enrolled by then
// (enrollment_date <= 'Y-12-31') and not left by then (left_date >
// 'Y-12-31'): for ISO dates, enrollment year <= Y < leaving year.
const (
	factKey = `CAST(substr(enrollment_date, 1, 4) AS INTEGER) * 100000
		+ COALESCE(CAST(substr(left_date, 1, 4) AS INTEGER), 0) * 10
		+ CASE WHEN class_level <> '中级工班' THEN 1 ELSE 0 END`
	qSchoolFactGroups = `SELECT ` + factKey + `, COUNT(*) FROM students WHERE school_code = $1 GROUP BY 1`
	qFactLease        = `UPDATE fact_state SET lease_until = $1 WHERE id = 1 AND lease_owner = $2`
)

var factColumns = []string{"school_code", "year", "intake", "enrolled", "enrolled_senior"}

// factGroup is the number of a school's students with one key.
type factGroup struct {
	enrolled, left int // years; left 0: not left
	senior         bool
	n              int
}

// groupsOf decodes counts by key. Keys without a plausible enrollment
// year are dropped: the write paths accept only ISO dates from 1980 on.
func groupsOf(counts map[int64]int) []factGroup {
	out := make([]factGroup, 0, len(counts))
	for k, n := range counts {
		g := factGroup{enrolled: int(k / 100000), left: int(k / 10 % 10000), senior: k%10 != 0, n: n}
		if g.enrolled >= 1900 {
			out = append(out, g)
		}
	}
	return out
}

// schoolFactRows turns one school's groups into its rows, in year order,
// for the years up to horizon; years with neither intake nor students
// are left out.
func schoolFactRows(code string, groups []factGroup, horizon int) [][]any {
	first := horizon + 1
	for _, g := range groups {
		first = min(first, g.enrolled)
	}
	if first > horizon {
		return nil
	}
	n := horizon - first + 1
	intake, enrolled, senior := make([]int, n), make([]int, n), make([]int, n)
	for _, g := range groups {
		if g.enrolled > horizon {
			continue
		}
		intake[g.enrolled-first] += g.n
		last := horizon // the last 31 December in school
		if g.left != 0 {
			last = min(last, g.left-1)
		}
		for y := g.enrolled; y <= last; y++ {
			enrolled[y-first] += g.n
			if g.senior {
				senior[y-first] += g.n
			}
		}
	}
	var rows [][]any
	for i := range n {
		if intake[i] != 0 || enrolled[i] != 0 {
			rows = append(rows, []any{code, first + i, intake[i], enrolled[i], senior[i]})
		}
	}
	return rows
}

// SchoolYears returns the facts of the schools scope may see for the years
// from to to, in school and year order, with each school's current type,
// city and marks. A year in which a school had neither intake nor
// students has no row. They are as of the last rebuild (FactsAsOf). The
// dashboards read them from the replica when there is one.
func (db *DB) SchoolYears(ctx context.Context, scope auth.Scope, from, to int) ([]plan.SchoolYear, error) {
	var out []plan.SchoolYear
	err := db.publicRead(ctx, func(q queryer) error {
		var err error
		out, err = schoolYears(ctx, q, scope, from, to)
		return err
	})
	return out, err
}

func schoolYears(ctx context.Context, q queryer, scope auth.Scope, from, to int) ([]plan.SchoolYear, error) {
	// The schools first, then their facts: joining them in SQL costs a
	// lookup and three strings per row, reading them apart neither.
	sw := &where{}
	applyScope(sw, scope, cols("city_code"), cols("code"))
	rows, err := q.QueryContext(ctx, `SELECT code, city_code, type, national_key, provincial_quality FROM schools`+sw.String(), sw.args...)
	if err != nil {
		return nil, apperr.Internalf("store: school years: %w", err)
	}
	schools := map[string]plan.SchoolYear{}
	for rows.Next() {
		var f plan.SchoolYear
		if err := rows.Scan(&f.School, &f.City, &f.Type, &f.NationalKey, &f.Quality); err != nil {
			rows.Close()
			return nil, apperr.Internalf("store: school years: %w", err)
		}
		schools[f.School] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: school years: %w", err)
	}
	if len(schools) == 0 {
		return nil, nil
	}
	w := &where{}
	if scope.Kind != auth.ScopeAll {
		applyScope(w, scope, cols("sc.city_code"), cols("sc.code"))
		in := "f.school_code IN (SELECT sc.code FROM schools sc" + w.String() + ")"
		w.conds = nil
		w.add(in)
	}
	w.add("f.year >= " + w.arg(from))
	w.add("f.year <= " + w.arg(to))
	rows, err = q.QueryContext(ctx, `SELECT f.school_code, f.year, f.intake, f.enrolled, f.enrolled_senior
		FROM school_year_facts f`+w.String()+` ORDER BY f.school_code, f.year`, w.args...)
	if err != nil {
		return nil, apperr.Internalf("store: school years: %w", err)
	}
	defer rows.Close()
	out := make([]plan.SchoolYear, 0, len(schools)*max(1, min(to-from+1, 20)))
	var code sql.RawBytes
	var year, intake, enrolled, senior int
	for rows.Next() {
		if err := rows.Scan(&code, &year, &intake, &enrolled, &senior); err != nil {
			return nil, apperr.Internalf("store: school years: %w", err)
		}
		f, ok := schools[string(code)]
		if !ok { // a school added since the schools were read
			continue
		}
		f.Year, f.Intake, f.Enrolled, f.EnrolledSenior = year, intake, enrolled, senior
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: school years: %w", err)
	}
	return out, nil
}

// FactYears returns the first and last year the facts hold (0, 0 before
// the first rebuild). The rows run to the current year at most.
func (db *DB) FactYears(ctx context.Context) (first, last int, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT COALESCE(MIN(year), 0), COALESCE(MAX(year), 0) FROM school_year_facts`).Scan(&first, &last)
	if err != nil {
		return 0, 0, apperr.Internalf("store: fact years: %w", err)
	}
	return first, last, nil
}

// FactsChanged returns when a rebuild last changed any facts (zero:
// never built): what a cache of them is keyed by.
func (db *DB) FactsChanged(ctx context.Context) (time.Time, error) {
	var at int64
	if err := db.read.QueryRowContext(ctx, `SELECT changed_at FROM fact_state WHERE id = 1`).Scan(&at); err != nil {
		return time.Time{}, apperr.Internalf("store: facts changed: %w", err)
	}
	return fromMicros(at), nil
}

// FactsAsOf returns when the last rebuild started: the facts reflect every
// change committed before then (zero: never built).
func (db *DB) FactsAsOf(ctx context.Context) (time.Time, error) {
	var at int64
	if err := db.read.QueryRowContext(ctx, `SELECT rebuilt_at FROM fact_state WHERE id = 1`).Scan(&at); err != nil {
		return time.Time{}, apperr.Internalf("store: facts as of: %w", err)
	}
	return fromMicros(at), nil
}

// factState is fact_state's row.
type factState struct {
	rebuiltAt, fullAt, maxStudentID int64
	changedAt                       int64 // when a rebuild last replaced any rows
	horizon                         int
}

// factEvidence is a change found in the overlap window, remembered in
// fact_seen once its schools are recomputed.
type factEvidence struct {
	kind        string
	id, version int64
	at          int64
}

// RebuildFacts brings school_year_facts up to date with the student
// records and returns how many schools it recomputed. With full, or when
// the facts were never built or a new year has begun, it recomputes every
// school; otherwise only those whose records changed since the last
// rebuild (see the top of this file). When another rebuild holds the
// lease, an incremental rebuild returns 0 at once and a full one waits.
func (db *DB) RebuildFacts(ctx context.Context, full bool) (schools int, err error) {
	owner, err := db.claimFacts(ctx, full)
	if owner == "" || err != nil {
		return 0, err
	}
	defer func() {
		if err != nil { // give the lease back; the watermark stays
			db.write.ExecContext(context.WithoutCancel(ctx),
				`UPDATE fact_state SET lease_owner = '', lease_until = 0 WHERE id = 1 AND lease_owner = $1`, owner)
		}
	}()
	start := db.now()
	horizon := start.In(factsZone).Year()
	var st factState
	if err := db.write.QueryRowContext(ctx, `SELECT rebuilt_at, full_at, max_student_id, horizon, changed_at FROM fact_state WHERE id = 1`).
		Scan(&st.rebuiltAt, &st.fullAt, &st.maxStudentID, &st.horizon, &st.changedAt); err != nil {
		return 0, apperr.Internalf("store: facts state: %w", err)
	}
	full = full || st.rebuiltAt == 0 || st.horizon != horizon
	// What changed: for a full rebuild only to remember what it counts.
	since := st.rebuiltAt - factsMargin.Microseconds()
	if full {
		since = micros(start) - factsMargin.Microseconds()
	}
	ch, err := db.factChanges(ctx, since, st.maxStudentID, !full)
	if err != nil {
		return 0, err
	}
	if !full && len(ch.schools) > 0 {
		if full, err = db.factsMostlyChanged(ctx, ch); err != nil {
			return 0, err
		}
	}
	if full {
		return db.rebuildAllFacts(ctx, owner, start, horizon, st, ch.seen)
	}
	// Each changed school counted from its records on the read side, side
	// by side; then one transaction replaces their rows and moves the
	// watermark, so the writer is held only to write.
	codes := make([]string, 0, len(ch.schools))
	for c := range ch.schools {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	facts := make([][][]any, len(codes))
	if err := inParallel(len(codes), func(i int) error {
		groups, err := db.countSchoolFacts(ctx, codes[i])
		facts[i] = schoolFactRows(codes[i], groups, horizon)
		return err
	}); err != nil {
		return 0, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.renewFactsLease(ctx, tx, owner); err != nil {
			return err
		}
		var rows [][]any
		for i, code := range codes {
			if _, err := tx.ExecContext(ctx, `DELETE FROM school_year_facts WHERE school_code = $1`, code); err != nil {
				return apperr.Internalf("store: facts of %s: %w", code, err)
			}
			rows = append(rows, facts[i]...)
		}
		if err := db.insertRows(ctx, tx, "school_year_facts", factColumns, rows); err != nil {
			return err
		}
		if err := db.recordFactsSeen(ctx, tx, start, ch.seen); err != nil {
			return err
		}
		st.rebuiltAt, st.maxStudentID = micros(start), max(st.maxStudentID, ch.maxStudentID)
		if len(codes) > 0 {
			st.changedAt = st.rebuiltAt
		}
		return db.releaseFacts(ctx, tx, owner, st)
	})
	if err != nil {
		return 0, err
	}
	return len(codes), nil
}

// factsMostlyChanged reports whether the changed schools hold so many of
// the records that one pass over them all is cheaper than reading those
// schools' records through the index (about twice the cost per record).
func (db *DB) factsMostlyChanged(ctx context.Context, ch factChangeSet) (bool, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT school_code, SUM(intake) FROM school_year_facts GROUP BY school_code`)
	if err != nil {
		return false, apperr.Internalf("store: facts: %w", err)
	}
	defer rows.Close()
	changed, total := ch.inserted, ch.inserted
	for rows.Next() {
		var code string
		var n int64
		if err := rows.Scan(&code, &n); err != nil {
			return false, apperr.Internalf("store: facts: %w", err)
		}
		total += n
		if ch.schools[code] {
			changed += n
		}
	}
	if err := rows.Err(); err != nil {
		return false, apperr.Internalf("store: facts: %w", err)
	}
	return float64(changed) > factsFullShare*float64(total), nil
}

// inParallel runs fn(0) … fn(n-1) on up to four goroutines (the read
// pool's connections are shared with requests) and returns their errors.
func inParallel(n int, fn func(i int) error) error {
	workers := min(n, 4, runtime.GOMAXPROCS(0))
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// factChangeSet is what changed since a rebuild: the schools to recompute,
// the changes that say so, and the highest student id found.
type factChangeSet struct {
	schools      map[string]bool
	seen         []factEvidence
	maxStudentID int64
	inserted     int64 // students found by id
}

// factChanges finds the students written and the status changes applied
// at or after since (µs) that are not in fact_seen, and with byID the
// students inserted with an id above afterID.
func (db *DB) factChanges(ctx context.Context, since, afterID int64, byID bool) (factChangeSet, error) {
	ch := factChangeSet{schools: map[string]bool{}}
	if byID { // most minutes insert nothing: ask the primary key first
		var top int64
		if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM students`).Scan(&top); err != nil {
			return ch, apperr.Internalf("store: facts changes: %w", err)
		}
		byID = top > afterID
	}
	if byID {
		rows, err := db.read.QueryContext(ctx, `SELECT school_code, MAX(id), COUNT(*) FROM students WHERE id > $1 GROUP BY school_code`, afterID)
		if err != nil {
			return ch, apperr.Internalf("store: facts changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var id, n int64
			if err := rows.Scan(&code, &id, &n); err != nil {
				return ch, apperr.Internalf("store: facts changes: %w", err)
			}
			ch.schools[code], ch.maxStudentID, ch.inserted = true, max(ch.maxStudentID, id), ch.inserted+n
		}
		if err := rows.Err(); err != nil {
			return ch, apperr.Internalf("store: facts changes: %w", err)
		}
		rows.Close()
	}
	collect := func(kind, q string) error {
		rows, err := db.read.QueryContext(ctx, q, since)
		if err != nil {
			return apperr.Internalf("store: facts changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e := factEvidence{kind: kind}
			var code, other string
			if err := rows.Scan(&e.id, &e.version, &e.at, &code, &other); err != nil {
				return apperr.Internalf("store: facts changes: %w", err)
			}
			ch.seen = append(ch.seen, e)
			ch.schools[code] = true
			if other != "" {
				ch.schools[other] = true
			}
		}
		if err := rows.Err(); err != nil {
			return apperr.Internalf("store: facts changes: %w", err)
		}
		return nil
	}
	if err := collect("student", `SELECT s.id, s.version, s.updated_at, s.school_code, '' FROM students s
		LEFT JOIN fact_seen f ON f.kind = 'student' AND f.id = s.id AND f.version = s.version
		WHERE s.updated_at >= $1 AND f.id IS NULL`); err != nil {
		return ch, err
	}
	// A transfer's student row names only the school it joined.
	if err := collect("change", `SELECT c.id, c.version, c.applied_at, c.school_code, c.target_school_code FROM change_requests c
		LEFT JOIN fact_seen f ON f.kind = 'change' AND f.id = c.id AND f.version = c.version
		WHERE c.applied_at >= $1 AND f.id IS NULL`); err != nil {
		return ch, err
	}
	return ch, nil
}

// recordFactsSeen remembers changes whose schools were recomputed after
// they were found, and forgets those the next window will not reach.
func (db *DB) recordFactsSeen(ctx context.Context, tx *sql.Tx, start time.Time, seen []factEvidence) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM fact_seen WHERE at < $1`, micros(start)-factsMargin.Microseconds()); err != nil {
		return apperr.Internalf("store: facts seen: %w", err)
	}
	rows := make([][]any, len(seen))
	for i, e := range seen {
		rows[i] = []any{e.kind, e.id, e.version, e.at}
	}
	return db.insertRows(ctx, tx, "fact_seen", []string{"kind", "id", "version", "at"}, rows)
}

// countSchoolFacts counts one school's students by key.
func (db *DB) countSchoolFacts(ctx context.Context, code string) ([]factGroup, error) {
	rows, err := db.read.QueryContext(ctx, qSchoolFactGroups, code)
	if err != nil {
		return nil, apperr.Internalf("store: facts of %s: %w", code, err)
	}
	defer rows.Close()
	counts := map[int64]int{}
	for rows.Next() {
		var key int64
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			return nil, apperr.Internalf("store: facts of %s: %w", code, err)
		}
		counts[key] += n
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("store: facts of %s: %w", code, err)
	}
	return groupsOf(counts), nil
}

// countAllFacts counts every school's students by key, reading ranges of
// ids up to maxID side by side. SQLite has no hash aggregation and sorting
// millions of rows costs more than handing them over; PostgreSQL
// aggregates where the rows are.
func (db *DB) countAllFacts(ctx context.Context, maxID int64) (map[string]map[int64]int, error) {
	q := `SELECT school_code, ` + factKey + `, 1 FROM students WHERE id > $1 AND id <= $2`
	if db.Engine == Postgres {
		q = `SELECT school_code, ` + factKey + `, COUNT(*) FROM students WHERE id > $1 AND id <= $2 GROUP BY 1, 2`
	}
	parts := 1
	if maxID > 1000 {
		parts = 4
	}
	step := maxID/int64(parts) + 1
	results := make([]map[string]map[int64]int, parts)
	if err := inParallel(parts, func(p int) error {
		var err error
		results[p], err = db.countFactRange(ctx, q, int64(p)*step, min(int64(p+1)*step, maxID))
		return err
	}); err != nil {
		return nil, apperr.Internalf("store: facts: %w", err)
	}
	all := results[0]
	for _, r := range results[1:] {
		for code, counts := range r {
			if all[code] == nil {
				all[code] = counts
				continue
			}
			for k, n := range counts {
				all[code][k] += n
			}
		}
	}
	return all, nil
}

func (db *DB) countFactRange(ctx context.Context, q string, after, upTo int64) (map[string]map[int64]int, error) {
	out := map[string]map[int64]int{}
	rows, err := db.read.QueryContext(ctx, q, after, upTo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var code sql.RawBytes
	var key int64
	var n int
	for rows.Next() {
		if err := rows.Scan(&code, &key, &n); err != nil {
			return nil, err
		}
		counts := out[string(code)]
		if counts == nil {
			counts = map[int64]int{}
			out[string(code)] = counts
		}
		counts[key] += n
	}
	return out, rows.Err()
}

// rebuildAllFacts recomputes every school: one pass over the students on
// the read side, then one transaction replacing the rows. seen are
// changes found before the pass began, so counted by it.
func (db *DB) rebuildAllFacts(ctx context.Context, owner string, start time.Time, horizon int, st factState, seen []factEvidence) (int, error) {
	var maxID int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM students`).Scan(&maxID); err != nil {
		return 0, apperr.Internalf("store: facts: %w", err)
	}
	bySchool, err := db.countAllFacts(ctx, maxID)
	if err != nil {
		return 0, err
	}
	codes := make([]string, 0, len(bySchool))
	for c := range bySchool {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var facts [][]any
	for _, c := range codes {
		facts = append(facts, schoolFactRows(c, groupsOf(bySchool[c]), horizon)...)
	}
	var schools int
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.renewFactsLease(ctx, tx, owner); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools`).Scan(&schools); err != nil {
			return apperr.Internalf("store: facts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM school_year_facts`); err != nil {
			return apperr.Internalf("store: facts: %w", err)
		}
		if err := db.insertRows(ctx, tx, "school_year_facts", factColumns, facts); err != nil {
			return err
		}
		// A change committed during the pass is found by the next
		// rebuild's window.
		if err := db.recordFactsSeen(ctx, tx, start, seen); err != nil {
			return err
		}
		st.rebuiltAt, st.fullAt, st.maxStudentID, st.horizon = micros(start), micros(start), maxID, horizon
		st.changedAt = st.rebuiltAt
		return db.releaseFacts(ctx, tx, owner, st)
	})
	if err != nil {
		return 0, err
	}
	return schools, nil
}

// claimFacts takes the rebuild lease and returns its owner token: empty
// when another rebuild holds it and this one need not wait (incremental).
func (db *DB) claimFacts(ctx context.Context, wait bool) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	owner := hex.EncodeToString(b)
	for {
		now := db.now()
		res, err := db.write.ExecContext(ctx, `UPDATE fact_state SET lease_owner = $1, lease_until = $2 WHERE id = 1 AND lease_until < $3`,
			owner, micros(now.Add(factsLease)), micros(now))
		if err != nil {
			return "", apperr.Internalf("store: facts lease: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return owner, nil
		}
		if !wait {
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// renewFactsLease extends the lease inside tx, failing if it is no longer
// owner's; on PostgreSQL it also locks fact_state until tx ends.
func (db *DB) renewFactsLease(ctx context.Context, tx *sql.Tx, owner string) error {
	res, err := tx.ExecContext(ctx, qFactLease, micros(db.now().Add(factsLease)), owner)
	if err != nil {
		return apperr.Internalf("store: facts lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.Internalf("store: facts lease lost")
	}
	return nil
}

// releaseFacts records a finished rebuild and gives the lease back.
func (db *DB) releaseFacts(ctx context.Context, tx *sql.Tx, owner string, st factState) error {
	res, err := tx.ExecContext(ctx, `UPDATE fact_state SET rebuilt_at = $1, full_at = $2, max_student_id = $3, horizon = $4,
		changed_at = $5, lease_owner = '', lease_until = 0 WHERE id = 1 AND lease_owner = $6`,
		st.rebuiltAt, st.fullAt, st.maxStudentID, st.horizon, st.changedAt, owner)
	if err != nil {
		return apperr.Internalf("store: facts state: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.Internalf("store: facts lease lost")
	}
	return nil
}
