package transfer

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// Exporter writes one sheet of rows as an .xlsx with excelize's
// StreamWriter, for lists of hundreds of thousands of rows in bounded
// memory: rows go to the stream writer's buffer, which spills to a
// temporary file past excelize.StreamChunkSize (16 MiB), and Close
// compresses the workbook straight into w (no copy of it in memory).
//
// Measured in TestExportHeapBounded (Go 1.26, amd64, without -race):
// exporting 200,000 rows of 17 text cells (a student export; a 12 MiB
// file) raises the heap by 55–62 MiB at its peak, garbage not yet
// collected included — the same as 20,000 rows. Nearly all of it is the
// stream writer's 16 MiB buffer, grown by doubling, and the buffers it
// outgrew. The test holds it under 96 MiB.
//
// Nothing reaches w before Close: a caller can still answer with an error
// (or refuse to send) after the last row.
//
// Strings are written as text (inline strings in a text-formatted column),
// never converted to numbers: an identity number keeps its 18 digits and
// a code its leading zeros. Booleans are written 是/否; other numbers as
// numbers.
type Exporter struct {
	w       io.Writer
	f       *excelize.File
	sw      *excelize.StreamWriter
	headers []string
	widths  []float64
	general int // style of number cells
	started bool
	rows    int
	done    bool
}

// ErrTooManyRows is returned by Row past the last row of a sheet.
var ErrTooManyRows = errors.New("transfer: more rows than an Excel sheet holds (1,048,576)")

// NewExport starts an .xlsx of one sheet with a bold, frozen header row.
// The column widths follow the headers unless SetWidths says otherwise.
func NewExport(w io.Writer, sheet string, headers []string) (*Exporter, error) {
	f := excelize.NewFile()
	e := &Exporter{w: w, f: f, headers: headers}
	fail := func(err error) (*Exporter, error) {
		f.Close()
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fail(err)
	}
	var err error
	if e.general, err = f.NewStyle(&excelize.Style{NumFmt: 0}); err != nil {
		return fail(err)
	}
	if e.sw, err = f.NewStreamWriter(sheet); err != nil {
		return fail(err)
	}
	for _, h := range headers {
		e.widths = append(e.widths, float64(min(max(displayWidth(h)+4, 10), 40)))
	}
	return e, nil
}

// SetWidths sets the widths of the first columns (in characters); it must
// come before the first Row.
func (e *Exporter) SetWidths(widths ...float64) error {
	if e.started {
		return errors.New("transfer: SetWidths after the first row")
	}
	for i, w := range widths {
		if i < len(e.widths) {
			e.widths[i] = w
		}
	}
	return nil
}

// begin writes the sheet's settings and the header row.
func (e *Exporter) begin() error {
	if e.started {
		return nil
	}
	e.started = true
	n := max(len(e.headers), 1)
	text, err := e.f.NewStyle(&excelize.Style{NumFmt: 49}) // "@"
	if err != nil {
		return err
	}
	bold, err := e.f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	for i, w := range e.widths {
		if err := e.sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := e.sw.SetColStyle(1, n, text); err != nil {
		return err
	}
	if err := e.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := make([]any, len(e.headers))
	for i, h := range e.headers {
		header[i] = h
	}
	return e.sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold})
}

// Row adds a row under the header.
func (e *Exporter) Row(cells ...any) error {
	if e.done {
		return errors.New("transfer: Row after Close")
	}
	if err := e.begin(); err != nil {
		return err
	}
	if e.rows+1 >= excelize.TotalRows {
		return ErrTooManyRows
	}
	e.rows++
	values := make([]any, len(cells))
	for i, v := range cells {
		switch v := v.(type) {
		case nil:
		case string:
			values[i] = v
		case bool:
			values[i] = yesNo(v)
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
			values[i] = excelize.Cell{StyleID: e.general, Value: v}
		default:
			values[i] = v
		}
	}
	return e.sw.SetRow("A"+strconv.Itoa(e.rows+1), values)
}

// Rows is the number of rows added (the header not counted).
func (e *Exporter) Rows() int { return e.rows }

// Close finishes the workbook, writes it to w and removes the temporary
// file. An error after the first byte leaves w with a truncated file: an
// HTTP handler must then abort the response.
func (e *Exporter) Close() error {
	if e.done {
		return errors.New("transfer: Close twice")
	}
	e.done = true
	defer e.f.Close()
	if err := e.begin(); err != nil {
		return err
	}
	if err := e.sw.Flush(); err != nil {
		return err
	}
	// excelize's Write builds the whole archive in a bytes.Buffer; given
	// a zip writer of its own on w, it leaves that buffer empty and the
	// archive streams out as it is compressed.
	e.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(e.w) })
	return e.f.Write(io.Discard)
}

