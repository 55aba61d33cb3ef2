package school_test

// Tests of the yearly review of filings (申报: enrollment plans with their
// qualification statement, off-campus sites, joint programs) through the
// real FilingService over a real store, on SQLite and PostgreSQL: the
// whole state machine (every action from every state by every kind of
// caller), the audit entry and history event of every step, lateness,
// amendments, duplicates (also concurrent), validation of every field, site
// overlaps, offerings, the progress table and what the public portal gets.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// ---------------------------------------------------------------------------
// Fixture.

const (
	schoolA = "3701001" // 济南, the school whose filings most tests use
	schoolB = "3701002" // 济南, another school of the same city
	schoolQ = "3702001" // 青岛
	jinan   = "370100"
	qingdao = "370200"
)

// fixtureSchools are the registry of the tests: six schools in 济南 (one
// of them closed) and four in 青岛.
var fixtureSchools = []struct{ code, div, status string }{
	{schoolA, "370102", school.StatusOperating},
	{schoolB, "370112", school.StatusOperating},
	{"3701003", "370103", school.StatusOperating},
	{"3701004", "370104", school.StatusOperating},
	{"3701005", "370105", school.StatusOperating},
	{"3701006", "370113", school.StatusOperating},
	{"3701009", "370102", school.StatusClosed},
	{schoolQ, "370202", school.StatusOperating},
	{"3702002", "370203", school.StatusOperating},
	{"3702003", "370211", school.StatusOperating},
	{"3702004", "370212", school.StatusOperating},
}

