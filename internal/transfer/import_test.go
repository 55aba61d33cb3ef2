package transfer_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
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
	"github.com/gongjiang/gongjiang/internal/transfer"
)

var (
	importNow = time.Date(2026, 10, 15, 10, 0, 0, 0, time.UTC)
	province  = auth.Principal{Name: "prov", Role: auth.RoleProvince}
	jinan     = auth.Principal{Name: "jinan", Role: auth.RoleCity, ScopeCode: "370100"}
	schoolA   = auth.Principal{Name: "a", Role: auth.RoleSchool, ScopeCode: "3701001"}
)

type importFixture struct {
	dsn      string
	db       *store.DB
	students *student.Service
	schools  *school.Service
	dir      string
}

func newImportFixture(t testing.TB, dsn string) *importFixture {
	t.Helper()
	db := storetest.Open(t, dsn)
	for _, s := range []struct{ code, div string }{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}} {
		sc := &school.School{Code: s.code, Name: "测试" + s.code + "技工学校", Type: "技工学校", Ownership: "公办", DivisionCode: s.div,
			Status: school.StatusOperating, CreatedAt: importNow, UpdatedAt: importNow, Version: 1}
		if err := school.Validate(sc); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSchool(context.Background(), sc, audit.Entry{Actor: "t", Action: "school.create"}); err != nil {
			t.Fatal(err)
		}
	}
	svc := student.NewService(db, storetest.Protector())
	svc.Now = func() time.Time { return importNow }
	return &importFixture{dsn: dsn, db: db, students: svc, schools: school.NewService(db), dir: t.TempDir()}
}

var studentHeader = []string{"学校代码", "姓名", "证件号码", "性别", "出生日期", "民族", "专业", "培养层次", "学习形式", "入学起点", "入学日期"}

// row is a valid student row for person n at a school.
func row(n int, schoolCode string) []string {
	birth := time.Date(2010, 3, 1+n%27, 0, 0, 0, 0, time.UTC)
	sex := []string{"男", "女"}[n%2]
	return []string{schoolCode, "学生" + strings.Repeat("乙", 1+n%3), idcard.Synthesize("370102", birth, n%1000, idcard.Sex(sex)), sex,
		birth.Format("2006-01-02"), "汉族", "汽车维修", "中级工班", "全日制", "初中毕业生", "2026-09-01"}
}

// file writes a CSV sheet and returns an opener for it.
func (f *importFixture) file(t *testing.T, name string, header []string, rows ...[]string) transfer.Opener {
	t.Helper()
	path := filepath.Join(f.dir, name)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	w.Write(header)
	w.WriteAll(rows)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return func() (transfer.Table, error) { return transfer.Open(path, transfer.Options{}) }
}

