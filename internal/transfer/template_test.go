package transfer

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// openTemplate writes the template of s and opens it again.
func openTemplate(t *testing.T, s Schema) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTemplate(&buf, s); err != nil {
		t.Fatalf("WriteTemplate(%s): %v", s.Kind, err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("open the %s template: %v", s.Kind, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func cellName(col, row int) string {
	c, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		panic(err)
	}
	return c
}

func TestTemplate(t *testing.T) {
	for _, s := range []Schema{Students, Schools} {
		t.Run(s.Kind, func(t *testing.T) {
			f := openTemplate(t, s)
			sheets := f.GetSheetList()
			if len(sheets) < 2 || sheets[0] != s.Name || sheets[1] != InstructionSheet {
				t.Fatalf("sheets %q, want %s then %s", sheets, s.Name, InstructionSheet)
			}
			if f.GetActiveSheetIndex() != 0 {
				t.Errorf("active sheet %d, want the data sheet", f.GetActiveSheetIndex())
			}
			rows, err := f.GetRows(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows on the data sheet, want the header and the example", len(rows))
			}
			header, example := rows[0], rows[1]

			t.Run("header", func(t *testing.T) {
				if len(header) != len(s.Columns) {
					t.Fatalf("header %q has %d cells, want %d", header, len(header), len(s.Columns))
				}
				for i, c := range s.Columns {
					want := c.Header
					if c.Required {
						want += "*"
					}
					if header[i] != want {
						t.Errorf("column %d: header %q, want %q", i+1, header[i], want)
					}
					style := cellStyle(t, f, s.Name, cellName(i+1, 1))
					if style.Font == nil || !style.Font.Bold {
						t.Errorf("header %q is not bold", header[i])
					}
				}
				panes, err := f.GetPanes(s.Name)
				if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 {
					t.Errorf("panes %+v (%v), want the first row frozen", panes, err)
				}
			})

			t.Run("the header matches the schema", func(t *testing.T) {
				index, unknown, missing := s.Match(header)
				if len(unknown) > 0 || len(missing) > 0 {
					t.Errorf("Match: unknown %q, missing %q", unknown, missing)
				}
				for i, c := range s.Columns {
					if index[c.Key] != i {
						t.Errorf("Match: %s at %d, want %d", c.Key, index[c.Key], i)
					}
				}
				if !s.IsExample(example, index) {
					t.Error("IsExample does not recognise the example row")
				}
				changed := slices.Clone(example)
				changed[index["name"]] = "李四"
				if s.IsExample(changed, index) {
					t.Error("IsExample takes an edited row for the example")
				}
			})

			t.Run("example row", func(t *testing.T) {
				for i, c := range s.Columns {
					got := ""
					if i < len(example) {
						got = example[i]
					}
					if got != c.Example {
						t.Errorf("example of %s: %q, want %q", c.Header, got, c.Example)
					}
					cell := cellName(i+1, 2)
					if c.Example != "" {
						if typ, _ := f.GetCellType(s.Name, cell); typ == excelize.CellTypeNumber {
							t.Errorf("example of %s is stored as a number", c.Header)
						}
					}
				}
			})

			t.Run("columns are text", func(t *testing.T) {
				for i, c := range s.Columns {
					col, _ := excelize.ColumnNumberToName(i + 1)
					id, err := f.GetColStyle(s.Name, col)
					if err != nil {
						t.Fatal(err)
					}
					st, err := f.GetStyle(id)
					if err != nil || st.NumFmt != 49 {
						t.Errorf("column %s (%s): number format %v (%v), want 49 (@, text)", col, c.Header, st, err)
					}
					for _, row := range []int{1, 2} {
						if st := cellStyle(t, f, s.Name, cellName(i+1, row)); st.NumFmt != 49 {
							t.Errorf("cell %s (%s): number format %d, want 49", cellName(i+1, row), c.Header, st.NumFmt)
						}
					}
					w, err := f.GetColWidth(s.Name, col)
					if err != nil || w < float64(displayWidth(c.Header)+2) || w > 40 {
						t.Errorf("column %s (%s): width %v (%v)", col, c.Header, w, err)
					}
				}
			})

			t.Run("drop-down lists", func(t *testing.T) {
				dvs, err := f.GetDataValidations(s.Name)
				if err != nil {
					t.Fatal(err)
				}
				bySqref := map[string]*excelize.DataValidation{}
				for _, dv := range dvs {
					bySqref[dv.Sqref] = dv
				}
				want := 0
				for i, c := range s.Columns {
					col, _ := excelize.ColumnNumberToName(i + 1)
					dv := bySqref[col+"2:"+col+"1048576"]
					if c.Choices == nil {
						if dv != nil {
							t.Errorf("%s has a validation %q but no choices", c.Header, dv.Formula1)
						}
						continue
					}
					want++
					if dv == nil {
						t.Errorf("%s (column %s) has no drop-down list; validations: %v", c.Header, col, keys(bySqref))
						continue
					}
					if dv.Type != "list" {
						t.Errorf("%s: validation type %q, want list", c.Header, dv.Type)
					}
					choices := c.Choices()
					got := dropDownValues(t, f, dv.Formula1)
					if !slices.Equal(got, choices) {
						t.Errorf("%s: drop-down %q gives %q, want %q", c.Header, dv.Formula1, got, choices)
					}
					if _, inline := dropDownSource(choices); !inline && !strings.HasPrefix(dv.Formula1, "'"+ListSheet+"'!") {
						t.Errorf("%s: a long list inline: %q", c.Header, dv.Formula1)
					}
				}
				if len(dvs) != want {
					t.Errorf("%d validations, want %d", len(dvs), want)
				}
			})

			t.Run("instructions", func(t *testing.T) {
				rows, err := f.GetRows(InstructionSheet)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) < len(s.Columns)+1 || !slices.Equal(rows[0], instructionHeader) {
					t.Fatalf("instruction sheet: %d rows, header %q", len(rows), rows[0])
				}
				for i, c := range s.Columns {
					row := append(rows[i+1], make([]string, 5)...)[:5]
					need := map[bool]string{true: "是", false: "否"}[c.Required]
					var allowed string
					if c.Choices != nil {
						allowed = strings.Join(c.Choices(), "、")
					}
					if want := []string{c.Header, need, c.Note, allowed, c.Example}; !slices.Equal(row, want) {
						t.Errorf("instruction row %d: %q, want %q", i+2, row, want)
					}
				}
				all := ""
				for _, r := range rows[len(s.Columns)+1:] {
					all += strings.Join(r, "") + "\n"
				}
				for _, want := range []string{"带 * 的列必须填写", "示例", "文本"} {
					if !strings.Contains(all, want) {
						t.Errorf("the notes do not say %q:\n%s", want, all)
					}
				}
			})
		})
	}
}

// The ethnic groups (56 names, 215 characters with the separators, 375
// bytes in GBK: over Excel's 255 as Chinese Excel and WPS count it) go
// through the hidden sheet; the short lists stay inline.
func TestTemplateListSheet(t *testing.T) {
	f := openTemplate(t, Students)
	visible, err := f.GetSheetVisible(ListSheet)
	if err != nil || visible {
		t.Fatalf("%s: visible %v (%v), want a hidden sheet", ListSheet, visible, err)
	}
	dvs, _ := f.GetDataValidations(Students.Name)
	var ethnic, sex string
	for i, c := range Students.Columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		for _, dv := range dvs {
			if dv.Sqref == col+"2:"+col+"1048576" {
				switch c.Key {
				case "ethnicity":
					ethnic = dv.Formula1
				case "sex":
					sex = dv.Formula1
				}
			}
		}
	}
	if !strings.HasPrefix(ethnic, "'"+ListSheet+"'!$") || !strings.HasSuffix(ethnic, "$57") {
		t.Errorf("民族 drop-down %q, want the 56 names on %s", ethnic, ListSheet)
	}
	if sex != `"男,女"` {
		t.Errorf("性别 drop-down %q, want inline", sex)
	}
	if _, inline := dropDownSource(ethnicNames()); inline {
		t.Error("the 56 ethnic groups fit inline? then this test proves nothing")
	}
	// A school template needs no list sheet.
	if slices.Contains(openTemplate(t, Schools).GetSheetList(), ListSheet) {
		t.Errorf("the school template has a %s sheet", ListSheet)
	}
}

