package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Table is a spreadsheet read as a header and a stream of data rows: the
// first non-empty row of the first worksheet (or of the CSV file) is the
// header, and Next returns the non-empty rows after it, one at a time, so
// that a file of any length is read in bounded memory.
type Table interface {
	// Header is the header row's cells as written in the file (trailing
	// empty cells dropped); Schema.Match maps it onto columns.
	Header() []string
	// Next returns the next data row, skipping empty rows; io.EOF after the
	// last. Errors are *apperr.Error with a message for the user naming the
	// line (and column). A row that cannot be used as it stands (a cell over
	// MaxCell characters, a NUL byte, text that is not in the file's
	// encoding, a number Excel has cut to 15 digits) comes back with its
	// Line and Cells and the error, and the next call goes on with the
	// following row: an import can refuse that row alone. Any other error
	// (a limit, a damaged file) ends the table and is returned again.
	Next() (Row, error)
	Close() error
}

// Row is one data row.
type Row struct {
	// Line is the 1-based row number as the user sees it: the sheet's row
	// number in Excel, WPS or LibreOffice, the line where the record starts
	// in a CSV file.
	Line int
	// Cells are the cells as the user sees them (trailing empty cells
	// dropped): text as typed, whole numbers without ".0", dates
	// (Excel serial numbers with a date format) as YYYY-MM-DD, formulas as
	// their cached result, booleans as TRUE/FALSE.
	Cells []string
}

// Options are the encoding of CSV files and the limits a file must stay
// within. Zero fields take the value in DefaultLimits.
type Options struct {
	// Encoding of CSV files: "" to detect (UTF-8 with or without BOM,
	// otherwise GB18030, which includes GBK and GB2312), "utf-8" or
	// "gb18030" (also "gbk") to force one. Spreadsheets ignore it.
	Encoding string
	MaxBytes int64 // size of the file as uploaded
	MaxRows  int   // data rows after the header
	MaxCell  int   // characters (not bytes) in one cell
}

// DefaultLimits: 200 MiB per file, 500,000 data rows (the province's whole
// register fits), 1,000 characters per cell.
var DefaultLimits = Options{MaxBytes: 200 << 20, MaxRows: 500_000, MaxCell: 1000}

// maxColumns is Excel's widest sheet (XFD); no legitimate file has more.
const maxColumns = 16384

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultLimits.MaxBytes
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultLimits.MaxRows
	}
	if o.MaxCell <= 0 {
		o.MaxCell = DefaultLimits.MaxCell
	}
	return o
}

// Open opens a spreadsheet, recognising its format from the content, not
// the name: a zip holding an Excel workbook is .xlsx (Excel, WPS,
// LibreOffice, excelize, openpyxl), an OLE2 compound file with a BIFF8
// Workbook stream is .xls (Excel 97–2003 and what WPS and LibreOffice save
// as .xls), anything else that is text is CSV. Other zips (.xlsb, .ods,
// .numbers, .docx), other OLE2 files (.doc, encrypted workbooks) and binary
// files are refused with unsupported_media_type and a message saying what
// the file looks like.
//
// Memory stays bounded whatever the number of rows: .xlsx sheets are
// decoded as an XML stream straight out of the zip, CSV as a byte stream
// (at most 4 MiB per record); only the shared-string table of an .xlsx
// (spilled to a temporary file past 32 MiB, see read_xlsx.go) and a whole
// .xls sheet (BIFF8 holds at most 65,536 rows) are kept.
func Open(path string, opt Options) (Table, error) {
	opt = opt.withDefaults()
	switch strings.ToLower(strings.TrimSpace(opt.Encoding)) {
	case "":
		opt.Encoding = ""
	case "utf-8", "utf8":
		opt.Encoding = "utf-8"
	case "gb18030", "gbk", "gb2312":
		opt.Encoding = "gb18030"
	default:
		return nil, apperr.E(apperr.Invalid, "encoding", "transfer.read.encoding", opt.Encoding)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, apperr.Internalf("transfer: open %s: %w", path, err)
	}
	src, err := openSource(f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	t, err := newTable(src, opt)
	if err != nil {
		src.close()
		return nil, err
	}
	return t, nil
}

var (
	zipMagic  = []byte("PK\x03\x04")
	zipEmpty  = []byte("PK\x05\x06")
	ole2Magic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

func openSource(f *os.File, opt Options) (source, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, apperr.Internalf("transfer: stat: %w", err)
	}
	size := fi.Size()
	if size > opt.MaxBytes {
		return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.too_large", humanBytes(size), humanBytes(opt.MaxBytes))
	}
	if size == 0 {
		return nil, apperr.E(apperr.Invalid, "file", "transfer.read.empty")
	}
	head := make([]byte, 8)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, zipMagic) || bytes.HasPrefix(head, zipEmpty):
		return openXLSX(f, size)
	case bytes.HasPrefix(head, ole2Magic):
		return openXLS(f, size)
	}
	return openCSV(f, size, opt)
}

// source is one format's reader: rows in file order with their line
// numbers; empty rows may be returned (the table skips them).
type source interface {
	next() (rawRow, error)
	close() error
}

type rawRow struct {
	line  int
	cells []string
	bad   *cellProblem // a cell that cannot be read as the user meant it
	err   error        // the row cannot be read (bytes that are not text)
}

// cellProblem is a cell whose value is lost, e.g. an identity number Excel
// stored as a floating-point number.
type cellProblem struct {
	col   int
	value string
}

