package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

var certNow = time.Date(2025, 10, 15, 2, 0, 0, 0, time.UTC)

var allScope = auth.Scope{Kind: auth.ScopeAll}

// certEnv is a registry with three schools in two cities, the students
// service to graduate people, and one active signing key.
type certEnv struct {
	t        *testing.T
	db       *store.DB
	dsn      string
	students *student.Service
	key      *cert.SigningKey
	n        int
}

func newCertEnv(t *testing.T, dsn string) *certEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, dsn)
	for _, s := range [][2]string{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}} {
		if err := db.CreateSchool(ctx, newSchool(s[0], s[1]), entry("school.create", s[0])); err != nil {
			t.Fatal(err)
		}
	}
	svc := student.NewService(db, storetest.Protector())
	svc.Now = func() time.Time { return certNow }
	e := &certEnv{t: t, db: db, dsn: dsn, students: svc}
	e.key = e.addKey(cert.AlgEd25519, certNow)
	return e
}

func keyEntry(kid string) audit.Entry {
	return audit.Entry{Actor: "tester", Action: "cert.key.rotate", Entity: "cert_key", EntityID: kid}
}

func (e *certEnv) addKey(alg string, at time.Time) *cert.SigningKey {
	e.t.Helper()
	k, err := cert.GenerateKey(alg, at)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.AddCertKey(context.Background(), cert.StoredKey{Key: k.Key, PrivateSealed: []byte("sealed " + k.ID)}, keyEntry(k.ID)); err != nil {
		e.t.Fatal(err)
	}
	return k
}

func cityOf(school string) string { return school[:4] + "00" }

// enrol registers a person at a school.
func (e *certEnv) enrol(name, school string) *student.Student {
	e.t.Helper()
	e.n++
	birth := time.Date(2009, 3, 1+e.n%27, 0, 0, 0, 0, time.UTC)
	sex := []string{"男", "女"}[e.n%2]
	r := student.Registration{SchoolCode: school, Name: name, IDNumber: idcard.Synthesize("370102", birth, e.n, idcard.Sex(sex)),
		Sex: sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: "01", Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制",
		EntryPoint: "初中毕业生", EnrollmentDate: "2025-09-01"}
	st, err := e.students.Register(context.Background(), auth.Principal{Name: "school", Role: auth.RoleSchool, ScopeCode: school}, r)
	if err != nil {
		e.t.Fatalf("register %s: %v", name, err)
	}
	return st
}

// graduate registers a person and has the city approve their graduation,
// which applies at once.
func (e *certEnv) graduate(name, school string) *student.Student {
	e.t.Helper()
	ctx := context.Background()
	st := e.enrol(name, school)
	req, err := e.students.ProposeChange(ctx, auth.Principal{Name: "school", Role: auth.RoleSchool, ScopeCode: school}, st.ID,
		student.ChangeInput{Type: student.ChangeGraduation, Reason: "修业期满", EffectiveDate: "2025-10-15"})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.students.Approve(ctx, auth.Principal{Name: "city", Role: auth.RoleCity, ScopeCode: cityOf(school)}, req.ID, "")
	if err != nil || r.State != student.StateApplied {
		e.t.Fatalf("approve graduation: %+v, %v", r, err)
	}
	got, err := e.db.FindStudent(ctx, allScope, st.ID)
	if err != nil || got.Status != student.StatusGraduated || got.LeftDate != "2025-10-15" {
		e.t.Fatalf("graduate: %+v, %v", got, err)
	}
	return got
}