// The offerings every fixture school registers.
var (
	autoMid   = school.Offering{Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制"}
	autoHigh  = school.Offering{Major: "汽车维修", ClassLevel: "高级工班", StudyMode: "全日制"}
	autoTech  = school.Offering{Major: "汽车维修", ClassLevel: "预备技师班", StudyMode: "全日制"}
	mechPart  = school.Offering{Major: "机电一体化", ClassLevel: "中级工班", StudyMode: "非全日制"}
	offerings = []school.Offering{autoMid, autoHigh, autoTech, mechPart}
)

type fixture struct {
	db    *store.DB
	raw   *sql.DB
	svc   *school.FilingService
	clock time.Time
	years int // the next plan year the state-machine table takes

	// The callers: the province (two users: psub files on schools'
	// behalf, prov reviews), the auditor, two cities and three schools.
	prov, psub, auditor       auth.Principal
	jinan, qingdao            auth.Principal
	schoolA, schoolB, schoolQ auth.Principal
	catalogue                 []string
}

// The default clock: a spring morning in 2026, before any deadline.
var spring = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := t.Context()
	db := storetest.Open(t, dsn)
	for _, s := range fixtureSchools {
		sc := &school.School{Code: s.code, Name: "测试" + s.code + "技工学校", Type: "技工学校", Ownership: "公办", DivisionCode: s.div,
			Status: s.status, CreatedAt: spring, UpdatedAt: spring, Version: 1}
		if err := school.Validate(sc); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSchool(ctx, sc, audit.Entry{Actor: "t", Action: "school.create", Entity: "school", EntityID: s.code}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{db: db, raw: storetest.Raw(t, dsn), clock: spring, years: school.MinFilingYear,
		prov:    auth.Principal{Name: "prov", Role: auth.RoleProvince},
		psub:    auth.Principal{Name: "prov-filer", Role: auth.RoleProvince},
		auditor: auth.Principal{Name: "auditor", Role: auth.RoleAuditor},
		jinan:   auth.Principal{Name: "city-jinan", Role: auth.RoleCity, ScopeCode: jinan},
		qingdao: auth.Principal{Name: "city-qingdao", Role: auth.RoleCity, ScopeCode: qingdao},
		schoolA: auth.Principal{Name: "school-a", Role: auth.RoleSchool, ScopeCode: schoolA},
		schoolB: auth.Principal{Name: "school-b", Role: auth.RoleSchool, ScopeCode: schoolB},
		schoolQ: auth.Principal{Name: "school-q", Role: auth.RoleSchool, ScopeCode: schoolQ},
	}
	f.svc = school.NewFilingService(db)
	f.svc.Now = func() time.Time { return f.clock }
	var err error
	if f.catalogue, err = db.Majors(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range fixtureSchools {
		if _, err := f.svc.SetOfferings(ctx, f.prov, s.code, offerings, f.catalogue); err != nil {
			t.Fatalf("offerings of %s: %v", s.code, err)
		}
	}
	return f
}

// schoolUser is the principal of a fixture school.
func schoolUser(code string) auth.Principal {
	return auth.Principal{Name: "school-" + code, Role: auth.RoleSchool, ScopeCode: code}
}

// cityUser is the principal of the city of a fixture school.
func cityUser(code string) auth.Principal {
	city := jinan
	if strings.HasPrefix(code, "3702") {
		city = qingdao
	}
	return auth.Principal{Name: "city-" + city, Role: auth.RoleCity, ScopeCode: city}
}

// planIn is a valid plan of a school for a year.
func planIn(code string, year int) school.FilingInput {
	return school.FilingInput{Kind: school.KindPlan, SchoolCode: code, Year: year,
		Lines: []school.PlanLine{
			{Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制", Intake: 40},
			{Major: "机电一体化", ClassLevel: "中级工班", StudyMode: "非全日制", Intake: 20},
		},
		Statement: "实训工位120个，专任教师18人，校舍和设备符合技工院校设置标准。"}
}

// siteIn is a valid off-campus site at address for a term.
func siteIn(code, address, from, to string) school.FilingInput {
	return school.FilingInput{Kind: school.KindSite, SchoolCode: code, ValidFrom: from, ValidTo: to,
		Site: &school.Site{Name: "产业园教学点", Address: address, Majors: []string{"汽车维修"}, Capacity: 300}}
}

// jointIn is a valid joint program for a term.
func jointIn(code, from, to string) school.FilingInput {
	return school.FilingInput{Kind: school.KindJoint, SchoolCode: code, ValidFrom: from, ValidTo: to,
		Joint: &school.Joint{Partners: []string{"济南装备制造集团有限公司"}, Responsibilities: "学校负责理论教学；企业提供实训岗位。",
			Majors: []string{"机电一体化"}}}
}

func (f *fixture) create(t *testing.T, p auth.Principal, in school.FilingInput) *school.Filing {
	t.Helper()
	fl, err := f.svc.Create(t.Context(), p, in)
	if err != nil {
		t.Fatalf("create %s of %s for %d as %s: %v", in.Kind, in.SchoolCode, in.Year, p.Name, err)
	}
	return fl
}

func (f *fixture) act(t *testing.T, p auth.Principal, id int64, action, note string) *school.Filing {
	t.Helper()
	fl, err := f.svc.Act(t.Context(), p, id, action, note)
	if err != nil {
		t.Fatalf("%s #%d as %s: %v", action, id, p.Name, err)
	}
	return fl
}

// get reads a filing as stored, with its history.
func (f *fixture) get(t *testing.T, id int64) *school.Filing {
	t.Helper()
	fl, err := f.db.FindFiling(t.Context(), auth.Scope{Kind: auth.ScopeAll}, id)
	if err != nil {
		t.Fatalf("filing #%d: %v", id, err)
	}
	return fl
}

// step is one review step of a path.
type step struct {
	who    func(f *fixture, code string) auth.Principal
	action string
}

var (
	byFiler    = func(f *fixture, _ string) auth.Principal { return f.psub }
	bySchool   = func(_ *fixture, code string) auth.Principal { return schoolUser(code) }
	byCity     = func(_ *fixture, code string) auth.Principal { return cityUser(code) }
	byProvince = func(f *fixture, _ string) auth.Principal { return f.prov }
)

// paths lead a fresh draft to each state (superseded is reached by
// publishing an amendment of a published filing). The province's filer
// submits, so that the column "province who submitted" of the table has
// someone in it.
var paths = map[string][]step{
	school.FilingDraft:        nil,
	school.FilingSubmitted:    {{byFiler, school.ActSubmit}},
	school.FilingReturned:     {{byFiler, school.ActSubmit}, {byCity, school.ActReturn}},
	school.FilingCityApproved: {{byFiler, school.ActSubmit}, {byCity, school.ActCityApprove}},
	school.FilingApproved:     {{byFiler, school.ActSubmit}, {byCity, school.ActCityApprove}, {byProvince, school.ActApprove}},
	school.FilingPublished: {{byFiler, school.ActSubmit}, {byCity, school.ActCityApprove}, {byProvince, school.ActApprove},
		{byProvince, school.ActPublish}},
	school.FilingRejected:  {{byFiler, school.ActSubmit}, {byCity, school.ActCityApprove}, {byProvince, school.ActReject}},
	school.FilingWithdrawn: {{byFiler, school.ActSubmit}, {bySchool, school.ActWithdraw}},
}

// walk takes filing id of school code along the steps.
func (f *fixture) walk(t *testing.T, id int64, code string, steps []step) *school.Filing {
	t.Helper()
	fl := f.get(t, id)
	for _, s := range steps {
		fl = f.act(t, s.who(f, code), id, s.action, "意见："+s.action)
	}
	return fl
}

// reach files a new plan of school A for the next free year and takes it
// to state.
func (f *fixture) reach(t *testing.T, state string) *school.Filing {
	t.Helper()
	if f.years > school.MaxFilingYear {
		t.Fatal("out of plan years")
	}
	year := f.years
	f.years++
	return f.reachIn(t, planIn(schoolA, year), state)
}

// reachIn files in as its school and takes it to state.
func (f *fixture) reachIn(t *testing.T, in school.FilingInput, state string) *school.Filing {
	t.Helper()
	fl := f.create(t, schoolUser(in.SchoolCode), in)
	if state == school.FilingSuperseded {
		f.walk(t, fl.ID, in.SchoolCode, paths[school.FilingPublished])
		am, err := f.svc.Amend(t.Context(), schoolUser(in.SchoolCode), fl.ID)
		if err != nil {
			t.Fatalf("amend #%d: %v", fl.ID, err)
		}
		f.walk(t, am.ID, in.SchoolCode, paths[school.FilingPublished])
		fl = f.get(t, fl.ID)
	} else {
		steps, ok := paths[state]
		if !ok {
			t.Fatalf("no path to %s", state)
		}
		fl = f.walk(t, fl.ID, in.SchoolCode, steps)
	}
	fl = f.get(t, fl.ID)
	if fl.State != state {
		t.Fatalf("reached %s, want %s", fl.State, state)
	}
	return fl
}

// counts is how many audit rows and filing events are stored.
type counts struct{ audit, events int }

func (f *fixture) counts(t *testing.T) counts {
	t.Helper()
	var c counts
	if err := f.raw.QueryRowContext(t.Context(), `SELECT (SELECT COUNT(*) FROM audit_events), (SELECT COUNT(*) FROM filing_events)`).
		Scan(&c.audit, &c.events); err != nil {
		t.Fatal(err)
	}
	return c
}

// newAudit returns the newest n audit events, oldest first.
func (f *fixture) newAudit(t *testing.T, n int) []audit.Event {
	t.Helper()
	if n == 0 {
		return nil
	}
	evs, err := f.db.RecentAudit(t.Context(), "", "", 0, n)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

// wantErr checks that err carries code (and field, if not "").
func wantErr(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%s)", code, field)
	}
	e := apperr.As(err)
	if e.Code != code || field != "" && e.Field != field {
		t.Fatalf("got %v (code %s, field %q), want %s on %q", err, e.Code, e.Field, code, field)
	}
	if e.Code != apperr.Internal {
		if msg := e.Message(); msg == "" || msg == e.Key {
			t.Errorf("message of %s is not in the catalogue", e.Key)
		}
	}
}

// unchanged checks that a refused call left filing before (and the audit
// log and history) as they were.
func (f *fixture) unchanged(t *testing.T, before *school.Filing, c counts) {
	t.Helper()
	after := f.get(t, before.ID)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("filing #%d changed:\nbefore %+v\nafter  %+v", before.ID, before, after)
	}
	if now := f.counts(t); now != c {
		t.Errorf("audit rows/events %+v after, %+v before: a refused call wrote", now, c)
	}
}

// ---------------------------------------------------------------------------
// The state machine.

// roles are the callers the table tries every action as, on a filing of
// school A (济南) submitted by the province's filer.
var roles = []string{"school-own", "school-other", "city-own", "city-other", "province", "province-submitter", "auditor"}

func (f *fixture) principal(role string) auth.Principal {
	switch role {
	case "school-own":
		return f.schoolA
	case "school-other":
		return f.schoolB
	case "city-own":
		return f.jinan
	case "city-other":
		return f.qingdao
	case "province":
		return f.prov
	case "province-submitter":
		return f.psub
	case "auditor":
		return f.auditor
	}
	panic(role)
}

// rule is the specification of one action, written out here independently
// of the service's table.
type rule struct {
	from  []string
	roles []string // who holds the action at all
	to    string
}

var rules = map[string]rule{
	school.ActSubmit:      {[]string{school.FilingDraft, school.FilingReturned}, []string{"school-own", "province", "province-submitter"}, school.FilingSubmitted},
	school.ActCityApprove: {[]string{school.FilingSubmitted}, []string{"city-own"}, school.FilingCityApproved},
	school.ActReturn:      {[]string{school.FilingSubmitted}, []string{"city-own"}, school.FilingReturned},
	school.ActApprove:     {[]string{school.FilingCityApproved}, []string{"province", "province-submitter"}, school.FilingApproved},
	school.ActReject:      {[]string{school.FilingCityApproved}, []string{"province", "province-submitter"}, school.FilingRejected},
	school.ActPublish:     {[]string{school.FilingApproved}, []string{"province", "province-submitter"}, school.FilingPublished},
	school.ActWithdraw: {[]string{school.FilingDraft, school.FilingReturned, school.FilingSubmitted}, []string{"school-own", "province", "province-submitter"},
		school.FilingWithdrawn},
}

// expect is the outcome of role taking action on a filing in state: ""
// for success, else the error code. A filing outside the caller's scope is
// not found; a caller without the action is forbidden; a wrong state is an
// invalid transition; and nobody reviews (or publishes) what they submitted.
func expect(action, state, role string) apperr.Code {
	r := rules[action]
	switch {
	case role == "school-other" || role == "city-other":
		return apperr.NotFound
	case !slices.Contains(r.roles, role):
		return apperr.Forbidden
	case !slices.Contains(r.from, state):
		return apperr.InvalidTransition
	case role == "province-submitter" && action != school.ActSubmit && action != school.ActWithdraw:
		return apperr.Forbidden
	}
	return ""
}

func TestFilingStateMachine(t *testing.T) {
	if len(school.Actions) != len(rules) || len(school.FilingStates) != 9 {
		t.Fatalf("the table covers %d actions and 9 states; the service has %v and %v", len(rules), school.Actions, school.FilingStates)
	}
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		allowed := 0
		for _, action := range school.Actions {
			for _, state := range school.FilingStates {
				base := f.reach(t, state)
				for _, role := range roles {
					t.Run(action+"/"+state+"/"+role, func(t *testing.T) {
						p, want := f.principal(role), expect(action, state, role)
						target := base
						if want == "" {
							allowed++
							target = f.reach(t, state) // a success changes it: a fresh one
						}
						if got := school.MayAct(p, target, action); got != (want == "") {
							t.Errorf("MayAct = %v, want %v", got, want == "")
						}
						c := f.counts(t)
						got, err := f.svc.Act(t.Context(), p, target.ID, action, "意见")
						if want != "" {
							wantErr(t, err, want, "")
							f.unchanged(t, target, c)
							return
						}
						if err != nil {
							t.Fatalf("refused: %v", err)
						}
						f.checkStep(t, target, got, c, p, action, "意见", rules[action].to)
					})
				}
			}
		}
		// Every allowed transition was tried: 20 cells of the table.
		if allowed != 20 {
			t.Errorf("%d allowed cells, want 20", allowed)
		}
		if p, _, err := f.db.VerifyAudit(t.Context()); err != nil || p != nil {
			t.Errorf("audit chain: %v, %v", p, err)
		}
	})
}

// checkStep checks a successful step from before: one more version, one
// more event (who, from, to, why), one audit entry filing.<action>.
func (f *fixture) checkStep(t *testing.T, before, got *school.Filing, c counts, p auth.Principal, action, note, to string) {
	t.Helper()
	if got.State != to || got.Version != before.Version+1 {
		t.Errorf("returned state %s version %d, want %s %d", got.State, got.Version, to, before.Version+1)
	}
	after := f.get(t, before.ID)
	if after.State != to || after.Version != before.Version+1 {
		t.Errorf("stored state %s version %d, want %s %d", after.State, after.Version, to, before.Version+1)
	}
	if len(after.Events) != len(before.Events)+1 {
		t.Fatalf("%d events after, %d before", len(after.Events), len(before.Events))
	}
	ev := after.Events[len(after.Events)-1]
	if ev.Step != action || ev.From != before.State || ev.To != to || ev.Actor != p.Name || ev.Note != note || !ev.At.Equal(f.clock) {
		t.Errorf("event %+v, want %s %s→%s by %s (%q) at %v", ev, action, before.State, to, p.Name, note, f.clock)
	}
	now := f.counts(t)
	if now.audit != c.audit+1 || now.events != c.events+1 {
		t.Fatalf("audit rows +%d, events +%d; want +1 each", now.audit-c.audit, now.events-c.events)
	}
	e := f.newAudit(t, 1)[0]
	if e.Action != "filing."+action || e.Actor != p.Name || e.Entity != "filing" || e.EntityID != before.SchoolCode {
		t.Errorf("audit %s by %s on %s/%s, want filing.%s by %s on filing/%s", e.Action, e.Actor, e.Entity, e.EntityID, action, p.Name, before.SchoolCode)
	}
	var data struct {
		Filing int64 `json:"filing"`
	}
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.Data, &data); err != nil || data.Filing != before.ID || m["from"] != before.State || m["to"] != to || m["note"] != note {
		t.Errorf("audit data %s, want filing %d from %s to %s", e.Data, before.ID, before.State, to)
	}
}

