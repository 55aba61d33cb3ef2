package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Reading .xls: the Workbook stream of an OLE2 compound file (read with
// richardlehane/mscfb, Apache-2.0, which excelize already uses), parsed as
// BIFF8 here. github.com/extrame/xls, the library first chosen, was tried
// on LibreOffice's .xls and refused: its only release (v0.0.1, 2017; the
// module proxy has nothing newer) shows the whole number 3701001 with a
// General style as "2095-07-28T07:12:26Z", drops formula and boolean cells,
// shows built-in dates as "2006.01" (the day lost), exposes no cell types
// or formats to correct this, prints to stdout and dereferences nil on
// rows without cells. The part of BIFF8 a cell reader needs is small: the
// shared strings (with their CONTINUE records), number formats and cell
// styles, the sheet list, and the cell records.
//
// A BIFF8 sheet has at most 65,536 rows and 256 columns, so the first
// worksheet is read into memory whole (at most maxXLSCells cells) and
// returned in row order.

const (
	xlsName     = "Excel 97-2003 工作簿（.xls）"
	maxXLSCells = 1 << 22
)

type xlsSource struct {
	f    *os.File
	rows []rawRow
	i    int
}

func (x *xlsSource) next() (rawRow, error) {
	if x.i >= len(x.rows) {
		return rawRow{}, io.EOF
	}
	r := x.rows[x.i]
	x.rows[x.i] = rawRow{}
	x.i++
	return r, nil
}

func (x *xlsSource) close() error { return x.f.Close() }

func openXLS(f *os.File, size int64) (src source, err error) {
	defer func() {
		if p := recover(); p != nil {
			src, err = nil, corrupt(xlsName, fmt.Errorf("panic: %v", p))
		}
	}()
	doc, err := mscfb.New(f)
	if err != nil {
		return nil, corrupt(xlsName, err)
	}
	var book *mscfb.File
	kind := "OLE 复合文档"
	for _, e := range doc.File {
		switch {
		case strings.EqualFold(e.Name, "Workbook"):
			book = e
		case strings.EqualFold(e.Name, "EncryptedPackage"), strings.EqualFold(e.Name, "EncryptionInfo"):
			return nil, encrypted() // an .xlsx with a password is an OLE2 file
		case strings.EqualFold(e.Name, "Book"):
			kind = "Excel 5.0/95 工作簿（版本太旧）"
		case strings.EqualFold(e.Name, "WordDocument"):
			kind = "Word 97-2003 文档（.doc）"
		case strings.EqualFold(e.Name, "PowerPoint Document"):
			kind = "PowerPoint 97-2003 演示文稿（.ppt）"
		}
	}
	if book == nil {
		return nil, unsupported(kind)
	}
	if book.Size <= 0 || book.Size > size {
		return nil, corrupt(xlsName, fmt.Errorf("workbook stream of %d bytes", book.Size))
	}
	data := make([]byte, book.Size)
	if _, err := io.ReadFull(book, data); err != nil {
		return nil, corrupt(xlsName, err)
	}
	rows, err := parseBIFF8(data)
	if err != nil {
		return nil, err
	}
	return &xlsSource{f: f, rows: rows}, nil
}

// BIFF8 record types.
const (
	recBOF        = 0x0809
	recEOF        = 0x000A
	recFilePass   = 0x002F
	recDateMode   = 0x0022
	recFormat     = 0x041E
	recXF         = 0x00E0
	recSST        = 0x00FC
	recContinue   = 0x003C
	recBoundSheet = 0x0085
	recNumber     = 0x0203
	recRK         = 0x027E
	recMulRK      = 0x00BD
	recLabelSST   = 0x00FD
	recLabel      = 0x0204
	recRString    = 0x00D6
	recBoolErr    = 0x0205
	recFormula    = 0x0006
	recString     = 0x0207
)

var errShortRecord = errors.New("record too short")

type biff struct {
	b        []byte
	sst      []string
	xfs      []uint16 // number format id by cell style
	formats  map[uint16]numFormat
	date1904 bool
}

// record reads the record at pos.
func (p *biff) record(pos int) (id uint16, data []byte, next int, ok bool) {
	if pos < 0 || pos+4 > len(p.b) {
		return 0, nil, 0, false
	}
	id = binary.LittleEndian.Uint16(p.b[pos:])
	n := int(binary.LittleEndian.Uint16(p.b[pos+2:]))
	if pos+4+n > len(p.b) {
		return 0, nil, 0, false
	}
	return id, p.b[pos+4 : pos+4+n], pos + 4 + n, true
}

// continued returns data followed by the CONTINUE records after pos.
func (p *biff) continued(data []byte, pos int) ([][]byte, int) {
	segs := [][]byte{data}
	for {
		id, d, next, ok := p.record(pos)
		if !ok || id != recContinue {
			return segs, pos
		}
		segs = append(segs, d)
		pos = next
	}
}

type xlsSheet struct {
	pos     int
	visible bool
}

func parseBIFF8(b []byte) ([]rawRow, error) {
	p := &biff{b: b, formats: map[uint16]numFormat{}}
	id, data, pos, ok := p.record(0)
	if !ok || id != recBOF || len(data) < 4 {
		if ok && (id == 0x0009 || id == 0x0209 || id == 0x0409) {
			return nil, unsupported("Excel 4.0 或更早的工作簿（版本太旧）")
		}
		return nil, corrupt(xlsName, errors.New("no BOF record"))
	}
	if v := binary.LittleEndian.Uint16(data); v != 0x0600 {
		return nil, unsupported("Excel 5.0/95 工作簿（版本太旧）")
	}
	var sheets []xlsSheet
globals:
	for {
		id, data, next, ok := p.record(pos)
		if !ok {
			return nil, corrupt(xlsName, errors.New("workbook globals truncated"))
		}
		pos = next
		switch id {
		case recEOF:
			break globals
		case recFilePass:
			return nil, encrypted()
		case recDateMode:
			p.date1904 = len(data) >= 2 && binary.LittleEndian.Uint16(data) == 1
		case recFormat:
			if len(data) < 2 {
				continue
			}
			r := &biffReader{segs: [][]byte{data[2:]}}
			if s, err := r.xlString(); err == nil {
				p.formats[binary.LittleEndian.Uint16(data)] = classifyFormat(s)
			}
		case recXF:
			if len(data) >= 4 {
				p.xfs = append(p.xfs, binary.LittleEndian.Uint16(data[2:]))
			}
		case recSST:
			var segs [][]byte
			segs, pos = p.continued(data, pos)
			p.sst = readSST(segs)
		case recBoundSheet:
			if len(data) >= 6 && data[5] == 0 { // a worksheet, not a chart or macro sheet
				sheets = append(sheets, xlsSheet{pos: int(binary.LittleEndian.Uint32(data)), visible: data[4]&3 == 0})
			}
		}
	}
	if len(sheets) == 0 {
		return nil, apperr.E(apperr.Invalid, "file", "transfer.read.no_sheet")
	}
	sheet := sheets[0]
	if i := slices.IndexFunc(sheets, func(s xlsSheet) bool { return s.visible }); i >= 0 {
		sheet = sheets[i]
	}
	return p.readSheet(sheet.pos)
}

// readSST reads the shared string table; a table cut short keeps the
// strings read so far (a cell pointing past them is refused).
func readSST(segs [][]byte) []string {
	r := &biffReader{segs: segs}
	if r.skip(4) != nil {
		return nil
	}
	unique, err := r.u32()
	if err != nil {
		return nil
	}
	size := 0
	for _, s := range segs {
		size += len(s)
	}
	out := make([]string, 0, min(int(unique), size/3))
	for range unique {
		s, err := r.richString()
		if err != nil {
			break
		}
		out = append(out, s)
	}
	return out
}

func (p *biff) format(xf uint16) numFormat {
	if int(xf) >= len(p.xfs) {
		return numFormat{}
	}
	id := p.xfs[xf]
	if f, ok := p.formats[id]; ok {
		return f
	}
	return builtinFormat(int(id))
}

var biffErrors = map[byte]string{0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A"}

func (p *biff) readSheet(pos int) ([]rawRow, error) {
	id, _, pos, ok := p.record(pos)
	if !ok || id != recBOF {
		return nil, corrupt(xlsName, errors.New("sheet has no BOF record"))
	}
	rows := map[int]*rawRow{}
	cells := 0
	set := func(row, col int, v string, bad bool) error {
		if v == "" {
			return nil
		}
		if col >= 256 {
			return corrupt(xlsName, fmt.Errorf("column %d", col))
		}
		if cells++; cells > maxXLSCells {
			return apperr.E(apperr.TooLarge, "file", "transfer.read.too_many_cells", maxXLSCells)
		}
		r := rows[row]
		if r == nil {
			r = &rawRow{line: row + 1}
			rows[row] = r
		}
		for len(r.cells) <= col {
			r.cells = append(r.cells, "")
		}
		r.cells[col] = v
		if bad && r.bad == nil {
			r.bad = &cellProblem{col: col, value: v}
		}
		return nil
	}
	number := func(row, col int, xf uint16, v float64) error {
		s, bad := formatNumber(v, p.format(xf), p.date1904)
		return set(row, col, s, bad)
	}
	pending := -1 // row<<16 | col of a formula whose string result follows
	for depth := 1; depth > 0; {
		id, data, next, ok := p.record(pos)
		if !ok {
			return nil, corrupt(xlsName, errors.New("sheet truncated"))
		}
		pos = next
		switch id {
		case recBOF:
			depth++ // a chart embedded in the sheet
			continue
		case recEOF:
			depth--
			continue
		}
		if depth != 1 {
			continue
		}
		if len(data) < 6 && id != recString {
			continue
		}
		var row, col int
		var xf uint16
		if id != recString {
			row, col, xf = int(binary.LittleEndian.Uint16(data)), int(binary.LittleEndian.Uint16(data[2:])), binary.LittleEndian.Uint16(data[4:])
		}
		var err error
		switch id {
		case recNumber:
			if len(data) >= 14 {
				err = number(row, col, xf, math.Float64frombits(binary.LittleEndian.Uint64(data[6:])))
			}
		case recRK:
			if len(data) >= 10 {
				err = number(row, col, xf, rkNumber(binary.LittleEndian.Uint32(data[6:])))
			}
		case recMulRK:
			for i := range (len(data) - 6) / 6 {
				off := 4 + 6*i
				if err = number(row, col+i, binary.LittleEndian.Uint16(data[off:]), rkNumber(binary.LittleEndian.Uint32(data[off+2:]))); err != nil {
					break
				}
			}
		case recLabelSST:
			if len(data) >= 10 {
				i := int(binary.LittleEndian.Uint32(data[6:]))
				if i >= len(p.sst) {
					return nil, corrupt(xlsName, fmt.Errorf("shared string %d of %d", i, len(p.sst)))
				}
				err = set(row, col, p.sst[i], false)
			}
		case recLabel, recRString:
			segs, _ := p.continued(data[6:], pos)
			s, e := (&biffReader{segs: segs}).xlString()
			if e != nil {
				return nil, corrupt(xlsName, e)
			}
			err = set(row, col, s, false)
		case recBoolErr:
			if len(data) >= 8 {
				switch {
				case data[7] != 0:
					err = set(row, col, biffErrors[data[6]], false)
				case data[6] != 0:
					err = set(row, col, "TRUE", false)
				default:
					err = set(row, col, "FALSE", false)
				}
			}
		case recFormula:
			pending = -1
			if len(data) < 14 {
				continue
			}
			v := data[6:14]
			if v[6] != 0xFF || v[7] != 0xFF {
				err = number(row, col, xf, math.Float64frombits(binary.LittleEndian.Uint64(v)))
				break
			}
			switch v[0] {
			case 0: // a string, in the STRING record that follows
				pending = row<<16 | col
			case 1:
				err = set(row, col, map[bool]string{true: "TRUE", false: "FALSE"}[v[2] != 0], false)
			case 2:
				err = set(row, col, biffErrors[v[2]], false)
			}
		case recString:
			if pending < 0 {
				continue
			}
			segs, _ := p.continued(data, pos)
			s, e := (&biffReader{segs: segs}).xlString()
			if e != nil {
				return nil, corrupt(xlsName, e)
			}
			err = set(pending>>16, pending&0xFFFF, s, false)
			pending = -1
		}
		if err != nil {
			return nil, err
		}
	}
	keys := make([]int, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]rawRow, len(keys))
	for i, k := range keys {
		out[i] = *rows[k]
	}
	return out, nil
}

// rkNumber decodes an RK value: a 30-bit integer or the top 30 bits of a
// double, optionally divided by 100.
func rkNumber(rk uint32) float64 {
	var v float64
	if rk&2 != 0 {
		v = float64(int32(rk) >> 2)
	} else {
		v = math.Float64frombits(uint64(rk&^3) << 32)
	}
	if rk&1 != 0 {
		v /= 100
	}
	return v
}

// biffReader reads across a record and its CONTINUE records. A string's
// characters may be split between two records; the continuation then
// starts with a byte saying whether they are 8- or 16-bit.
type biffReader struct {
	segs   [][]byte
	i, off int
}

func (r *biffReader) advance() bool {
	for r.i < len(r.segs) && r.off >= len(r.segs[r.i]) {
		r.i++
		r.off = 0
	}
	return r.i < len(r.segs)
}

func (r *biffReader) byte() (byte, error) {
	if !r.advance() {
		return 0, errShortRecord
	}
	b := r.segs[r.i][r.off]
	r.off++
	return b, nil
}

func (r *biffReader) u16() (uint16, error) {
	lo, err := r.byte()
	if err != nil {
		return 0, err
	}
	hi, err := r.byte()
	return uint16(lo) | uint16(hi)<<8, err
}

func (r *biffReader) u32() (uint32, error) {
	lo, err := r.u16()
	if err != nil {
		return 0, err
	}
	hi, err := r.u16()
	return uint32(lo) | uint32(hi)<<16, err
}

func (r *biffReader) skip(n int) error {
	for n > 0 {
		if !r.advance() {
			return errShortRecord
		}
		k := min(n, len(r.segs[r.i])-r.off)
		r.off += k
		n -= k
	}
	return nil
}

// xlString reads an XLUnicodeString: a 16-bit length, flags, characters.
func (r *biffReader) xlString() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	flags, err := r.byte()
	if err != nil {
		return "", err
	}
	return r.chars(int(n), flags)
}

