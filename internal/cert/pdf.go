package cert

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/signintech/gopdf"
	"github.com/skip2/go-qrcode"
)

// The certificate font: WenQuanYi Micro Hei, see fonts/README.md. It is
// embedded so a PDF looks the same on every server, whatever fonts the
// host has.
//
//go:embed fonts/wqy-microhei.ttc
var fontTTC []byte

// fontFamily is the font's name inside the PDF (no spaces: it becomes a
// PDF name).
const fontFamily = "WenQuanYiMicroHei"

// certFont is face 0 of the collection as a standalone TrueType font, and
// a parsed copy of it to look glyphs up before anything is drawn.
type certFont struct {
	ttf    []byte
	glyphs *gopdf.SubsetFontObj
}

var loadFont = sync.OnceValues(func() (*certFont, error) {
	ttf, err := ttcFace(fontTTC, 0)
	if err != nil {
		return nil, err
	}
	g := new(gopdf.SubsetFontObj)
	if err := g.SetTTFData(ttf); err != nil {
		return nil, fmt.Errorf("cert: font: %w", err)
	}
	return &certFont{ttf: ttf, glyphs: g}, nil
})

// missing lists the runes of s the font cannot draw. gopdf would print a
// space or an empty box for them; on a certificate a name with a character
// silently dropped is worse than no PDF.
func (f *certFont) missing(s string) []rune {
	var out []rune
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		if g, err := f.glyphs.CharCodeToGlyphIndex(r); err != nil || g == 0 {
			out = append(out, r)
		}
	}
	return out
}

