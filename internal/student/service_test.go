package student_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// fixture is a registry with three schools in two cities and their users.
type fixture struct {
	db                        *store.DB
	dsn                       string
	svc                       *student.Service
	province, jinan, qingdao  auth.Principal
	schoolA, schoolB, schoolQ auth.Principal
	today                     time.Time
}

var now = time.Date(2025, 10, 15, 10, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, dsn)
	for _, s := range []struct{ code, div string }{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}} {
		sc := &school.School{Code: s.code, Name: "测试" + s.code + "技工学校", Type: "技工学校", Ownership: "公办", DivisionCode: s.div,
			Status: school.StatusOperating, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := school.Validate(sc); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSchool(ctx, sc, audit.Entry{Actor: "t", Action: "school.create"}); err != nil {
			t.Fatal(err)
		}
	}
	svc := student.NewService(db, storetest.Protector())
	svc.Now = func() time.Time { return now }
	return &fixture{db: db, dsn: dsn, svc: svc, today: now,
		province: auth.Principal{Name: "prov", Role: auth.RoleProvince},
		jinan:    auth.Principal{Name: "jinan", Role: auth.RoleCity, ScopeCode: "370100"},
		qingdao:  auth.Principal{Name: "qingdao", Role: auth.RoleCity, ScopeCode: "370200"},
		schoolA:  auth.Principal{Name: "a", Role: auth.RoleSchool, ScopeCode: "3701001"},
		schoolB:  auth.Principal{Name: "b", Role: auth.RoleSchool, ScopeCode: "3701002"},
		schoolQ:  auth.Principal{Name: "q", Role: auth.RoleSchool, ScopeCode: "3702001"},
	}
}

// person returns a valid registration for a synthetic person.
func person(n int, school string) student.Registration {
	birth := time.Date(2009, 3, 1+n%27, 0, 0, 0, 0, time.UTC)
	sex := []string{"男", "女"}[n%2]
	return student.Registration{SchoolCode: school, Name: "学生" + strings.Repeat("甲", 1+n%3), IDNumber: idcard.Synthesize("370102", birth, n%1000, idcard.Sex(sex)),
		Sex: sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: "01", Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制",
		EntryPoint: "初中毕业生", EnrollmentDate: "2025-09-01"}
}

func code(err error) apperr.Code { return apperr.CodeOf(err) }

func TestRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		st, err := f.svc.Register(ctx, f.schoolA, person(1, ""))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(st.StudentNo, "Q3701001202500001") || st.Status != student.StatusEnrolled || !strings.Contains(st.IDNumber, "*") {
			t.Fatalf("registered %+v", st)
		}
		// Part-time registrations are numbered apart.
		pt := person(2, "")
		pt.StudyMode, pt.BirthDate = "非全日制", "1995-03-03"
		pt.IDNumber = idcard.Synthesize("370102", time.Date(1995, 3, 3, 0, 0, 0, 0, time.UTC), 7, "女")
		pt.Sex = "女"
		st2, err := f.svc.Register(ctx, f.schoolA, pt)
		if err != nil || st2.StudentNo != "F3701001202500001" {
			t.Fatalf("part-time: %v %v", st2, err)
		}
		// The same person elsewhere is refused, naming the holding school.
		dup := person(1, "3702001")
		_, err = f.svc.Register(ctx, f.schoolQ, dup)
		if code(err) != apperr.DuplicateRegistration || !strings.Contains(apperr.As(err).Message(), "测试3701001技工学校") {
			t.Fatalf("duplicate: %v", err)
		}
		// A school registers only into itself; a city only into its schools.
		if _, err := f.svc.Register(ctx, f.schoolA, person(3, "3702001")); code(err) != apperr.NotFound {
			t.Fatalf("school into another school: %v", err)
		}
		if _, err := f.svc.Register(ctx, f.jinan, person(4, "3702001")); code(err) != apperr.NotFound {
			t.Fatalf("city into another city: %v", err)
		}
		if _, err := f.svc.Register(ctx, auth.Principal{Name: "x", Role: auth.RoleAuditor}, person(5, "3701001")); code(err) != apperr.Forbidden {
			t.Fatalf("auditor registers: %v", err)
		}
		// Nothing plain at rest: the raw table holds no identity number.
		raw := storetest.Raw(t, dsn)
		rows, err := raw.Query(`SELECT * FROM students`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		colNames, _ := rows.Columns()
		vals := make([]any, len(colNames))
		ptrs := make([]any, len(colNames))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		plain := person(1, "").IDNumber
		for rows.Next() {
			rows.Scan(ptrs...)
			for i, v := range vals {
				var b []byte
				switch x := v.(type) {
				case string:
					b = []byte(x)
				case []byte:
					b = x
				}
				if bytes.Contains(b, []byte(plain)) || bytes.Contains(b, []byte(plain[6:14]+plain[14:17])) {
					t.Fatalf("column %s holds the identity number in plain text", colNames[i])
				}
			}
		}
		// Nor do the database files themselves (SQLite: the file and its WAL).
		if !store.IsPostgres(dsn) {
			for _, path := range []string{dsn, dsn + "-wal"} {
				b, err := os.ReadFile(path)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(plain)) {
					t.Fatalf("%s holds the identity number in plain text", path)
				}
			}
		}
		// Nor does the audit log.
		var n int
		raw.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE data LIKE $1`, "%"+plain+"%").Scan(&n)
		if n != 0 {
			t.Fatal("audit log holds the identity number")
		}
	})
}

func TestRegistrationRefusesBadInput(t *testing.T) {
	f := newFixture(t, storetest.DSN(t, store.SQLite))
	ctx := context.Background()
	good := person(1, "3701001")
	cases := []struct {
		name  string
		edit  func(*student.Registration)
		code  apperr.Code
		field string
	}{
		{"17 characters", func(r *student.Registration) { r.IDNumber = r.IDNumber[:17] }, apperr.InvalidIDNumber, "id_number"},
		{"letters", func(r *student.Registration) { r.IDNumber = "37010A" + r.IDNumber[6:] }, apperr.InvalidIDNumber, "id_number"},
		{"check digit", func(r *student.Registration) {
			d := byte('0')
			if r.IDNumber[17] == '0' {
				d = '1'
			}
			r.IDNumber = r.IDNumber[:17] + string(d)
		}, apperr.InvalidIDNumber, "id_number"},
		{"unknown area", func(r *student.Registration) {
			n := "999999" + r.IDNumber[6:17]
			r.IDNumber = n + string(idcard.CheckDigit(n))
		}, apperr.InvalidIDNumber, "id_number"},
		{"impossible date", func(r *student.Registration) {
			n := r.IDNumber[:6] + "20090231" + r.IDNumber[14:17]
			r.IDNumber = n + string(idcard.CheckDigit(n))
		}, apperr.InvalidIDNumber, "id_number"},
		{"birth date differs", func(r *student.Registration) { r.BirthDate = "2009-03-05" }, apperr.InvalidIDNumber, "id_number"},
		{"sex differs", func(r *student.Registration) { r.Sex = map[string]string{"男": "女", "女": "男"}[r.Sex] }, apperr.InvalidIDNumber, "id_number"},
		{"birth in the future", func(r *student.Registration) { r.BirthDate = "2030-01-01" }, apperr.Invalid, "birth_date"},
		{"enrolled before birth", func(r *student.Registration) { r.EnrollmentDate = "2008-09-01" }, apperr.Invalid, "enrollment_date"},
		{"unknown major", func(r *student.Registration) { r.Major = "炼金术" }, apperr.Invalid, "major"},
		{"unknown class level", func(r *student.Registration) { r.ClassLevel = "博士班" }, apperr.Invalid, "class_level"},
		{"unknown mode", func(r *student.Registration) { r.StudyMode = "函授" }, apperr.Invalid, "study_mode"},
		{"entry point of another level", func(r *student.Registration) {
			r.EntryPoint = "取得高级职业资格(职业技能等级)者/相近专业高级工毕业生"
		}, apperr.Invalid, "entry_point"},
		{"unknown ethnicity", func(r *student.Registration) { r.Ethnicity = "火星族" }, apperr.Invalid, "ethnicity"},
		{"empty name", func(r *student.Registration) { r.Name = "  " }, apperr.Invalid, "name"},
		{"hostile name", func(r *student.Registration) { r.Name = "x'; DROP TABLE students; --" }, apperr.Invalid, "name"},
		{"huge name", func(r *student.Registration) { r.Name = strings.Repeat("张", 51) }, apperr.Invalid, "name"},
		{"bad date format", func(r *student.Registration) { r.EnrollmentDate = "2025/09/01" }, apperr.Invalid, "enrollment_date"},
		{"passport with symbols", func(r *student.Registration) { r.IDType, r.IDNumber = "护照", "E1234<script>" }, apperr.InvalidIDNumber, "id_number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.edit(&r)
			_, err := f.svc.Register(ctx, f.province, r)
			e := apperr.As(err)
			if err == nil || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %v, want %s on %s", err, tc.code, tc.field)
			}
			if m := e.Message(); m == "" || m == e.Key {
				t.Fatalf("message %q not from the catalogue", m)
			}
		})
	}
	// Full-width digits and a lower-case x are accepted as the same number.
	r := good
	r.IDNumber = strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c - '0' + '０'
		}
		return c
	}, r.IDNumber)
	if _, err := f.svc.Register(ctx, f.province, r); err != nil {
		t.Fatalf("full-width number: %v", err)
	}
	if _, _, err := f.db.FindStudents(ctx, student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	// A passport holder is registered without GB 11643 checks.
	p := person(9, "3701001")
	p.IDType, p.IDNumber = "护照", "e12345678"
	st, err := f.svc.Register(ctx, f.province, p)
	if err != nil || st.IDType != "护照" {
		t.Fatalf("passport: %v", err)
	}
}

// Two schools registering the same person at the same moment end with one
// registration: the database decides, not a check-then-insert race.
func TestConcurrentDuplicateRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		for round := range 5 {
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					who, sc := f.schoolA, "3701001"
					if i%2 == 1 {
						who, sc = f.schoolQ, "3702001"
					}
					_, errs[i] = f.svc.Register(ctx, who, person(100+round, sc))
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch code(err) {
				case "":
					ok++
				case apperr.DuplicateRegistration:
				default:
					t.Fatalf("round %d: unexpected %v", round, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d registrations succeeded, want 1", round, ok)
			}
		}
		_, total, _ := f.db.FindStudents(ctx, student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 50})
		if total != 5 {
			t.Fatalf("%d students stored, want 5", total)
		}
	})
}

func TestStatusChangeWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		st, err := f.svc.Register(ctx, f.schoolA, person(1, ""))
		if err != nil {
			t.Fatal(err)
		}
		// 休学, effective today: nothing changes until the city approves.
		req, err := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "休学", Reason: "病休", EffectiveDate: "2025-10-15"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Get(ctx, f.schoolA, st.ID); got.Status != student.StatusEnrolled {
			t.Fatal("status changed before approval")
		}
		// A second open request for the same student is refused.
		if _, err := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "退学", Reason: "x", EffectiveDate: "2025-10-15"}); code(err) != apperr.Conflict {
			t.Fatalf("second open request: %v", err)
		}
		// Who may not approve: the school, another city, the proposer.
		if _, err := f.svc.Approve(ctx, f.schoolA, req.ID, ""); code(err) != apperr.Forbidden {
			t.Fatalf("school approves: %v", err)
		}
		if _, err := f.svc.Approve(ctx, f.qingdao, req.ID, ""); code(err) != apperr.NotFound {
			t.Fatalf("other city approves: %v", err)
		}
		got, err := f.svc.Approve(ctx, f.jinan, req.ID, "同意")
		if err != nil || got.State != student.StateApplied {
			t.Fatalf("approve: %+v %v", got, err)
		}
		if s, _ := f.svc.Get(ctx, f.schoolA, st.ID); s.Status != student.StatusSuspended {
			t.Fatalf("status after approval: %s", s.Status)
		}
		if _, err := f.svc.Approve(ctx, f.jinan, req.ID, ""); code(err) != apperr.InvalidTransition {
			t.Fatalf("approve twice: %v", err)
		}
		// 休学 cannot be proposed again from 休学; 复学 can.
		if _, err := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "休学", Reason: "x", EffectiveDate: "2025-10-15"}); code(err) != apperr.Invalid {
			t.Fatalf("休学 from 休学: %v", err)
		}
		// A request approved for a future date waits; ApplyDue applies it then.
		back, err := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "复学", Reason: "康复", EffectiveDate: "2025-11-01"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.Approve(ctx, f.jinan, back.ID, ""); err != nil || got.State != student.StateApproved {
			t.Fatalf("future approval: %+v %v", got, err)
		}
		if n, _ := f.svc.ApplyDue(ctx); n != 0 {
			t.Fatal("applied before its date")
		}
		f.svc.Now = func() time.Time { return time.Date(2025, 11, 1, 1, 0, 0, 0, time.UTC) }
		if n, err := f.svc.ApplyDue(ctx); n != 1 || err != nil {
			t.Fatalf("ApplyDue = %d, %v", n, err)
		}
		if s, _ := f.svc.Get(ctx, f.schoolA, st.ID); s.Status != student.StatusEnrolled {
			t.Fatalf("after 复学: %s", s.Status)
		}
		// Withdrawn requests are never applied; rejected ones neither.
		w, _ := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "退学", Reason: "个人原因", EffectiveDate: "2025-11-01"})
		if _, err := f.svc.Withdraw(ctx, f.schoolA, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Approve(ctx, f.jinan, w.ID, ""); code(err) != apperr.InvalidTransition {
			t.Fatalf("approve withdrawn: %v", err)
		}
		rj, _ := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "退学", Reason: "个人原因", EffectiveDate: "2025-11-01"})
		if _, err := f.svc.Reject(ctx, f.jinan, rj.ID, ""); code(err) != apperr.Invalid {
			t.Fatalf("reject without reason: %v", err)
		}
		if _, err := f.svc.Reject(ctx, f.jinan, rj.ID, "材料不全"); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.svc.Get(ctx, f.schoolA, st.ID); s.Status != student.StatusEnrolled {
			t.Fatal("rejected request changed the record")
		}
		// The province proposing cannot approve its own request.
		own, _ := f.svc.ProposeChange(ctx, f.province, st.ID, student.ChangeInput{Type: "转专业", Reason: "调剂", EffectiveDate: "2025-11-01",
			Changes: map[string]string{"major": "焊接加工"}})
		if _, err := f.svc.Approve(ctx, f.province, own.ID, ""); code(err) != apperr.Forbidden {
			t.Fatalf("self approval: %v", err)
		}
		if _, err := f.svc.Approve(ctx, f.jinan, own.ID, ""); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.svc.Get(ctx, f.schoolA, st.ID); s.Major != "焊接加工" {
			t.Fatalf("major after 转专业: %s", s.Major)
		}
		// A school cannot propose on another school's student.
		if _, err := f.svc.ProposeChange(ctx, f.schoolB, st.ID, student.ChangeInput{Type: "退学", Reason: "x", EffectiveDate: "2025-11-01"}); code(err) != apperr.NotFound {
			t.Fatalf("other school proposes: %v", err)
		}
		// Every step is in the audit log, and the chain holds.
		if p, _, err := f.db.VerifyAudit(ctx); p != nil || err != nil {
			t.Fatalf("audit: %v %v", p, err)
		}
		events, _ := f.db.RecentAudit(ctx, "student", st.StudentNo, 0, 100)
		actions := map[string]int{}
		for _, e := range events {
			actions[e.Action]++
		}
		for _, a := range []string{"student.register", "change.propose", "change.approve", "change.apply", "change.withdraw", "change.reject"} {
			if actions[a] == 0 {
				t.Errorf("no %s event in %v", a, actions)
			}
		}
	})
}

// A transfer between cities needs both cities; the student moves only
// after the second approval.
func TestTransferBetweenCities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		st, _ := f.svc.Register(ctx, f.schoolA, person(1, ""))
		req, err := f.svc.ProposeChange(ctx, f.schoolA, st.ID, student.ChangeInput{Type: "转学", Reason: "随父母迁居", EffectiveDate: "2025-10-15",
			Changes: map[string]string{"school_code": "3702001"}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(req.Needs) != "[city:370100 city:370200]" {
			t.Fatalf("needs %v", req.Needs)
		}
		// The receiving school and city see the request.
		if _, err := f.svc.GetChange(ctx, f.schoolQ, req.ID); err != nil {
			t.Fatalf("receiving school cannot see the transfer: %v", err)
		}
		if r, err := f.svc.Approve(ctx, f.jinan, req.ID, ""); err != nil || r.State != student.StatePending {
			t.Fatalf("first approval: %+v %v", r, err)
		}
		if _, err := f.svc.Approve(ctx, f.jinan, req.ID, ""); code(err) != apperr.Forbidden {
			t.Fatalf("same city twice: %v", err)
		}
		if s, _ := f.svc.Get(ctx, f.province, st.ID); s.SchoolCode != "3701001" {
			t.Fatal("moved after one approval")
		}
		if r, err := f.svc.Approve(ctx, f.qingdao, req.ID, ""); err != nil || r.State != student.StateApplied {
			t.Fatalf("second approval: %+v %v", r, err)
		}
		s, err := f.svc.Get(ctx, f.schoolQ, st.ID)
		if err != nil || s.SchoolCode != "3702001" || s.CityCode != "370200" {
			t.Fatalf("after transfer: %+v %v", s, err)
		}
		if _, err := f.svc.Get(ctx, f.schoolA, st.ID); code(err) != apperr.NotFound {
			t.Fatal("old school still sees the student")
		}
	})
}

// An identity correction that would make a second active 学籍 (the number
// of someone active elsewhere) fails when applied, and nothing changes.
func TestCorrectionCannotCreateSecondActive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		a, _ := f.svc.Register(ctx, f.schoolA, person(1, ""))
		other := person(3, "3702001")
		if _, err := f.svc.Register(ctx, f.schoolQ, other); err != nil {
			t.Fatal(err)
		}
		req, err := f.svc.ProposeChange(ctx, f.schoolA, a.ID, student.ChangeInput{Type: "信息更正", Reason: "录入错误", EffectiveDate: "2025-10-15",
			Changes: map[string]string{"id_number": other.IDNumber, "birth_date": other.BirthDate, "sex": other.Sex}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(fmt.Sprint(req.Changes), other.IDNumber) {
			t.Fatal("request shows the new number unmasked")
		}
		if _, err := f.svc.Approve(ctx, f.jinan, req.ID, ""); code(err) != apperr.Forbidden {
			t.Fatalf("a city approves an identity correction: %v", err)
		}
		_, err = f.svc.Approve(ctx, f.province, req.ID, "")
		if code(err) != apperr.DuplicateRegistration {
			t.Fatalf("correction to an active number: %v", err)
		}
		r, _ := f.svc.GetChange(ctx, f.province, req.ID)
		if r.State != student.StateFailed || r.Failure == "" {
			t.Fatalf("request after failed apply: %+v", r)
		}
		s, _ := f.svc.Get(ctx, f.province, a.ID)
		if s.IDMasked != a.IDNumber || s.BirthDate != a.BirthDate {
			t.Fatalf("record changed by a failed correction: %+v", s)
		}
		// Graduation ends the 学籍; the person may then register again.
		g, _ := f.svc.ProposeChange(ctx, f.schoolA, a.ID, student.ChangeInput{Type: "毕业", Reason: "修业期满", EffectiveDate: "2025-10-15"})
		if _, err := f.svc.Approve(ctx, f.jinan, g.ID, ""); err != nil {
			t.Fatal(err)
		}
		again := person(1, "3702001")
		again.EnrollmentDate = "2025-10-01"
		again.ClassLevel, again.EntryPoint = "高级工班", "取得中级职业资格(职业技能等级)者/相近专业中级工毕业生"
		if _, err := f.svc.Register(ctx, f.schoolQ, again); err != nil {
			t.Fatalf("register after graduation: %v", err)
		}
	})
}

func TestRevealAndPublicQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		r := person(1, "")
		st, _ := f.svc.Register(ctx, f.schoolA, r)
		if got, err := f.svc.Reveal(ctx, f.schoolA, st.ID); err != nil || got.IDNumber != r.IDNumber {
			t.Fatalf("school reveal: %v %v", got, err)
		}
		for _, p := range []auth.Principal{f.jinan, {Name: "au", Role: auth.RoleAuditor}} {
			if _, err := f.svc.Reveal(ctx, p, st.ID); code(err) != apperr.Forbidden {
				t.Fatalf("%s reveal: %v", p.Role, err)
			}
		}
		events, _ := f.db.RecentAudit(ctx, "student", st.StudentNo, 0, 10)
		if events[0].Action != "student.reveal" || events[0].Actor != "a" {
			t.Fatalf("reveal not audited: %+v", events[0])
		}
		recs, err := f.svc.QueryStatus(ctx, r.Name, "", r.IDNumber, "10.0.0.1")
		if err != nil || len(recs) != 1 || recs[0].SchoolName != "测试3701001技工学校" || recs[0].Status != "在籍" {
			t.Fatalf("query: %+v %v", recs, err)
		}
		if _, err := f.svc.QueryStatus(ctx, "别人", "", r.IDNumber, "10.0.0.1"); code(err) != apperr.NotFound {
			t.Fatalf("wrong name: %v", err)
		}
		var last error
		for range student.QueryLimit {
			_, last = f.svc.QueryStatus(ctx, r.Name, "", r.IDNumber, "10.0.0.1")
		}
		if code(last) != apperr.RateLimited {
			t.Fatalf("no rate limit: %v", last)
		}
		if _, err := f.svc.QueryStatus(ctx, r.Name, "", r.IDNumber, "10.0.0.2"); err != nil {
			t.Fatalf("other address throttled: %v", err)
		}
	})
}