// richString reads an XLUnicodeRichExtendedString, the shared-string
// table's entries: length, flags, optional run and extension sizes,
// characters, then the runs and extension, skipped.
func (r *biffReader) richString() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	flags, err := r.byte()
	if err != nil {
		return "", err
	}
	var runs uint16
	var ext uint32
	if flags&0x08 != 0 {
		if runs, err = r.u16(); err != nil {
			return "", err
		}
	}
	if flags&0x04 != 0 {
		if ext, err = r.u32(); err != nil {
			return "", err
		}
	}
	s, err := r.chars(int(n), flags)
	if err != nil {
		return "", err
	}
	r.skip(4*int(runs) + int(ext)) // past the end only after the last string
	return s, nil
}

func (r *biffReader) chars(n int, flags byte) (string, error) {
	wide := flags&1 != 0
	u := make([]uint16, 0, n)
	for len(u) < n {
		if r.i >= len(r.segs) {
			return "", errShortRecord
		}
		if r.off >= len(r.segs[r.i]) {
			r.i++
			if r.i >= len(r.segs) || len(r.segs[r.i]) == 0 {
				return "", errShortRecord
			}
			wide = r.segs[r.i][0]&1 != 0
			r.off = 1
			continue
		}
		seg := r.segs[r.i]
		if wide {
			if r.off+2 > len(seg) {
				return "", errShortRecord
			}
			u = append(u, binary.LittleEndian.Uint16(seg[r.off:]))
			r.off += 2
		} else {
			u = append(u, uint16(seg[r.off]))
			r.off++
		}
	}
	return string(utf16.Decode(u)), nil
}