// certFor is a signed certificate of a graduate, not yet stored.
func (e *certEnv) certFor(st *student.Student) *cert.Certificate {
	e.t.Helper()
	c := &cert.Certificate{Kind: cert.KindGraduation, No: cert.NewNumber(2025, "37"), StudentID: st.ID, SchoolCode: st.SchoolCode,
		CityCode: st.CityCode, HolderName: st.Name, IDMasked: st.IDMasked, SchoolName: st.SchoolName, Major: st.Major,
		ClassLevel: st.ClassLevel, StudyMode: st.StudyMode, EntryDate: st.EnrollmentDate, GraduationDate: st.LeftDate,
		IssueDate: "2025-10-15", ProvinceCode: "37", Status: cert.StatusValid, IssuedBy: "system", CreatedAt: certNow, Version: 1}
	if err := e.key.Sign(c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func issueEntry(no string) audit.Entry {
	return audit.Entry{Actor: "tester", Action: "cert.issue", Entity: "certificate", EntityID: no}
}

func (e *certEnv) issue(st *student.Student) *cert.Certificate {
	e.t.Helper()
	c := e.certFor(st)
	if err := e.db.CreateCertificate(context.Background(), c, issueEntry(c.No)); err != nil {
		e.t.Fatal(err)
	}
	if c.ID == 0 {
		e.t.Fatal("CreateCertificate did not set the id")
	}
	return c
}

func (e *certEnv) certAudits() int {
	e.t.Helper()
	return countAudits(e.t, e.db, "certificate")
}

func countAudits(t *testing.T, db *store.DB, entity string) int {
	t.Helper()
	events, err := db.RecentAudit(context.Background(), "", "", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Entity == entity {
			n++
		}
	}
	return n
}

func (e *certEnv) find(no string) *cert.Certificate {
	e.t.Helper()
	c, err := e.db.FindCertificate(context.Background(), allScope, no)
	if err != nil {
		e.t.Fatalf("find %s: %v", no, err)
	}
	return c
}

func activeKeys(t *testing.T, db *store.DB) (active []string, all []cert.StoredKey) {
	t.Helper()
	keys, err := db.CertKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Active() {
			active = append(active, k.ID)
		}
	}
	return active, keys
}

func TestCertKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		if keys, err := db.CertKeys(ctx); err != nil || len(keys) != 0 {
			t.Fatalf("fresh database: %v, %v", keys, err)
		}
		e := &certEnv{t: t, db: db, dsn: dsn}
		first := e.addKey(cert.AlgEd25519, certNow)
		second := e.addKey(cert.AlgSM2, certNow.Add(time.Hour))
		active, keys := activeKeys(t, db)
		if len(keys) != 2 || fmt.Sprint(active) != fmt.Sprint([]string{second.ID}) {
			t.Fatalf("keys %+v, active %v; want %s active", keys, active, second.ID)
		}
		k0, k1 := keys[0], keys[1]
		if k0.ID != first.ID || k0.Alg != cert.AlgEd25519 || !k0.RetiredAt.Equal(second.CreatedAt) || !k0.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("retired key %+v", k0)
		}
		if k1.ID != second.ID || k1.Alg != cert.AlgSM2 || string(k1.PrivateSealed) != "sealed "+second.ID || string(k1.Public) != string(second.Public) {
			t.Fatalf("active key %+v", k1)
		}
		// What is stored makes a valid key set.
		pubs := []cert.Key{k0.Key, k1.Key}
		if _, err := cert.NewKeySet(pubs); err != nil {
			t.Fatal(err)
		}
		// The same key twice: refused, nothing changes.
		if err := db.AddCertKey(ctx, cert.StoredKey{Key: second.Key, PrivateSealed: []byte("x")}, keyEntry(second.ID)); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("same key again: %v, want conflict", err)
		}
		if active, keys := activeKeys(t, db); len(keys) != 2 || fmt.Sprint(active) != fmt.Sprint([]string{second.ID}) {
			t.Fatalf("after refused add: active %v of %d", active, len(keys))
		}
		if n := countAudits(t, db, "cert_key"); n != 2 {
			t.Fatalf("%d key audit events, want 2", n)
		}
	})
}