// Return and reject need a reason; an unknown action is refused.
func TestFilingReasons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		sub := f.reachIn(t, planIn(schoolA, 2026), school.FilingSubmitted)
		ca := f.reachIn(t, planIn(schoolB, 2026), school.FilingCityApproved)
		for _, tc := range []struct {
			p      auth.Principal
			fl     *school.Filing
			action string
		}{{f.jinan, sub, school.ActReturn}, {f.prov, ca, school.ActReject}} {
			for _, note := range []string{"", "  \n\t "} {
				c := f.counts(t)
				_, err := f.svc.Act(ctx, tc.p, tc.fl.ID, tc.action, note)
				wantErr(t, err, apperr.Invalid, "note")
				f.unchanged(t, tc.fl, c)
			}
		}
		c := f.counts(t)
		_, err := f.svc.Act(ctx, f.prov, sub.ID, "delete", "")
		wantErr(t, err, apperr.Invalid, "action")
		_, err = f.svc.Act(ctx, f.prov, sub.ID, "amend", "")
		wantErr(t, err, apperr.Invalid, "action")
		_, err = f.svc.Act(ctx, f.prov, 999999, school.ActApprove, "")
		wantErr(t, err, apperr.NotFound, "")
		f.unchanged(t, sub, c)
		// With a reason, the reason is the event's note, trimmed.
		got := f.act(t, f.jinan, sub.ID, school.ActReturn, "  请补充实训设备清单\n和专任教师名单  ")
		if ev := got.Events[len(got.Events)-1]; ev.Note != "请补充实训设备清单\n和专任教师名单" {
			t.Errorf("note %q", ev.Note)
		}
	})
}

// A returned plan is edited and resubmitted; it keeps the lateness of its
// first submission. The deadline is a day in Shanghai.
func TestFilingDeadlineAndResubmit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		// Only the province sets the deadline, to a real date.
		for _, p := range []auth.Principal{f.schoolA, f.jinan, f.auditor} {
			c := f.counts(t)
			wantErr(t, f.svc.SetYear(ctx, p, school.YearSettings{Year: 2026, Deadline: "2026-04-30"}), apperr.Forbidden, "")
			if f.counts(t) != c {
				t.Errorf("refused SetYear by %s wrote", p.Name)
			}
		}
		wantErr(t, f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 2026, Deadline: "2026-02-30"}), apperr.Invalid, "deadline")
		wantErr(t, f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 2026, Deadline: "4月30日"}), apperr.Invalid, "deadline")
		wantErr(t, f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 1999, Deadline: "1999-04-30"}), apperr.Invalid, "year")
		c := f.counts(t)
		if err := f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 2026, Deadline: "2026-05-31"}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 2026, Deadline: "2026-04-30"}); err != nil {
			t.Fatal(err)
		}
		if now := f.counts(t); now.audit != c.audit+2 {
			t.Errorf("SetYear twice appended %d audit rows", now.audit-c.audit)
		}
		if e := f.newAudit(t, 1)[0]; e.Action != "filing.year" || e.EntityID != "2026" {
			t.Errorf("audit %s %s", e.Action, e.EntityID)
		}
		if y, err := f.svc.Year(ctx, 2026); err != nil || y.Deadline != "2026-04-30" {
			t.Fatalf("Year = %+v, %v", y, err)
		}
		if y, err := f.svc.Year(ctx, 2027); err != nil || y.Deadline != "" {
			t.Fatalf("unset year = %+v, %v", y, err)
		}

		onTime := f.create(t, f.schoolA, planIn(schoolA, 2026))
		late := f.create(t, f.schoolB, planIn(schoolB, 2026))
		// 23:59:59 on the deadline in Shanghai is on time (15:59:59 UTC) …
		f.clock = time.Date(2026, 4, 30, 15, 59, 59, 0, time.UTC)
		if got := f.act(t, f.schoolA, onTime.ID, school.ActSubmit, ""); got.Late {
			t.Error("submitted on the deadline day: late")
		}
		// … midnight is the next day.
		f.clock = time.Date(2026, 4, 30, 16, 0, 0, 0, time.UTC)
		if got := f.act(t, f.schoolB, late.ID, school.ActSubmit, ""); !got.Late || !f.get(t, late.ID).Late {
			t.Error("submitted after the deadline: not late")
		}
		// Both are returned, edited and resubmitted later still.
		for _, fl := range []*school.Filing{onTime, late} {
			code := fl.SchoolCode
			f.clock = f.clock.Add(24 * time.Hour)
			f.act(t, cityUser(code), fl.ID, school.ActReturn, "计划数与实训工位不符")
			before := f.get(t, fl.ID)
			in := planIn(code, 0)
			in.Lines[0].Intake = 35
			in.Statement = "已核减汽车维修专业计划数。"
			in.Version = &before.Version
			c := f.counts(t)
			ed, err := f.svc.Update(ctx, schoolUser(code), fl.ID, in)
			if err != nil {
				t.Fatalf("edit returned plan: %v", err)
			}
			if ed.Version != before.Version+1 || ed.State != school.FilingReturned || ed.Intake() != 55 || ed.Year != 2026 {
				t.Errorf("edited %+v", ed)
			}
			if now := f.counts(t); now.audit != c.audit+1 || now.events != c.events+1 {
				t.Errorf("edit appended %d audit rows, %d events", now.audit-c.audit, now.events-c.events)
			}
			if e := f.newAudit(t, 1)[0]; e.Action != "filing.edit" {
				t.Errorf("edit audited as %s", e.Action)
			}
			// The answer has the edit in its history.
			if n := len(ed.Events); n == 0 || ed.Events[n-1].Step != "edit" || ed.Events[n-1].Actor != schoolUser(code).Name {
				t.Errorf("edit answered history %+v", ed.Events)
			}
			// The stale version of a second editor is refused.
			cur := f.get(t, fl.ID)
			c = f.counts(t)
			_, err = f.svc.Update(ctx, f.psub, fl.ID, in)
			wantErr(t, err, apperr.Conflict, "version")
			f.unchanged(t, cur, c)
			f.clock = f.clock.Add(time.Hour)
			re := f.act(t, schoolUser(code), fl.ID, school.ActSubmit, "已修改")
			if re.Late != (fl.ID == late.ID) {
				t.Errorf("resubmitted #%d: late %v, want the first submission's %v", fl.ID, re.Late, fl.ID == late.ID)
			}
			if !re.SubmittedAt.Equal(f.clock) || re.Lines[0].Intake != 35 {
				t.Errorf("resubmitted %+v", re)
			}
			stored := f.get(t, fl.ID)
			steps := []string{}
			for _, ev := range stored.Events {
				steps = append(steps, ev.Step)
			}
			if want := []string{"create", "submit", "return", "edit", "submit"}; !slices.Equal(steps, want) {
				t.Errorf("history %v, want %v", steps, want)
			}
			f.act(t, cityUser(code), fl.ID, school.ActCityApprove, "")
		}
		// The late filter finds the late one only.
		items, total, err := f.svc.List(ctx, f.prov, school.FilingFilter{Year: 2026, Late: true, Limit: 10})
		if err != nil || total != 1 || len(items) != 1 || items[0].ID != late.ID {
			t.Errorf("late filings: %d %v", total, err)
		}
		// A year without deadline is never late.
		f.clock = time.Date(2027, 12, 31, 12, 0, 0, 0, time.UTC)
		nd := f.create(t, f.schoolA, planIn(schoolA, 2027))
		if got := f.act(t, f.schoolA, nd.ID, school.ActSubmit, ""); got.Late {
			t.Error("late without a deadline")
		}
	})
}

