package cert

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signintech/gopdf"
	"github.com/skip2/go-qrcode"
)

// needTools skips the test when a command-line tool is missing, unless
// GONGJIANG_REQUIRE_TOOLS=1 (CI) makes that a failure.
func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("GONGJIANG_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s not found (poppler-utils, zbar-tools): %v", tool, err)
			}
			t.Skipf("%s not found (install poppler-utils, zbar-tools)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return string(out)
}

// pdfText extracts the text of a PDF with pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	needTools(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return run(t, "pdftotext", "-enc", "UTF-8", path, "-")
}

func TestTTCExtraction(t *testing.T) {
	ttf, err := ttcFace(fontTTC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(ttf); got != 0x00010000 {
		t.Fatalf("sfnt version %#x, want 0x00010000", got)
	}
	// Every table lies inside the copy, 4-byte aligned.
	n := int(binary.BigEndian.Uint16(ttf[4:]))
	for i := range n {
		rec := ttf[12+16*i:]
		off, length := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if off%4 != 0 || int(off)+int(length) > len(ttf) {
			t.Errorf("table %q at %d+%d in a %d-byte font", rec[:4], off, length, len(ttf))
		}
	}
	if _, err := ttcFace(fontTTC, 1); err != nil {
		t.Errorf("face 1: %v", err)
	}
	if _, err := ttcFace(fontTTC, 2); err == nil {
		t.Error("face 2 of a two-face collection: no error")
	}
	if _, err := ttcFace(ttf, 0); err == nil {
		t.Error("a plain TrueType font taken for a collection")
	}
	if _, err := ttcFace(fontTTC[:4096], 0); err == nil {
		t.Error("a truncated collection: no error")
	}

	// gopdf reads the face and draws Chinese with it.
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	if err := pdf.AddTTFFontData("wqy", ttf); err != nil {
		t.Fatalf("gopdf refuses the extracted face: %v", err)
	}
	pdf.AddPage()
	if err := pdf.SetFont("wqy", "", 20); err != nil {
		t.Fatal(err)
	}
	pdf.SetXY(50, 100)
	if err := pdf.Text("技工院校毕业证书"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pdf.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 300<<10 {
		t.Errorf("PDF with one line is %d bytes: the font was not subset", buf.Len())
	}
	if got := pdfText(t, buf.Bytes()); !strings.Contains(got, "技工院校毕业证书") {
		t.Errorf("pdftotext = %q", got)
	}
}

func TestFontMissingGlyph(t *testing.T) {
	f, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	if m := f.missing("王小明（数控车工）：2023年9月1日 —"); len(m) != 0 {
		t.Errorf("missing(common text) = %q", string(m))
	}
	// U+2A6A5, CJK extension B: not in the font. A name with it must not
	// come out with a blank in its place.
	c := sampleCertificate()
	c.HolderName = "王\U0002A6A5"
	if err := WritePDF(io.Discard, c, "https://gj.example.cn/verify?p=x"); err == nil {
		t.Error("WritePDF drew a name the font cannot show")
	}
}

func sampleCertificate() *Certificate {
	return &Certificate{
		No:             "20263712345678901" + string(rune('0'+checkDigit("20263712345678901"))),
		Kind:           KindGraduation,
		HolderName:     "王小明",
		IDMasked:       "3701**********1234",
		SchoolCode:     "4137000001",
		SchoolName:     "山东技师学院",
		Major:          "数控加工（数控车工）",
		ClassLevel:     "高级工班",
		StudyMode:      "全日制",
		EntryDate:      "2023-09-01",
		GraduationDate: "2026-07-01",
		IssueDate:      "2026-07-01",
		ProvinceCode:   "37",
		Status:         StatusValid,
	}
}

// signedSample signs the sample certificate, after any edits, with a
// fresh key and returns it, its verify URL and the key set that checks it.
func signedSample(t testing.TB, alg string, edits ...func(*Certificate)) (*Certificate, string, KeySet) {
	t.Helper()
	k, err := GenerateKey(alg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := sampleCertificate()
	for _, edit := range edits {
		edit(c)
	}
	if err := k.Sign(c); err != nil {
		t.Fatal(err)
	}
	p, err := Payload(c)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet([]Key{k.Key})
	if err != nil {
		t.Fatal(err)
	}
	return c, VerifyURL("https://gj.example.cn", p), ks
}

func TestPDFRoundTrip(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) { testPDFRoundTrip(t, alg) })
	}
	// Long names make the longest payloads: a larger QR code, wrapped lines.
	t.Run("long", func(t *testing.T) {
		testPDFRoundTrip(t, AlgSM2, func(c *Certificate) {
			c.SchoolName = "内蒙古自治区呼和浩特市第一高级技工学校"
			c.Major = "工业机器人应用与维护（智能制造装备安装与调试方向）"
			c.ClassLevel = "预备技师班"
			c.ProvinceCode = "15"
		})
	})
}

