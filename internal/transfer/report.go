package transfer

import "io"

// WriteRefusals writes the refused rows of an import as an .xlsx: the
// file's own header and cells, with the line each came from and what is
// wrong with it, in Chinese, first — so an office can fix the rows and
// import the sheet again after deleting the first two columns.
func WriteRefusals(w io.Writer, header []string, refused []Refusal) error {
	return WriteRefusalPages(w, header, func() ([]Refusal, error) {
		page := refused
		refused = nil
		return page, nil
	})
}

// WriteRefusalPages is WriteRefusals with the rows a page at a time from
// next, which returns an empty page at the end.
func WriteRefusalPages(w io.Writer, header []string, next func() ([]Refusal, error)) error {
	e, err := NewExport(w, "未导入的行", append([]string{"原行号", "问题"}, header...))
	if err != nil {
		return err
	}
	if err := e.SetWidths(8, 50); err != nil {
		e.Abort()
		return err
	}
	for {
		page, err := next()
		if err != nil {
			e.Abort()
			return err
		}
		if len(page) == 0 {
			return e.Close()
		}
		for _, r := range page {
			cells := []any{r.Line, r.Explain()}
			for _, c := range r.Cells {
				cells = append(cells, c)
			}
			if err := e.Row(cells...); err != nil {
				e.Abort()
				return err
			}
		}
	}
}
