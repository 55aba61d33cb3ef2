package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

const (
	importUsage = "gongjiang import template students|schools --out FILE.xlsx | import students|schools FILE [--mode all-or-nothing|valid-only] [--dry-run] [--report REFUSED.xlsx] [--encoding utf-8|gb18030]"
	exportUsage = "gongjiang export students|schools --out FILE.xlsx [--school CODE] [--city CODE] [--status S]"
)

// runImport is `gongjiang import …`: for now the templates; the import of
// files comes as further cases of the switch.
func runImport(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w：%s", ErrUsage, importUsage)
	}
	switch args[0] {
	case "template":
		return runImportTemplate(args[1:], env)
	case "students", "schools":
		return runImportFile(ctx, args[0], args[1:], env)
	}
	return fmt.Errorf("%w：未知的导入对象 %q；%s", ErrUsage, args[0], importUsage)
}

// schemaOf is the sheet of a kind of record named on the command line.
func schemaOf(kind string) (transfer.Schema, error) {
	switch kind {
	case "students":
		return transfer.Students, nil
	case "schools":
		return transfer.Schools, nil
	case "":
		return transfer.Schema{}, fmt.Errorf("%w：请指明 students（学籍）或 schools（学校）", ErrUsage)
	}
	return transfer.Schema{}, fmt.Errorf("%w：未知的对象 %q，可选 students（学籍）或 schools（学校）", ErrUsage, kind)
}

func kindName(kind string) string {
	if kind == "schools" {
		return "学校"
	}
	return "学籍"
}

// runImportTemplate writes the import template of students or schools.
func runImportTemplate(args []string, env Env) error {
	fs := flag.NewFlagSet("import template", flag.ContinueOnError)
	out := fs.String("out", "", "模板文件路径（.xlsx）")
	kind, err := positionalFirst(fs, args, env)
	if err != nil {
		return err
	}
	s, err := schemaOf(kind)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w：需要 --out FILE.xlsx；%s", ErrUsage, importUsage)
	}
	if err := writeFileAtomic(*out, 0o644, func(w io.Writer) error { return transfer.WriteTemplate(w, s) }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "已写入%s导入模板 %s（%d 列，带 * 的为必填；填写说明见“%s”工作表）\n", s.Name, *out, len(s.Columns), transfer.InstructionSheet)
	return nil
}

// cliExporter is who the command line exports as: the province, so
// everything, masked as the lists show it; its audit events name it.
var cliExporter = auth.Principal{Name: "cli", Role: auth.RoleProvince}

// runExport writes every student or school matching the filters to an
// .xlsx, as the province sees them (document numbers masked), and audits it.
func runExport(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	out := fs.String("out", "", "导出文件路径（.xlsx）")
	schoolCode := fs.String("school", "", "只导出这所学校（学校代码）")
	city := fs.String("city", "", "只导出这个地级市（六位行政区划代码，如 370100）")
	status := fs.String("status", "", "学籍状态（如 在籍，或 active 表示在籍、休学、保留学籍）；学校为办学状态（办学、停招、撤销）")
	kind, err := positionalFirst(fs, args, env)
	if err != nil {
		return err
	}
	if _, err := schemaOf(kind); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w：需要 --out FILE.xlsx；%s", ErrUsage, exportUsage)
	}
	code := strings.ToUpper(strings.TrimSpace(*schoolCode))
	if *city != "" {
		if d, ok := refdata.CityOf(*city); !ok || d.Code != *city {
			return fmt.Errorf("%w：--city %q 不是地级市的行政区划代码（如 370100）", ErrUsage, *city)
		}
	}
	switch {
	case kind == "students" && *status != "" && *status != "active" && !contains(student.Statuses, *status):
		return fmt.Errorf("%w：--status 可选 active 或 %s", ErrUsage, strings.Join(student.Statuses, "、"))
	case kind == "schools" && *status != "" && !contains(school.Statuses, *status):
		return fmt.Errorf("%w：学校的 --status 可选 %s", ErrUsage, strings.Join(school.Statuses, "、"))
	}

	db, kr, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	p := cliExporter
	// The export is audited once its rows are gathered, before the file
	// is written.
	ready := func(entry audit.Entry, filter map[string]string) func(rows int) error {
		return func(rows int) error {
			entry.Data = map[string]any{"filter": filter, "rows": rows}
			return db.RecordAudit(ctx, entry)
		}
	}
	var rows int
	err = writeFileAtomic(*out, 0o600, func(w io.Writer) error { // personal data, if masked
		var err error
		if kind == "students" {
			entry := audit.Entry{Actor: p.Name, Action: "export.students", Entity: "student", EntityID: "all"}
			svc := student.NewService(db, pii.NewAESGCM(kr))
			f := student.Filter{SchoolCode: code, CityCode: *city, Status: *status}
			list := func(ctx context.Context, f student.Filter) ([]*student.Student, int, error) {
				return svc.List(ctx, p, f)
			}
			rows, err = transfer.ExportStudents(ctx, w, list, f, ready(entry, transfer.StudentFilterFields(f)))
			return err
		}
		entry := audit.Entry{Actor: p.Name, Action: "export.schools", Entity: "school", EntityID: "all"}
		svc := school.NewService(db)
		f := school.Filter{CityCode: *city, Status: *status}
		list := func(ctx context.Context, f school.Filter) ([]*school.School, int, error) { return svc.List(ctx, p, f) }
		fields := transfer.SchoolFilterFields(f)
		if code != "" {
			// One school: the list filters by part of a name or code only.
			fields["code"] = code
			list = func(ctx context.Context, f school.Filter) ([]*school.School, int, error) {
				if f.After != "" {
					return nil, 0, nil
				}
				sc, err := svc.Get(ctx, p, code)
				if err != nil {
					return nil, 0, err
				}
				if (f.CityCode != "" && sc.CityCode != f.CityCode) || (f.Status != "" && sc.Status != f.Status) {
					return nil, 0, nil
				}
				return []*school.School{sc}, 1, nil
			}
		}
		rows, err = transfer.ExportSchools(ctx, w, list, f, ready(entry, fields))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "已导出 %d 条%s到 %s（证件号码已打码）\n", rows, kindName(kind), *out)
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// writeFileAtomic writes path (with permissions perm) through a
// temporary file beside it, renamed into place once complete: a failed
// write leaves no partial file, and an existing file as it was.
func writeFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("无法写入 %s：%w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("无法写入 %s：%w", path, err)
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return fmt.Errorf("无法写入 %s：%w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("无法写入 %s：%w", path, err)
	}
	return nil
}