// dropDownValues reads what a list validation offers: an inline list or
// the cells of a range on the list sheet.
func dropDownValues(t *testing.T, f *excelize.File, formula string) []string {
	t.Helper()
	if strings.HasPrefix(formula, `"`) {
		return strings.Split(strings.Trim(formula, `"`), ",")
	}
	sheet, ref, ok := strings.Cut(formula, "!")
	if !ok {
		t.Fatalf("formula %q is neither a list nor a range", formula)
	}
	sheet = strings.Trim(sheet, "'")
	from, to, _ := strings.Cut(strings.ReplaceAll(ref, "$", ""), ":")
	c1, r1, err1 := excelize.CellNameToCoordinates(from)
	c2, r2, err2 := excelize.CellNameToCoordinates(to)
	if err1 != nil || err2 != nil || c1 != c2 {
		t.Fatalf("range %q", formula)
	}
	var out []string
	for r := r1; r <= r2; r++ {
		v, err := f.GetCellValue(sheet, cellName(c1, r))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	// The cell above the range names the list.
	if head, _ := f.GetCellValue(sheet, cellName(c1, r1-1)); head == "" {
		t.Errorf("list %q has no heading", formula)
	}
	return out
}

func cellStyle(t *testing.T, f *excelize.File, sheet, cell string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