func testPDFRoundTrip(t *testing.T, alg string, edits ...func(*Certificate)) {
	c, verifyURL, ks := signedSample(t, alg, edits...)
	var buf bytes.Buffer
	if err := WritePDF(&buf, c, verifyURL); err != nil {
		t.Fatal(err)
	}
	t.Logf("PDF %d bytes, verify URL %d characters", buf.Len(), len(verifyURL))
	if buf.Len() > 300<<10 {
		t.Errorf("PDF is %d bytes, want < 300 KB: the font was not subset", buf.Len())
	}
	if !bytes.Contains(buf.Bytes(), []byte("/Creator <FEFF")) {
		t.Error("no Creator in the PDF metadata")
	}
	var again bytes.Buffer
	if err := WritePDF(&again, c, verifyURL); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("the same certificate rendered twice gives different PDFs")
	}

	needTools(t, "pdftoppm", "zbarimg", "pdftotext")
	dir := t.TempDir()
	path := filepath.Join(dir, "cert.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "pdftoppm", "-r", "150", "-png", path, filepath.Join(dir, "page"))
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pages) != 1 {
		t.Fatalf("pdftoppm made %d pages, want 1", len(pages))
	}
	got := strings.TrimSuffix(run(t, "zbarimg", "--raw", "-q", pages[0]), "\n")
	if got != verifyURL {
		t.Fatalf("QR code holds %q,\nwant %q", got, verifyURL)
	}
	vc, _, err := ks.Verify(ExtractPayload(got))
	if err != nil {
		t.Fatalf("payload from the QR code does not verify: %v", err)
	}
	if vc.No != c.No || vc.HolderName != c.HolderName {
		t.Errorf("verified certificate %s %s, want %s %s", vc.No, vc.HolderName, c.No, c.HolderName)
	}

	text := pdfText(t, buf.Bytes())
	for _, want := range []string{c.HolderName, c.No, c.ClassLevel, c.Equivalence(), c.Authority(), "2023年9月1日", "gj.example.cn/verify"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "已撤销") {
		t.Error("a valid certificate's PDF says 已撤销")
	}
}

func TestPDFRevoked(t *testing.T) {
	c, verifyURL, _ := signedSample(t, AlgEd25519)
	c.Status, c.Reason = StatusRevoked, "学籍信息有误"
	var buf bytes.Buffer
	if err := WritePDF(&buf, c, verifyURL); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"已撤销", "不具有证明效力", "学籍信息有误", c.No} {
		if !strings.Contains(text, want) {
			t.Errorf("revoked certificate's PDF text lacks %q:\n%s", want, text)
		}
	}
}

// The web server renders certificates concurrently from the one font.
func TestPDFConcurrent(t *testing.T) {
	c, verifyURL, _ := signedSample(t, AlgEd25519)
	var want bytes.Buffer
	if err := WritePDF(&want, c, verifyURL); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var buf bytes.Buffer
			err := WritePDF(&buf, c, verifyURL)
			if err == nil && !bytes.Equal(buf.Bytes(), want.Bytes()) {
				err = errors.New("concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Fields at the payload's length limit still fit on the page.
func TestPDFLongestFields(t *testing.T) {
	c := sampleCertificate()
	c.HolderName = strings.Repeat("名", 20)
	c.SchoolName = strings.Repeat("技", maxField/3)
	c.Major = strings.Repeat("工", maxField/3)
	c.Status, c.Reason, c.ReplacedBy = StatusVoided, strings.Repeat("因", 60), c.No
	c.Replaces = c.No
	if err := WritePDF(io.Discard, c, "https://gj.example.cn/verify?p="+strings.Repeat("A", 400)); err != nil {
		t.Fatal(err)
	}
}

func TestPDFHelpers(t *testing.T) {
	for in, want := range map[string]string{"2023-09-01": "2023年9月1日", "2026-12-31": "2026年12月31日", "bad": "bad"} {
		if got := chineseDate(in); got != want {
			t.Errorf("chineseDate(%q) = %q, want %q", in, got, want)
		}
	}
	if got := verifyHint("https://gj.example.cn/verify?p=abc"); got != "扫描二维码或访问 gj.example.cn/verify 查验证书真伪" {
		t.Errorf("verifyHint = %q", got)
	}
	got := strings.Join(tokens("高级工班（按相当于大专学历）：No 2026AB。"), "|")
	if want := "高|级|工|班|（按|相|当|于|大|专|学|历）：|No| |2026AB。"; got != want {
		t.Errorf("tokens = %s, want %s", got, want)
	}
	png, err := QRPNG("https://gj.example.cn/verify?p=abc", 256)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("QRPNG: %v, %d bytes", err, len(png))
	}
}

// TestQRSize reports the QR code a verify URL of the real length needs.
func TestQRSize(t *testing.T) {
	_, edURL, _ := signedSample(t, AlgEd25519)
	_, smURL, _ := signedSample(t, AlgSM2)
	for _, u := range []string{edURL, smURL, edURL + strings.Repeat("A", 340-len(edURL))} {
		q, err := qrcode.New(u, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		modules := len(q.Bitmap()) - 2*qrQuiet
		t.Logf("%d characters: version %d, %d×%d modules, module %.2f mm", len(u), q.VersionNumber, modules, modules, qrSymbolMM/float64(modules))
	}
}

func BenchmarkWritePDF(b *testing.B) {
	c, verifyURL, _ := signedSample(b, AlgEd25519)
	if _, err := loadFont(); err != nil {
		b.Fatal(err)
	}
	var n int
	for b.Loop() {
		var buf bytes.Buffer
		if err := WritePDF(&buf, c, verifyURL); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "bytes/pdf")
}
