package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// FuzzRead feeds damaged fixtures to Open and Next: whatever the bytes,
// the reader returns rows or an *apperr.Error, and never panics. The seeds
// run with go test; go test -fuzz FuzzRead mutates them.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"students-openpyxl.xlsx", "students-libreoffice.xlsx", "students-libreoffice.xls", "students-gbk.csv", "students-utf8-bom.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "upload")
		write(t, path, b)
		tbl, err := Open(path, Options{MaxRows: 1000})
		for err == nil {
			_, err = tbl.Next()
		}
		if tbl != nil {
			tbl.Close()
		}
		var ae *apperr.Error
		if err.Error() != "EOF" && (!errors.As(err, &ae) || ae.Code == apperr.Internal) {
			t.Fatalf("%T %v", err, err)
		}
	})
}