// An approved or published filing is locked; a change is an amendment
// that goes through the review again and supersedes the original when
// published.
func TestFilingAmend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		// Only from approved or published.
		for _, state := range []string{school.FilingDraft, school.FilingSubmitted, school.FilingReturned, school.FilingCityApproved,
			school.FilingRejected, school.FilingWithdrawn, school.FilingSuperseded} {
			fl := f.reach(t, state)
			c := f.counts(t)
			_, err := f.svc.Amend(ctx, f.schoolA, fl.ID)
			wantErr(t, err, apperr.InvalidTransition, "")
			f.unchanged(t, fl, c)
		}
		orig := f.reachIn(t, planIn(schoolA, 2026), school.FilingPublished)
		// Editing it is refused whoever asks.
		for _, p := range []auth.Principal{f.schoolA, f.prov} {
			c := f.counts(t)
			_, err := f.svc.Update(ctx, p, orig.ID, planIn(schoolA, 0))
			wantErr(t, err, apperr.InvalidTransition, "")
			f.unchanged(t, orig, c)
		}
		// Only those who file for the school may amend.
		for _, tc := range []struct {
			p    auth.Principal
			code apperr.Code
		}{{f.jinan, apperr.Forbidden}, {f.auditor, apperr.Forbidden}, {f.schoolB, apperr.NotFound}, {f.qingdao, apperr.NotFound}} {
			c := f.counts(t)
			_, err := f.svc.Amend(ctx, tc.p, orig.ID)
			wantErr(t, err, tc.code, "")
			f.unchanged(t, orig, c)
		}
		c := f.counts(t)
		am, err := f.svc.Amend(ctx, f.schoolA, orig.ID)
		if err != nil {
			t.Fatal(err)
		}
		if am.ID == orig.ID || am.Amends != orig.ID || am.State != school.FilingDraft || am.Version != 1 || am.Late || !am.SubmittedAt.IsZero() ||
			am.Year != orig.Year || !reflect.DeepEqual(am.Lines, orig.Lines) || am.CreatedBy != f.schoolA.Name {
			t.Errorf("amendment %+v", am)
		}
		if now := f.counts(t); now.audit != c.audit+1 || now.events != c.events+1 {
			t.Errorf("amend appended %d audit rows, %d events", now.audit-c.audit, now.events-c.events)
		}
		if e := f.newAudit(t, 1)[0]; e.Action != "filing.amend" || e.EntityID != schoolA {
			t.Errorf("amend audited as %s %s", e.Action, e.EntityID)
		}
		// A second open amendment is refused, by anyone.
		for _, p := range []auth.Principal{f.schoolA, f.prov} {
			c := f.counts(t)
			_, err = f.svc.Amend(ctx, p, orig.ID)
			wantErr(t, err, apperr.Conflict, "")
			f.unchanged(t, orig, c)
		}
		// The amendment is a draft: editable; change the plan.
		in := planIn(schoolA, 0)
		in.Lines = append(in.Lines, school.PlanLine{Major: "汽车维修", ClassLevel: "高级工班", StudyMode: "全日制", Intake: 25})
		if am, err = f.svc.Update(ctx, f.schoolA, am.ID, in); err != nil {
			t.Fatal(err)
		}
		wantLines := am.Lines
		am = f.walk(t, am.ID, schoolA, paths[school.FilingApproved])
		// Until it is published the original is in force.
		if got := f.get(t, orig.ID); got.State != school.FilingPublished || got.Version != orig.Version {
			t.Errorf("original before publication: %s v%d", got.State, got.Version)
		}
		pub := f.published(t, 2026)
		if len(pub) != 1 || pub[0].ID != orig.ID {
			t.Errorf("published before the amendment: %v", ids(pub))
		}
		c = f.counts(t)
		got := f.act(t, f.prov, am.ID, school.ActPublish, "")
		if got.State != school.FilingPublished {
			t.Fatalf("amendment %s", got.State)
		}
		// Publishing: two events (the amendment's publish, the original's
		// supersede) and one audit entry.
		if now := f.counts(t); now.audit != c.audit+1 || now.events != c.events+2 {
			t.Errorf("publish of an amendment appended %d audit rows, %d events", now.audit-c.audit, now.events-c.events)
		}
		old := f.get(t, orig.ID)
		if old.State != school.FilingSuperseded || old.Version != orig.Version+1 {
			t.Errorf("original after publication: %s v%d", old.State, old.Version)
		}
		ev := old.Events[len(old.Events)-1]
		if ev.Step != "supersede" || ev.From != school.FilingPublished || ev.To != school.FilingSuperseded || ev.Actor != f.prov.Name ||
			!strings.Contains(ev.Note, fmt.Sprint(am.ID)) {
			t.Errorf("supersede event %+v", ev)
		}
		pub = f.published(t, 2026)
		if len(pub) != 1 || pub[0].ID != am.ID || !reflect.DeepEqual(pub[0].Lines, wantLines) || pub[0].Intake() != 85 {
			t.Errorf("published after the amendment: %v", ids(pub))
		}
		// The superseded original takes no more action, nor amendment; the
		// published amendment may itself be amended.
		_, err = f.svc.Amend(ctx, f.schoolA, orig.ID)
		wantErr(t, err, apperr.InvalidTransition, "")
		if _, err := f.svc.Amend(ctx, f.schoolA, am.ID); err != nil {
			t.Errorf("amend the published amendment: %v", err)
		}
		// The place of the year is still taken: a fresh plan is a duplicate.
		_, err = f.svc.Create(ctx, f.schoolA, planIn(schoolA, 2026))
		wantErr(t, err, apperr.Conflict, "year")

		// An amendment of an approved, not yet published filing: a
		// withdrawn amendment frees the place for another; publishing
		// supersedes the approved original.
		appr := f.reachIn(t, planIn(schoolB, 2026), school.FilingApproved)
		a1, err := f.svc.Amend(ctx, f.psub, appr.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.act(t, f.schoolB, a1.ID, school.ActWithdraw, "")
		a2, err := f.svc.Amend(ctx, f.schoolB, appr.ID)
		if err != nil {
			t.Fatalf("amend after the first amendment was withdrawn: %v", err)
		}
		f.walk(t, a2.ID, schoolB, paths[school.FilingPublished])
		old = f.get(t, appr.ID)
		if old.State != school.FilingSuperseded {
			t.Fatalf("approved original after its amendment's publication: %s", old.State)
		}
		if ev := old.Events[len(old.Events)-1]; ev.Step != "supersede" || ev.From != school.FilingApproved {
			t.Errorf("supersede event of an approved original %+v: the history says it was %s", ev, ev.From)
		}
		// Sites: the amendment does not clash with the site it changes.
		site := f.reachIn(t, siteIn(schoolA, "济南市历下区经十路100号", "2026-01-01", "2028-12-31"), school.FilingPublished)
		sa, err := f.svc.Amend(ctx, f.schoolA, site.ID)
		if err != nil {
			t.Fatal(err)
		}
		sin := siteIn(schoolA, "济南市历下区经十路100号", "2026-01-01", "2029-12-31")
		sin.Site.Capacity = 500
		if _, err := f.svc.Update(ctx, f.schoolA, sa.ID, sin); err != nil {
			t.Fatal(err)
		}
		f.walk(t, sa.ID, schoolA, paths[school.FilingPublished])
		if got := f.get(t, site.ID); got.State != school.FilingSuperseded {
			t.Errorf("site after its amendment: %s", got.State)
		}
	})
}

func ids(list []*school.Filing) []string {
	out := []string{}
	for _, f := range list {
		out = append(out, fmt.Sprintf("#%d %s %s %s", f.ID, f.Kind, f.SchoolCode, f.State))
	}
	return out
}

func (f *fixture) published(t *testing.T, year int) []*school.Filing {
	t.Helper()
	list, err := f.svc.Published(t.Context(), year)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// One live plan per school and year, also when two are filed at once.
func TestFilingDuplicate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		first := f.create(t, f.schoolA, planIn(schoolA, 2026))
		for _, p := range []auth.Principal{f.schoolA, f.psub} {
			c := f.counts(t)
			_, err := f.svc.Create(ctx, p, planIn(schoolA, 2026))
			wantErr(t, err, apperr.Conflict, "year")
			if f.counts(t) != c {
				t.Error("a refused duplicate wrote")
			}
		}
		// Another year, another school, or a site of the same year is fine.
		f.create(t, f.schoolA, planIn(schoolA, 2027))
		f.create(t, f.schoolB, planIn(schoolB, 2026))
		f.create(t, f.schoolA, siteIn(schoolA, "济南市历下区经十路1号", "2026-09-01", "2029-08-31"))
		// A withdrawn or rejected plan frees the year.
		f.act(t, f.schoolA, first.ID, school.ActWithdraw, "")
		second := f.create(t, f.schoolA, planIn(schoolA, 2026))
		f.walk(t, second.ID, schoolA, paths[school.FilingCityApproved])
		f.act(t, f.prov, second.ID, school.ActReject, "实训场地不足")
		third := f.create(t, f.schoolA, planIn(schoolA, 2026))
		// The live one keeps its place through the review.
		f.walk(t, third.ID, schoolA, paths[school.FilingPublished])
		_, err := f.svc.Create(ctx, f.schoolA, planIn(schoolA, 2026))
		wantErr(t, err, apperr.Conflict, "year")

		// Eight at once: exactly one wins, the others are duplicates.
		const n = 8
		c := f.counts(t)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p := f.schoolQ
				if i%2 == 1 {
					p = f.psub
				}
				_, errs[i] = f.svc.Create(context.Background(), p, planIn(schoolQ, 2026))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				won++
			case apperr.Conflict:
			default:
				t.Errorf("concurrent create: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent creates won, want 1", won, n)
		}
		if now := f.counts(t); now.audit != c.audit+1 || now.events != c.events+1 {
			t.Errorf("concurrent creates appended %d audit rows, %d events", now.audit-c.audit, now.events-c.events)
		}
		_, total, err := f.svc.List(ctx, f.prov, school.FilingFilter{SchoolCode: schoolQ, Year: 2026, Limit: 10})
		if err != nil || total != 1 {
			t.Errorf("plans of %s for 2026: %d, %v", schoolQ, total, err)
		}
	})
}

