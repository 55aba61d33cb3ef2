package transfer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Reading .xlsx. The sheet is read as a stream of XML tokens straight out
// of the zip entry, one row at a time (xmlScanner, read_xml.go), rather
// than through excelize's Rows iterator: Rows().Columns() returns display
// strings only, without the cell's type or number format, so it cannot
// tell the number 370102200801010000 (an identity number Excel has already
// cut to 15 digits, then formatted "0" to look whole) from the text
// "370102200801010000", and it shows dates through their own format
// (built-in format 14 comes out as "01-01-08"). Both are what an import
// must get right, and the parts involved are small (workbook,
// relationships, styles, shared strings, sheet). excelize stays what
// writes templates and exports, and what the tests write workbooks with.
//
// Before anything is decompressed, the zip's directory is checked: fewer
// than maxZipEntries parts, at most maxUnzipped bytes in total, and no
// part over 10 MiB that compresses more than 100:1 (a zip bomb). The
// declared sizes then bind: archive/zip fails a part that inflates beyond
// its declared size.
//
// Memory, measured by TestReadXLSXMemoryBounded on 100,000 rows of 12
// columns: 0.1 MiB live while reading a StreamWriter file (inline
// strings); with 400,000 shared strings the table itself, 9 MiB in memory,
// or 1.8 MiB (4 bytes per string) once spilled to a temporary file, which
// happens past sstSpill (32 MiB of XML). Nothing else grows with the
// number of rows: the bound is one row plus the shared-string table,
// itself at most 32 MiB of text plus 4 bytes per string (at most
// maxSharedStrings).

const (
	maxZipEntries    = 10_000
	maxUnzipped      = 1 << 30
	bombRatio        = 100
	bombMinSize      = 10 << 20
	maxSharedStrings = 1 << 24
	maxXMLPart       = 64 << 20 // workbook.xml, rels: far below in real files
	maxSheetRows     = 1 << 20  // Excel's 1,048,576
)

const xlsxName = "Excel 工作簿（.xlsx）"

// sstSpill: a shared-string part larger than this (uncompressed XML) is
// kept in a temporary file rather than in memory. A variable for tests.
var sstSpill uint64 = 32 << 20

type xlsxSource struct {
	f        *os.File
	rc       io.ReadCloser
	sc       *xmlScanner
	v, inl   []byte // a cell's value and inline string, reused
	buf      []byte // the current row's values end to end
	spans    []cellSpan
	sst      *sharedStrings
	formats  []numFormat // by cellXfs index
	date1904 bool
	row      int // the last row's number
	done     bool
}

func openXLSX(f *os.File, size int64) (src source, err error) {
	defer func() {
		if p := recover(); p != nil {
			src, err = nil, apperr.Internalf("transfer: xlsx reader panic: %v\n%s", p, debug.Stack())
		}
	}()
	if n, ok := zipEntryCount(f, size); ok && n >= maxZipEntries {
		return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.zip_entries", n)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return nil, corrupt(xlsxName, err)
	}
	if len(zr.File) >= maxZipEntries {
		return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.zip_entries", len(zr.File))
	}
	parts := make(map[string]*zip.File, len(zr.File))
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > bombMinSize && zf.UncompressedSize64/max(zf.CompressedSize64, 1) > bombRatio {
			return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.zip_bomb", zf.Name, zf.UncompressedSize64/max(zf.CompressedSize64, 1))
		}
		if zf.Flags&1 != 0 {
			return nil, encrypted()
		}
		parts[partName(zf.Name)] = zf
	}
	if total > maxUnzipped {
		return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.zip_too_big", humanBytes(maxUnzipped))
	}

	book := ""
	if rels, err := readRels(parts, "_rels/.rels", ""); err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				book = r.Target
				break
			}
		}
	}
	if book == "" && parts["xl/workbook.xml"] != nil {
		book = "xl/workbook.xml"
	}
	switch base := path.Base(book); {
	case strings.HasSuffix(base, ".bin"):
		return nil, unsupported("Excel 二进制工作簿（.xlsb）")
	case !strings.HasPrefix(base, "workbook") || parts[book] == nil:
		return nil, unsupported(zipKind(parts))
	}

	x := &xlsxSource{f: f}
	defer func() {
		if err != nil {
			x.sst.close()
		}
	}()
	sheet, styles, strs, err := x.readWorkbook(parts, book)
	if err != nil {
		return nil, err
	}
	if styles != nil {
		if x.formats, err = readStyles(styles); err != nil {
			return nil, corrupt(xlsxName, fmt.Errorf("styles: %w", err))
		}
	}
	if x.sst, err = readSharedStrings(strs); err != nil {
		return nil, err
	}
	if x.rc, err = sheet.Open(); err != nil {
		return nil, corrupt(xlsxName, err)
	}
	x.sc = newXMLScanner(x.rc)
	return x, nil
}

