package cert_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// 18:00 in Shanghai: issue and revocation dates are China's.
var now = time.Date(2025, 10, 15, 10, 0, 0, 0, time.UTC)

const today = "2025-10-15"

type fixture struct {
	t        *testing.T
	db       *store.DB
	students *student.Service
	certs    *cert.Service
	hookErrs []error
	mu       sync.Mutex
	n        int

	province, jinan, auditor, schoolA, schoolB, schoolQ auth.Principal
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, dsn)
	for _, s := range [][2]string{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}} {
		sc := &school.School{Code: s[0], Name: "测试" + s[0] + "技工学校", Type: "技工学校", Ownership: "公办", DivisionCode: s[1],
			Status: school.StatusOperating, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := school.Validate(sc); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSchool(ctx, sc, audit.Entry{Actor: "t", Action: "school.create"}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, db: db,
		students: student.NewService(db, storetest.Protector()),
		certs:    cert.NewService(db, storetest.Protector()),
		province: auth.Principal{Name: "prov", Role: auth.RoleProvince},
		jinan:    auth.Principal{Name: "jinan", Role: auth.RoleCity, ScopeCode: "370100"},
		auditor:  auth.Principal{Name: "au", Role: auth.RoleAuditor},
		schoolA:  auth.Principal{Name: "a", Role: auth.RoleSchool, ScopeCode: "3701001"},
		schoolB:  auth.Principal{Name: "b", Role: auth.RoleSchool, ScopeCode: "3701002"},
		schoolQ:  auth.Principal{Name: "q", Role: auth.RoleSchool, ScopeCode: "3702001"},
	}
	f.students.Now = func() time.Time { return now }
	f.certs.Now = func() time.Time { return now }
	f.hook(true)
	return f
}

// hook wires (or unwires) certificate issue to graduation, as the server
// does.
func (f *fixture) hook(on bool) {
	if !on {
		f.students.OnGraduated = nil
		return
	}
	f.students.OnGraduated = func(ctx context.Context, st *student.Student) {
		if _, err := f.certs.IssueFor(ctx, st, "system"); err != nil {
			f.mu.Lock()
			f.hookErrs = append(f.hookErrs, err)
			f.mu.Unlock()
		}
	}
}

func schoolOf(code string) auth.Principal {
	return auth.Principal{Name: "school-" + code, Role: auth.RoleSchool, ScopeCode: code}
}

// graduate registers a person at a school and has the city approve their
// graduation, effective today.
func (f *fixture) graduate(name, schoolCode string) *student.Student {
	f.t.Helper()
	ctx := context.Background()
	f.n++
	birth := time.Date(2008, 5, 1+f.n%27, 0, 0, 0, 0, time.UTC)
	sex := []string{"男", "女"}[f.n%2]
	st, err := f.students.Register(ctx, schoolOf(schoolCode), student.Registration{SchoolCode: schoolCode, Name: name,
		IDNumber: idcard.Synthesize("370102", birth, f.n, idcard.Sex(sex)), Sex: sex, BirthDate: birth.Format("2006-01-02"),
		Ethnicity: "01", Major: "汽车维修", ClassLevel: "中级工班", StudyMode: student.ModeFullTime, EntryPoint: "初中毕业生",
		EnrollmentDate: "2025-09-01"})
	if err != nil {
		f.t.Fatalf("register %s: %v", name, err)
	}
	req, err := f.students.ProposeChange(ctx, schoolOf(schoolCode), st.ID,
		student.ChangeInput{Type: student.ChangeGraduation, Reason: "修业期满", EffectiveDate: today})
	if err != nil {
		f.t.Fatal(err)
	}
	city := auth.Principal{Name: "city", Role: auth.RoleCity, ScopeCode: schoolCode[:4] + "00"}
	if r, err := f.students.Approve(ctx, city, req.ID, "同意"); err != nil || r.State != student.StateApplied {
		f.t.Fatalf("approve graduation: %+v, %v", r, err)
	}
	got, err := f.db.FindStudent(ctx, auth.Scope{Kind: auth.ScopeAll}, st.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// certsOf returns the student's certificates, newest first.
func (f *fixture) certsOf(st *student.Student) []*cert.Certificate {
	f.t.Helper()
	list, _, err := f.certs.List(context.Background(), f.province, cert.Filter{StudentID: st.ID, Limit: 10})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

func (f *fixture) payload(c *cert.Certificate) string {
	f.t.Helper()
	p, err := cert.Payload(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return cert.VerifyURL("https://xj.example.gov.cn", p)
}

func code(err error) apperr.Code { return apperr.CodeOf(err) }

func TestCertificateLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)

		// Graduation issues the certificate (and the instance's first key).
		st := f.graduate("张晓明", "3701001")
		if len(f.hookErrs) != 0 {
			t.Fatalf("hook: %v", f.hookErrs)
		}
		list := f.certsOf(st)
		if len(list) != 1 {
			t.Fatalf("%d certificates after graduation", len(list))
		}
		c := list[0]
		keys, err := f.certs.Keys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Alg != cert.AlgEd25519 || !keys[0].Active() {
			t.Fatalf("keys %+v, %v", keys, err)
		}
		want := cert.Certificate{ID: c.ID, No: c.No, Kind: cert.KindGraduation, StudentID: st.ID, StudentNo: st.StudentNo,
			SchoolCode: "3701001", CityCode: "370100", HolderName: "张晓明", IDMasked: st.IDMasked, SchoolName: "测试3701001技工学校",
			Major: "汽车维修", ClassLevel: "中级工班", StudyMode: student.ModeFullTime, EntryDate: "2025-09-01", GraduationDate: today,
			IssueDate: today, ProvinceCode: "37", Alg: cert.AlgEd25519, KeyID: keys[0].ID, Signature: c.Signature,
			Status: cert.StatusValid, IssuedBy: "system", CreatedAt: now, Version: 1}
		if !reflect.DeepEqual(*c, want) {
			t.Fatalf("certificate\n got %+v\nwant %+v", *c, want)
		}
		if no, ok := cert.NormalizeNumber(c.No); !ok || no != c.No || !strings.HasPrefix(c.No, "202537") {
			t.Fatalf("number %q", c.No)
		}
		if len(st.IDMasked) != 18 || !strings.Contains(st.IDMasked, "*") {
			t.Fatalf("masked id %q", st.IDMasked)
		}
		// The issue is audited.
		events, _ := f.db.RecentAudit(ctx, "certificate", c.No, 0, 10)
		if len(events) != 1 || events[0].Action != "cert.issue" || events[0].Actor != "system" {
			t.Fatalf("audit %+v", events)
		}
		// A second issue for the same graduate is refused.
		if _, err := f.certs.IssueFor(ctx, st, "system"); code(err) != apperr.Conflict {
			t.Fatalf("second issue: %v, want conflict", err)
		}
		// Nor does anyone not graduated get one.
		if _, err := f.certs.IssueFor(ctx, &student.Student{Status: student.StatusEnrolled, CityCode: "370100"}, "system"); code(err) != apperr.Conflict {
			t.Fatalf("issue to an enrolled student: %v, want conflict", err)
		}

		// Online check: number and name.
		a, err := f.certs.VerifyOnline(ctx, c.No, "张晓明")
		if err != nil || a.Status != cert.AnswerValid || a.Certificate == nil {
			t.Fatalf("verify online: %+v, %v", a, err)
		}
		pub := a.Certificate
		if pub.HolderName != "张**" || pub.No != c.No || pub.IDMasked != st.IDMasked || pub.SchoolName != c.SchoolName ||
			pub.Authority != "山东省人力资源和社会保障厅" || pub.Equivalence == "" || a.Reason != "" || a.Signature != nil {
			t.Fatalf("public view %+v", pub)
		}
		spaced := c.No[:6] + "-" + c.No[6:12] + " " + c.No[12:]
		if a, err := f.certs.VerifyOnline(ctx, spaced, " 张 晓明 "); err != nil || a.Status != cert.AnswerValid {
			t.Fatalf("verify with separators and spaces: %+v, %v", a, err)
		}
		// Wrong name and unknown number give the same answer.
		wrongName, err := f.certs.VerifyOnline(ctx, c.No, "张晓")
		if err != nil || wrongName.Status != cert.AnswerNotFound || wrongName.Certificate != nil {
			t.Fatalf("wrong name: %+v, %v", wrongName, err)
		}
		unknown, err := f.certs.VerifyOnline(ctx, cert.NewNumber(2025, "37"), "张晓明")
		if err != nil || !reflect.DeepEqual(unknown, wrongName) {
			t.Fatalf("unknown number: %+v, %v; wrong name: %+v", unknown, err, wrongName)
		}
		// Malformed input.
		bad := c.No[:17] + string('0'+(c.No[17]-'0'+1)%10)
		for _, in := range [][2]string{{bad, "张晓明"}, {c.No[:17], "张晓明"}, {"abc", "张晓明"}, {"", "张晓明"},
			{c.No, ""}, {c.No, "   "}, {c.No, strings.Repeat("张", 200)}} {
			if _, err := f.certs.VerifyOnline(ctx, in[0], in[1]); code(err) != apperr.Invalid {
				t.Errorf("VerifyOnline(%q, %q) = %v, want validation_failed", in[0], in[1], err)
			}
		}

		// Scanning the QR code.
		p := f.payload(c)
		a, err = f.certs.VerifyPayload(ctx, p)
		if err != nil || a.Status != cert.AnswerValid || a.Signature == nil || !a.Signature.Valid || a.Signature.KeyRetired ||
			a.Signature.Alg != cert.AlgEd25519 || a.Signature.KeyID != keys[0].ID || a.Certificate.HolderName != "张**" {
			t.Fatalf("verify payload: %+v (%+v), %v", a, a.Signature, err)
		}
		if _, err := f.certs.VerifyPayload(ctx, "not a payload"); code(err) != apperr.InvalidPayload {
			t.Fatalf("junk payload: %v", err)
		}
		// A payload signed by a key this instance never published.
		stranger, _ := cert.GenerateKey(cert.AlgEd25519, now)
		forged := *c
		if err := stranger.Sign(&forged); err != nil {
			t.Fatal(err)
		}
		if _, err := f.certs.VerifyPayload(ctx, f.payload(&forged)); code(err) != apperr.InvalidSignature {
			t.Fatalf("stranger's payload: %v, want invalid_signature", err)
		}

		// Revocation: only the issuing school or the province.
		if _, err := f.certs.Revoke(ctx, f.schoolB, c.No, "信息有误"); code(err) != apperr.NotFound {
			// Another school cannot even see the certificate.
			t.Fatalf("revoke by another school: %v, want not_found", err)
		}
		for _, p := range []auth.Principal{f.jinan, f.auditor} {
			if _, err := f.certs.Revoke(ctx, p, c.No, "信息有误"); code(err) != apperr.Forbidden {
				t.Fatalf("revoke by %s: %v, want forbidden", p.Role, err)
			}
		}
		for _, reason := range []string{"", "   ", strings.Repeat("错", cert.MaxReasonLength+1), "<script>alert(1)</script>", "第一行\n第二行", "a\x00b"} {
			if _, err := f.certs.Revoke(ctx, f.schoolA, c.No, reason); code(err) != apperr.Invalid {
				t.Errorf("revoke with reason %q: %v, want validation_failed", reason, err)
			}
		}
		if got := f.certsOf(st)[0]; got.Status != cert.StatusValid || got.Version != 1 {
			t.Fatalf("refused revocations changed the certificate: %+v", got)
		}
		reason := strings.Repeat("错", cert.MaxReasonLength-4) + "予以撤销"
		rc, err := f.certs.Revoke(ctx, f.schoolA, " "+c.No+" ", "  "+reason+"  ")
		if err != nil || rc.Status != cert.StatusRevoked || rc.Reason != reason || rc.RevokedBy != "a" || rc.Version != 2 {
			t.Fatalf("revoke: %+v, %v", rc, err)
		}
		a, err = f.certs.VerifyOnline(ctx, c.No, "张晓明")
		if err != nil || a.Status != cert.AnswerRevoked || a.StatusName != "已撤销" || a.Reason != reason || a.RevokedOn != today {
			t.Fatalf("verify revoked: %+v, %v", a, err)
		}
		a, err = f.certs.VerifyPayload(ctx, p)
		if err != nil || a.Status != cert.AnswerRevoked || a.Signature == nil || !a.Signature.Valid || a.Reason != reason {
			t.Fatalf("payload of a revoked certificate: %+v, %v", a, err)
		}
		if _, err := f.certs.Revoke(ctx, f.province, c.No, "再次撤销"); code(err) != apperr.InvalidTransition {
			t.Fatalf("revoke twice: %v, want invalid_transition", err)
		}
		if _, err := f.certs.Reissue(ctx, f.schoolA, c.No, "遗失"); code(err) != apperr.InvalidTransition {
			t.Fatalf("reissue a revoked certificate: %v, want invalid_transition", err)
		}
		events, _ = f.db.RecentAudit(ctx, "certificate", c.No, 0, 10)
		if len(events) != 2 || events[0].Action != "cert.revoke" || events[0].Actor != "a" {
			t.Fatalf("revocation audit %+v", events)
		}

		// Reissue (补发): a new number, the old one voided.
		st2 := f.graduate("李四", "3701001")
		old := f.certsOf(st2)[0]
		oldPayload := f.payload(old)
		if _, err := f.certs.Reissue(ctx, f.schoolQ, old.No, "遗失"); code(err) != apperr.NotFound {
			t.Fatalf("reissue by another school: %v, want not_found", err)
		}
		if _, err := f.certs.Reissue(ctx, f.schoolA, old.No, ""); code(err) != apperr.Invalid {
			t.Fatalf("reissue without a reason: %v", err)
		}
		nu, err := f.certs.Reissue(ctx, f.schoolA, old.No, "证书遗失")
		if err != nil || nu.No == old.No || nu.Replaces != old.No || nu.Status != cert.StatusValid || nu.IssuedBy != "a" || nu.HolderName != "李四" {
			t.Fatalf("reissue: %+v, %v", nu, err)
		}
		if _, ok := cert.NormalizeNumber(nu.No); !ok {
			t.Fatalf("reissued number %q", nu.No)
		}
		a, err = f.certs.VerifyOnline(ctx, old.No, "李四")
		if err != nil || a.Status != cert.AnswerRevoked || !strings.HasPrefix(a.Reason, "补发") || a.StatusName != "已作废（已补发）" {
			t.Fatalf("verify the old number: %+v, %v", a, err)
		}
		if a, err := f.certs.VerifyPayload(ctx, oldPayload); err != nil || a.Status != cert.AnswerRevoked || !a.Signature.Valid {
			t.Fatalf("old payload: %+v, %v", a, err)
		}
		if a, err := f.certs.VerifyOnline(ctx, nu.No, "李四"); err != nil || a.Status != cert.AnswerValid {
			t.Fatalf("verify the new number: %+v, %v", a, err)
		}
		if a, err := f.certs.VerifyPayload(ctx, f.payload(nu)); err != nil || a.Status != cert.AnswerValid || !a.Signature.Valid {
			t.Fatalf("new payload: %+v, %v", a, err)
		}
		both := f.certsOf(st2)
		if len(both) != 2 || both[0].No != nu.No || both[1].Status != cert.StatusVoided || both[1].ReplacedBy != nu.No {
			t.Fatalf("after reissue: %+v", both)
		}
		if _, err := f.certs.Reissue(ctx, f.province, old.No, "再次补发"); code(err) != apperr.InvalidTransition {
			t.Fatalf("reissue a voided certificate: %v, want invalid_transition", err)
		}
		// The province may reissue anywhere.
		third, err := f.certs.Reissue(ctx, f.province, nu.No, "损毁")
		if err != nil || third.Replaces != nu.No {
			t.Fatalf("province reissue: %+v, %v", third, err)
		}

		// Listing: a school sees its own; status filters; bad status refused.
		if l, total, err := f.certs.List(ctx, f.schoolB, cert.Filter{Limit: 10}); err != nil || total != 0 || len(l) != 0 {
			t.Fatalf("other school lists %d, %v", total, err)
		}
		if _, total, err := f.certs.List(ctx, f.schoolA, cert.Filter{Status: cert.StatusVoided, Limit: 10}); err != nil || total != 2 {
			t.Fatalf("voided: %d, %v", total, err)
		}
		if _, _, err := f.certs.List(ctx, f.schoolA, cert.Filter{Status: "bogus", Limit: 10}); code(err) != apperr.Invalid {
			t.Fatalf("bad status: %v", err)
		}
		if got, err := f.certs.Get(ctx, f.schoolA, " "+c.No[:6]+"-"+c.No[6:]); err != nil || got.ID != c.ID {
			t.Fatalf("get with separators: %v, %v", got, err)
		}
		if len(f.hookErrs) != 0 {
			t.Fatalf("hook: %v", f.hookErrs)
		}
	})
}

func TestCertKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		st := f.graduate("张晓明", "3701001")
		old := f.certsOf(st)[0]
		oldPayload := f.payload(old)
		if old.Alg != cert.AlgEd25519 {
			t.Fatalf("first key %s", old.Alg)
		}
		if _, err := f.certs.RotateKey(ctx, "prov", "RSA"); code(err) != apperr.Invalid {
			t.Fatalf("rotate to RSA: %v", err)
		}
		f.certs.Now = func() time.Time { return now.Add(time.Hour) }
		k, err := f.certs.RotateKey(ctx, "prov", cert.AlgSM2)
		if err != nil || k.Alg != cert.AlgSM2 || !k.Active() {
			t.Fatalf("rotate: %+v, %v", k, err)
		}
		keys, err := f.certs.Keys(ctx)
		if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].ID != old.KeyID || keys[1].Active() {
			t.Fatalf("keys after rotation: %+v, %v", keys, err)
		}
		// What the old key signed still verifies, and says the key is retired.
		a, err := f.certs.VerifyPayload(ctx, oldPayload)
		if err != nil || a.Status != cert.AnswerValid || !a.Signature.Valid || !a.Signature.KeyRetired || a.Signature.KeyID != old.KeyID {
			t.Fatalf("old payload after rotation: %+v, %v", a, err)
		}
		// New certificates are signed with SM2.
		st2 := f.graduate("李四", "3701002")
		if len(f.hookErrs) != 0 {
			t.Fatalf("hook: %v", f.hookErrs)
		}
		nu := f.certsOf(st2)[0]
		if nu.Alg != cert.AlgSM2 || nu.KeyID != k.ID {
			t.Fatalf("new certificate signed with %s/%s", nu.Alg, nu.KeyID)
		}
		a, err = f.certs.VerifyPayload(ctx, f.payload(nu))
		if err != nil || a.Status != cert.AnswerValid || a.Signature.Alg != cert.AlgSM2 || a.Signature.KeyRetired {
			t.Fatalf("SM2 payload: %+v, %v", a, err)
		}
		// Offline, with the published keys only.
		pubs := make([]cert.Key, len(keys))
		copy(pubs, keys)
		ks, err := cert.NewKeySet(pubs)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{oldPayload, f.payload(nu)} {
			if _, _, err := ks.Verify(p); err != nil {
				t.Fatalf("offline: %v", err)
			}
		}
		// Another node (a fresh service on the same database) opens the
		// sealed key, signs with it and verifies both.
		node2 := cert.NewService(f.db, storetest.Protector())
		node2.Now = f.certs.Now
		for _, p := range []string{oldPayload, f.payload(nu)} {
			if a, err := node2.VerifyPayload(ctx, p); err != nil || a.Status != cert.AnswerValid {
				t.Fatalf("node 2 verify: %+v, %v", a, err)
			}
		}
		f.hook(false)
		st3 := f.graduate("王五", "3702001")
		c3, err := node2.IssueFor(ctx, st3, "system")
		if err != nil || c3.KeyID != k.ID {
			t.Fatalf("node 2 issue: %+v, %v", c3, err)
		}
		// A key made on node 2 is found by node 1 when a payload needs it.
		k3, err := node2.RotateKey(ctx, "prov", cert.AlgEd25519)
		if err != nil {
			t.Fatal(err)
		}
		st4 := f.graduate("赵六", "3702001")
		c4, err := node2.IssueFor(ctx, st4, "system")
		if err != nil || c4.KeyID != k3.ID {
			t.Fatalf("node 2 issue after its rotation: %+v, %v", c4, err)
		}
		if a, err := f.certs.VerifyPayload(ctx, f.payload(c4)); err != nil || a.Status != cert.AnswerValid || a.Signature.KeyID != k3.ID {
			t.Fatalf("node 1 verifying node 2's new key: %+v, %v", a, err)
		}
		// A node with another master key cannot sign, and says why.
		kr, err := keyring.New([]byte("another-instance-master-key-32by"))
		if err != nil {
			t.Fatal(err)
		}
		stranger := cert.NewService(f.db, pii.NewAESGCM(kr))
		st5 := f.graduate("孙七", "3702001")
		if _, err := stranger.IssueFor(ctx, st5, "system"); code(err) != apperr.Internal || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("issue with another master key: %v, want internal", err)
		}
		events, _ := f.db.RecentAudit(ctx, "cert_key", k.ID, 0, 10)
		if len(events) != 1 || events[0].Action != "cert.key.rotate" {
			t.Fatalf("rotation audit %+v", events)
		}
	})
}

func TestCertIssueMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		f.hook(false)
		g1 := f.graduate("张晓明", "3701001")
		g2 := f.graduate("李四", "3702001")
		if len(f.certsOf(g1))+len(f.certsOf(g2)) != 0 {
			t.Fatal("certificates without the hook")
		}
		n, err := f.certs.IssueMissing(ctx)
		if err != nil || n != 2 {
			t.Fatalf("IssueMissing = %d, %v; want 2", n, err)
		}
		for _, st := range []*student.Student{g1, g2} {
			l := f.certsOf(st)
			if len(l) != 1 || l[0].IssuedBy != "system" || l[0].Status != cert.StatusValid {
				t.Fatalf("after catch-up: %+v", l)
			}
		}
		if n, err := f.certs.IssueMissing(ctx); err != nil || n != 0 {
			t.Fatalf("second IssueMissing = %d, %v; want 0", n, err)
		}
		// A revoked certificate is not silently replaced.
		c := f.certsOf(g1)[0]
		if _, err := f.certs.Revoke(ctx, f.province, c.No, "撤销"); err != nil {
			t.Fatal(err)
		}
		if n, err := f.certs.IssueMissing(ctx); err != nil || n != 0 {
			t.Fatalf("IssueMissing after a revocation = %d, %v; want 0", n, err)
		}
	})
}

// The hook and the catch-up job, or two nodes, issuing for one graduate
// at once: one certificate.
func TestCertIssueForConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		f.hook(false)
		st := f.graduate("张晓明", "3701001")
		if _, err := f.certs.Keys(ctx); err != nil { // the first key
			t.Fatal(err)
		}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = f.certs.IssueFor(ctx, st, "system")
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch code(err) {
			case "":
				ok++
			case apperr.Conflict:
			default:
				t.Errorf("concurrent IssueFor: %v, want conflict", err)
			}
		}
		if l := f.certsOf(st); ok != 1 || len(l) != 1 {
			t.Fatalf("%d succeeded, %d certificates", ok, len(l))
		}
	})
}

// The first key: two nodes creating it at once end with one key.
func TestCertFirstKeyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				node := cert.NewService(db, storetest.Protector())
				_, errs[i] = node.Keys(ctx)
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("Keys on a fresh instance: %v", err)
			}
		}
		keys, err := db.CertKeys(ctx)
		active := 0
		for _, k := range keys {
			if k.Active() {
				active++
			}
		}
		if err != nil || active != 1 {
			t.Fatalf("%d keys, %d active, %v", len(keys), active, err)
		}
	})
}