// Creating for a school outside one's scope, or as someone who does not
// file, is refused.
func TestFilingCreateScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			p    auth.Principal
			code string
			want apperr.Code
		}{
			{"school for another school", f.schoolA, schoolB, apperr.NotFound},
			{"school for another city's school", f.schoolA, schoolQ, apperr.NotFound},
			{"city for its school", f.jinan, schoolA, apperr.Forbidden},
			{"city for another city's school", f.qingdao, schoolA, apperr.NotFound},
			{"auditor", f.auditor, schoolA, apperr.Forbidden},
			{"province without a school", f.prov, "", apperr.NotFound},
			{"unknown school", f.prov, "9999999", apperr.NotFound},
			{"anonymous", auth.Principal{}, schoolA, apperr.NotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := f.counts(t)
				_, err := f.svc.Create(ctx, tc.p, planIn(tc.code, 2026))
				wantErr(t, err, tc.want, "")
				if f.counts(t) != c {
					t.Error("a refused create wrote")
				}
			})
		}
		// A school files for itself (with or without naming itself); the
		// province files for any school.
		in := planIn("", 2026)
		if fl := f.create(t, f.schoolA, in); fl.SchoolCode != schoolA || fl.CityCode != jinan || fl.SchoolName == "" {
			t.Errorf("created %+v", fl)
		}
		if fl := f.create(t, f.psub, planIn(schoolQ, 2026)); fl.SchoolCode != schoolQ || fl.CityCode != qingdao || fl.CreatedBy != f.psub.Name {
			t.Errorf("created %+v", fl)
		}
		if e := f.newAudit(t, 1)[0]; e.Action != "filing.create" || e.EntityID != schoolQ || e.Actor != f.psub.Name {
			t.Errorf("create audited as %s %s by %s", e.Action, e.EntityID, e.Actor)
		}
		// What each sees.
		for _, tc := range []struct {
			p    auth.Principal
			want int
		}{{f.prov, 2}, {f.auditor, 2}, {f.jinan, 1}, {f.qingdao, 1}, {f.schoolA, 1}, {f.schoolB, 0}, {auth.Principal{}, 0}} {
			_, total, err := f.svc.List(ctx, tc.p, school.FilingFilter{Limit: 10})
			if err != nil || total != tc.want {
				t.Errorf("%s sees %d (%v), want %d", tc.p.Name, total, err, tc.want)
			}
		}
		_, _, err := f.svc.List(ctx, f.prov, school.FilingFilter{State: "done", Limit: 10})
		wantErr(t, err, apperr.Invalid, "state")
		_, _, err = f.svc.List(ctx, f.prov, school.FilingFilter{Kind: "loan", Limit: 10})
		wantErr(t, err, apperr.Invalid, "kind")
	})
}

// Only drafts and returned filings are edited, by those who file for the
// school.
func TestFilingEditLocked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		for _, state := range school.FilingStates {
			fl := f.reach(t, state)
			in := planIn(schoolA, 0)
			in.Lines[0].Intake = 41
			c := f.counts(t)
			got, err := f.svc.Update(ctx, f.schoolA, fl.ID, in)
			if state == school.FilingDraft || state == school.FilingReturned {
				if err != nil || got.Lines[0].Intake != 41 || got.State != state {
					t.Errorf("edit %s: %v", state, err)
				}
				continue
			}
			wantErr(t, err, apperr.InvalidTransition, "")
			f.unchanged(t, fl, c)
		}
		fl := f.reach(t, school.FilingDraft)
		for _, tc := range []struct {
			p    auth.Principal
			want apperr.Code
		}{{f.jinan, apperr.Forbidden}, {f.auditor, apperr.Forbidden}, {f.schoolB, apperr.NotFound}, {f.qingdao, apperr.NotFound}} {
			c := f.counts(t)
			_, err := f.svc.Update(ctx, tc.p, fl.ID, planIn(schoolA, 0))
			wantErr(t, err, tc.want, "")
			f.unchanged(t, fl, c)
		}
		// A plan's year is fixed; a bad edit leaves the draft alone.
		c := f.counts(t)
		_, err := f.svc.Update(ctx, f.schoolA, fl.ID, planIn(schoolA, fl.Year+1))
		wantErr(t, err, apperr.Invalid, "year")
		bad := planIn(schoolA, 0)
		bad.Lines[1].Intake = -5
		_, err = f.svc.Update(ctx, f.schoolA, fl.ID, bad)
		wantErr(t, err, apperr.Invalid, "lines[1].intake")
		f.unchanged(t, fl, c)
		// The province edits for the school.
		if _, err := f.svc.Update(ctx, f.prov, fl.ID, planIn(schoolA, fl.Year)); err != nil {
			t.Errorf("province edit: %v", err)
		}
	})
}

