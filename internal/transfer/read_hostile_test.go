package transfer

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Files made at run time: hostile ones, and workbooks written by excelize
// for cases LibreOffice and openpyxl cannot be asked for in a fixture.

// bombChunk is 1 MiB of zeros deflated and sync-flushed: its
// back-references stay inside it, so repeating it makes a valid deflate
// stream of any multiple of 1 MiB without compressing gigabytes.
func bombChunk(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 1<<20))
	w.Flush()
	return bytes.Clone(buf.Bytes())
}

// flateEnd is an empty final deflate block.
func flateEnd() []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Close()
	return buf.Bytes()
}

func rootRels(target string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="` + target + `"/></Relationships>`
}

// workbookParts are the parts around a single sheet at xl/worksheets/sheet1.xml.
var workbookParts = map[string]string{
	"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
	"_rels/.rels":         rootRels("xl/workbook.xml"),
	"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
	"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
}

func zipParts(t testing.TB, zw *zip.Writer, parts map[string]string) {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(parts[n]))
	}
}

func writeZip(parts map[string]string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		zipParts(t, zw, parts)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		write(t, path, buf.Bytes())
	}
}

// writeZipBomb writes a workbook whose sheet is 2 GiB of zeros compressed
// to about 2 MB.
func writeZipBomb(t *testing.T, path string) {
	const mib = 2048
	chunk, end := bombChunk(t), flateEnd()
	crc := crc32.NewIEEE()
	zeros := make([]byte, 1<<20)
	for range mib {
		crc.Write(zeros)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zipParts(t, zw, workbookParts)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(mib*len(chunk) + len(end)), UncompressedSize64: mib << 20})
	if err != nil {
		t.Fatal(err)
	}
	for range mib {
		w.Write(chunk)
	}
	w.Write(end)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeZipTooBig declares 120 parts of 9 MiB each (compressed 10:1, none
// suspicious alone); their data is not even there.
func writeZipTooBig(t *testing.T, path string) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zipParts(t, zw, workbookParts)
	for i := range 120 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("xl/media/image%d.png", i), Method: zip.Deflate,
			CompressedSize64: 900 << 10, UncompressedSize64: 9 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, path, buf.Bytes())
}

func writeZipManyEntries(t *testing.T, path string) {
	parts := map[string]string{}
	for k, v := range workbookParts {
		parts[k] = v
	}
	for i := len(parts); i < 10_001; i++ {
		parts[fmt.Sprintf("customXml/item%d.xml", i)] = ""
	}
	writeZip(parts)(t, path)
}

func writeEncryptedXLSX(t *testing.T, path string) {
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"姓名", "证件号码"})
	saveXLSX(t, f, path, excelize.Options{Password: "secret"})
}

// writeXLSX writes rows with excelize's ordinary writer (shared strings).
func writeXLSX(rows [][]any) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		f := excelize.NewFile()
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		saveXLSX(t, f, path)
	}
}

// writeXLSXFormatted writes one number under a header with a custom
// number format.
func writeXLSXFormatted(header string, v float64, format string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		f := excelize.NewFile()
		f.SetCellValue("Sheet1", "A1", header)
		f.SetCellFloat("Sheet1", "A2", v, -1, 64)
		style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &format})
		if err != nil {
			t.Fatal(err)
		}
		f.SetCellStyle("Sheet1", "A2", "A2", style)
		saveXLSX(t, f, path)
	}
}

// saveXLSX writes f to path whatever its extension (SaveAs insists on
// .xlsx, and the tests name uploads anything).
func saveXLSX(t testing.TB, f *excelize.File, path string, opts ...excelize.Options) {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Write(&buf, opts...); err != nil {
		t.Fatal(err)
	}
	write(t, path, buf.Bytes())
}