// Two nodes making a first key at once: the unique index on the active
// key lets one in.
func TestCertKeysOneActive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn)
		raw := storetest.Raw(t, dsn)
		a, _ := cert.GenerateKey(cert.AlgEd25519, certNow)
		b, _ := cert.GenerateKey(cert.AlgEd25519, certNow)
		ins := `INSERT INTO cert_keys (kid, alg, public_key, private_sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, 0)`
		if _, err := raw.Exec(ins, a.ID, a.Alg, a.Public, []byte("x"), certNow.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(ins, b.ID, b.Alg, b.Public, []byte("x"), certNow.UnixMicro()); err == nil {
			t.Fatal("a second active key was inserted")
		}
		// A retired one is fine.
		if _, err := raw.Exec(`INSERT INTO cert_keys (kid, alg, public_key, private_sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			b.ID, b.Alg, b.Public, []byte("x"), certNow.UnixMicro(), certNow.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if active, keys := activeKeys(t, db); len(keys) != 2 || fmt.Sprint(active) != fmt.Sprint([]string{a.ID}) {
			t.Fatalf("active %v of %d", active, len(keys))
		}
	})
}

func TestCertKeysConcurrentAdds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		const n = 8
		keys := make([]*cert.SigningKey, n)
		for i := range keys {
			k, err := cert.GenerateKey(cert.AlgEd25519, certNow)
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = k
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, k := range keys {
			wg.Go(func() {
				<-start
				errs[i] = db.AddCertKey(ctx, cert.StoredKey{Key: k.Key, PrivateSealed: []byte("x")}, keyEntry(k.ID))
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				ok++
			case apperr.Conflict:
			default:
				t.Fatalf("concurrent AddCertKey: %v", err)
			}
		}
		active, stored := activeKeys(t, db)
		if ok == 0 || len(stored) != ok || len(active) != 1 {
			t.Fatalf("%d adds succeeded, %d keys stored, active %v", ok, len(stored), active)
		}
		t.Logf("%d of %d concurrent adds succeeded", ok, n)
	})
}

func TestCreateCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		s1, s2 := e.graduate("张三", "3701001"), e.graduate("李四", "3701001")
		c1 := e.issue(s1)
		got := e.find(c1.No)
		want := *c1
		want.StudentNo = s1.StudentNo
		want.CreatedAt = certNow
		if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", *got, want)
		}
		audits := e.certAudits()

		// A second valid certificate for the same student.
		if err := e.db.CreateCertificate(ctx, e.certFor(s1), issueEntry("x")); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("second certificate: %v, want conflict", err)
		}
		// A number already taken.
		dup := e.certFor(s2)
		dup.No = c1.No
		if err := e.db.CreateCertificate(ctx, dup, issueEntry("x")); apperr.CodeOf(err) != apperr.Duplicate {
			t.Fatalf("taken number: %v, want duplicate", err)
		}
		if n := e.certAudits(); n != audits {
			t.Fatalf("refused creates left %d audit events", n-audits)
		}
		// Once the first is revoked the student may hold a new one.
		rev := *got
		rev.Status, rev.Reason, rev.RevokedAt, rev.RevokedBy, rev.Version = cert.StatusRevoked, "错误", certNow, "a", 2
		if err := e.db.UpdateCertificate(ctx, &rev, 1, issueEntry(rev.No)); err != nil {
			t.Fatal(err)
		}
		if err := e.db.CreateCertificate(ctx, e.certFor(s1), issueEntry("x")); err != nil {
			t.Fatalf("certificate after a revoked one: %v", err)
		}
	})
}

// Concurrent issues for one student: one certificate, and the others are
// told the student holds one (conflict), not that a number was taken.
func TestCreateCertificateConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		st := e.graduate("张三", "3701001")
		const n = 8
		certs := make([]*cert.Certificate, n)
		for i := range certs {
			certs[i] = e.certFor(st)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range certs {
			wg.Go(func() {
				<-start
				errs[i] = e.db.CreateCertificate(ctx, c, issueEntry(c.No))
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				ok++
			case apperr.Conflict:
			default:
				t.Errorf("concurrent CreateCertificate: %v, want conflict", err)
			}
		}
		list, total, err := e.db.ListCertificates(ctx, cert.Filter{Scope: allScope, StudentID: st.ID, Limit: 100})
		if err != nil || ok != 1 || total != 1 || len(list) != 1 {
			t.Fatalf("%d succeeded; %d stored, %v", ok, total, err)
		}
	})
}

func TestUpdateCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		c := e.issue(e.graduate("张三", "3701001"))
		rev := e.find(c.No)
		rev.Status, rev.Reason, rev.RevokedAt, rev.RevokedBy, rev.Version = cert.StatusRevoked, "信息有误", certNow.Add(time.Hour), "a", 2
		if err := e.db.UpdateCertificate(ctx, rev, 1, issueEntry(c.No)); err != nil {
			t.Fatal(err)
		}
		audits := e.certAudits()
		stale := *rev
		stale.Reason, stale.Version = "另一个原因", 2
		if err := e.db.UpdateCertificate(ctx, &stale, 1, issueEntry(c.No)); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale version: %v, want conflict", err)
		}
		got := e.find(c.No)
		if got.Status != cert.StatusRevoked || got.Reason != "信息有误" || got.Version != 2 || got.RevokedBy != "a" ||
			!got.RevokedAt.Equal(certNow.Add(time.Hour)) {
			t.Fatalf("after stale update: %+v", got)
		}
		if n := e.certAudits(); n != audits {
			t.Fatal("a refused update was audited")
		}
	})
}

func TestReissueCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		s1, s2 := e.graduate("张三", "3701001"), e.graduate("李四", "3701001")
		c1, c2 := e.issue(s1), e.issue(s2)
		audits := e.certAudits()

		void := func(prev int64, by string) *cert.Certificate {
			old := e.find(c1.No)
			old.Status, old.Reason, old.RevokedAt, old.RevokedBy, old.ReplacedBy, old.Version =
				cert.StatusVoided, "补发：遗失", certNow, "a", by, prev+1
			return old
		}
		// The replacement's number is taken: the old one stays valid.
		repl := e.certFor(s1)
		repl.No, repl.Replaces = c2.No, c1.No
		if err := e.db.ReissueCertificate(ctx, void(1, c2.No), 1, repl, issueEntry(repl.No)); apperr.CodeOf(err) != apperr.Duplicate {
			t.Fatalf("reissue onto a taken number: %v, want duplicate", err)
		}
		if got := e.find(c1.No); got.Status != cert.StatusValid || got.Version != 1 || got.ReplacedBy != "" || got.Reason != "" {
			t.Fatalf("old certificate after a failed reissue: %+v", got)
		}
		// A stale version: nothing voided, nothing created.
		repl = e.certFor(s1)
		repl.Replaces = c1.No
		if err := e.db.ReissueCertificate(ctx, void(3, repl.No), 3, repl, issueEntry(repl.No)); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale reissue: %v, want conflict", err)
		}
		if got, err := e.db.LookupCertificate(ctx, repl.No); err != nil || got != nil {
			t.Fatalf("replacement of a stale reissue stored: %+v, %v", got, err)
		}
		if n := e.certAudits(); n != audits {
			t.Fatal("a failed reissue was audited")
		}
		// Then it works.
		if err := e.db.ReissueCertificate(ctx, void(1, repl.No), 1, repl, issueEntry(repl.No)); err != nil {
			t.Fatal(err)
		}
		old, nu := e.find(c1.No), e.find(repl.No)
		if old.Status != cert.StatusVoided || old.ReplacedBy != repl.No || old.Version != 2 || old.Reason != "补发：遗失" {
			t.Fatalf("old after reissue: %+v", old)
		}
		if nu.Status != cert.StatusValid || nu.Replaces != c1.No || nu.StudentID != s1.ID || nu.ID <= c2.ID {
			t.Fatalf("new after reissue: %+v", nu)
		}
		if e.certAudits() != audits+1 {
			t.Fatal("reissue not audited once")
		}
		// The student holds one valid certificate.
		_, total, _ := e.db.ListCertificates(ctx, cert.Filter{Scope: allScope, StudentID: s1.ID, Status: cert.StatusValid, Limit: 10})
		if total != 1 {
			t.Fatalf("%d valid certificates for the student", total)
		}
	})
}

func TestListCertificates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		c1 := e.issue(e.graduate("张三", "3701001"))
		s2 := e.graduate("李四", "3701001")
		c2 := e.issue(s2)
		c3 := e.issue(e.graduate("王五", "3701002"))
		c4 := e.issue(e.graduate("张三", "3702001"))
		rev := e.find(c2.No)
		rev.Status, rev.Reason, rev.RevokedAt, rev.Version = cert.StatusRevoked, "x", certNow, 2
		if err := e.db.UpdateCertificate(ctx, rev, 1, issueEntry(c2.No)); err != nil {
			t.Fatal(err)
		}
		nos := func(list []*cert.Certificate) []string {
			var out []string
			for _, c := range list {
				out = append(out, c.No)
			}
			return out
		}
		cases := []struct {
			name string
			f    cert.Filter
			want []*cert.Certificate
		}{
			{"all", cert.Filter{Scope: allScope}, []*cert.Certificate{c4, c3, c2, c1}},
			{"none", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeNone}}, nil},
			{"city 济南", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeCity, Code: "370100"}}, []*cert.Certificate{c3, c2, c1}},
			{"city 青岛", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeCity, Code: "370200"}}, []*cert.Certificate{c4}},
			{"school", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeSchool, Code: "3701001"}}, []*cert.Certificate{c2, c1}},
			{"other school", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeSchool, Code: "3701002"}}, []*cert.Certificate{c3}},
			{"unknown school", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeSchool, Code: "9999999"}}, nil},
			{"no", cert.Filter{Scope: allScope, No: c3.No}, []*cert.Certificate{c3}},
			{"no out of scope", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeCity, Code: "370200"}, No: c3.No}, nil},
			{"holder name", cert.Filter{Scope: allScope, HolderName: "张三"}, []*cert.Certificate{c4, c1}},
			{"holder name in city", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeCity, Code: "370100"}, HolderName: "张三"}, []*cert.Certificate{c1}},
			{"holder name is exact", cert.Filter{Scope: allScope, HolderName: "张"}, nil},
			{"holder name not a pattern", cert.Filter{Scope: allScope, HolderName: "%"}, nil},
			{"status revoked", cert.Filter{Scope: allScope, Status: cert.StatusRevoked}, []*cert.Certificate{c2}},
			{"status valid", cert.Filter{Scope: allScope, Status: cert.StatusValid}, []*cert.Certificate{c4, c3, c1}},
			{"status voided", cert.Filter{Scope: allScope, Status: cert.StatusVoided}, nil},
			{"student", cert.Filter{Scope: allScope, StudentID: s2.ID}, []*cert.Certificate{c2}},
			{"student out of scope", cert.Filter{Scope: auth.Scope{Kind: auth.ScopeSchool, Code: "3701002"}, StudentID: s2.ID}, nil},
			{"school code", cert.Filter{Scope: allScope, SchoolCode: "3701002"}, []*cert.Certificate{c3}},
		}
		for _, tc := range cases {
			tc.f.Limit = 10
			list, total, err := e.db.ListCertificates(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if fmt.Sprint(nos(list)) != fmt.Sprint(nos(tc.want)) || total != len(tc.want) {
				t.Errorf("%s: got %v (total %d), want %v", tc.name, nos(list), total, nos(tc.want))
			}
		}
		// The list carries the student number from the join.
		list, _, _ := e.db.ListCertificates(ctx, cert.Filter{Scope: allScope, StudentID: s2.ID, Limit: 1})
		if len(list) != 1 || list[0].StudentNo != s2.StudentNo || list[0].Reason != "x" || list[0].Version != 2 {
			t.Fatalf("listed %+v", list)
		}
		// The id cursor walks every certificate once, newest first.
		var walked []string
		f := cert.Filter{Scope: allScope, Limit: 3}
		for page := 0; page < 5; page++ {
			list, total, err := e.db.ListCertificates(ctx, f)
			if err != nil || total != 4 {
				t.Fatalf("page %d: total %d, %v", page, total, err)
			}
			walked = append(walked, nos(list)...)
			if len(list) < f.Limit {
				break
			}
			f.After = list[len(list)-1].ID
		}
		if want := nos([]*cert.Certificate{c4, c3, c2, c1}); fmt.Sprint(walked) != fmt.Sprint(want) {
			t.Fatalf("cursor walk %v, want %v", walked, want)
		}
		// Find is scoped too.
		if _, err := e.db.FindCertificate(ctx, auth.Scope{Kind: auth.ScopeSchool, Code: "3701002"}, c1.No); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("find out of scope: %v, want not_found", err)
		}
		if _, err := e.db.FindCertificate(ctx, allScope, ""); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("find empty number: %v, want not_found", err)
		}
		if got, err := e.db.FindCertificate(ctx, auth.Scope{Kind: auth.ScopeCity, Code: "370100"}, c1.No); err != nil || got.ID != c1.ID {
			t.Fatalf("find in scope: %v, %v", got, err)
		}
	})
}

func TestLookupCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		c := e.issue(e.graduate("张三", "3701001"))
		for _, no := range []string{cert.NewNumber(2025, "37"), "", "' OR 1=1 --", c.No + " "} {
			if got, err := e.db.LookupCertificate(ctx, no); got != nil || err != nil {
				t.Fatalf("lookup %q: %+v, %v", no, got, err)
			}
		}
		got, err := e.db.LookupCertificate(ctx, c.No)
		if err != nil || got == nil {
			t.Fatalf("lookup: %v, %v", got, err)
		}
		// Only what public verification shows, the name and the state.
		if *cert.PublicView(got) != *cert.PublicView(c) || got.HolderName != c.HolderName || got.Status != c.Status {
			t.Fatalf("lookup:\n got %+v\nwant %+v", *got, *c)
		}
	})
}

func TestUncertifiedGraduates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newCertEnv(t, dsn)
		list := func() []int64 {
			t.Helper()
			ids, err := e.db.UncertifiedGraduates(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		if ids := list(); len(ids) != 0 {
			t.Fatalf("empty registry: %v", ids)
		}
		e.enrol("在籍生", "3701001") // not graduated
		g1 := e.graduate("张三", "3701001")
		g2 := e.graduate("李四", "3702001")
		// A graduation approved for later is not applied yet.
		later := e.enrol("王五", "3701002")
		req, err := e.students.ProposeChange(ctx, auth.Principal{Name: "school", Role: auth.RoleSchool, ScopeCode: "3701002"}, later.ID,
			student.ChangeInput{Type: student.ChangeGraduation, Reason: "修业期满", EffectiveDate: "2026-06-30"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := e.students.Approve(ctx, auth.Principal{Name: "city", Role: auth.RoleCity, ScopeCode: "370100"}, req.ID, ""); err != nil || r.State != student.StateApproved {
			t.Fatalf("approve: %+v, %v", r, err)
		}
		// Another ending (退学) earns nothing.
		w := e.enrol("赵六", "3701001")
		wr, _ := e.students.ProposeChange(ctx, auth.Principal{Name: "school", Role: auth.RoleSchool, ScopeCode: "3701001"}, w.ID,
			student.ChangeInput{Type: "退学", Reason: "个人原因", EffectiveDate: "2025-10-15"})
		if _, err := e.students.Approve(ctx, auth.Principal{Name: "city", Role: auth.RoleCity, ScopeCode: "370100"}, wr.ID, ""); err != nil {
			t.Fatal(err)
		}
		want := []int64{g1.ID, g2.ID}
		slices.Sort(want)
		if ids := list(); fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("uncertified %v, want %v", ids, want)
		}
		if ids, _ := e.db.UncertifiedGraduates(ctx, 1); len(ids) != 1 || ids[0] != want[0] {
			t.Fatalf("limit 1: %v", ids)
		}
		c := e.issue(g1)
		if ids := list(); fmt.Sprint(ids) != fmt.Sprint([]int64{g2.ID}) {
			t.Fatalf("after issuing for %d: %v", g1.ID, ids)
		}
		// A revoked certificate still counts: the job does not reissue.
		rev := e.find(c.No)
		rev.Status, rev.Version = cert.StatusRevoked, 2
		if err := e.db.UpdateCertificate(ctx, rev, 1, issueEntry(c.No)); err != nil {
			t.Fatal(err)
		}
		if ids := list(); fmt.Sprint(ids) != fmt.Sprint([]int64{g2.ID}) {
			t.Fatalf("after revoking: %v", ids)
		}
		e.issue(g2)
		if ids := list(); len(ids) != 0 {
			t.Fatalf("all issued: %v", ids)
		}
	})
}
