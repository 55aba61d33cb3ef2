package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Reading CSV: detect the encoding from the first 64 KiB (a UTF-8 BOM, or
// valid UTF-8, else GB18030, the superset of GBK and GB2312 that Excel and
// WPS save on Chinese Windows), decode as a stream, and let encoding/csv
// split records (lazy quotes, any number of fields, CRLF; a file whose
// lines end in a bare CR, as old Mac programs write, is read with CR as
// the line end). The delimiter is a comma unless the first line has more
// tabs or semicolons, or is Excel's "sep=;". Memory: one record, at most
// maxRecordBytes.

const (
	sniffSize      = 64 << 10
	maxRecordBytes = 4 << 20
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

type csvSource struct {
	f     *os.File
	r     *csv.Reader
	guard *recordGuard
	gb    bool // decoded from GB18030: U+FFFD stands for bytes that are not GB18030
	line  int  // where the next record starts, roughly (for errors between records)
}

func openCSV(f *os.File, size int64, opt Options) (source, error) {
	head := make([]byte, min(size, sniffSize))
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, apperr.Internalf("transfer: read: %w", err)
	}
	head = head[:n]
	if kind := binaryKind(head); kind != "" {
		return nil, unsupported(kind)
	}
	enc, skip := opt.Encoding, 0
	if bytes.HasPrefix(head, utf8BOM) {
		skip = len(utf8BOM)
		if enc == "" {
			enc = "utf-8"
		}
	}
	if enc == "" {
		enc = "gb18030"
		if looksUTF8(head[skip:], int64(n) == size) {
			enc = "utf-8"
		}
	}
	if _, err := f.Seek(int64(skip), io.SeekStart); err != nil {
		return nil, apperr.Internalf("transfer: seek: %w", err)
	}
	var r io.Reader = bufio.NewReaderSize(&sizeGuard{r: f, left: opt.MaxBytes - int64(skip), max: opt.MaxBytes}, 64<<10)
	if enc == "gb18030" {
		r = transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder())
	}
	body := head[skip:]
	if bytes.IndexByte(body, '\n') < 0 && bytes.IndexByte(body, '\r') >= 0 {
		r = crReader{r}
	}
	g := &recordGuard{r: r}
	c := csv.NewReader(g)
	c.Comma = delimiter(body)
	c.LazyQuotes = true
	c.FieldsPerRecord = -1
	s := &csvSource{f: f, r: c, guard: g, gb: enc == "gb18030", line: 1}
	if sep, ok := sepLine(body); ok {
		// Excel's "sep=;" line names the delimiter and is not data.
		c.Comma = sep
		if _, err := s.next(); err != nil && err != io.EOF {
			return nil, err
		}
	}
	return s, nil
}

func (s *csvSource) next() (rawRow, error) {
	s.guard.n = 0
	rec, err := s.r.Read()
	if err == io.EOF {
		return rawRow{}, io.EOF
	}
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			if ae.Key == "transfer.read.line_too_long" {
				ae.Args = []any{s.line, humanBytes(maxRecordBytes)}
			}
			return rawRow{}, ae
		}
		line := s.line
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		}
		e := apperr.E(apperr.Invalid, "file", "transfer.read.csv_syntax", line)
		e.Err = err
		return rawRow{}, e
	}
	line, _ := s.r.FieldPos(0)
	end, _ := s.r.FieldPos(len(rec) - 1)
	s.line = end + 1
	r := rawRow{line: line, cells: rec}
	if s.gb {
		for _, c := range rec {
			if strings.ContainsRune(c, utf8.RuneError) {
				r.err = apperr.E(apperr.Invalid, "file", "transfer.read.unknown_encoding", line)
			}
		}
	}
	return r, nil
}

func (s *csvSource) close() error { return s.f.Close() }

