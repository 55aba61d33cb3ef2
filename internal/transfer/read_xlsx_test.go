package transfer

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Values as the user sees them, from a workbook excelize writes: the first
// visible sheet, dates in any date format, times, numbers, booleans.
func TestReadXLSXValues(t *testing.T) {
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "下拉列表")
	f.SetCellValue("下拉列表", "A1", "不应读取")
	f.SetActiveSheet(must(f.NewSheet("学生")))
	if err := f.SetSheetVisible("下拉列表", false); err != nil {
		t.Fatal(err)
	}
	style := func(s excelize.Style) int {
		id, err := f.NewStyle(&s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	cn := `yyyy"年"m"月"d"日"`
	zeros := "000000"
	cells := []struct {
		header string
		value  any
		style  int
		want   string
	}{
		{"内置日期", time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC), style(excelize.Style{NumFmt: 14}), "2008-01-01"},
		{"中文日期", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), style(excelize.Style{CustomNumFmt: &cn}), "2026-09-01"},
		{"日期时间", time.Date(2026, 9, 1, 8, 30, 0, 0, time.UTC), style(excelize.Style{NumFmt: 22}), "2026-09-01 08:30:00"},
		{"午夜", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), style(excelize.Style{NumFmt: 22}), "2026-09-01"},
		{"时间", 0.5, style(excelize.Style{NumFmt: 20}), "12:00:00"},
		{"小数", 3.5, 0, "3.5"},
		{"浮点误差", 0.1 + 0.2, 0, "0.3"},
		{"整数", 42, 0, "42"},
		{"补零", 1234, style(excelize.Style{CustomNumFmt: &zeros}), "001234"},
		{"百分比", 0.85, style(excelize.Style{NumFmt: 9}), "0.85"},
		{"布尔", true, 0, "TRUE"},
		{"文本数字", "00123", 0, "00123"},
		{"十五位", 370102800101001, 0, "370102800101001"},
	}
	for i, c := range cells {
		col, _ := excelize.ColumnNumberToName(i + 1)
		f.SetCellValue("学生", col+"3", c.header)
		f.SetCellValue("学生", col+"5", c.value)
		if c.style != 0 {
			f.SetCellStyle("学生", col+"5", col+"5", c.style)
		}
	}
	path := filepath.Join(t.TempDir(), "values.xlsx")
	saveXLSX(t, f, path)
	tbl, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if h := tbl.Header(); len(h) != len(cells) || h[0] != "内置日期" {
		t.Fatalf("header %q", h)
	}
	rows := readAll(t, tbl)
	if len(rows) != 1 || rows[0].Line != 5 {
		t.Fatalf("rows %v", rows)
	}
	for i, c := range cells {
		if got := cell(rows[0].Cells, i); got != c.want {
			t.Errorf("%s: got %q, want %q", c.header, got, c.want)
		}
	}
}

// Workbooks made on old Macs count days from 1904.
func TestReadXLSXDate1904(t *testing.T) {
	f := excelize.NewFile()
	yes := true
	if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
		t.Fatal(err)
	}
	f.SetCellValue("Sheet1", "A1", "出生日期")
	f.SetCellValue("Sheet1", "A2", time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC))
	f.SetCellStyle("Sheet1", "A2", "A2", must(f.NewStyle(&excelize.Style{NumFmt: 14})))
	path := filepath.Join(t.TempDir(), "mac.xlsx")
	saveXLSX(t, f, path)
	tbl, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if rows := readAll(t, tbl); len(rows) != 1 || rows[0].Cells[0] != "2008-01-01" {
		t.Fatalf("rows %v", rows)
	}
}