// table applies what every format shares: the header, empty rows and the
// limits.
type table struct {
	src    source
	opt    Options
	header []string
	rows   int
	err    error
}

func newTable(src source, opt Options) (*table, error) {
	t := &table{src: src, opt: opt}
	for {
		r, err := t.pull()
		if err == io.EOF {
			return nil, apperr.E(apperr.Invalid, "file", "transfer.read.empty")
		}
		if err != nil {
			return nil, err
		}
		if blank(r.cells) {
			continue
		}
		if err := t.check(r, true); err != nil {
			return nil, err
		}
		t.header = trimTrailing(r.cells)
		return t, nil
	}
}

func (t *table) Header() []string { return t.header }

func (t *table) Next() (Row, error) {
	if t.err != nil {
		return Row{}, t.err
	}
	for {
		r, err := t.pull()
		if err != nil {
			t.err = err
			return Row{}, err
		}
		if blank(r.cells) && r.err == nil {
			continue
		}
		t.rows++
		if t.rows > t.opt.MaxRows {
			t.err = apperr.E(apperr.TooLarge, "file", "transfer.read.too_many_rows", t.opt.MaxRows)
			return Row{}, t.err
		}
		if len(r.cells) > maxColumns {
			t.err = apperr.E(apperr.Invalid, "file", "transfer.read.too_many_columns", r.line, maxColumns)
			return Row{}, t.err
		}
		row := Row{Line: r.line, Cells: trimTrailing(r.cells)}
		if err := t.check(r, false); err != nil {
			return t.safe(row), err
		}
		return row, nil
	}
}

// pull reads the source's next row. A panic there is a bug in a reader
// meeting a file it did not expect; it must not take the server down.
func (t *table) pull() (r rawRow, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = rawRow{}, apperr.Internalf("transfer: reader panic: %v\n%s", p, debug.Stack())
		}
	}()
	return t.src.next()
}

// safe makes a refused row's cells fit to be shown back (in an error
// report): bytes that are not text and NUL become U+FFFD, cells over the
// limit are cut to it.
func (t *table) safe(r Row) Row {
	cells := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		c = strings.ReplaceAll(strings.ToValidUTF8(c, "\uFFFD"), "\x00", "\uFFFD")
		if len(c) > t.opt.MaxCell && utf8.RuneCountInString(c) > t.opt.MaxCell {
			c = string([]rune(c)[:t.opt.MaxCell]) + "…"
		}
		cells[i] = c
	}
	r.Cells = cells
	return r
}

func (t *table) Close() error {
	if t.err == nil {
		t.err = errors.New("transfer: table closed")
	}
	return t.src.close()
}

// check enforces the cell limits on a row; isHeader: the header row itself,
// whose columns have no names yet.
func (t *table) check(r rawRow, isHeader bool) error {
	if len(r.cells) > maxColumns {
		return apperr.E(apperr.Invalid, "file", "transfer.read.too_many_columns", r.line, maxColumns)
	}
	if r.err != nil {
		return r.err
	}
	for i, c := range r.cells {
		if strings.IndexByte(c, 0) >= 0 {
			return apperr.E(apperr.Invalid, "file", "transfer.read.nul", r.line, t.column(i, isHeader))
		}
		if !utf8.ValidString(c) {
			return apperr.E(apperr.Invalid, "file", "transfer.read.invalid_text", r.line)
		}
		if len(c) > t.opt.MaxCell && utf8.RuneCountInString(c) > t.opt.MaxCell {
			return apperr.E(apperr.Invalid, "file", "transfer.read.cell_too_long", r.line, t.column(i, isHeader), t.opt.MaxCell)
		}
	}
	if r.bad != nil {
		return apperr.E(apperr.Invalid, "file", "transfer.read.long_number", r.line, t.column(r.bad.col, isHeader), r.bad.value)
	}
	return nil
}

// column names column i for a message: its header in quotes, or its
// position when it has none.
func (t *table) column(i int, isHeader bool) string {
	if !isHeader && i < len(t.header) {
		if h := strings.TrimSpace(t.header[i]); h != "" {
			return "“" + h + "”"
		}
	}
	return fmt.Sprintf("第 %d 列", i+1)
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func trimTrailing(cells []string) []string {
	n := len(cells)
	for n > 0 && cells[n-1] == "" {
		n--
	}
	return cells[:n:n]
}

// humanBytes writes a size the way upload forms do (MB meaning MiB).
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<30))) + " GB"
	case n >= 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MB"
	case n >= 1<<10:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KB"
	}
	return fmt.Sprintf("%d 字节", n)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// unsupported refuses a file that is not a spreadsheet we read; what says
// what it looks like.
func unsupported(what string) error {
	return apperr.E(apperr.UnsupportedMedia, "file", "transfer.read.unsupported", spaced(what))
}

// spaced puts a space between a Chinese message and a name that starts
// with a Latin letter, as Chinese typesetting does.
func spaced(s string) string {
	if s != "" && s[0] < utf8.RuneSelf {
		return " " + s
	}
	return s
}

// corrupt refuses a file of a known format that cannot be read; format is
// how we tried to read it, cause is kept for the logs.
func corrupt(format string, cause error) error {
	e := apperr.E(apperr.Invalid, "file", "transfer.read.corrupt", spaced(format))
	e.Err = cause
	return e
}

func encrypted() error {
	return apperr.E(apperr.UnsupportedMedia, "file", "transfer.read.encrypted")
}
