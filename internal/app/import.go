package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// ErrRefusedRows is returned by import when rows were refused, so scripts
// can tell (exit status 1) while the summary says how many.
var ErrRefusedRows = fmt.Errorf("有行未导入")

// runImportFile imports students or schools from a file as the province.
func runImportFile(ctx context.Context, kind string, args []string, env Env) error {
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	mode := fs.String("mode", transfer.ModeAllOrNothing, "all-or-nothing：有一行不对就全部不导入；valid-only：导入正确的行，其余列入报告")
	dry := fs.Bool("dry-run", false, "只检查，报告会新增、更新、拒绝多少行，不写入")
	report := fs.String("report", "", "把未导入的行及原因写入这个 .xlsx 文件")
	encoding := fs.String("encoding", "", "CSV 文件的编码：不填自动识别，或 utf-8、gb18030")
	path, err := positionalFirst(fs, args, env)
	if err != nil {
		return err
	}
	if path == "" {
		return fmt.Errorf("%w：%s", ErrUsage, importUsage)
	}
	opts := transfer.Options{Encoding: *encoding}
	open := func() (transfer.Table, error) { return transfer.Open(path, opts) }
	t, err := open() // fail early on an unreadable file, before the database
	if err != nil {
		return importError(err)
	}
	header := t.Header()
	t.Close()
	db, kr, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	p := auth.Principal{Name: "cli", Role: auth.RoleProvince}
	progress := newProgress(env)
	var sum transfer.Summary
	var refused []transfer.Refusal
	if kind == "students" {
		im := &transfer.StudentImport{Store: db, Students: student.NewService(db, pii.NewAESGCM(kr)), Progress: progress.rows}
		sum, refused, err = im.Run(ctx, p, open, *mode, *dry)
	} else {
		im := &transfer.SchoolImport{Schools: school.NewService(db)}
		sum, refused, err = im.Run(ctx, p, open, *mode, *dry)
	}
	progress.done()
	if err != nil {
		return importError(err)
	}
	fmt.Fprintln(env.Stdout, sum.String())
	if len(refused) > 0 && *mode == transfer.ModeAllOrNothing && !*dry {
		fmt.Fprintln(env.Stdout, "有行不符合要求，按 all-or-nothing 方式没有导入任何数据；改正后重新导入，或用 --mode valid-only 只导入正确的行。")
	}
	for i, r := range refused {
		if i == 20 {
			fmt.Fprintf(env.Stdout, "……另有 %d 行，见 --report 报告\n", len(refused)-i)
			break
		}
		col := ""
		if r.Column != "" {
			col = "“" + r.Column + "”："
		}
		fmt.Fprintf(env.Stdout, "第 %d 行：%s%s\n", r.Line, col, r.Reason)
	}
	if *report != "" && len(refused) > 0 {
		if err := writeReport(*report, header, refused); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "未导入的行已写入 %s\n", *report)
	}
	if len(refused) > 0 {
		return ErrRefusedRows
	}
	return nil
}

func writeReport(path string, header []string, refused []transfer.Refusal) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("无法写入报告 %s：%w", path, err)
	}
	if err := transfer.WriteRefusals(f, header, refused); err != nil {
		f.Close()
		return fmt.Errorf("写入报告 %s：%w", path, err)
	}
	return f.Close()
}

// importError shows a refusal of the whole file as its Chinese message.
func importError(err error) error {
	if e := apperr.As(err); e.Code != apperr.Internal {
		return fmt.Errorf("%s", e.Message())
	}
	return err
}

// progress shows rows read: a bar redrawn in place on a terminal, a line
// every 10,000 rows otherwise (logs, pipes).
type progress struct {
	w        io.Writer
	terminal bool
	last     int
}

func newProgress(env Env) *progress {
	p := &progress{w: env.Stderr}
	if f, ok := env.Stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// rows shows rows read, then (the write pass of an all-or-nothing
// import) rows written.
func (p *progress) rows(read, written int) {
	n, verb := read, "已读"
	if written > 0 {
		n, verb = written, "已写入"
	}
	switch {
	case p.terminal:
		bar := strings.Repeat("█", min(n/10_000, 40))
		fmt.Fprintf(p.w, "\r%s %7d 行 %-40s", verb, n, bar)
	case written > 0 && p.last > written: // the write pass begins
		p.last = 0
		fallthrough
	case n-p.last >= 10_000:
		fmt.Fprintf(p.w, "%s %d 行\n", verb, n)
		p.last = n
	}
}

func (p *progress) done() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
