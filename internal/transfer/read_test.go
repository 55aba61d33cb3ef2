package transfer

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// The students every fixture in testdata holds (see make_fixtures.py), by
// column key after Students.Match: the same rows whatever program wrote
// the file and whatever its column order and header spellings.
var fixtureStudents = []map[string]string{
	{"school_code": "3701001", "name": "王小明", "id_type": "", "id_number": "370102200801010013", "sex": "男",
		"birth_date": "2008-01-01", "ethnicity": "汉族", "major": "汽车维修", "class_level": "中级工班",
		"study_mode": "全日制", "entry_point": "初中毕业生", "enrollment_date": "2026-09-01"},
	{"school_code": "3701001", "name": "阿依古丽·买买提", "id_type": "", "id_number": "65010220071231002X", "sex": "女",
		"birth_date": "2007-12-31", "ethnicity": "维吾尔族", "major": "电子商务", "class_level": "高级工班",
		"study_mode": "全日制", "entry_point": "高中毕业生", "enrollment_date": "2025-09-01"},
	{"school_code": "3701002", "name": "刘䶮", "id_type": "", "id_number": "11010519491231002X", "sex": "男",
		"birth_date": "1949-12-31", "ethnicity": "回族", "major": "数控加工", "class_level": "预备技师（技师）班",
		"study_mode": "非全日制", "entry_point": "初中毕业生", "enrollment_date": "2024-03-01"},
}

// The spreadsheets' header (openpyxl, then LibreOffice from it): full-width
// spaces inside, plain spaces around, three columns the schema lacks.
var sheetHeader = []string{"序号", "姓名", "性\u3000别", "证件号码", "出生日期", "民族", "专业", "培养层次",
	"学习形式", "入学\u3000日期", "学校代码", "入学起点", "是否住校", "备注"}

// The CSV files' header: other names (aliases), another order.
var csvHeader = []string{"学生姓名", "身份证号", "民族", "性别", "出生日期", "专业名称", "层次", "学习形式",
	"院校代码", "招生对象", "注册日期"}