// Every field of every kind is validated, with the field named.
func TestFilingValidation(t *testing.T) {
	line := func(major, level, mode string, intake int) school.PlanLine {
		return school.PlanLine{Major: major, ClassLevel: level, StudyMode: mode, Intake: intake}
	}
	many := func(n int) []school.PlanLine {
		out := make([]school.PlanLine, n)
		for i := range out {
			out[i] = line("汽车维修", "中级工班", "全日制", 1)
		}
		return out
	}
	long := func(n int) string { return strings.Repeat("实", n) }
	plan := func(mod func(in *school.FilingInput)) school.FilingInput {
		in := planIn(schoolA, 2026)
		mod(&in)
		return in
	}
	site := func(mod func(in *school.FilingInput)) school.FilingInput {
		in := siteIn(schoolA, "济南市历下区经十路100号", "2026-09-01", "2029-08-31")
		mod(&in)
		return in
	}
	joint := func(mod func(in *school.FilingInput)) school.FilingInput {
		in := jointIn(schoolA, "2026-09-01", "2030-08-31")
		mod(&in)
		return in
	}
	cases := []struct {
		name  string
		in    school.FilingInput
		field string // "" valid
	}{
		{"valid plan", plan(func(*school.FilingInput) {}), ""},
		{"intake 1 and 5000", plan(func(in *school.FilingInput) { in.Lines[0].Intake, in.Lines[1].Intake = 1, 5000 }), ""},
		{"intake 0", plan(func(in *school.FilingInput) { in.Lines[0].Intake = 0 }), "lines[0].intake"},
		{"intake -5", plan(func(in *school.FilingInput) { in.Lines[1].Intake = -5 }), "lines[1].intake"},
		{"intake 5001", plan(func(in *school.FilingInput) { in.Lines[0].Intake = 5001 }), "lines[0].intake"},
		{"absurd intake", plan(func(in *school.FilingInput) { in.Lines[0].Intake = 1 << 40 }), "lines[0].intake"},
		{"no lines", plan(func(in *school.FilingInput) { in.Lines = nil }), "lines"},
		{"empty lines", plan(func(in *school.FilingInput) { in.Lines = []school.PlanLine{} }), "lines"},
		{"301 lines", plan(func(in *school.FilingInput) { in.Lines = many(301) }), "lines"},
		{"duplicate line", plan(func(in *school.FilingInput) {
			in.Lines = append(in.Lines, line("汽车维修", "中级工班", "全日制", 5))
		}), "lines[2]"},
		{"duplicate line in another spelling", plan(func(in *school.FilingInput) {
			in.Lines = []school.PlanLine{line("汽车维修", "预备技师班", "全日制", 5), line(" 汽车维修 ", "预备技师（技师）班", "全日制", 5)}
		}), "lines[1]"},
		{"level spelled otherwise", plan(func(in *school.FilingInput) {
			in.Lines = []school.PlanLine{line("汽车维修", "技师班", "全日制", 5)}
		}), ""},
		{"major not offered", plan(func(in *school.FilingInput) { in.Lines[0].Major = "数控加工（数控车工）" }), "lines[0].major"},
		{"major not in the catalogue", plan(func(in *school.FilingInput) { in.Lines[1].Major = "<script>alert(1)</script>" }), "lines[1].major"},
		{"class level not offered", plan(func(in *school.FilingInput) { in.Lines[1].ClassLevel = "高级工班" }), "lines[1].major"},
		{"study mode not offered", plan(func(in *school.FilingInput) { in.Lines[0].StudyMode = "非全日制" }), "lines[0].major"},
		{"unknown class level", plan(func(in *school.FilingInput) { in.Lines[0].ClassLevel = "博士班" }), "lines[0].class_level"},
		{"unknown study mode", plan(func(in *school.FilingInput) { in.Lines[1].StudyMode = "函授" }), "lines[1].study_mode"},
		{"empty study mode", plan(func(in *school.FilingInput) { in.Lines[1].StudyMode = "" }), "lines[1].study_mode"},
		{"no statement", plan(func(in *school.FilingInput) { in.Statement = " \n " }), "statement"},
		{"statement of 2000", plan(func(in *school.FilingInput) { in.Statement = long(2000) }), ""},
		{"statement of 2001", plan(func(in *school.FilingInput) { in.Statement = long(2001) }), "statement"},
		{"multi-line statement", plan(func(in *school.FilingInput) { in.Statement = "第一条\n\t第二条" }), ""},
		{"statement with CRLF (as browsers send a textarea)", plan(func(in *school.FilingInput) { in.Statement = "第一条\r\n第二条" }), ""},
		{"no year", plan(func(in *school.FilingInput) { in.Year = 0 }), "year"},
		{"year 1999", plan(func(in *school.FilingInput) { in.Year = 1999 }), "year"},
		{"year 2101", plan(func(in *school.FilingInput) { in.Year = 2101 }), "year"},
		{"unknown kind", plan(func(in *school.FilingInput) { in.Kind = "loan" }), "kind"},
		{"no kind", plan(func(in *school.FilingInput) { in.Kind = "" }), "kind"},

		{"valid site", site(func(*school.FilingInput) {}), ""},
		{"site of exactly five years", site(func(in *school.FilingInput) { in.ValidTo = "2031-09-01" }), ""},
		{"site of a day more than five years", site(func(in *school.FilingInput) { in.ValidTo = "2031-09-02" }), "valid_to"},
		{"site ending before it starts", site(func(in *school.FilingInput) { in.ValidTo = "2026-08-31" }), "valid_to"},
		{"site ending when it starts", site(func(in *school.FilingInput) { in.ValidTo = in.ValidFrom }), "valid_to"},
		{"site without a start", site(func(in *school.FilingInput) { in.ValidFrom = "" }), "valid_from"},
		{"site with an impossible date", site(func(in *school.FilingInput) { in.ValidFrom = "2026-02-30" }), "valid_from"},
		{"site with a bad end", site(func(in *school.FilingInput) { in.ValidTo = "2029/08/31" }), "valid_to"},
		{"site before 2000", site(func(in *school.FilingInput) { in.ValidFrom, in.ValidTo = "1999-01-01", "2001-01-01" }), "year"},
		{"no site", site(func(in *school.FilingInput) { in.Site = nil }), "site"},
		{"site without a name", site(func(in *school.FilingInput) { in.Site.Name = "" }), "site.name"},
		{"site name too long", site(func(in *school.FilingInput) { in.Site.Name = long(201) }), "site.name"},
		{"site without an address", site(func(in *school.FilingInput) { in.Site.Address = "  " }), "site.address"},
		{"site capacity 0", site(func(in *school.FilingInput) { in.Site.Capacity = 0 }), "site.capacity"},
		{"site capacity -5", site(func(in *school.FilingInput) { in.Site.Capacity = -5 }), "site.capacity"},
		{"site capacity 20001", site(func(in *school.FilingInput) { in.Site.Capacity = 20001 }), "site.capacity"},
		{"site without majors", site(func(in *school.FilingInput) { in.Site.Majors = nil }), "site.majors"},
		{"site major not offered", site(func(in *school.FilingInput) { in.Site.Majors = []string{"汽车维修", "电梯工程技术"} }), "site.majors"},
		{"site with 51 majors", site(func(in *school.FilingInput) { in.Site.Majors = slices.Repeat([]string{"汽车维修"}, 51) }), "site.majors"},

		{"valid joint program", joint(func(*school.FilingInput) {}), ""},
		{"no joint program", joint(func(in *school.FilingInput) { in.Joint = nil }), "joint"},
		{"no partners", joint(func(in *school.FilingInput) { in.Joint.Partners = nil }), "joint.partners"},
		{"11 partners", joint(func(in *school.FilingInput) { in.Joint.Partners = slices.Repeat([]string{"某公司"}, 11) }), "joint.partners"},
		{"blank partner", joint(func(in *school.FilingInput) { in.Joint.Partners = []string{"某公司", " "} }), "joint.partners"},
		{"no responsibilities", joint(func(in *school.FilingInput) { in.Joint.Responsibilities = "" }), "joint.responsibilities"},
		{"responsibilities too long", joint(func(in *school.FilingInput) { in.Joint.Responsibilities = long(2001) }), "joint.responsibilities"},
		{"joint major not offered", joint(func(in *school.FilingInput) { in.Joint.Majors = []string{"电梯工程技术"} }), "joint.majors"},
		{"joint term too long", joint(func(in *school.FilingInput) { in.ValidTo = "2036-09-01" }), "valid_to"},
	}
	// Markup and control characters in every text field shown on pages.
	bad := map[string]string{
		"script":       "<script>alert(1)</script>",
		"bold":         "<b>重点</b>",
		"img":          `"><img src=x onerror=alert(1)>`,
		"NUL":          "实训\x00基地",
		"escape":       "实训\x1b[31m基地",
		"backspace":    "实训\b基地",
		"DEL":          "实训\x7f基地",
		"C1 control":   "实训\u009b基地",
		"vertical tab": "实训\v基地",
	}
	for name, s := range bad {
		cases = append(cases,
			struct {
				name  string
				in    school.FilingInput
				field string
			}{"statement " + name, plan(func(in *school.FilingInput) { in.Statement = "说明" + s }), "statement"},
			struct {
				name  string
				in    school.FilingInput
				field string
			}{"site name " + name, site(func(in *school.FilingInput) { in.Site.Name = s }), "site.name"},
			struct {
				name  string
				in    school.FilingInput
				field string
			}{"site address " + name, site(func(in *school.FilingInput) { in.Site.Address = "济南市" + s }), "site.address"},
			struct {
				name  string
				in    school.FilingInput
				field string
			}{"partner " + name, joint(func(in *school.FilingInput) { in.Joint.Partners = []string{"甲公司", s} }), "joint.partners"},
			struct {
				name  string
				in    school.FilingInput
				field string
			}{"responsibilities " + name, joint(func(in *school.FilingInput) { in.Joint.Responsibilities = s }), "joint.responsibilities"},
		)
	}
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := f.counts(t)
				got, err := f.svc.Create(ctx, f.schoolA, tc.in)
				if tc.field == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					// Free the plan's year for the next case.
					f.act(t, f.schoolA, got.ID, school.ActWithdraw, "")
					return
				}
				wantErr(t, err, apperr.Invalid, tc.field)
				if f.counts(t) != c {
					t.Error("a refused create wrote")
				}
			})
		}
		// The same checks guard an edit, and the note of a step.
		draft := f.create(t, f.schoolA, planIn(schoolA, 2026))
		for name, s := range bad {
			t.Run("edit and note "+name, func(t *testing.T) {
				c := f.counts(t)
				in := planIn(schoolA, 0)
				in.Statement = s
				_, err := f.svc.Update(ctx, f.schoolA, draft.ID, in)
				wantErr(t, err, apperr.Invalid, "statement")
				_, err = f.svc.Act(ctx, f.schoolA, draft.ID, school.ActSubmit, "已补充"+s)
				wantErr(t, err, apperr.Invalid, "note")
				f.unchanged(t, draft, c)
			})
		}
		// Stored text is trimmed and kept as written otherwise.
		in := jointIn(schoolA, "2026-09-01", "2030-08-31")
		in.Joint.Partners = []string{"  甲公司 & 乙公司 "}
		in.Joint.Responsibilities = " 学校负责\"理论\"教学；'企业'提供岗位。\n "
		got := f.create(t, f.schoolA, in)
		stored := f.get(t, got.ID)
		if stored.Joint.Partners[0] != "甲公司 & 乙公司" || stored.Joint.Responsibilities != "学校负责\"理论\"教学；'企业'提供岗位。" || stored.Year != 2026 {
			t.Errorf("stored %+v", stored.Joint)
		}
	})
}

