package app

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// TestImportCommand runs `gongjiang import students` over CSV files: a dry
// run, all-or-nothing refusing the file, valid-only with a report of the
// refused rows, an idempotent second run, and a GB18030 file.
func TestImportCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		c := newCLI(t, dsn)
		if out, err := c.run("", "demo", "--scale", "small"); err != nil {
			t.Fatalf("demo: %q %v", out, err)
		}
		db := storetest.Open(t, dsn)
		schools, _, err := db.FindSchools(t.Context(), school.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: school.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		code := ""
		for _, sc := range schools {
			if sc.Status == "办学" {
				code = sc.Code
				break
			}
		}
		dir := t.TempDir()
		person := func(n int) []string {
			birth := time.Date(2010, 5, 1+n, 0, 0, 0, 0, time.UTC)
			return []string{code, "导入" + string(rune('甲'+n)), idcard.Synthesize("370102", birth, 400+n, idcard.Male), "男", birth.Format("2006-01-02"),
				"01", "汽车维修", "中级工班", "全日制", "初中毕业生", time.Now().Format("2006") + "-09-01"}
		}
		bad := person(3)
		bad[4] = "2010-13-40"
		write := func(name string, rows ...[]string) string {
			path := filepath.Join(dir, name)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w := csv.NewWriter(f)
			w.Write([]string{"学校代码", "姓名", "证件号码", "性别", "出生日期", "民族", "专业", "培养层次", "学习形式", "入学起点", "入学日期"})
			w.WriteAll(rows)
			f.Close()
			return path
		}
		count := func() int {
			_, n, err := db.FindStudents(t.Context(), student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		mixed := write("mixed.csv", person(1), person(2), bad)
		run := func(args ...string) (string, error) {
			return mainOut(append([]string{"import", "students", "--db", dsn, "--key-file", c.keyFile}, args...)...)
		}

		out, err := run(mixed, "--dry-run")
		if !errors.Is(err, ErrRefusedRows) || !strings.Contains(out, "新增 2") || !strings.Contains(out, "第 4 行：“出生日期”") || count() != before {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		out, err = run(mixed) // all-or-nothing by default
		if !errors.Is(err, ErrRefusedRows) || !strings.Contains(out, "没有导入任何数据") || count() != before {
			t.Fatalf("all-or-nothing: %v\n%s", err, out)
		}
		report := filepath.Join(dir, "refused.xlsx")
		out, err = run(mixed, "--mode", "valid-only", "--report", report)
		if !errors.Is(err, ErrRefusedRows) || !strings.Contains(out, "已导入") || count() != before+2 {
			t.Fatalf("valid-only: %v\n%s", err, out)
		}
		x, err := excelize.OpenFile(report)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows(x.GetSheetName(0))
		x.Close()
		if err != nil || len(rows) != 2 || rows[0][1] != "问题" || rows[1][0] != "4" || !strings.Contains(rows[1][1], "出生日期") || rows[1][4] != bad[2] {
			t.Fatalf("report rows %q, %v", rows, err)
		}
		out, err = run(write("again.csv", person(1), person(2)), "--mode", "valid-only")
		if err != nil || !strings.Contains(out, "未变 2") || count() != before+2 {
			t.Fatalf("re-import: %v\n%s", err, out)
		}
		// The same rows in GB18030 are recognised and unchanged too.
		plain, _ := os.ReadFile(filepath.Join(dir, "again.csv"))
		gbk, _ := simplifiedchinese.GB18030.NewEncoder().Bytes(plain)
		os.WriteFile(filepath.Join(dir, "gbk.csv"), gbk, 0o600)
		out, err = run(filepath.Join(dir, "gbk.csv"))
		if err != nil || !strings.Contains(out, "未变 2") {
			t.Fatalf("GB18030: %v\n%s", err, out)
		}
		if _, err := run(filepath.Join(dir, "missing.csv")); err == nil {
			t.Fatal("a missing file imported")
		}
		if _, err := run(mixed, "--mode", "some"); err == nil || !strings.Contains(err.Error(), "all-or-nothing") {
			t.Fatalf("bad mode: %v", err)
		}
	})
}