// looksUTF8: b is UTF-8, allowing a character cut at the end when b is
// only the start of the file, and a few invalid bytes among many valid
// multi-byte characters (a damaged UTF-8 file, refused later at the line
// that is wrong, rather than decoded as GB18030 into nonsense). GBK text
// forms a valid UTF-8 sequence only now and then.
func looksUTF8(b []byte, whole bool) bool {
	if !whole {
		i := len(b) - 1
		for i > 0 && len(b)-i < utf8.UTFMax && b[i]&0xC0 == 0x80 {
			i--
		}
		if i >= 0 && !utf8.FullRune(b[i:]) {
			b = b[:i]
		}
	}
	if utf8.Valid(b) {
		return true
	}
	multi, bad := 0, 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			bad++
		case n > 1:
			multi++
		}
		b = b[n:]
	}
	return bad*10 < multi
}

// delimiter picks the separator from the first line: a comma, unless tabs
// (Excel's "text (tab delimited)") or semicolons are more frequent.
func delimiter(b []byte) rune {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	comma, tab, semi := bytes.Count(b, []byte(",")), bytes.Count(b, []byte("\t")), bytes.Count(b, []byte(";"))
	switch {
	case tab > comma && tab >= semi:
		return '\t'
	case semi > comma && semi > tab:
		return ';'
	}
	return ','
}

// sepLine recognises Excel's first line "sep=X".
func sepLine(b []byte) (rune, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 5 && bytes.HasPrefix(bytes.ToLower(line), []byte("sep=")) && line[4] != '"' {
		return rune(line[4]), true
	}
	return 0, false
}

// binaryKind says what a file that is not text looks like ("" for text).
func binaryKind(head []byte) string {
	magic := []struct{ prefix, kind string }{
		{"%PDF", "PDF 文档"},
		{"\x89PNG", "PNG 图片"},
		{"\xFF\xD8\xFF", "JPEG 图片"},
		{"GIF8", "GIF 图片"},
		{"\x1F\x8B", "gzip 压缩包"},
		{"Rar!", "RAR 压缩包"},
		{"7z\xBC\xAF\x27\x1C", "7z 压缩包"},
		{"{\\rtf", "RTF 文档"},
		{"\xFF\xFE", "UTF-16 编码的文本（Excel 的“Unicode 文本”）"},
		{"\xFE\xFF", "UTF-16 编码的文本"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.kind
		}
	}
	text := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM)))
	if bytes.HasPrefix(text, []byte("<")) {
		start := text[:min(len(text), 2048)]
		switch {
		case bytes.Contains(start, []byte("urn:schemas-microsoft-com:office:spreadsheet")):
			return "Excel 2003 XML 表格"
		case bytes.Contains(start, []byte("<html")) || bytes.Contains(start, []byte("<table")):
			return "网页（HTML），有些系统导出的“.xls”其实是网页"
		case bytes.HasPrefix(text, []byte("<?xml")):
			return "XML 文件"
		}
	}
	control := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B || c == 0x7F {
			control++
		}
	}
	if control > 0 && control*100 > len(head) {
		return "二进制文件"
	}
	return ""
}

// sizeGuard fails once more than max bytes are read (the file grew after
// its size was checked).
type sizeGuard struct {
	r         io.Reader
	left, max int64
}

func (g *sizeGuard) Read(p []byte) (int, error) {
	if g.left < 0 {
		return 0, apperr.E(apperr.TooLarge, "file", "transfer.read.too_large_stream", humanBytes(g.max))
	}
	if int64(len(p)) > g.left+1 {
		p = p[:g.left+1]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	if g.left < 0 {
		return 0, apperr.E(apperr.TooLarge, "file", "transfer.read.too_large_stream", humanBytes(g.max))
	}
	return n, err
}

// recordGuard fails when one record grows past maxRecordBytes (a file
// without line ends, or an unclosed quote swallowing the rest of the file):
// encoding/csv would hold it whole. The source resets n before each record.
type recordGuard struct {
	r io.Reader
	n int
}

func (g *recordGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += n
	if g.n > maxRecordBytes {
		return 0, apperr.E(apperr.Invalid, "file", "transfer.read.line_too_long", 0, "")
	}
	return n, err
}

// crReader turns bare carriage returns into line feeds.
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := range p[:n] {
		if p[i] == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}