// ttcFace copies one face of a TrueType Collection into a standalone
// font, which is all gopdf reads. A collection's faces share tables and
// find them by offsets from the start of the file; the copy gets its own
// table directory, each table at a 4-byte aligned offset into the copy.
// Table checksums stay as they were: they cover the table's bytes, which
// do not change. head.checkSumAdjustment (whole file) is left stale:
// nothing on the way to a PDF viewer checks it.
func ttcFace(ttc []byte, index int) ([]byte, error) {
	be := binary.BigEndian
	bad := func(what string) error { return fmt.Errorf("cert: font: not a usable TrueType collection: %s", what) }
	if len(ttc) < 12 || string(ttc[:4]) != "ttcf" {
		return nil, bad("no ttcf header")
	}
	n := uint64(be.Uint32(ttc[8:]))
	if index < 0 || uint64(index) >= n || 12+4*n > uint64(len(ttc)) {
		return nil, bad(fmt.Sprintf("no face %d", index))
	}
	off := uint64(be.Uint32(ttc[12+4*index:]))
	if off+12 > uint64(len(ttc)) {
		return nil, bad("face offset out of range")
	}
	face := ttc[off:]
	numTables := int(be.Uint16(face[4:]))
	dirLen := 12 + 16*numTables
	if len(face) < dirLen {
		return nil, bad("table directory truncated")
	}
	size := uint64(dirLen)
	for i := range numTables {
		rec := face[12+16*i:]
		tOff, tLen := uint64(be.Uint32(rec[8:])), uint64(be.Uint32(rec[12:]))
		if tOff+tLen > uint64(len(ttc)) {
			return nil, bad(fmt.Sprintf("table %q out of range", rec[:4]))
		}
		size += (tLen + 3) &^ 3
	}
	out := make([]byte, dirLen, size)
	copy(out, face[:12]) // sfnt version, table count and search fields carry over
	for i := range numTables {
		rec := face[12+16*i:]
		tOff, tLen := be.Uint32(rec[8:]), be.Uint32(rec[12:])
		dst := out[12+16*i:]
		copy(dst[:8], rec[:8]) // tag and checksum
		be.PutUint32(dst[8:], uint32(len(out)))
		be.PutUint32(dst[12:], tLen)
		out = append(out, ttc[tOff:tOff+tLen]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}

// QRPNG draws text as a QR code (error correction M, quiet zone included)
// in a PNG size pixels wide, for the HTML print view.
func QRPNG(text string, size int) ([]byte, error) {
	return qrcode.Encode(text, qrcode.Medium, size)
}

// Page geometry, in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 25.0 // text column, inside the border
	contentW     = pageW - 2*marginX
	qrSymbolMM   = 38.0 // QR symbol without its quiet zone
	qrQuiet      = 4    // modules, as ISO/IEC 18004 asks
	ptMM         = 25.4 / 72
	bottomMargin = 16.0 // the inner frame is at 13
)

type rgb struct{ r, g, b uint8 }

var (
	colBlack  = rgb{0, 0, 0}
	colLabel  = rgb{70, 70, 70}
	colGrey   = rgb{110, 110, 110}
	colRule   = rgb{190, 190, 190}
	colBorder = rgb{158, 28, 32} // the red of official seals and headers
	colStatus = rgb{200, 0, 0}
	colMark   = rgb{246, 196, 196}
)

// WritePDF renders a certificate as a one-page A4 PDF in Simplified
// Chinese, with a QR code holding verifyURL. A certificate that is not
// valid says so in red across the page, so its PDF cannot pass for a
// valid one.
func WritePDF(w io.Writer, c *Certificate, verifyURL string) error {
	font, err := loadFont()
	if err != nil {
		return err
	}
	qr, err := qrcode.New(verifyURL, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("cert: QR code: %w", err)
	}
	bits := qr.Bitmap() // with the quiet zone; it encodes anew on every call
	// Unusually long names push the page past its frame: set the text
	// smaller rather than spill onto a second page.
	for _, scale := range []float64{1, 0.88, 0.76} {
		pdf, bottom, err := render(font, bits, c, verifyURL, scale)
		if err != nil {
			return err
		}
		if bottom <= pageH-bottomMargin {
			if err := pdf.Write(w); err != nil {
				return fmt.Errorf("cert: write PDF: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("cert: %s: the certificate's text does not fit on one page", c.No)
}

// render lays the certificate out with the text sizes times scale and
// reports where its content ends.
func render(font *certFont, qr [][]bool, c *Certificate, verifyURL string, scale float64) (*gopdf.GoPdf, float64, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitMM})
	// No CreationDate: the same certificate renders to the same bytes.
	pdf.SetInfo(gopdf.PdfInfo{
		Title:    "毕业证书 " + c.No,
		Subject:  c.SchoolName + " " + c.HolderName,
		Creator:  "gongjiang",
		Producer: "gongjiang",
	})
	// gopdf embeds only the glyphs used (glyf and loca rebuilt).
	if err := pdf.AddTTFFontData(fontFamily, font.ttf); err != nil {
		return nil, 0, fmt.Errorf("cert: font: %w", err)
	}
	pdf.AddPage()
	p := &page{pdf: pdf, font: font, scale: scale}

	status := c.Status != StatusValid
	if status {
		p.watermark(watermarkWord(c.Status))
	}
	p.border()

	p.y = 32
	p.line(marginX, contentW, "毕业证书", 32, colBorder, alignCenter, 0.3)
	p.y += 4
	p.ornament(p.y)
	p.y += 8

	if status {
		p.para(marginX, contentW, statusLine(c), 13*scale, colStatus, alignCenter, 1.5)
		p.y += 3 * scale
	}

	p.para(marginX, contentW, fmt.Sprintf("　　%s于%s至%s在%s%s专业%s学习，修完教学计划规定的全部课程，成绩合格，准予毕业。",
		c.HolderName, chineseDate(c.EntryDate), chineseDate(c.GraduationDate), c.SchoolName, c.Major, c.ClassLevel), 14*scale, colBlack, alignLeft, 1.9)
	p.y += 6 * scale

	level := c.ClassLevel
	if eq := c.Equivalence(); eq != "" {
		level += "（按相当于" + eq + "学历落实有关政策）"
	}
	fields := [][2]string{
		{"姓名", c.HolderName},
		{"身份证件号", c.IDMasked},
		{"学校", c.SchoolName},
		{"专业", c.Major},
		{"培养层次", level},
		{"学习形式", c.StudyMode},
		{"入学日期", chineseDate(c.EntryDate)},
		{"毕业日期", chineseDate(c.GraduationDate)},
		{"证书编号", c.No},
	}
	if c.Replaces != "" {
		fields = append(fields, [2]string{"补发说明", "本证书为补发证书，原证书编号 " + c.Replaces + " 作废"})
	}
	for _, f := range fields {
		p.field(f[0], f[1])
	}

	// The issuing block on the left, the QR code on the right, both
	// starting on the same line, low on the page where the seals go.
	top := max(p.y+12*scale, 210)
	qrTotal := qrSymbolMM * float64(len(qr)) / float64(len(qr)-2*qrQuiet)
	qrX := marginX + contentW - qrTotal
	p.y = top + 4
	issueW := qrX - marginX - 6
	for _, f := range [][2]string{
		{"发证单位", c.SchoolName},
		{"验印机关", c.Authority()},
		{"发证日期", chineseDate(c.IssueDate)},
	} {
		if f[1] != "" {
			p.para(marginX, issueW, f[0]+"："+f[1], 12*scale, colBlack, alignLeft, 1.8)
			p.y += 1.5 * scale
		}
	}
	p.qr(qr, qrX, top, qrTotal)
	p.y = max(p.y, top+qrTotal) + 1
	p.para(marginX, contentW, verifyHint(verifyURL), 9, colGrey, alignRight, 1.4)
	return pdf, p.y, p.err
}

// watermarkWord is the short state name stamped across a certificate
// that is not valid.
func watermarkWord(status string) string {
	switch status {
	case StatusRevoked:
		return "已撤销"
	case StatusVoided:
		return "已作废"
	}
	return "无效"
}

func statusLine(c *Certificate) string {
	name := StatusName(c.Status)
	if name == c.Status { // a state StatusName does not know
		name = "无效"
	}
	s := "本证书" + name + "，不具有证明效力"
	if c.Reason != "" {
		s += "（原因：" + c.Reason + "）"
	}
	if c.ReplacedBy != "" {
		s += "；补发证书编号 " + c.ReplacedBy
	}
	return s + "。"
}

// verifyHint tells a reader without a camera where to check.
func verifyHint(verifyURL string) string {
	u, err := url.Parse(verifyURL)
	if err != nil || u.Host == "" {
		return "扫描二维码查验证书真伪"
	}
	return "扫描二维码或访问 " + u.Host + u.Path + " 查验证书真伪"
}

// chineseDate writes 2023-09-01 as 2023年9月1日; anything else as is.
func chineseDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

const (
	alignLeft = iota
	alignCenter
	alignRight
)

// page lays text out top to bottom: y is the top of the next line, in
// millimetres. The first error sticks and stops further drawing.
type page struct {
	pdf   *gopdf.GoPdf
	font  *certFont
	scale float64 // of the body text
	y     float64
	err   error
}

func (p *page) fail(err error) {
	if p.err == nil && err != nil {
		p.err = err
	}
}

func (p *page) use(size float64, col rgb) {
	p.fail(p.pdf.SetFont(fontFamily, "", size))
	p.pdf.SetTextColor(col.r, col.g, col.b)
}

func (p *page) width(s string) float64 {
	w, err := p.pdf.MeasureTextWidth(s)
	p.fail(err)
	return w
}

// draw puts s with its baseline at (x, baseline).
func (p *page) draw(x, baseline float64, s string) {
	if p.err != nil {
		return
	}
	if m := p.font.missing(s); len(m) > 0 {
		p.fail(fmt.Errorf("cert: the certificate font cannot draw %q", string(m)))
		return
	}
	p.pdf.SetXY(x, baseline)
	p.fail(p.pdf.Text(s))
}

// para wraps s to width and draws it line by line from p.y, each line
// lead times the font size high, and moves p.y below it.
func (p *page) para(x, width float64, s string, size float64, col rgb, align int, lead float64) {
	p.use(size, col)
	h := size * ptMM
	for _, ln := range p.wrap(s, width) {
		lx := x
		switch align {
		case alignCenter:
			lx += (width - p.width(ln)) / 2
		case alignRight:
			lx += width - p.width(ln)
		}
		// The baseline sits so the line's glyphs are centred in its box.
		p.draw(lx, p.y+h*(lead/2+0.38), ln)
		p.y += h * lead
	}
}

// line draws s on one line, without wrapping, spaced out by spacing
// times the font size between characters.
func (p *page) line(x, width float64, s string, size float64, col rgb, align int, spacing float64) {
	p.use(size, col)
	p.fail(p.pdf.SetCharSpacing(size * ptMM * spacing))
	defer func() { p.fail(p.pdf.SetCharSpacing(0)) }()
	w := p.width(s) - size*ptMM*spacing // gopdf counts spacing after the last character too
	switch align {
	case alignCenter:
		x += (width - w) / 2
	case alignRight:
		x += width - w
	}
	h := size * ptMM
	p.draw(x, p.y+h*0.88, s)
	p.y += h * 1.2
}

// field draws one "label：value" row of the certificate's particulars:
// the label right-aligned in its column, the value wrapped beside it, a
// hairline under the row.
func (p *page) field(label, value string) {
	const (
		labelW = 34.0
		gap    = 3.0
		lead   = 2.0
	)
	size := 13 * p.scale
	top := p.y
	p.para(marginX, labelW, label+"：", size, colLabel, alignRight, lead)
	p.y = top
	if value == "" {
		value = "—"
	}
	p.para(marginX+labelW+gap, contentW-labelW-gap, value, size, colBlack, alignLeft, lead)
	p.pdf.SetStrokeColor(colRule.r, colRule.g, colRule.b)
	p.pdf.SetLineWidth(0.15)
	p.pdf.Line(marginX+labelW+gap, p.y-0.8, marginX+contentW, p.y-0.8)
}

// wrap breaks s into lines no wider than width. Chinese breaks between
// any two characters, except that closing punctuation stays with what
// precedes it and opening punctuation with what follows; runs of Latin
// letters and digits (numbers, host names) break only if they alone are
// too wide.
func (p *page) wrap(s string, width float64) []string {
	var lines []string
	cur := ""
	for _, tok := range tokens(s) {
		if cur != "" && p.width(cur+tok) > width {
			lines = append(lines, strings.TrimRight(cur, " "))
			cur = strings.TrimLeft(tok, " ")
		} else {
			cur += tok
		}
		for cur != "" && p.width(cur) > width { // a token wider than the line
			r := []rune(cur)
			n := len(r) - 1
			for n > 1 && p.width(string(r[:n])) > width {
				n--
			}
			lines = append(lines, string(r[:n]))
			cur = string(r[n:])
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

const (
	closingPunct = "，。、；：？！）》」』】〕”’…—·,.;:?!)]%"
	openingPunct = "（《「『【〔“‘([　"
)

// tokens splits s into the units wrap may not break inside.
func tokens(s string) []string {
	var toks []string
	var cur []rune
	glue := false // the last rune opens: the next one joins it
	for _, r := range s {
		if len(cur) > 0 && !glue && !strings.ContainsRune(closingPunct, r) {
			last := cur[len(cur)-1]
			if r == ' ' || last == ' ' || wide(r) || wide(last) {
				toks = append(toks, string(cur))
				cur = cur[:0]
			}
		}
		cur = append(cur, r)
		glue = strings.ContainsRune(openingPunct, r)
	}
	if len(cur) > 0 {
		toks = append(toks, string(cur))
	}
	return toks
}

// wide reports a character of the CJK blocks, between any two of which a
// line may break.
func wide(r rune) bool { return r >= 0x2E80 }

// border draws a double frame in seal red with square corner marks.
func (p *page) border() {
	pdf := p.pdf
	pdf.SetStrokeColor(colBorder.r, colBorder.g, colBorder.b)
	pdf.SetLineWidth(1.2)
	pdf.RectFromUpperLeft(10, 10, pageW-20, pageH-20)
	pdf.SetLineWidth(0.3)
	const in, mark = 13.0, 7.0
	pdf.RectFromUpperLeft(in, in, pageW-2*in, pageH-2*in)
	for _, c := range [][2]float64{{in, in}, {pageW - in - mark, in}, {in, pageH - in - mark}, {pageW - in - mark, pageH - in - mark}} {
		pdf.RectFromUpperLeft(c[0], c[1], mark, mark)
		pdf.RectFromUpperLeft(c[0]+1.5, c[1]+1.5, mark-3, mark-3)
	}
}

// ornament draws the double rule under the title.
func (p *page) ornament(y float64) {
	pdf := p.pdf
	pdf.SetStrokeColor(colBorder.r, colBorder.g, colBorder.b)
	pdf.SetLineWidth(0.6)
	pdf.Line(pageW/2-35, y, pageW/2+35, y)
	pdf.SetLineWidth(0.2)
	pdf.Line(pageW/2-35, y+1.2, pageW/2+35, y+1.2)
}

// watermark stamps word large, pale and slanted across the middle of the
// page, under everything else.
func (p *page) watermark(word string) {
	const size = 96.0
	p.use(size, colMark)
	w := p.width(word)
	p.pdf.Rotate(30, pageW/2, pageH/2)
	p.draw(pageW/2-w/2, pageH/2+size*ptMM*0.35, word)
	p.pdf.RotateReset()
}

// qr draws the code as vector squares, x, y the top left of its quiet
// zone and size its width with the quiet zone. Dark modules of a row are
// joined into one rectangle, which keeps the content stream small.
func (p *page) qr(bits [][]bool, x, y, size float64) {
	m := size / float64(len(bits))
	pdf := p.pdf
	pdf.SetFillColor(255, 255, 255)
	pdf.RectFromUpperLeftWithStyle(x, y, size, size, "F")
	pdf.SetFillColor(0, 0, 0)
	for j, row := range bits {
		for i := 0; i < len(row); {
			if !row[i] {
				i++
				continue
			}
			k := i
			for k < len(row) && row[k] {
				k++
			}
			// A sliver of overlap with the row below, so renderers that
			// anti-alias leave no pale seams between rows.
			pdf.RectFromUpperLeftWithStyle(x+float64(i)*m, y+float64(j)*m, float64(k-i)*m, m+0.02, "F")
			i = k
		}
	}
}
