// Package transfer moves records in and out of spreadsheets: it reads
// .xlsx (Excel, WPS, LibreOffice), legacy .xls and CSV (UTF-8 or GB18030)
// as a stream of rows under a header matched by name, writes import
// templates and streaming .xlsx exports, and describes the columns of each
// kind of record in one place.
package transfer

import (
	"strings"

	"golang.org/x/text/width"
)

// Column is one column of an import or export: its key (the field it
// fills), its Chinese header, other headers people use for it, whether an
// import needs it, and for coded fields the allowed values (names; codes
// are accepted where the field's parser knows them).
type Column struct {
	Key      string
	Header   string
	Aliases  []string
	Required bool
	Note     string          // how to fill it in, for the template's instructions
	Choices  func() []string // allowed values, for drop-down lists; nil: free text
	Example  string
}

// Schema is the columns of one kind of record.
type Schema struct {
	Kind    string // students | schools
	Name    string // 学籍 | 学校
	Columns []Column
}

// NormalizeHeader makes header text comparable: full-width characters
// become half-width, and spaces of every width, line breaks and a
// trailing "*" (the template marks required columns) disappear.
func NormalizeHeader(s string) string {
	s = width.Narrow.String(s)
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\u3000', '\u00a0', '*':
			return -1
		}
		return r
	}, s)
	return strings.ToLower(s)
}

// Match maps a file's header onto the schema: for each column key, the
// index of its cell in a row (-1 when absent). It reports the headers it
// did not recognise and the required columns that are missing.
func (s Schema) Match(header []string) (index map[string]int, unknown, missing []string) {
	index = make(map[string]int, len(s.Columns))
	names := map[string]string{}
	for _, c := range s.Columns {
		index[c.Key] = -1
		names[NormalizeHeader(c.Header)] = c.Key
		names[NormalizeHeader(c.Key)] = c.Key
		for _, a := range c.Aliases {
			names[NormalizeHeader(a)] = c.Key
		}
	}
	for i, h := range header {
		key, ok := names[NormalizeHeader(h)]
		switch {
		case !ok && strings.TrimSpace(h) != "":
			unknown = append(unknown, h)
		case ok && index[key] < 0:
			index[key] = i
		}
	}
	for _, c := range s.Columns {
		if c.Required && index[c.Key] < 0 {
			missing = append(missing, c.Header)
		}
	}
	return index, unknown, missing
}

// Value is the cell of column key in row, trimmed ("" when absent).
func Value(row []string, index map[string]int, key string) string {
	i, ok := index[key]
	if !ok || i < 0 || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}