func TestReadFixtures(t *testing.T) {
	formulas := map[string][]string{ // LibreOffice calculated them
		"序号":   {"1", "2", "4"},
		"是否住校": {"TRUE", "FALSE", "FALSE"},
		"备注":   {"王小明（男）", "阿依古丽·买买提（女）", "刘䶮（男）"},
	}
	for _, tc := range []struct {
		file    string
		opt     Options
		header  []string
		lines   []int
		unknown []string
		extra   map[string][]string
	}{
		// openpyxl writes formulas without results: they read as empty,
		// never as the formula's text.
		{file: "students-openpyxl.xlsx", header: sheetHeader, lines: []int{3, 4, 6}, unknown: []string{"序号", "是否住校", "备注"},
			extra: map[string][]string{"序号": {"", "", ""}, "是否住校": {"TRUE", "FALSE", "FALSE"}, "备注": {"", "", ""}}},
		{file: "students-libreoffice.xlsx", header: sheetHeader, lines: []int{3, 4, 6}, unknown: []string{"序号", "是否住校", "备注"}, extra: formulas},
		{file: "students-libreoffice.xls", header: sheetHeader, lines: []int{3, 4, 6}, unknown: []string{"序号", "是否住校", "备注"}, extra: formulas},
		{file: "students-utf8.csv", header: csvHeader, lines: []int{2, 3, 5}},
		{file: "students-utf8-bom.csv", header: csvHeader, lines: []int{2, 3, 5}},
		{file: "students-gbk.csv", header: csvHeader, lines: []int{2, 3, 5}},
		{file: "students-gbk.csv", opt: Options{Encoding: "GBK"}, header: csvHeader, lines: []int{2, 3, 5}},
		{file: "students-utf8.csv", opt: Options{Encoding: "utf-8"}, header: csvHeader, lines: []int{2, 3, 5}},
	} {
		t.Run(tc.file+tc.opt.Encoding, func(t *testing.T) {
			tbl, err := Open(filepath.Join("testdata", tc.file), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			if got := trimAll(tbl.Header()); !slices.Equal(got, tc.header) {
				t.Fatalf("header\n got %q\nwant %q", got, tc.header)
			}
			index, unknown, missing := Students.Match(tbl.Header())
			if len(missing) > 0 || !slices.Equal(trimAll(unknown), tc.unknown) {
				t.Fatalf("Match: unknown %q, missing %q", unknown, missing)
			}
			rows := readAll(t, tbl)
			var lines []int
			for i, r := range rows {
				lines = append(lines, r.Line)
				got := map[string]string{}
				for _, c := range Students.Columns {
					got[c.Key] = Value(r.Cells, index, c.Key)
				}
				if !mapsEqual(got, fixtureStudents[min(i, len(fixtureStudents)-1)]) {
					t.Errorf("row %d (line %d)\n got %v\nwant %v", i, r.Line, got, fixtureStudents[min(i, len(fixtureStudents)-1)])
				}
				for h, want := range tc.extra {
					j := slices.Index(tc.header, h)
					if got := cell(r.Cells, j); got != want[i] {
						t.Errorf("line %d %s: got %q, want %q", r.Line, h, got, want[i])
					}
				}
			}
			if !slices.Equal(lines, tc.lines) {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
		})
	}
}

// An .xlsx renamed .csv is still read as a workbook: the content decides.
func TestReadDetectsFormatByContent(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ from, to string }{
		{"students-libreoffice.xlsx", "students.csv"},
		{"students-libreoffice.xls", "students.xlsx"},
		{"students-gbk.csv", "students.xls"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", c.from))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, c.to)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		tbl, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("%s as %s: %v", c.from, c.to, err)
		}
		rows := readAll(t, tbl)
		tbl.Close()
		if len(rows) != 3 || Value(rows[0].Cells, mustMatch(t, tbl.Header()), "id_number") != "370102200801010013" {
			t.Errorf("%s as %s: %v", c.from, c.to, rows)
		}
	}
}

func TestReadRefusesWithClearErrors(t *testing.T) {
	fixture := func(name string) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			write(t, path, b)
		}
	}
	long := strings.Repeat("长", 3000)
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, path string)
		opt   Options
		code  apperr.Code
		msg   string // the message the user sees contains this
		atRow bool   // Open succeeds, a row fails
		// the row is refused and reading goes on (atRow only)
		rowOnly bool
	}{
		{name: "zip bomb", make: writeZipBomb, code: apperr.TooLarge, msg: "压缩炸弹"},
		{name: "declared sizes over 1 GiB", make: writeZipTooBig, code: apperr.TooLarge, msg: "解压后超过 1 GB"},
		{name: "too many zip entries", make: writeZipManyEntries, code: apperr.TooLarge, msg: "10001 个部件"},
		{name: "truncated xlsx", make: func(t *testing.T, path string) {
			b, _ := os.ReadFile(filepath.Join("testdata", "students-libreoffice.xlsx"))
			write(t, path, b[:len(b)/2])
		}, code: apperr.Invalid, msg: "文件已损坏或不完整，无法按 Excel 工作簿（.xlsx）读取"},
		{name: "truncated xls", make: func(t *testing.T, path string) {
			b, _ := os.ReadFile(filepath.Join("testdata", "students-libreoffice.xls"))
			write(t, path, b[:len(b)/2])
		}, code: apperr.Invalid, msg: "文件已损坏或不完整"},
		{name: "random bytes", make: func(t *testing.T, path string) {
			r := rand.New(rand.NewPCG(1, 2))
			b := make([]byte, 64<<10)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			write(t, path, b)
		}, code: apperr.UnsupportedMedia, msg: "二进制文件"},
		{name: "pdf", make: writeString("%PDF-1.7\n..."), code: apperr.UnsupportedMedia, msg: "PDF 文档"},
		{name: "html saved as xls", make: writeString("<html><body><table><tr><td>姓名</td></tr></table></body></html>"),
			code: apperr.UnsupportedMedia, msg: "网页（HTML"},
		{name: "ods", make: writeZip(map[string]string{"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<office:document-content/>"}),
			code: apperr.UnsupportedMedia, msg: "OpenDocument 电子表格（.ods）"},
		{name: "xlsb", make: writeZip(map[string]string{"[Content_Types].xml": "<Types/>", "_rels/.rels": rootRels("xl/workbook.bin"), "xl/workbook.bin": "\x83\x01"}),
			code: apperr.UnsupportedMedia, msg: "Excel 二进制工作簿（.xlsb）"},
		{name: "docx", make: writeZip(map[string]string{"[Content_Types].xml": "<Types/>", "_rels/.rels": rootRels("word/document.xml"), "word/document.xml": "<w:document/>"}),
			code: apperr.UnsupportedMedia, msg: "Word 文档（.docx）"},
		{name: "numbers", make: writeZip(map[string]string{"Index/Document.iwa": "x"}), code: apperr.UnsupportedMedia, msg: "Apple Numbers"},
		{name: "other zip", make: writeZip(map[string]string{"readme.txt": "x"}), code: apperr.UnsupportedMedia, msg: "ZIP 压缩包"},
		{name: "encrypted xlsx", make: writeEncryptedXLSX, code: apperr.UnsupportedMedia, msg: "打开密码"},
		{name: "utf-16", make: writeString("\xFF\xFE\x59\x59"), code: apperr.UnsupportedMedia, msg: "UTF-16"},
		{name: "empty file", make: writeString(""), code: apperr.Invalid, msg: "没有内容"},
		{name: "only blank lines", make: writeString(",,,\r\n  ,\u3000\r\n"), code: apperr.Invalid, msg: "没有内容"},
		{name: "over MaxBytes", make: fixture("students-libreoffice.xlsx"), opt: Options{MaxBytes: 4096}, code: apperr.TooLarge, msg: "不能超过 4 KB"},
		{name: "bad encoding option", make: fixture("students-utf8.csv"), opt: Options{Encoding: "big5"}, code: apperr.Invalid, msg: "不支持的编码“big5”"},
		{name: "3000 characters in a csv cell", make: writeString("姓名,证件号码\n王小明,370102200801010013\n" + long + ",370102200801010013\n"),
			code: apperr.Invalid, msg: "第 3 行“姓名”超过 1000 个字符", atRow: true, rowOnly: true},
		{name: "3000 characters in an xlsx cell", make: writeXLSX([][]any{{"姓名", "证件号码"}, {long, "370102200801010013"}}),
			code: apperr.Invalid, msg: "第 2 行“姓名”超过 1000 个字符", atRow: true, rowOnly: true},
		{name: "3000 characters in a header", make: writeString("姓名," + long + "\n王小明,1\n"),
			code: apperr.Invalid, msg: "第 1 行第 2 列超过 1000 个字符"},
		{name: "MaxRows in csv", make: fixture("students-utf8.csv"), opt: Options{MaxRows: 2}, code: apperr.TooLarge, msg: "文件超过 2 行", atRow: true},
		{name: "MaxRows in xlsx", make: fixture("students-libreoffice.xlsx"), opt: Options{MaxRows: 2}, code: apperr.TooLarge, msg: "文件超过 2 行", atRow: true},
		{name: "MaxRows in xls", make: fixture("students-libreoffice.xls"), opt: Options{MaxRows: 1}, code: apperr.TooLarge, msg: "文件超过 1 行", atRow: true},
		{name: "identity number Excel stored as a number", make: writeXLSX([][]any{{"姓名", "证件号码"}, {"王小明", 370102200801010036}}),
			code: apperr.Invalid, msg: "第 2 行“证件号码”是超过 15 位的数字（3.7010220080101E+17）", atRow: true, rowOnly: true},
		{name: "identity number as a number formatted 0", make: writeXLSXFormatted("证件号码", 3.7010220080101e17, "0"),
			code: apperr.Invalid, msg: "请把这一列设置为“文本”格式", atRow: true, rowOnly: true},
		{name: "NUL in a csv cell", make: writeString("姓名,证件号码\n" + strings.Repeat("王小明,370102200801010013\n", 200) + "王\x00明,1\n"),
			code: apperr.Invalid, msg: "第 202 行“姓名”含有空字符", atRow: true, rowOnly: true},
		{name: "gbk read as utf-8", make: fixture("students-gbk.csv"), opt: Options{Encoding: "utf-8"}, code: apperr.Invalid, msg: "第 1 行不是有效的 UTF-8"},
		{name: "utf-8 with a bad byte", make: writeString("姓名,证件号码\n" + strings.Repeat("王小明,370102200801010013\n", 10) + "李\xFF红,1\n"),
			code: apperr.Invalid, msg: "第 12 行不是有效的 UTF-8", atRow: true, rowOnly: true},
		{name: "gbk with a byte that is not gb18030", make: func(t *testing.T, path string) {
			b, _ := os.ReadFile(filepath.Join("testdata", "students-gbk.csv"))
			write(t, path, append(b, "\xFF,\xFF\r\n"...))
		}, code: apperr.Invalid, msg: "第 6 行有无法识别的字符", atRow: true, rowOnly: true},
		{name: "csv without line ends", make: writeString("姓名," + strings.Repeat("a", 5<<20)), code: apperr.Invalid, msg: "超过 4 MB"},
		{name: "unclosed quote", make: writeString("姓名,证件号码\n\"王小明,1\n" + strings.Repeat("a,b\n", 2<<20)),
			code: apperr.Invalid, msg: "第 2 行起的一条记录超过 4 MB", atRow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "upload.csv")
			tc.make(t, path)
			tbl, err := Open(path, tc.opt)
			if err == nil {
				if !tc.atRow {
					t.Fatalf("Open succeeded, header %q", tbl.Header())
				}
				defer tbl.Close()
				var r Row
				for err == nil {
					r, err = tbl.Next()
				}
				if err == io.EOF {
					t.Fatal("every row read")
				}
				next, again := tbl.Next()
				switch {
				case tc.rowOnly && (r.Line == 0 || len(r.Cells) == 0):
					t.Errorf("refused row without its line and cells: %v", r)
				case tc.rowOnly && again != io.EOF && again != nil:
					t.Errorf("Next after a refused row: %v", again)
				case tc.rowOnly && again == nil && next.Line <= r.Line:
					t.Errorf("Next after a refused row returned line %d", next.Line)
				case !tc.rowOnly && again != err:
					t.Errorf("Next after an error returned %v", again)
				}
				for _, c := range r.Cells {
					if strings.ContainsRune(c, 0) || !utf8.ValidString(c) || utf8.RuneCountInString(c) > 1001 {
						t.Errorf("refused row's cell not made safe: %q", c)
					}
				}
			} else if tc.atRow {
				t.Fatalf("Open: %v", err)
			}
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not an apperr: %v", err)
			}
			if ae.Code != tc.code || !strings.Contains(ae.Message(), tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", ae.Code, ae.Message(), tc.code, tc.msg)
			}
			t.Logf("%s: %s", ae.Code, ae.Message())
		})
	}
}