// A site may not overlap another live site of the school at the same
// address (white space aside).
func TestFilingSiteOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		const addr = "济南市历下区经十路100号"
		f.reachIn(t, siteIn(schoolA, addr, "2026-01-01", "2028-12-31"), school.FilingPublished)
		refused := func(in school.FilingInput, by auth.Principal) *school.Filing {
			t.Helper()
			fl := f.create(t, f.schoolA, in) // a draft is allowed: the check is at submission
			c := f.counts(t)
			_, err := f.svc.Act(ctx, by, fl.ID, school.ActSubmit, "")
			wantErr(t, err, apperr.Conflict, "site.address")
			f.unchanged(t, fl, c)
			return fl
		}
		for _, tc := range []struct{ name, addr, from, to string }{
			{"same address and term", addr, "2026-01-01", "2028-12-31"},
			{"inside the term", addr, "2027-01-01", "2027-06-30"},
			{"covering the term", addr, "2025-06-01", "2029-06-01"},
			{"overlapping the end", addr, "2028-06-01", "2030-05-31"},
			{"overlapping the start", addr, "2024-01-01", "2026-01-01"},
			{"starting on its last day", addr, "2028-12-31", "2030-12-31"},
			{"spaced otherwise", " 济南市 历下区\t经十路 100号 ", "2027-01-01", "2027-12-31"},
			{"with ideographic spaces", "济南市　历下区　经十路100号", "2027-01-01", "2027-12-31"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fl := refused(siteIn(schoolA, tc.addr, tc.from, tc.to), f.schoolA)
				f.act(t, f.schoolA, fl.ID, school.ActWithdraw, "")
			})
		}
		// The province filing for the school meets the same check.
		fl := refused(siteIn(schoolA, addr, "2027-01-01", "2027-12-31"), f.psub)
		f.act(t, f.schoolA, fl.ID, school.ActWithdraw, "")

		// Not overlapping: the next term at the address, another address.
		next := f.create(t, f.schoolA, siteIn(schoolA, addr, "2029-01-01", "2031-12-31"))
		f.walk(t, next.ID, schoolA, paths[school.FilingPublished])
		other := f.create(t, f.schoolA, siteIn(schoolA, "济南市历下区经十路200号", "2026-01-01", "2028-12-31"))
		f.act(t, f.schoolA, other.ID, school.ActSubmit, "")
		// A pending site holds its term as well.
		refused(siteIn(schoolA, "济南市历下区经十路200号", "2027-01-01", "2027-12-31"), f.schoolA)
		// Rejected and withdrawn sites hold nothing.
		const third = "济南市历城区工业北路8号"
		rej := f.reachIn(t, siteIn(schoolA, third, "2026-01-01", "2028-12-31"), school.FilingRejected)
		wd := f.reachIn(t, siteIn(schoolA, third, "2026-01-01", "2028-12-31"), school.FilingWithdrawn)
		ok := f.create(t, f.schoolA, siteIn(schoolA, third, "2026-01-01", "2028-12-31"))
		f.walk(t, ok.ID, schoolA, paths[school.FilingPublished])
		_, _ = rej, wd

		// Approval checks again: two overlapping sites that both got past
		// submission (set behind the service's back, as a race would
		// leave them) cannot both be approved.
		const fourth = "济南市槐荫区齐州路2号"
		first := f.create(t, f.schoolA, siteIn(schoolA, fourth, "2026-01-01", "2028-12-31"))
		f.walk(t, first.ID, schoolA, paths[school.FilingCityApproved])
		second := f.create(t, f.schoolA, siteIn(schoolA, fourth, "2027-01-01", "2029-12-31"))
		if _, err := f.raw.ExecContext(ctx, `UPDATE filings SET state = 'city_approved', submitted_by = 'school-a' WHERE id = $1`, second.ID); err != nil {
			t.Fatal(err)
		}
		for _, fl := range []*school.Filing{first, second} {
			before := f.get(t, fl.ID)
			c := f.counts(t)
			_, err := f.svc.Act(ctx, f.prov, fl.ID, school.ActApprove, "")
			wantErr(t, err, apperr.Conflict, "site.address")
			f.unchanged(t, before, c)
		}
		// Once one is rejected, the other is approved.
		f.act(t, f.prov, second.ID, school.ActReject, "与已有教学点期限重叠")
		f.act(t, f.prov, first.ID, school.ActApprove, "")
	})
}

// Offerings: only catalogue majors at real levels and modes; they gate
// plans, also at submission.
func TestFilingOfferings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		for _, tc := range []struct {
			name  string
			list  []school.Offering
			field string
		}{
			{"unknown major", []school.Offering{autoMid, {Major: "区块链运维", ClassLevel: "中级工班", StudyMode: "全日制"}}, "offerings[1].major"},
			{"markup", []school.Offering{{Major: "<script>alert(1)</script>", ClassLevel: "中级工班", StudyMode: "全日制"}}, "offerings[0].major"},
			{"empty major", []school.Offering{{ClassLevel: "中级工班", StudyMode: "全日制"}}, "offerings[0].major"},
			{"unknown level", []school.Offering{autoMid, {Major: "汽车维修", ClassLevel: "研究生班", StudyMode: "全日制"}}, "offerings[1].class_level"},
			{"unknown mode", []school.Offering{{Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "夜校"}}, "offerings[0].study_mode"},
			{"too many", slices.Repeat([]school.Offering{autoMid}, school.MaxPlanLines+1), "offerings"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := f.counts(t)
				_, err := f.svc.SetOfferings(ctx, f.schoolA, schoolA, tc.list, f.catalogue)
				wantErr(t, err, apperr.Invalid, tc.field)
				if f.counts(t) != c {
					t.Error("refused offerings wrote")
				}
			})
		}
		for _, tc := range []struct {
			p    auth.Principal
			want apperr.Code
		}{{f.jinan, apperr.Forbidden}, {f.auditor, apperr.Forbidden}, {f.schoolB, apperr.NotFound}, {f.qingdao, apperr.NotFound}} {
			_, err := f.svc.SetOfferings(ctx, tc.p, schoolA, offerings, f.catalogue)
			wantErr(t, err, tc.want, "")
		}
		if _, err := f.svc.Offerings(ctx, f.schoolB, schoolA); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("offerings of another school: %v", err)
		}
		if list, err := f.svc.Offerings(ctx, f.jinan, schoolA); err != nil || len(list) != len(offerings) {
			t.Errorf("the city reads offerings: %v %v", list, err)
		}
		// A draft is filed while the school offers its lines …
		draft := f.create(t, f.schoolA, planIn(schoolA, 2026))
		// … other spellings are normalized and duplicates dropped …
		c := f.counts(t)
		got, err := f.svc.SetOfferings(ctx, f.schoolA, schoolA, []school.Offering{
			{Major: " 汽车维修 ", ClassLevel: "技师班", StudyMode: "全日制"}, autoTech, autoMid}, f.catalogue)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []school.Offering{autoTech, autoMid}) {
			t.Errorf("saved %v", got)
		}
		if now := f.counts(t); now.audit != c.audit+1 {
			t.Errorf("offerings appended %d audit rows", now.audit-c.audit)
		}
		if e := f.newAudit(t, 1)[0]; e.Action != "school.offerings" || e.EntityID != schoolA {
			t.Errorf("offerings audited as %s %s", e.Action, e.EntityID)
		}
		stored, _ := f.svc.Offerings(ctx, f.schoolA, schoolA)
		if len(stored) != 2 {
			t.Errorf("stored offerings %v", stored)
		}
		// … and the draft, naming a part-time line no longer offered, is
		// refused at submission.
		c = f.counts(t)
		_, err = f.svc.Act(ctx, f.schoolA, draft.ID, school.ActSubmit, "")
		wantErr(t, err, apperr.Invalid, "lines[1].major")
		f.unchanged(t, draft, c)
		// Without offerings nothing can be planned.
		if _, err := f.svc.SetOfferings(ctx, f.prov, schoolA, nil, f.catalogue); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Create(ctx, f.schoolA, planIn(schoolA, 2027))
		wantErr(t, err, apperr.Invalid, "lines[0].major")
	})
}

