package transfer

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"
)

// Sheet names of an import template besides the data sheet (named after
// the schema: 学籍, 学校).
const (
	InstructionSheet = "填写说明"
	ListSheet        = "下拉选项" // hidden: the long drop-down lists
)

// The instruction sheet's header.
var instructionHeader = []string{"列名", "是否必填", "填写说明", "允许的值", "示例"}

// maxInlineList is Excel's limit on a drop-down list typed into the
// validation itself, separators included; longer lists go to ListSheet
// and are referenced by range. Excel and WPS in Chinese count it in bytes
// of the double-byte code page, so a Chinese character counts twice: the
// 56 ethnic groups (215 characters) are well over it.
const maxInlineList = 255

// RequiredMark ends the header of a required column in a template;
// NormalizeHeader drops it, so a template's header matches its schema.
const RequiredMark = "*"

// TemplateHeader is the header cell of c in a template.
func TemplateHeader(c Column) string {
	if c.Required {
		return c.Header + RequiredMark
	}
	return c.Header
}

// WriteTemplate writes the import template of s as an .xlsx: a data sheet
// named after the schema with the header (required columns marked with *),
// one example row and drop-down lists for coded columns, every column
// formatted as text so that identity numbers and codes keep their leading
// zeros and all 18 digits; and a sheet of instructions, one row per column.
func WriteTemplate(w io.Writer, s Schema) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", s.Name); err != nil {
		return err
	}
	if _, err := f.NewSheet(InstructionSheet); err != nil { // second, before the hidden lists
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@"
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Vertical: "center"}})
	if err != nil {
		return err
	}
	required, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true, Color: "C00000"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Vertical: "center"}})
	if err != nil {
		return err
	}
	example, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Italic: true, Color: "7F7F7F"}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}

	// The data sheet.
	n := len(s.Columns)
	if n == 0 {
		return fmt.Errorf("transfer: schema %s has no columns", s.Kind)
	}
	last, err := excelize.ColumnNumberToName(n)
	if err != nil {
		return err
	}
	if err := f.SetColStyle(s.Name, "A:"+last, text); err != nil {
		return err
	}
	header := make([]string, n)
	examples := make([]string, n)
	for i, c := range s.Columns {
		header[i], examples[i] = TemplateHeader(c), c.Example
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(s.Name, col, col, columnWidth(header[i], c.Example)); err != nil {
			return err
		}
	}
	if err := f.SetSheetRow(s.Name, "A1", &header); err != nil {
		return err
	}
	if err := f.SetSheetRow(s.Name, "A2", &examples); err != nil {
		return err
	}
	if err := f.SetCellStyle(s.Name, "A2", last+"2", example); err != nil {
		return err
	}
	for i, c := range s.Columns {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		st := head
		if c.Required {
			st = required
		}
		if err := f.SetCellStyle(s.Name, cell, cell, st); err != nil {
			return err
		}
	}
	if err := f.SetRowHeight(s.Name, 1, 22); err != nil {
		return err
	}
	if err := f.SetPanes(s.Name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	if err := addDropDowns(f, s); err != nil {
		return err
	}

	// The instructions.
	rows := [][]string{instructionHeader}
	for _, c := range s.Columns {
		need := "否"
		if c.Required {
			need = "是"
		}
		var allowed string
		if c.Choices != nil {
			allowed = strings.Join(c.Choices(), "、")
		}
		rows = append(rows, []string{c.Header, need, c.Note, allowed, c.Example})
	}
	rows = append(rows, nil)
	for _, line := range TemplateNotes(s) {
		rows = append(rows, []string{line})
	}
	for i, row := range rows {
		if row == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(InstructionSheet, cell, &row); err != nil {
			return err
		}
	}
	for i, wd := range []float64{16, 10, 50, 60, 22} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(InstructionSheet, col, col, wd); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(InstructionSheet, "A2", fmt.Sprintf("E%d", n+1), wrap); err != nil {
		return err
	}
	if err := f.SetCellStyle(InstructionSheet, "A1", "E1", bold); err != nil {
		return err
	}
	if err := f.SetPanes(InstructionSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	_, err = f.WriteTo(w)
	return err
}

// TemplateNotes are the general notes under the column list of a
// template's instruction sheet.
func TemplateNotes(s Schema) []string {
	return []string{
		"说明：",
		fmt.Sprintf("1. 请在“%s”工作表中填写，每行一条记录；第 1 行是表头，请勿修改表头文字。带 * 的列必须填写，列的顺序可以调整。", s.Name),
		"2. 第 2 行是示例（灰色斜体），导入前请删除或用真实数据覆盖。",
		"3. 整张表已设为文本格式，证件号码、代码等请按文本填写，以免 Excel 去掉开头的 0 或改成科学计数法。",
		"4. 有下拉列表的列请从列表中选择；允许的值见上表。",
		"5. 也可以上传 WPS、LibreOffice 保存的 .xlsx、旧版 .xls，或 UTF-8、GBK 编码的 .csv，表头按名称识别。",
	}
}

// addDropDowns puts a drop-down list on every column of s with choices,
// from row 2 to the last row of the sheet: inline when the list fits,
// else from a column of the hidden ListSheet.
func addDropDowns(f *excelize.File, s Schema) error {
	listCol := 0
	for i, c := range s.Columns {
		if c.Choices == nil {
			continue
		}
		choices := c.Choices()
		if len(choices) == 0 {
			continue
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s%d", col, col, excelize.TotalRows)
		if src, inline := dropDownSource(choices); inline {
			if err := dv.SetDropList(src); err != nil {
				return err
			}
		} else {
			if listCol == 0 {
				if _, err := f.NewSheet(ListSheet); err != nil {
					return err
				}
				if err := f.SetSheetVisible(ListSheet, false); err != nil {
					return err
				}
			}
			listCol++
			lc, _ := excelize.ColumnNumberToName(listCol)
			values := append([]string{c.Header}, choices...)
			if err := f.SetSheetCol(ListSheet, lc+"1", &values); err != nil {
				return err
			}
			dv.SetSqrefDropList(ListRange(listCol, len(choices)))
		}
		dv.SetError(excelize.DataValidationErrorStyleWarning, c.Header,
			fmt.Sprintf("“%s”不在下拉列表中，导入时可能被拒绝；允许的值见“%s”工作表。", c.Header, InstructionSheet))
		if err := f.AddDataValidation(s.Name, dv); err != nil {
			return err
		}
	}
	return nil
}

// dropDownSource reports whether choices can be typed into a validation:
// short enough (a character beyond ASCII counting twice), and no item
// with a separator or a quote.
func dropDownSource(choices []string) ([]string, bool) {
	units := len(choices) - 1
	for _, c := range choices {
		if strings.ContainsAny(c, `,"`) {
			return nil, false
		}
		for _, r := range c {
			units++
			if r >= utf8.RuneSelf {
				units++
			}
		}
	}
	return choices, units <= maxInlineList
}

// ListRange is the reference to list n (1-based column of ListSheet,
// header in row 1) of count values.
func ListRange(n, count int) string {
	col, _ := excelize.ColumnNumberToName(n)
	return fmt.Sprintf("'%s'!$%s$2:$%s$%d", ListSheet, col, col, count+1)
}

// columnWidth fits a column to its header and example, counting wide
// (CJK) characters twice.
func columnWidth(header, example string) float64 {
	w := max(displayWidth(header)+4, displayWidth(example)+2, 10)
	return float64(min(w, 40))
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// IsExample reports whether row (under index, as from Match) is the
// template's example row left in place: every column with an example
// holds exactly it. Imports skip such a row instead of loading 王小明.
func (s Schema) IsExample(row []string, index map[string]int) bool {
	seen := false
	for _, c := range s.Columns {
		if c.Example == "" {
			continue
		}
		v := Value(row, index, c.Key)
		if v == "" && index[c.Key] < 0 {
			continue // the column is not in the file
		}
		if v != c.Example {
			return false
		}
		seen = true
	}
	return seen
}