// Abort drops the export without writing anything, removing the
// temporary file. It does nothing after Close.
func (e *Exporter) Abort() {
	if !e.done {
		e.done = true
		e.f.Close()
	}
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// StudentHeaders are the columns of a student export.
var StudentHeaders = []string{"学籍号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "民族", "学校代码", "学校", "专业",
	"培养层次", "学习形式", "入学起点", "入学日期", "预计毕业", "学籍状态", "离校日期"}

var studentWidths = []float64{18, 10, 14, 22, 6, 12, 8, 10, 30, 20, 14, 10, 14, 12, 12, 10, 12}

// StudentRow is a student as a row under StudentHeaders. The document
// number is written as given: the list services give it masked.
func StudentRow(st *student.Student) []any {
	return []any{st.StudentNo, st.Name, st.IDType, st.IDNumber, st.Sex, st.BirthDate, st.Ethnicity, st.SchoolCode, st.SchoolName, st.Major,
		st.ClassLevel, st.StudyMode, st.EntryPoint, st.EnrollmentDate, st.ExpectedGraduation, st.Status, st.LeftDate}
}

// SchoolHeaders are the columns of a school export: the Schools import
// sheet's, so that an export can be edited and imported again, and the
// city.
func SchoolHeaders() []string {
	var out []string
	for _, c := range Schools.Columns {
		out = append(out, c.Header)
	}
	return append(out, "城市")
}

// SchoolRow is a school as a row under SchoolHeaders.
func SchoolRow(sc *school.School) []any {
	var out []any
	for _, c := range Schools.Columns {
		var v any
		switch c.Key {
		case "code":
			v = sc.Code
		case "name":
			v = sc.Name
		case "type":
			v = sc.Type
		case "ownership":
			v = sc.Ownership
		case "division_code":
			v = sc.DivisionCode
		case "national_key":
			v = sc.NationalKey
		case "provincial_quality":
			v = sc.ProvincialQuality
		case "status":
			v = sc.Status
		case "address":
			v = sc.Address
		case "capacity":
			if sc.Capacity > 0 {
				v = sc.Capacity
			}
		}
		out = append(out, v)
	}
	return append(out, sc.CityName)
}

// ExportPage is how many records an export reads at a time: the largest
// page the list services give (they serve a larger limit as their default
// page of 50).
const ExportPage = student.MaxPageSize

// StudentLister lists a page of students, as student.Service.List does
// for one caller.
type StudentLister func(ctx context.Context, f student.Filter) ([]*student.Student, int, error)

// SchoolLister lists a page of schools, as school.Service.List does for
// one caller.
type SchoolLister func(ctx context.Context, f school.Filter) ([]*school.School, int, error)

// ExportStudents writes every student list gives under f (newest first,
// ExportPage at a time by the id cursor; f's own page is ignored) to w as
// an .xlsx. ready, if not nil, is called with the number of rows once all
// are gathered and before the first byte goes to w — where the caller
// audits the export; its error abandons the export with nothing written.
// It returns the number of rows.
func ExportStudents(ctx context.Context, w io.Writer, list StudentLister, f student.Filter, ready func(rows int) error) (int, error) {
	ex, err := NewExport(w, Students.Name, StudentHeaders)
	if err != nil {
		return 0, err
	}
	defer ex.Abort()
	if err := ex.SetWidths(studentWidths...); err != nil {
		return 0, err
	}
	f.After, f.Limit = 0, ExportPage
	for {
		items, _, err := list(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, st := range items {
			if err := ex.Row(StudentRow(st)...); err != nil {
				return 0, err
			}
		}
		if len(items) < f.Limit {
			break
		}
		f.After = items[len(items)-1].ID
	}
	return ex.Rows(), finish(ex, ready)
}

// ExportSchools writes every school list gives under f (by code,
// ExportPage at a time) to w as an .xlsx; ready is as for ExportStudents.
func ExportSchools(ctx context.Context, w io.Writer, list SchoolLister, f school.Filter, ready func(rows int) error) (int, error) {
	ex, err := NewExport(w, Schools.Name, SchoolHeaders())
	if err != nil {
		return 0, err
	}
	defer ex.Abort()
	widths := make([]float64, 0, len(Schools.Columns)+1)
	for _, c := range Schools.Columns {
		widths = append(widths, columnWidth(c.Header, c.Example))
	}
	if err := ex.SetWidths(append(widths, 10)...); err != nil {
		return 0, err
	}
	f.After, f.Limit = "", min(ExportPage, school.MaxPageSize)
	for {
		items, _, err := list(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, sc := range items {
			if err := ex.Row(SchoolRow(sc)...); err != nil {
				return 0, err
			}
		}
		if len(items) < f.Limit {
			break
		}
		f.After = items[len(items)-1].Code
	}
	return ex.Rows(), finish(ex, ready)
}

func finish(ex *Exporter, ready func(int) error) error {
	if ready != nil {
		if err := ready(ex.Rows()); err != nil {
			return err
		}
	}
	return ex.Close()
}

// StudentFilterFields are the set fields of a student list filter, under
// their query names (those of GET /students): what an export's audit
// record and links carry. Scope and paging are not filters.
func StudentFilterFields(f student.Filter) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("school_code", f.SchoolCode)
	set("city_code", f.CityCode)
	set("major", f.Major)
	set("class_level", f.ClassLevel)
	set("study_mode", f.StudyMode)
	set("status", f.Status)
	if f.InSchool > 0 {
		set("in_school", strconv.Itoa(f.InSchool))
	}
	if f.Year > 0 {
		set("year", strconv.Itoa(f.Year))
	}
	set("q", f.Query)
	return m
}

// SchoolFilterFields are the set fields of a school list filter, under
// the query names of GET /schools.
func SchoolFilterFields(f school.Filter) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("q", f.Query)
	set("city_code", f.CityCode)
	set("division_code", f.DivisionCode)
	set("type", f.Type)
	set("status", f.Status)
	return m
}