// partName is how parts are looked up: part names are case-insensitive
// and some writers start them with "/".
func partName(name string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(name, `\`, "/"), "/"))
}

// zipEntryCount reads the number of entries from the zip's end record
// before archive/zip loads the whole directory into memory.
func zipEntryCount(f io.ReaderAt, size int64) (int, bool) {
	n := min(size, 0xFFFF+22)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, false
	}
	for i := len(buf) - 22; i >= 0; i-- {
		if buf[i] == 'P' && buf[i+1] == 'K' && buf[i+2] == 5 && buf[i+3] == 6 {
			return int(binary.LittleEndian.Uint16(buf[i+10:])), true
		}
	}
	return 0, false
}

// zipKind says what a zip that is no Excel workbook looks like.
func zipKind(parts map[string]*zip.File) string {
	if mt := parts["mimetype"]; mt != nil {
		b, _ := readPart(mt, 256)
		switch s := string(b); {
		case strings.Contains(s, "opendocument.spreadsheet"):
			return "OpenDocument 电子表格（.ods）"
		case strings.Contains(s, "opendocument.text"):
			return "OpenDocument 文本文档（.odt）"
		}
		return "OpenDocument 文件"
	}
	switch {
	case parts["word/document.xml"] != nil:
		return "Word 文档（.docx）"
	case parts["ppt/presentation.xml"] != nil:
		return "PowerPoint 演示文稿（.pptx）"
	case parts["index/document.iwa"] != nil || parts["index.zip"] != nil:
		return "Apple Numbers 表格（.numbers）"
	case parts["[content_types].xml"] != nil:
		return "Office 文档"
	}
	return "ZIP 压缩包"
}

func readPart(zf *zip.File, limit int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// decodePart unmarshals a small XML part, streaming.
func decodePart(zf *zip.File, v any) error {
	if zf.UncompressedSize64 > maxXMLPart {
		return fmt.Errorf("%s: %d bytes", zf.Name, zf.UncompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(bufio.NewReader(rc)).Decode(v)
}

type relationship struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
	Mode   string `xml:"TargetMode,attr"`
}

// readRels reads a relationships part; targets become part names, resolved
// against dir (the folder of the part they belong to).
func readRels(parts map[string]*zip.File, name, dir string) ([]relationship, error) {
	zf := parts[name]
	if zf == nil {
		return nil, fmt.Errorf("%s missing", name)
	}
	var v struct {
		Rels []relationship `xml:"Relationship"`
	}
	if err := decodePart(zf, &v); err != nil {
		return nil, err
	}
	for i, r := range v.Rels {
		t := strings.ReplaceAll(r.Target, `\`, "/")
		if !strings.HasPrefix(t, "/") {
			t = path.Join(dir, t)
		}
		v.Rels[i].Target = partName(t)
	}
	return v.Rels, nil
}

// readWorkbook finds the sheet to read (the first visible worksheet, or
// the first worksheet when all are hidden), the styles and the shared
// strings.
func (x *xlsxSource) readWorkbook(parts map[string]*zip.File, book string) (sheet, styles, strs *zip.File, err error) {
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := decodePart(parts[book], &wb); err != nil {
		return nil, nil, nil, corrupt(xlsxName, fmt.Errorf("workbook: %w", err))
	}
	x.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	dir := path.Dir(book)
	rels, err := readRels(parts, path.Join(dir, "_rels", path.Base(book)+".rels"), dir)
	if err != nil {
		return nil, nil, nil, corrupt(xlsxName, fmt.Errorf("workbook relationships: %w", err))
	}
	byID := map[string]relationship{}
	for _, r := range rels {
		byID[r.ID] = r
		switch {
		case strings.HasSuffix(r.Type, "/styles"):
			styles = parts[r.Target]
		case strings.HasSuffix(r.Type, "/sharedStrings"):
			strs = parts[r.Target]
		}
	}
	var first *zip.File
	for _, s := range wb.Sheets {
		r, ok := byID[s.RID]
		if !ok || !strings.HasSuffix(r.Type, "/worksheet") || parts[r.Target] == nil {
			continue
		}
		if s.State == "" || s.State == "visible" {
			return parts[r.Target], styles, strs, nil
		}
		if first == nil {
			first = parts[r.Target]
		}
	}
	if first == nil {
		return nil, nil, nil, apperr.E(apperr.Invalid, "file", "transfer.read.no_sheet")
	}
	return first, styles, strs, nil
}

// readStyles classifies the number format of every cell style.
func readStyles(zf *zip.File) ([]numFormat, error) {
	var st struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := decodePart(zf, &st); err != nil {
		return nil, err
	}
	custom := map[int]numFormat{}
	for _, f := range st.NumFmts {
		custom[f.ID] = classifyFormat(f.Code)
	}
	out := make([]numFormat, len(st.Xfs))
	for i, xf := range st.Xfs {
		if f, ok := custom[xf.NumFmtID]; ok {
			out[i] = f
		} else {
			out[i] = builtinFormat(xf.NumFmtID)
		}
	}
	return out, nil
}

// sharedStrings is the workbook's table of strings: their text end to end
// and the end offset of each, in memory (one string) or, when large, in a
// temporary file.
type sharedStrings struct {
	mem  []byte // while loading
	all  string // once loaded, in memory
	ends []uint32
	file *os.File
	w    *bufio.Writer
	n    int64
}

func (s *sharedStrings) add(str []byte) error {
	if s.file != nil {
		s.w.Write(str)
	} else {
		s.mem = append(s.mem, str...)
	}
	s.n += int64(len(str))
	if s.n > math.MaxUint32 {
		return errors.New("shared strings over 4 GiB")
	}
	s.ends = append(s.ends, uint32(s.n))
	return nil
}

func (s *sharedStrings) loaded() error {
	if s.w != nil {
		return s.w.Flush()
	}
	s.all, s.mem = string(s.mem), nil
	return nil
}

// appendTo appends string i to dst.
func (s *sharedStrings) appendTo(dst []byte, i int) ([]byte, bool) {
	if s == nil || i < 0 || i >= len(s.ends) {
		return dst, false
	}
	var start uint32
	if i > 0 {
		start = s.ends[i-1]
	}
	end := s.ends[i]
	if s.file == nil {
		return append(dst, s.all[start:end]...), true
	}
	n := len(dst)
	dst = slices.Grow(dst, int(end-start))[:n+int(end-start)]
	if _, err := s.file.ReadAt(dst[n:], int64(start)); err != nil {
		return dst[:n], false
	}
	return dst, true
}

func (s *sharedStrings) close() {
	if s != nil && s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
}

// readSharedStrings loads the shared strings: the text of each <si>,
// rich-text runs joined, phonetic guides (<rPh>) left out.
func readSharedStrings(zf *zip.File) (*sharedStrings, error) {
	s := &sharedStrings{}
	if zf == nil {
		return s, nil
	}
	if zf.UncompressedSize64 > sstSpill {
		f, err := os.CreateTemp("", "gongjiang-sst-")
		if err != nil {
			return nil, apperr.Internalf("transfer: shared strings: %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	rc, err := zf.Open()
	if err != nil {
		s.close()
		return nil, corrupt(xlsxName, err)
	}
	defer rc.Close()
	sc := newXMLScanner(rc)
	var (
		b, u               []byte
		inSI, inT, inPhone bool
	)
	for {
		err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.close()
			return nil, corrupt(xlsxName, fmt.Errorf("shared strings: %w", err))
		}
		switch sc.kind {
		case tokStart:
			switch string(sc.name) {
			case "si":
				inSI = true
				b = b[:0]
			case "t":
				inT = inSI && !inPhone
			case "rPh":
				inPhone = true
			}
		case tokEnd:
			switch string(sc.name) {
			case "si":
				inSI = false
				if len(s.ends) >= maxSharedStrings {
					s.close()
					return nil, apperr.E(apperr.TooLarge, "file", "transfer.read.too_many_strings", maxSharedStrings)
				}
				u = appendUnescapeOOXML(u[:0], b)
				if err := s.add(u); err != nil {
					s.close()
					return nil, corrupt(xlsxName, err)
				}
			case "t":
				inT = false
			case "rPh":
				inPhone = false
			}
		case tokText:
			if inT {
				if len(b)+len(sc.text) > maxXMLText {
					s.close()
					return nil, corrupt(xlsxName, errXMLTooLong)
				}
				b = append(b, sc.text...)
			}
		}
	}
	if err := s.loaded(); err != nil {
		s.close()
		return nil, apperr.Internalf("transfer: shared strings: %w", err)
	}
	return s, nil
}

// appendUnescapeOOXML appends src to dst decoding the _xHHHH_ escapes
// Excel writes for control characters in strings (_x000D_ is a carriage
// return; _x005F_ an underscore that would otherwise start an escape).
func appendUnescapeOOXML(dst, src []byte) []byte {
	if bytes.Index(src, []byte("_x")) < 0 {
		return append(dst, src...)
	}
	for i := 0; i < len(src); {
		if i+7 <= len(src) && src[i] == '_' && src[i+1] == 'x' && src[i+6] == '_' {
			if v, err := strconv.ParseUint(string(src[i+2:i+6]), 16, 16); err == nil {
				dst = utf8.AppendRune(dst, rune(v))
				i += 7
				continue
			}
		}
		dst = append(dst, src[i])
		i++
	}
	return dst
}

func (x *xlsxSource) close() error {
	x.sst.close()
	if x.rc != nil {
		x.rc.Close()
	}
	return x.f.Close()
}

func (x *xlsxSource) next() (rawRow, error) {
	if x.done {
		return rawRow{}, io.EOF
	}
	for {
		err := x.sc.next()
		if err == io.EOF {
			x.done = true
			return rawRow{}, io.EOF
		}
		if err != nil {
			return rawRow{}, corrupt(xlsxName, err)
		}
		switch {
		case x.sc.kind == tokStart && string(x.sc.name) == "row":
			return x.readRow()
		case x.sc.kind == tokEnd && string(x.sc.name) == "sheetData":
			x.done = true
			return rawRow{}, io.EOF
		}
	}
}

func (x *xlsxSource) readRow() (rawRow, error) {
	line := x.row + 1
	if v := x.sc.attr("r"); v != nil {
		n, ok := parseUint(v)
		if !ok {
			return rawRow{}, corrupt(xlsxName, fmt.Errorf("row number %q", v))
		}
		line = n
	}
	if line < 1 || line > maxSheetRows {
		return rawRow{}, corrupt(xlsxName, fmt.Errorf("row number %d", line))
	}
	x.row = line
	// The row's values are appended to x.buf and become one string, sliced
	// into cells: one allocation per row rather than one per cell.
	x.buf, x.spans = x.buf[:0], x.spans[:0]
	col, width, bad := -1, 0, -1
	for {
		if err := x.sc.next(); err != nil {
			return rawRow{}, corrupt(xlsxName, fmt.Errorf("row %d: %w", line, unexpected(err)))
		}
		switch x.sc.kind {
		case tokStart:
			if string(x.sc.name) != "c" {
				if err := x.sc.skip(); err != nil {
					return rawRow{}, corrupt(xlsxName, err)
				}
				continue
			}
			if c := columnIndex(x.sc.attr("r")); c >= 0 {
				col = c
			} else {
				col++
			}
			if col >= maxColumns {
				return rawRow{}, apperr.E(apperr.Invalid, "file", "transfer.read.too_many_columns", line, maxColumns)
			}
			start := len(x.buf)
			lost, err := x.readCell()
			if err != nil {
				return rawRow{}, err
			}
			if len(x.buf) == start {
				continue
			}
			x.spans = append(x.spans, cellSpan{col, start, len(x.buf)})
			width = max(width, col+1)
			if lost && bad < 0 {
				bad = col
			}
		case tokEnd:
			if string(x.sc.name) != "row" {
				continue
			}
			r := rawRow{line: line, cells: make([]string, width)}
			all := string(x.buf)
			for _, sp := range x.spans {
				r.cells[sp.col] = all[sp.start:sp.end]
			}
			if bad >= 0 {
				r.bad = &cellProblem{col: bad, value: r.cells[bad]}
			}
			return r, nil
		}
	}
}

type cellSpan struct{ col, start, end int }

// readCell reads a <c> element whose start tag was just read, appending
// what the user sees to x.buf: its value (<v>), or its inline string
// (<is>); a formula (<f>) is passed over, its cached result is in <v>.
// lost: a number that has lost digits.
func (x *xlsxSource) readCell() (lost bool, err error) {
	typ := cellNumber
	switch string(x.sc.attr("t")) {
	case "s":
		typ = cellShared
	case "inlineStr":
		typ = cellInline
	case "str":
		typ = cellFormulaString
	case "b":
		typ = cellBool
	case "e":
		typ = cellError
	case "d":
		typ = cellDate
	}
	style := -1
	if v := x.sc.attr("s"); v != nil {
		if n, ok := parseUint(v); ok {
			style = n
		}
	}
	x.v, x.inl = x.v[:0], x.inl[:0]
	const (
		inNone = iota
		inV
		inT
	)
	in, hasInline, inPhone, depth := inNone, false, false, 0
	for done := false; !done; {
		if err := x.sc.next(); err != nil {
			return false, corrupt(xlsxName, unexpected(err))
		}
		switch x.sc.kind {
		case tokStart:
			depth++
			switch string(x.sc.name) {
			case "v":
				if depth == 1 {
					in = inV
				}
			case "is":
				hasInline = true
			case "t":
				if hasInline && !inPhone {
					in = inT
				}
			case "rPh":
				inPhone = true
			}
		case tokEnd:
			if depth == 0 {
				done = true
				break
			}
			depth--
			switch string(x.sc.name) {
			case "v", "t":
				in = inNone
			case "rPh":
				inPhone = false
			}
		case tokText:
			switch in {
			case inV:
				x.v = append(x.v, x.sc.text...)
			case inT:
				x.inl = append(x.inl, x.sc.text...)
			}
			if len(x.v)+len(x.inl) > maxXMLText {
				return false, corrupt(xlsxName, errXMLTooLong)
			}
		}
	}
	switch typ {
	case cellShared:
		if len(bytes.TrimSpace(x.v)) == 0 {
			return false, nil
		}
		i, ok := parseUint(bytes.TrimSpace(x.v))
		if ok {
			x.buf, ok = x.sst.appendTo(x.buf, i)
		}
		if !ok {
			return false, corrupt(xlsxName, fmt.Errorf("shared string %q", x.v))
		}
		return false, nil
	case cellInline:
		if hasInline {
			x.buf = appendUnescapeOOXML(x.buf, x.inl)
		} else {
			x.buf = appendUnescapeOOXML(x.buf, x.v)
		}
		return false, nil
	case cellFormulaString:
		x.buf = appendUnescapeOOXML(x.buf, x.v)
		return false, nil
	case cellBool:
		switch string(bytes.TrimSpace(x.v)) {
		case "1", "true":
			x.buf = append(x.buf, "TRUE"...)
		case "":
		default:
			x.buf = append(x.buf, "FALSE"...)
		}
		return false, nil
	case cellError:
		x.buf = append(x.buf, x.v...)
		return false, nil
	case cellDate:
		x.buf = append(x.buf, isoDate(string(bytes.TrimSpace(x.v)))...)
		return false, nil
	}
	v := bytes.TrimSpace(x.v)
	if len(v) == 0 {
		return false, nil // a formula never calculated (openpyxl writes no results)
	}
	f, ok := parseNumber(v)
	if !ok {
		x.buf = append(x.buf, v...)
		return false, nil
	}
	var nf numFormat
	if style >= 0 && style < len(x.formats) {
		nf = x.formats[style]
	}
	x.buf, lost = appendNumber(x.buf, f, nf, x.date1904)
	return lost, nil
}

const (
	cellNumber = iota
	cellShared
	cellInline
	cellFormulaString
	cellBool
	cellError
	cellDate
)

// parseUint reads a small decimal number without allocating.
func parseUint(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseNumber reads a cell's number: whole numbers of up to 15 digits
// (most cells: counts, codes, serial dates) directly, others with
// strconv.
func parseNumber(b []byte) (float64, bool) {
	if len(b) <= 15 {
		neg := b[0] == '-'
		digits := b
		if neg {
			digits = b[1:]
		}
		n, ok := int64(0), len(digits) > 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok {
			if neg {
				n = -n
			}
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// columnIndex reads the column of a cell reference ("AB12" → 27); -1 when
// there is none.
func columnIndex(ref []byte) int {
	col := 0
	i := 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		if col > maxColumns {
			return maxColumns
		}
	}
	if i == 0 {
		return -1
	}
	return col - 1
}
