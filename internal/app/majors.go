package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/school"
)

const majorsUsage = "gongjiang majors list | majors import FILE.csv [--dry-run]"

func runMajors(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w：%s", ErrUsage, majorsUsage)
	}
	switch args[0] {
	case "list":
		return runMajorsList(ctx, args[1:], env)
	case "import":
		return runMajorsImport(ctx, args[1:], env)
	}
	return fmt.Errorf("%w：%s", ErrUsage, majorsUsage)
}

func runMajorsList(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("majors list", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	db, _, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.MajorCatalogue(ctx)
	if err != nil {
		return err
	}
	w := csv.NewWriter(env.Stdout)
	w.Write([]string{"专业代码", "专业名称", "专业类别", "来源"})
	for _, m := range list {
		w.Write([]string{m.Code, m.Name, m.Category, m.Source})
	}
	w.Flush()
	return w.Error()
}

// majorColumns are the header names an import file may use for each
// field: the Chinese names, and the column names of
// ../shared/data/majors_sample.csv.
var majorColumns = map[string][]string{
	"code":     {"专业代码", "代码", "catalogue_code", "code"},
	"name":     {"专业名称", "名称", "name"},
	"category": {"专业类别", "类别", "catalogue_category", "category"},
	"source":   {"来源", "source"},
}

// maxMajorsFile bounds an import file: the official catalogue has a few
// hundred majors.
const maxMajorsFile = 4 << 20

// readMajorsCSV reads an official major list: UTF-8 (with or without BOM)
// or GB18030, headers matched by name in any order.
func readMajorsCSV(path string) ([]school.Major, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取 %s：%w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMajorsFile+1))
	if err != nil {
		return nil, fmt.Errorf("无法读取 %s：%w", path, err)
	}
	if len(b) > maxMajorsFile {
		return nil, fmt.Errorf("%s 超过 %d MB，不像专业目录", path, maxMajorsFile>>20)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		if b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("%s 既不是 UTF-8 也不是 GB18030 编码", path)
		}
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s 不是有效的 CSV：%w", path, err)
	}
	if len(records) < 2 {
		return nil, fmt.Errorf("%s 没有数据行", path)
	}
	col := map[string]int{}
	for i, h := range records[0] {
		h = strings.TrimSpace(strings.ReplaceAll(h, "\u3000", ""))
		for field, names := range majorColumns {
			for _, n := range names {
				if strings.EqualFold(h, n) {
					col[field] = i
				}
			}
		}
	}
	if _, ok := col["name"]; !ok {
		return nil, fmt.Errorf("%s 缺少“专业名称”列（表头可以是：%s）", path, strings.Join(majorColumns["name"], "、"))
	}
	cell := func(rec []string, field string) string {
		if i, ok := col[field]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []school.Major
	for _, rec := range records[1:] {
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		out = append(out, school.Major{Code: cell(rec, "code"), Name: cell(rec, "name"), Category: cell(rec, "category"), Source: cell(rec, "source")})
	}
	return out, nil
}

// runMajorsImport loads the official catalogue (or any list of majors)
// from a CSV file.
func runMajorsImport(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("majors import", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	dry := fs.Bool("dry-run", false, "只检查并报告会新增、更新多少，不写入")
	path, err := positionalFirst(fs, args, env)
	if err != nil {
		return err
	}
	if path == "" {
		return fmt.Errorf("%w：gongjiang majors import FILE.csv [--dry-run]", ErrUsage)
	}
	rows, err := readMajorsCSV(path)
	if err != nil {
		return err
	}
	db, _, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := school.ImportMajors(ctx, db, "cli", rows, *dry)
	if err != nil {
		if e := apperr.As(err); e.Code != apperr.Internal {
			return fmt.Errorf("未导入任何专业：%s", e.Message())
		}
		return err
	}
	verb := "已导入"
	if *dry {
		verb = "试运行（未写入）"
	}
	fmt.Fprintf(env.Stdout, "%s：新增 %d，更新 %d，未变 %d\n", verb, sum.Added, sum.Updated, sum.Unchanged)
	return nil
}