// A workbook written by hand the way other programs write them: a prefixed
// namespace, rows and cells without references, rich text and phonetic
// guides in shared strings, Excel's _xHHHH_ escapes, an inline string with
// runs, a formula with its cached string, an ISO date cell, an error
// value, styles whose cellStyleXfs must not be taken for cellXfs, a
// relationship target written as an absolute path.
func TestReadXLSXHandWritten(t *testing.T) {
	parts := map[string]string{}
	for k, v := range workbookParts {
		parts[k] = v
	}
	parts["xl/_rels/workbook.xml.rels"] = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
		`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	parts["xl/styles.xml"] = `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<numFmts count="1"><numFmt numFmtId="176" formatCode="[$-804]yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;;@"/></numFmts>` +
		`<cellStyleXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellStyleXfs>` +
		`<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="176" xfId="1" applyNumberFormat="1"/></cellXfs></styleSheet>`
	parts["xl/sharedStrings.xml"] = `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">` +
		`<si><t>姓名</t></si>` +
		`<si><r><rPr><b/></rPr><t>证件</t></r><r><t xml:space="preserve">号码 </t></r></si>` +
		`<si><t>王小明</t><rPh sb="0" eb="3"><t>ワンシャオミン</t></rPh></si>` +
		`<si><t>第一行_x000D__x000A_第二行_x005F_x0041_</t></si></sst>`
	parts["xl/worksheets/sheet1.xml"] = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
		`<x:row><x:c t="s"><x:v>0</x:v></x:c><x:c t="s"><x:v>1</x:v></x:c><x:c t="inlineStr"><x:is><x:t>出生日期</x:t></x:is></x:c><x:c t="inlineStr"><x:is><x:t>备注</x:t></x:is></x:c><x:c t="inlineStr"><x:is><x:t>入学日期</x:t></x:is></x:c><x:c t="inlineStr"><x:is><x:t>检查</x:t></x:is></x:c></x:row>` +
		`<x:row r="4"><x:c r="A4" t="s"><x:v>2</x:v></x:c><x:c r="B4" t="inlineStr"><x:is><x:r><x:t>3701022008</x:t></x:r><x:r><x:t>01010013</x:t></x:r></x:is></x:c>` +
		`<x:c r="C4" s="1"><x:v>39448</x:v></x:c><x:c r="D4" t="s"><x:v>3</x:v></x:c><x:c r="E4" t="d"><x:v>2026-09-01T00:00:00</x:v></x:c>` +
		`<x:c r="F4" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c></x:row>` +
		`<x:row r="5"><x:c r="A5" t="str"><x:f>A4&amp;"乙"</x:f><x:v>王小明乙</x:v></x:c><x:c r="C5" s="1"><x:f>C4+1</x:f><x:v>39449</x:v></x:c></x:row>` +
		`</x:sheetData></x:worksheet>`
	path := filepath.Join(t.TempDir(), "hand.xlsx")
	writeZip(parts)(t, path)
	tbl, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	if h := tbl.Header(); !slices.Equal(h, []string{"姓名", "证件号码 ", "出生日期", "备注", "入学日期", "检查"}) {
		t.Errorf("header %q", h)
	}
	rows := readAll(t, tbl)
	want := []Row{
		{4, []string{"王小明", "370102200801010013", "2008-01-01", "第一行\r\n第二行_x0041_", "2026-09-01", "#DIV/0!"}},
		{5, []string{"王小明乙", "", "2008-01-02"}},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows\n got %v\nwant %v", rows, want)
	}
}