// The progress table counts each city's open schools by the state of
// their live plan; the portal gets published plans and the sites and joint
// programs in force today.
func TestFilingProgressAndPublished(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := t.Context()
		if err := f.svc.SetYear(ctx, f.prov, school.YearSettings{Year: 2026, Deadline: "2026-04-30"}); err != nil {
			t.Fatal(err)
		}
		// 济南: 3701001 published late, 3701002 approved, 3701003
		// city-approved, 3701004 submitted late, 3701005 returned, 3701006
		// nothing; 3701009 is closed and may not file.
		// 青岛: 3702001 draft, 3702002 rejected, 3702003 withdrawn,
		// 3702004 published with an amendment under review.
		late := time.Date(2026, 5, 3, 2, 0, 0, 0, time.UTC)
		plans := map[string]*school.Filing{}
		for _, p := range []struct {
			code, state string
			late        bool
		}{
			{"3701001", school.FilingPublished, true}, {"3701002", school.FilingApproved, false}, {"3701003", school.FilingCityApproved, false},
			{"3701004", school.FilingSubmitted, true}, {"3701005", school.FilingReturned, false},
			{"3702001", school.FilingDraft, false}, {"3702002", school.FilingRejected, false}, {"3702003", school.FilingWithdrawn, false},
			{"3702004", school.FilingPublished, false},
		} {
			f.clock = spring
			if p.late {
				f.clock = late
			}
			plans[p.code] = f.reachIn(t, planIn(p.code, 2026), p.state)
			if plans[p.code].Late != p.late {
				t.Errorf("%s late %v", p.code, plans[p.code].Late)
			}
		}
		if _, err := f.svc.Create(ctx, schoolUser("3701009"), planIn("3701009", 2026)); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("a closed school files a plan: %v", err)
		}
		// A plan of another year counts in that year only.
		f.reachIn(t, planIn("3701006", 2025), school.FilingPublished)
		f.clock = spring
		am, err := f.svc.Amend(ctx, schoolUser("3702004"), plans["3702004"].ID)
		if err != nil {
			t.Fatal(err)
		}
		f.walk(t, am.ID, "3702004", paths[school.FilingCityApproved])

		wantJinan := school.CityProgress{CityCode: jinan, CityName: "济南市", Schools: 6, Submitted: 5, Reviewed: 3, Approved: 2, Published: 1, Late: 2,
			ByState: map[string]int{school.FilingPublished: 1, school.FilingApproved: 1, school.FilingCityApproved: 1, school.FilingSubmitted: 1, school.FilingReturned: 1}}
		wantQingdao := school.CityProgress{CityCode: qingdao, CityName: "青岛市", Schools: 4, Submitted: 1, Reviewed: 1, Approved: 1, Published: 1,
			ByState: map[string]int{school.FilingDraft: 1, school.FilingPublished: 1}}
		for _, tc := range []struct {
			p    auth.Principal
			want []school.CityProgress
		}{
			{f.prov, []school.CityProgress{wantJinan, wantQingdao}},
			{f.auditor, []school.CityProgress{wantJinan, wantQingdao}},
			{f.jinan, []school.CityProgress{wantJinan}},
			{f.qingdao, []school.CityProgress{wantQingdao}},
			{f.schoolA, []school.CityProgress{{CityCode: jinan, CityName: "济南市", Schools: 1, Submitted: 1, Reviewed: 1, Approved: 1, Published: 1, Late: 1,
				ByState: map[string]int{school.FilingPublished: 1}}}},
		} {
			got, err := f.svc.Progress(ctx, tc.p, 2026)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("progress for %s:\n got %+v\nwant %+v", tc.p.Name, got, tc.want)
			}
		}
		if got, err := f.svc.Progress(ctx, f.prov, 2025); err != nil || len(got) != 2 || got[0].Published != 1 || got[0].Submitted != 1 ||
			got[1].Submitted != 0 {
			t.Errorf("progress of 2025: %+v %v", got, err)
		}
		if got, err := f.svc.Progress(ctx, auth.Principal{}, 2026); err != nil || len(got) != 0 {
			t.Errorf("anonymous progress: %+v %v", got, err)
		}

		// Sites and joint programs: in force, expired, not yet in force,
		// ending today, and not published.
		f.clock = time.Date(2026, 5, 9, 16, 30, 0, 0, time.UTC) // 2026-05-10 00:30 in Shanghai
		sites := map[string]*school.Filing{}
		for _, s := range []struct {
			name, code, from, to, state string
		}{
			{"in force", "3701002", "2025-09-01", "2028-08-31", school.FilingPublished},
			{"expired yesterday", "3701003", "2023-05-10", "2026-05-09", school.FilingPublished},
			{"ends today", "3701004", "2023-05-11", "2026-05-10", school.FilingPublished},
			{"not yet in force", "3701005", "2026-09-01", "2029-08-31", school.FilingPublished},
			{"approved only", "3702001", "2025-09-01", "2028-08-31", school.FilingApproved},
			{"rejected", "3702002", "2025-09-01", "2028-08-31", school.FilingRejected},
		} {
			sites[s.name] = f.reachIn(t, siteIn(s.code, "青岛市市南区香港中路"+s.code+"号", s.from, s.to), s.state)
		}
		joint := f.reachIn(t, jointIn("3701006", "2025-09-01", "2029-08-31"), school.FilingPublished)
		expiredJoint := f.reachIn(t, jointIn("3702003", "2021-09-01", "2025-08-31"), school.FilingPublished)
		_ = expiredJoint
		got := f.published(t, 2026)
		want := []int64{plans["3701001"].ID, sites["in force"].ID, sites["ends today"].ID, joint.ID, plans["3702004"].ID}
		var gotIDs []int64
		for _, fl := range got {
			gotIDs = append(gotIDs, fl.ID)
			if fl.State != school.FilingPublished || len(fl.Events) != 0 {
				t.Errorf("published %s with %d events", fl.State, len(fl.Events))
			}
		}
		slices.Sort(gotIDs)
		slices.Sort(want)
		if !slices.Equal(gotIDs, want) {
			t.Errorf("published: %v, want ids %v", ids(got), want)
		}
		// Publishing the amendment swaps the plan shown.
		f.walk(t, am.ID, "3702004", []step{{byProvince, school.ActApprove}, {byProvince, school.ActPublish}})
		got = f.published(t, 2026)
		var plansShown []int64
		for _, fl := range got {
			if fl.Kind == school.KindPlan {
				plansShown = append(plansShown, fl.ID)
			}
		}
		if !slices.Equal(plansShown, []int64{plans["3701001"].ID, am.ID}) {
			t.Errorf("plans published after the amendment: %v", ids(got))
		}
		if pg, _ := f.svc.Progress(ctx, f.qingdao, 2026); len(pg) != 1 || pg[0].Published != 1 || pg[0].Schools != 4 {
			t.Errorf("progress after the amendment: %+v", pg)
		}
		// 2025: its plan, and the sites and joint program in force today.
		if got := f.published(t, 2025); len(got) != 4 {
			t.Errorf("published 2025: %v", ids(got))
		}
	})
}

// Two clicks at once: one step is taken, one amendment opened.
func TestFilingConcurrentSteps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		const n = 8
		race := func(name string, fn func(i int) error) {
			t.Helper()
			c := f.counts(t)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = fn(i) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch apperr.CodeOf(err) {
				case "":
					won++
				case apperr.Conflict, apperr.InvalidTransition:
				default:
					t.Errorf("%s: %v", name, err)
				}
			}
			if won != 1 {
				t.Errorf("%s: %d of %d won, want 1", name, won, n)
			}
			if now := f.counts(t); now.audit != c.audit+1 || now.events != c.events+1 {
				t.Errorf("%s: %d audit rows, %d events appended, want 1 each", name, now.audit-c.audit, now.events-c.events)
			}
		}
		sub := f.reach(t, school.FilingSubmitted)
		race("city approve", func(int) error {
			_, err := f.svc.Act(context.Background(), f.jinan, sub.ID, school.ActCityApprove, "")
			return err
		})
		race("approve or reject", func(i int) error {
			action := school.ActApprove
			if i%2 == 1 {
				action = school.ActReject
			}
			_, err := f.svc.Act(context.Background(), f.prov, sub.ID, action, "并发")
			return err
		})
		if got := f.get(t, sub.ID); got.Version != sub.Version+2 {
			t.Errorf("version %d after two steps from %d", got.Version, sub.Version)
		}
		pub := f.reach(t, school.FilingPublished)
		race("amend", func(i int) error {
			p := f.schoolA
			if i%2 == 1 {
				p = f.psub
			}
			_, err := f.svc.Amend(context.Background(), p, pub.ID)
			return err
		})
		items, _, err := f.svc.List(t.Context(), f.prov, school.FilingFilter{Year: pub.Year, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, it := range items {
			if it.Amends == pub.ID {
				open++
			}
		}
		if open != 1 {
			t.Errorf("%d amendments of #%d open", open, pub.ID)
		}
	})
}
