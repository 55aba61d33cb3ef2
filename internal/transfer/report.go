package transfer

import "io"

// WriteRefusals writes the refused rows of an import as an .xlsx: the
// file's own header and cells, with the line each came from and what is
// wrong with it, in Chinese, first — so an office can fix the rows and
// import the sheet again after deleting the first two columns.
func WriteRefusals(w io.Writer, header []string, refused []Refusal) error {
	e, err := NewExport(w, "未导入的行", append([]string{"原行号", "问题"}, header...))
	if err != nil {
		return err
	}
	if err := e.SetWidths(8, 50); err != nil {
		e.Abort()
		return err
	}
	for _, r := range refused {
		reason := r.Reason
		if r.Column != "" {
			reason = "“" + r.Column + "”：" + r.Reason
		}
		cells := []any{r.Line, reason}
		for _, c := range r.Cells {
			cells = append(cells, c)
		}
		if err := e.Row(cells...); err != nil {
			e.Abort()
			return err
		}
	}
	return e.Close()
}