func TestReadCSVVariants(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		header     []string
		rows       []Row
	}{
		{name: "bare CR line ends", body: "姓名,性别\r王小明,男\r\r李红,女\r",
			header: []string{"姓名", "性别"}, rows: []Row{{2, []string{"王小明", "男"}}, {4, []string{"李红", "女"}}}},
		{name: "Excel's sep= line", body: "sep=;\r\n姓名;地址\r\n王小明;济南市,历下区\r\n",
			header: []string{"姓名", "地址"}, rows: []Row{{3, []string{"王小明", "济南市,历下区"}}}},
		{name: "tabs", body: "姓名\t证件号码\n王小明\t370102200801010013\n",
			header: []string{"姓名", "证件号码"}, rows: []Row{{2, []string{"王小明", "370102200801010013"}}}},
		{name: "quotes, line breaks, stray quotes", body: "姓名,地址\n\"王\"\"小明\",\"济南市\n历下区\"\n李\"红,x\n",
			header: []string{"姓名", "地址"}, rows: []Row{{2, []string{"王\"小明", "济南市\n历下区"}}, {4, []string{"李\"红", "x"}}}},
		{name: "ragged rows, trailing empty cells", body: "\n\n姓名,性别,民族\n王小明\n李红,女,汉族,多余,,\n",
			header: []string{"姓名", "性别", "民族"}, rows: []Row{{4, []string{"王小明"}}, {5, []string{"李红", "女", "汉族", "多余"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.csv")
			write(t, path, []byte(tc.body))
			tbl, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			if !slices.Equal(tbl.Header(), tc.header) {
				t.Errorf("header %q", tbl.Header())
			}
			rows := readAll(t, tbl)
			if len(rows) != len(tc.rows) {
				t.Fatalf("rows %v", rows)
			}
			for i := range rows {
				if rows[i].Line != tc.rows[i].Line || !slices.Equal(rows[i].Cells, tc.rows[i].Cells) {
					t.Errorf("row %d: %v, want %v", i, rows[i], tc.rows[i])
				}
			}
		})
	}
}

func readAll(t testing.TB, tbl Table) []Row {
	t.Helper()
	var rows []Row
	for {
		r, err := tbl.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
}

func mustMatch(t *testing.T, header []string) map[string]int {
	index, _, missing := Students.Match(header)
	if len(missing) > 0 {
		t.Fatalf("missing %q", missing)
	}
	return index
}

func trimAll(s []string) []string {
	out := make([]string, len(s))
	for i, c := range s {
		out[i] = strings.TrimSpace(c)
	}
	return out
}

func cell(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[i])
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeString(s string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) { write(t, path, []byte(s)) }
}

// LibreOffice keeps an identity number typed as a number as the double
// 3.7010220080101E+17 (.xlsx) or a NUMBER record (.xls): that row is
// refused, the same number typed as text below it is read.
func TestReadNumberExcelCut(t *testing.T) {
	for _, name := range []string{"mangled-libreoffice.xlsx", "mangled-libreoffice.xls"} {
		t.Run(name, func(t *testing.T) {
			tbl, err := Open(filepath.Join("testdata", name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close()
			r, err := tbl.Next()
			var ae *apperr.Error
			if !errors.As(err, &ae) || r.Line != 2 || !strings.Contains(ae.Message(), "第 2 行“证件号码”是超过 15 位的数字（3.7010220080101E+17）") {
				t.Fatalf("line %d: %v", r.Line, err)
			}
			r, err = tbl.Next()
			if err != nil || r.Line != 3 || !slices.Equal(r.Cells, []string{"李红", "370102200801010013"}) {
				t.Fatalf("%v %v", r, err)
			}
			if _, err := tbl.Next(); err != io.EOF {
				t.Fatal(err)
			}
		})
	}
}

// long-libreoffice.xls has a shared-string table spread over CONTINUE
// records, with strings cut across them and 8-bit and 16-bit strings in
// turn (make_fixtures.py, long_row).
func TestReadXLSContinuedStrings(t *testing.T) {
	tbl, err := Open(filepath.Join("testdata", "long-libreoffice.xls"), Options{MaxCell: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	rows := readAll(t, tbl)
	if len(rows) != 401 {
		t.Fatalf("%d rows", len(rows))
	}
	for i := 1; i <= 400; i++ {
		name := fmt.Sprintf("Student %03d", i)
		if i%2 == 0 {
			name = fmt.Sprintf("学生%03d", i)
		}
		note := []rune(strings.Repeat("中文English混合", 1+i%4))
		want := []string{name, string(note[:min(len(note), 10+i%37)]), strconv.Itoa(i)}
		if r := rows[i-1]; r.Line != i+1 || !slices.Equal(r.Cells, want) {
			t.Fatalf("line %d: %q, want %q", r.Line, r.Cells, want)
		}
	}
	if r := rows[400]; r.Cells[1] != strings.Repeat("甲乙丙丁戊己庚辛壬癸", 200) || r.Cells[2] != "401" {
		t.Errorf("long cell: %d characters", len([]rune(r.Cells[1])))
	}
}