// count is how many students are stored (the lists cap their totals).
func (f *importFixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := storetest.Raw(t, f.dsn).QueryRow(`SELECT COUNT(*) FROM students`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStudentImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		im := &transfer.StudentImport{Store: f.db, Students: f.students}
		// One person already registered at another school.
		elsewhere := row(90, "3701002")
		if _, err := f.students.Register(ctx, province, student.Registration{SchoolCode: "3701002", Name: elsewhere[1], IDNumber: elsewhere[2],
			Sex: elsewhere[3], BirthDate: elsewhere[4], Ethnicity: "01", Major: "汽车维修", ClassLevel: "中级工班", StudyMode: "全日制",
			EntryPoint: "初中毕业生", EnrollmentDate: "2026-09-01"}); err != nil {
			t.Fatal(err)
		}
		bad := row(3, "3701001")
		wrong := "0"
		if bad[2][17] == '0' {
			wrong = "1"
		}
		bad[2] = bad[2][:17] + wrong // a wrong check digit
		reg := row(4, "3701001")
		reg[5] = "01" // ethnic group by code
		open := f.file(t, "a.csv", studentHeader, row(1, "3701001"), row(2, ""), bad, reg, row(1, "3701001"), row(90, "3701001"), row(5, "3702001"))
		before := f.count(t)

		// A dry run writes nothing and says what would happen.
		sum, refused, err := im.Run(ctx, schoolA, open, transfer.ModeValidOnly, true)
		if err != nil {
			t.Fatal(err)
		}
		want := transfer.Summary{Rows: 7, Added: 3, Refused: 4}
		if sum != want {
			t.Fatalf("dry run %+v, want %+v; refused %+v", sum, want, refused)
		}
		if f.count(t) != before {
			t.Fatalf("a dry run wrote")
		}
		lines := map[int]string{}
		for _, r := range refused {
			lines[r.Line] = r.Column + "：" + r.Reason
		}
		for line, want := range map[int]string{4: "证件号码", 6: "同一人", 7: "测试3701002技工学校", 8: "不存在或不在您的管辖范围内"} {
			if !strings.Contains(lines[line], want) {
				t.Errorf("line %d: %q, want it to mention %q (all: %v)", line, lines[line], want, lines)
			}
		}

		// All-or-nothing with refusals writes nothing.
		sum, _, err = im.Run(ctx, schoolA, open, transfer.ModeAllOrNothing, false)
		if err != nil || sum.Committed || f.count(t) != before {
			t.Fatalf("all-or-nothing with refusals: %+v, %v, %d rows", sum, err, f.count(t)-before)
		}

		// Valid-only loads the valid rows.
		sum, _, err = im.Run(ctx, schoolA, open, transfer.ModeValidOnly, false)
		if err != nil || !sum.Committed || sum.Added != 3 || f.count(t) != before+3 {
			t.Fatalf("valid-only: %+v, %v, %d rows", sum, err, f.count(t)-before)
		}
		// Again: nothing changes.
		sum, _, err = im.Run(ctx, schoolA, open, transfer.ModeValidOnly, false)
		if err != nil || sum.Added != 0 || sum.Unchanged != 3 || f.count(t) != before+3 {
			t.Fatalf("re-import: %+v, %v", sum, err)
		}
		// A changed detail of a registered person is refused, not applied.
		changed := row(1, "3701001")
		changed[6] = "焊接加工"
		sum, refused, err = im.Run(ctx, schoolA, f.file(t, "b.csv", studentHeader, changed), transfer.ModeValidOnly, false)
		if err != nil || sum.Refused != 1 || !strings.Contains(refused[0].Reason, "学籍异动") {
			t.Fatalf("changed row: %+v, %+v, %v", sum, refused, err)
		}

		// All-or-nothing on a clean file commits everything at once.
		clean := f.file(t, "c.csv", studentHeader, row(10, "3701001"), row(11, "3701002"), row(12, "3702001"))
		sum, _, err = im.Run(ctx, province, clean, transfer.ModeAllOrNothing, false)
		if err != nil || !sum.Committed || sum.Added != 3 || f.count(t) != before+6 {
			t.Fatalf("all-or-nothing: %+v, %v", sum, err)
		}
		// The city sees only its own schools: the 青岛 row is refused.
		sum, _, err = im.Run(ctx, jinan, f.file(t, "d.csv", studentHeader, row(20, "3701001"), row(21, "3702001")), transfer.ModeValidOnly, true)
		if err != nil || sum.Added != 1 || sum.Refused != 1 {
			t.Fatalf("city scope: %+v, %v", sum, err)
		}
		// Headers in another order, with full-width spaces, still match.
		reordered := []string{"入学日期", "姓　名", "学校代码", "证件号码", "性别", "出生日期", "民族", "专业", "培养层次", "学习形式"}
		r := row(30, "3701001")
		sum, refused, err = im.Run(ctx, schoolA, f.file(t, "e.csv", reordered, []string{r[10], r[1], r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8]}),
			transfer.ModeValidOnly, true)
		if err != nil || sum.Added != 1 {
			t.Fatalf("reordered header: %+v, %+v, %v", sum, refused, err)
		}
		// A file without a required column is refused whole.
		_, _, err = im.Run(ctx, schoolA, f.file(t, "f.csv", studentHeader[:3], []string{"3701001", "某", "1"}), transfer.ModeValidOnly, true)
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.As(err).Message(), "性别") {
			t.Fatalf("missing columns: %v", err)
		}
		// Someone without write access imports nothing.
		if _, _, err := im.Run(ctx, auth.Principal{Name: "aud", Role: auth.RoleAuditor}, clean, transfer.ModeValidOnly, true); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("auditor: %v", err)
		}
	})
}

var schoolHeader = []string{"学校代码", "学校名称", "学校类型", "举办性质", "所在区县代码", "核定办学规模"}

func TestSchoolImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		im := &transfer.SchoolImport{Schools: f.schools}
		open := f.file(t, "s.csv", schoolHeader,
			[]string{"3701001", "测试3701001技工学校", "技工学校", "公办", "370102", ""},         // unchanged
			[]string{"3701002", "测试3701002技工学校（新名）", "技工学校", "公办", "370112", "3000"}, // updated
			[]string{"3701099", "新建技工学校", "技工学校", "民办", "370103", "1200"},            // added
			[]string{"3701098", "坏学校", "大学", "公办", "370103", ""},                     // refused: type
			[]string{"3701099", "重复", "技工学校", "公办", "370103", ""},                    // refused: repeated code
		)
		sum, refused, err := im.Run(ctx, province, open, transfer.ModeValidOnly, true)
		want := transfer.Summary{Rows: 5, Added: 1, Updated: 1, Unchanged: 1, Refused: 2}
		if err != nil || sum != want {
			t.Fatalf("dry run %+v (%v), want %+v; refused %+v", sum, err, want, refused)
		}
		if _, err := f.schools.Get(ctx, province, "3701099"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("a dry run created a school: %v", err)
		}
		sum, _, err = im.Run(ctx, province, open, transfer.ModeAllOrNothing, false)
		if err != nil || sum.Committed {
			t.Fatalf("all-or-nothing with refusals: %+v, %v", sum, err)
		}
		sum, _, err = im.Run(ctx, province, open, transfer.ModeValidOnly, false)
		if err != nil || !sum.Committed || sum.Added != 1 || sum.Updated != 1 {
			t.Fatalf("valid-only: %+v, %v", sum, err)
		}
		sc, err := f.schools.Get(ctx, province, "3701002")
		if err != nil || sc.Name != "测试3701002技工学校（新名）" || sc.Capacity != 3000 {
			t.Fatalf("updated school: %+v, %v", sc, err)
		}
		sum, _, err = im.Run(ctx, province, open, transfer.ModeValidOnly, false)
		if err != nil || sum.Added != 0 || sum.Updated != 0 || sum.Unchanged != 3 {
			t.Fatalf("re-import: %+v, %v", sum, err)
		}
		// A city may update its schools but create none.
		sum, refused, err = im.Run(ctx, jinan, f.file(t, "t.csv", schoolHeader,
			[]string{"3701001", "测试3701001技工学校", "技工学校", "公办", "370102", "900"},
			[]string{"3701097", "市里新建", "技工学校", "公办", "370102", ""}), transfer.ModeValidOnly, true)
		if err != nil || sum.Updated != 1 || sum.Refused != 1 {
			t.Fatalf("city: %+v, %+v, %v", sum, refused, err)
		}
	})
}

// TestImportBatchRace: a person registered between the batch's check and
// its commit is refused alone; the others are numbered and stored.
func TestImportBatchRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		f := newImportFixture(t, dsn)
		ctx := context.Background()
		sc, err := f.schools.Get(ctx, province, "3701001")
		if err != nil {
			t.Fatal(err)
		}
		var batch []*student.Student
		for n := 40; n < 43; n++ {
			r := row(n, "3701001")
			st, err := f.students.Prepare(ctx, sc, student.Registration{SchoolCode: r[0], Name: r[1], IDNumber: r[2], Sex: r[3], BirthDate: r[4],
				Ethnicity: r[5], Major: r[6], ClassLevel: r[7], StudyMode: r[8], EntryPoint: r[9], EnrollmentDate: r[10]})
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, st)
		}
		r := row(41, "3701002") // the second person, registered elsewhere first
		if _, err := f.students.Register(ctx, province, student.Registration{SchoolCode: r[0], Name: r[1], IDNumber: r[2], Sex: r[3],
			BirthDate: r[4], Ethnicity: r[5], Major: r[6], ClassLevel: r[7], StudyMode: r[8], EntryPoint: r[9], EnrollmentDate: r[10]}); err != nil {
			t.Fatal(err)
		}
		before := f.count(t)
		dup, err := f.db.ImportStudents(ctx, batch, audit.Entry{Actor: "t", Action: "import.students", Entity: "import", EntityID: "students",
			Data: map[string]any{}}, nil)
		if err != nil || len(dup) != 3 || dup[0] || !dup[1] || dup[2] {
			t.Fatalf("dup %v, %v", dup, err)
		}
		if f.count(t) != before+2 || batch[0].StudentNo == "" || batch[2].StudentNo == "" || batch[0].StudentNo == batch[2].StudentNo {
			t.Fatalf("stored %d, numbers %q %q", f.count(t)-before, batch[0].StudentNo, batch[2].StudentNo)
		}
		// Numbers keep counting where the batch left them.
		again := row(50, "3701001")
		st, err := f.students.Register(ctx, schoolA, student.Registration{SchoolCode: again[0], Name: again[1], IDNumber: again[2], Sex: again[3],
			BirthDate: again[4], Ethnicity: again[5], Major: again[6], ClassLevel: again[7], StudyMode: again[8], EntryPoint: again[9], EnrollmentDate: again[10]})
		if err != nil || st.StudentNo <= batch[2].StudentNo {
			t.Fatalf("next number %q after %q: %v", st.StudentNo, batch[2].StudentNo, err)
		}
	})
}