func TestClassifyFormat(t *testing.T) {
	for code, want := range map[string]numFormat{
		"General":                                {},
		"0":                                      {},
		"0.00":                                   {},
		"#,##0.00_);[Red](#,##0.00)":             {},
		"0.00E+00":                               {},
		"0%":                                     {},
		"@":                                      {},
		`"¥"#,##0`:                               {},
		"00":                                     {kind: numZeros, width: 2},
		"000000":                                 {kind: numZeros, width: 6},
		"yyyy-mm-dd":                             {kind: numDate},
		"YYYY/MM/DD":                             {kind: numDate},
		"m/d/yy":                                 {kind: numDate},
		"mmm-yy":                                 {kind: numDate},
		`yyyy"年"m"月"d"日"`:                        {kind: numDate},
		`[DBNum1][$-804]yyyy"年"m"月"`:             {kind: numDate},
		`[$-F800]dddd\,\ mmmm\ dd`:               {kind: numDate},
		"ggge年m月d日":                              {kind: numDate},
		"h:mm AM/PM":                             {kind: numTime},
		`上午/下午h"时"mm"分"`:                         {kind: numTime},
		"mm:ss":                                  {kind: numTime},
		"[h]:mm:ss":                              {kind: numTime},
		"yyyy-mm-dd hh:mm:ss":                    {kind: numDateTime},
		"yyyy-mm-dd;@":                           {kind: numDate},
		`[Red]0.00;[Blue]-0.00;"零"`:              {},
		`0.00 "元"`:                               {},
		`#,##0 "天"`:                              {},
		`_-* #,##0_-;-* #,##0_-;_-* "-"_-;_-@_-`: {},
	} {
		if got := classifyFormat(code); got != want {
			t.Errorf("%q: %+v, want %+v", code, got, want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	date, dt, tm := numFormat{kind: numDate}, numFormat{kind: numDateTime}, numFormat{kind: numTime}
	for _, c := range []struct {
		v        float64
		f        numFormat
		date1904 bool
		want     string
		bad      bool
	}{
		{39448, date, false, "2008-01-01", false},
		{39448.99999999, date, false, "2008-01-02", false}, // rounds to the second first
		{39448.75, date, false, "2008-01-01", false},
		{39448.75, dt, false, "2008-01-01 18:00:00", false},
		{0.75, tm, false, "18:00:00", false},
		{1, date, false, "1900-01-01", false},
		{59, date, false, "1900-02-28", false},
		{61, date, false, "1900-03-01", false},
		{38006, date, true, "2008-01-21", false},
		{-1, date, false, "-1", false},
		{370102200801010036, numFormat{}, false, "3.7010220080101E+17", true},
		{1e15, numFormat{}, false, "1E+15", true},
		{999999999999999, numFormat{}, false, "999999999999999", false},
		{-12.5, numFormat{}, false, "-12.5", false},
		{7, numFormat{kind: numZeros, width: 2}, false, "07", false},
		{1.5, numFormat{kind: numZeros, width: 2}, false, "1.5", false},
	} {
		got, bad := formatNumber(c.v, c.f, c.date1904)
		if got != c.want || bad != c.bad {
			t.Errorf("formatNumber(%v, %+v, %v) = %q, %v; want %q, %v", c.v, c.f, c.date1904, got, bad, c.want, c.bad)
		}
	}
}

// studentRow is row i of a generated students sheet, in Students' column
// order.
func studentRow(i int) []any {
	return []any{"3701001", fmt.Sprintf("学生%06d", i), "居民身份证", fmt.Sprintf("370102200801%06d", i), "男",
		time.Date(2008, 1, 1+i%365, 0, 0, 0, 0, time.UTC), "汉族", "汽车维修", "中级工班", "全日制", "初中毕业生",
		time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
}

// writeStudentsXLSX writes a students sheet of n rows with excelize's
// StreamWriter (inline strings, dates with a date style).
func writeStudentsXLSX(t testing.TB, path string, n int) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	date := must(f.NewStyle(&excelize.Style{NumFmt: 14}))
	header := make([]any, len(Students.Columns))
	for i, c := range Students.Columns {
		header[i] = c.Header
	}
	if err := sw.SetRow("A1", header); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		row := studentRow(i)
		row[5] = excelize.Cell{StyleID: date, Value: row[5]}
		row[11] = excelize.Cell{StyleID: date, Value: row[11]}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// writeSharedStringsXLSX writes the same sheet the way Excel does, every
// text in the shared-string table (four distinct strings per row).
func writeSharedStringsXLSX(t testing.TB, path string, n int) {
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	zw := zip.NewWriter(file)
	parts := map[string]string{}
	for k, v := range workbookParts {
		parts[k] = v
	}
	parts["xl/_rels/workbook.xml.rels"] = strings.Replace(parts["xl/_rels/workbook.xml.rels"], "</Relationships>",
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`, 1)
	zipParts(t, zw, parts)
	w, _ := zw.Create("xl/sharedStrings.xml")
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for _, c := range Students.Columns {
		fmt.Fprintf(w, "<si><t>%s</t></si>", c.Header)
	}
	for i := range n {
		r := studentRow(i)
		fmt.Fprintf(w, "<si><t>%s</t></si><si><t>%s</t></si><si><t>北京市海淀区学院路%d号</t></si><si><t>备注%d</t></si>", r[1], r[3], i, i)
	}
	fmt.Fprint(w, `</sst>`)
	h := len(Students.Columns)
	w, _ = zw.Create("xl/worksheets/sheet1.xml")
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">`)
	for i := range h {
		fmt.Fprintf(w, `<c t="s"><v>%d</v></c>`, i)
	}
	fmt.Fprint(w, `</row>`)
	for i := range n {
		s := h + 4*i
		fmt.Fprintf(w, `<row r="%d"><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c><c><v>%d</v></c></row>`, i+2, s, s+1, s+2, s+3, 39448+i%365)
	}
	fmt.Fprint(w, `</sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadXLSXMemoryBounded reads 100,000 rows and samples the live heap
// (after a collection) every 10,000 rows. Measured on this machine (Go
// 1.26, amd64, 2 cores): the excelize StreamWriter file (inline strings,
// 12 columns, 4.5 MB) keeps 0.12 MiB live while read, whatever the number
// of rows; an Excel-style file with 400,000 shared strings (7.8 MB of
// text) keeps the table, 9.0 MiB, or 1.8 MiB of offsets when the table is
// spilled to a temporary file. The bounds asserted leave room.
func TestReadXLSXMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000-row workbooks")
	}
	const n = 100_000
	dir := t.TempDir()
	defer func(v uint64) { sstSpill = v }(sstSpill)
	for _, c := range []struct {
		name  string
		write func(testing.TB, string, int)
		spill uint64
		limit uint64
	}{
		{"streamwriter.xlsx", writeStudentsXLSX, sstSpill, 4 << 20},
		{"sharedstrings.xlsx", writeSharedStringsXLSX, sstSpill, 24 << 20},
		{"sharedstrings-spilled.xlsx", writeSharedStringsXLSX, 0, 4 << 20},
	} {
		path := filepath.Join(dir, c.name)
		c.write(t, path, n)
		sstSpill = c.spill
		fi, _ := os.Stat(path)
		base, peak, total := readMeasured(t, path, n)
		t.Logf("%s (%s): live heap %.2f MiB over %.2f MiB before opening; %.0f bytes allocated per row",
			c.name, humanBytes(fi.Size()), float64(peak-base)/(1<<20), float64(base)/(1<<20), float64(total)/n)
		if peak-base > c.limit {
			t.Errorf("%s: live heap grew by %d bytes reading %d rows, bound %d", c.name, peak-base, n, c.limit)
		}
	}
}

// Past sstSpill the shared strings go to a temporary file: the same rows
// come out, the table is not in memory, and the file is removed on Close.
func TestReadXLSXSharedStringsSpill(t *testing.T) {
	const n = 20_000
	path := filepath.Join(t.TempDir(), "sst.xlsx")
	writeSharedStringsXLSX(t, path, n)
	read := func() []Row {
		tbl, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Close()
		return readAll(t, tbl)
	}
	inMemory := read()
	defer func(v uint64) { sstSpill = v }(sstSpill)
	sstSpill = 0
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spilled := read()
	if len(inMemory) != n || fmt.Sprint(inMemory) != fmt.Sprint(spilled) {
		t.Fatalf("spilled rows differ: %d and %d rows", len(inMemory), len(spilled))
	}
	if r := spilled[n-1]; r.Line != n+1 || r.Cells[2] != fmt.Sprintf("北京市海淀区学院路%d号", n-1) {
		t.Errorf("last row %v", r)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func readMeasured(t *testing.T, path string, n int) (base, peak, total uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // what the writer left behind with finalizers goes in the second
	runtime.ReadMemStats(&ms)
	base, total = ms.HeapAlloc, ms.TotalAlloc
	tbl, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	rows := 0
	for {
		_, err := tbl.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rows++; rows%10_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if rows != n {
		t.Fatalf("read %d rows, want %d", rows, n)
	}
	runtime.ReadMemStats(&ms)
	return base, max(peak, base), ms.TotalAlloc - total
}

// BenchmarkReadXLSX reads a 100,000-row students workbook written by
// excelize's StreamWriter.
func BenchmarkReadXLSX(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "students.xlsx")
	writeStudentsXLSX(b, path, n)
	b.ReportAllocs()
	for b.Loop() {
		tbl, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			r, err := tbl.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rows == 0 && (len(r.Cells) != 12 || r.Cells[5] != "2008-01-01") {
				b.Fatalf("first row %q", r.Cells)
			}
			rows++
		}
		tbl.Close()
		if rows != n {
			b.Fatalf("%d rows", rows)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
