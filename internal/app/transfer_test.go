package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// readSheet opens an .xlsx and returns the rows of its first sheet and
// the names of its sheets.
func readSheet(t *testing.T, path string) ([][]string, []string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows, sheets
}

func TestImportTemplateCommand(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		schema transfer.Schema
	}{
		{[]string{"import", "template", "students", "--out", filepath.Join(dir, "students.xlsx")}, transfer.Students},
		{[]string{"import", "template", "--out", filepath.Join(dir, "schools.xlsx"), "schools"}, transfer.Schools},
	} {
		out, err := mainOut(c.args...)
		if err != nil || !strings.Contains(out, "已写入") {
			t.Fatalf("%v: %q %v", c.args, out, err)
		}
		path := c.args[slices.Index(c.args, "--out")+1]
		rows, sheets := readSheet(t, path)
		if sheets[0] != c.schema.Name || sheets[1] != transfer.InstructionSheet {
			t.Errorf("%s: sheets %q", path, sheets)
		}
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows, want the header and the example", path, len(rows))
		}
		index, unknown, missing := c.schema.Match(rows[0])
		if len(unknown) > 0 || len(missing) > 0 || !c.schema.IsExample(rows[1], index) {
			t.Errorf("%s: header %q: unknown %q, missing %q", path, rows[0], unknown, missing)
		}
		if !strings.HasSuffix(rows[0][index["name"]], "*") {
			t.Errorf("%s: the required name column is not marked: %q", path, rows[0])
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", path, fi.Mode(), err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "import template"},
		{[]string{"import", "template"}, "students"},
		{[]string{"import", "template", "teachers", "--out", filepath.Join(dir, "x.xlsx")}, "teachers"},
		{[]string{"import", "template", "students"}, "--out"},
		{[]string{"import", "template", "students", "schools", "--out", filepath.Join(dir, "x.xlsx")}, "多余"},
		{[]string{"import", "students"}, "import students"},
		{[]string{"import", "frobnicate"}, "frobnicate"},
	} {
		out, err := mainOut(bad.args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v (want a usage error saying %q); output %q", bad.args, err, bad.want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.xlsx")); err == nil {
		t.Error("a refused command wrote its file")
	}
	if _, err := mainOut("import", "template", "students", "--out", filepath.Join(dir, "missing", "x.xlsx")); err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("an unwritable path: %v", err)
	}
}

var plainResidentID = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)

func TestExportCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		c := newCLI(t, dsn)
		if out, err := c.run("", "demo", "--scale", "small"); err != nil {
			t.Fatalf("demo: %q %v", out, err)
		}
		db := storetest.Open(t, dsn)
		ctx := t.Context()
		all := auth.Scope{Kind: auth.ScopeAll}
		// Every student, newest first, as stored.
		var students []*student.Student
		var after int64
		for {
			page, _, err := db.FindStudents(ctx, student.Filter{Scope: all, After: after, Limit: student.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			students = append(students, page...)
			if len(page) < student.MaxPageSize {
				break
			}
			after = page[len(page)-1].ID
		}
		schools, _, err := db.FindSchools(ctx, school.Filter{Scope: all, Limit: school.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		cityOf := map[string]string{}
		for _, sc := range schools {
			cityOf[sc.Code] = sc.CityCode
		}
		home := students[0].SchoolCode
		dir := t.TempDir()
		export := func(args ...string) (string, string, error) {
			path := filepath.Join(dir, args[0]+"-"+strings.Join(args[1:], "_")+".xlsx")
			full := append([]string{"export", args[0], "--db", dsn, "--key-file", c.keyFile, "--out", path}, args[1:]...)
			out, err := mainOut(full...)
			return path, out, err
		}
		// studentsWhere are the stored students keep takes, as student numbers.
		studentsWhere := func(keep func(*student.Student) bool) []string {
			var out []string
			for _, st := range students {
				if keep(st) {
					out = append(out, st.StudentNo)
				}
			}
			return out
		}

		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"students"}, studentsWhere(func(*student.Student) bool { return true })},
			{[]string{"students", "--school", strings.ToLower(home)}, studentsWhere(func(st *student.Student) bool { return st.SchoolCode == home })},
			{[]string{"students", "--city", "370200", "--status", "active"}, studentsWhere(func(st *student.Student) bool {
				return cityOf[st.SchoolCode] == "370200" && st.Active()
			})},
			{[]string{"students", "--status", student.StatusEnrolled}, studentsWhere(func(st *student.Student) bool { return st.Status == student.StatusEnrolled })},
		} {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				if len(tc.want) == 0 {
					t.Fatal("the demo has no such students: the case proves nothing")
				}
				path, out, err := export(tc.args...)
				if err != nil {
					t.Fatalf("%q %v", out, err)
				}
				rows, sheets := readSheet(t, path)
				if sheets[0] != "学籍" || !slices.Equal(rows[0], transfer.StudentHeaders) {
					t.Fatalf("sheets %q, header %q", sheets, rows[0])
				}
				var got []string
				for _, r := range rows[1:] {
					got = append(got, r[0])
					if id := r[3]; plainResidentID.MatchString(id) || !strings.Contains(id, "*") {
						t.Fatalf("row of %s: document number %q is not masked", r[0], id)
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("exported %d students, want %d", len(got), len(tc.want))
				}
				if !strings.Contains(out, "已导出") {
					t.Errorf("output %q", out)
				}
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v", path, fi.Mode(), err)
				}
			})
		}

		t.Run("schools", func(t *testing.T) {
			path, out, err := export("schools", "--city", "370100")
			if err != nil {
				t.Fatalf("%q %v", out, err)
			}
			rows, sheets := readSheet(t, path)
			var want []string
			for _, sc := range schools {
				if sc.CityCode == "370100" {
					want = append(want, sc.Code)
				}
			}
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[0])
			}
			if sheets[0] != "学校" || !slices.Equal(rows[0], transfer.SchoolHeaders()) || !slices.Equal(got, want) {
				t.Errorf("sheets %q, header %q, schools %q, want %q", sheets, rows[0], got, want)
			}
			path, out, err = export("schools", "--school", home)
			if err != nil {
				t.Fatalf("%q %v", out, err)
			}
			if rows, _ := readSheet(t, path); len(rows) != 2 || rows[1][0] != home {
				t.Errorf("export schools --school %s: %q", home, rows)
			}
			if _, out, err := export("schools", "--school", "NOSUCH1"); err == nil {
				t.Errorf("an unknown school: %q", out)
			}
		})

		t.Run("audited", func(t *testing.T) {
			evs, err := db.RecentAudit(ctx, "", "", 0, 20)
			if err != nil {
				t.Fatal(err)
			}
			var exports []string
			for _, ev := range evs {
				if strings.HasPrefix(ev.Action, "export.") {
					var d struct {
						Filter map[string]string `json:"filter"`
						Rows   int               `json:"rows"`
					}
					json.Unmarshal(ev.Data, &d)
					if ev.Actor != "cli" {
						t.Errorf("%s by %q", ev.Action, ev.Actor)
					}
					exports = append(exports, ev.Action+":"+ev.EntityID)
					if ev.Action == "export.students" && len(d.Filter) == 0 && d.Rows != len(students) {
						t.Errorf("the export of all students audited %d rows, want %d", d.Rows, len(students))
					}
				}
			}
			if len(exports) != 6 { // four student exports, two school exports (the unknown school wrote none)
				t.Errorf("export events %q", exports)
			}
			if out, err := c.run("", "audit", "verify"); err != nil {
				t.Errorf("audit verify after exports: %q %v", out, err)
			}
		})

		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"export"}, "students"},
			{[]string{"export", "teachers", "--out", filepath.Join(dir, "x.xlsx")}, "teachers"},
			{[]string{"export", "students", "--db", dsn, "--key-file", c.keyFile}, "--out"},
			{[]string{"export", "students", "--db", dsn, "--key-file", c.keyFile, "--out", filepath.Join(dir, "x.xlsx"), "--status", "bogus"}, "--status"},
			{[]string{"export", "schools", "--db", dsn, "--key-file", c.keyFile, "--out", filepath.Join(dir, "x.xlsx"), "--status", "在籍"}, "--status"},
			{[]string{"export", "students", "--db", dsn, "--key-file", c.keyFile, "--out", filepath.Join(dir, "x.xlsx"), "--city", "370102"}, "--city"},
		} {
			if out, err := mainOut(bad.args...); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("%v: %v (want a usage error saying %q); output %q", bad.args, err, bad.want, out)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "x.xlsx")); err == nil {
			t.Error("a refused export wrote its file")
		}
	})
}
