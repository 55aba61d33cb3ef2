// Package refdata exposes the national and Shandong code tables the platform
// needs: administrative divisions (GB/T 2260), 2020 census populations,
// ethnic groups (GB 3304), sex codes (GB/T 2261.1), technical-school types,
// class levels and student-status change types.
//
// The tables are CSV files embedded from the data directory (see
// data/SOURCES.md for where each one comes from). They are parsed once, on
// first use. Because the data is compiled into the binary, malformed data is
// a programming error and makes the first call panic.
//
// Functions that return slices return fresh copies; callers may modify them.
package refdata

import (
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/*.csv
var embedded embed.FS

// tables holds every parsed table.
type tables struct {
	div      divisionTables
	ethnic   ethnicTables
	sex      []SexCode
	school   []schoolTypeRow
	classes  classTables
	statuses []StatusChangeType
}

// loaded parses the embedded data on first use and panics if it is malformed.
var loaded = sync.OnceValue(func() *tables { return mustLoad(embedded) })

// mustLoad is load that panics on error.
func mustLoad(fsys fs.FS) *tables {
	t, err := load(fsys)
	if err != nil {
		panic("refdata: malformed embedded data: " + err.Error())
	}
	return t
}

// load parses all tables from fsys, which must contain the data directory.
func load(fsys fs.FS) (*tables, error) {
	var (
		t   tables
		err error
	)
	if t.div, err = loadDivisions(fsys); err != nil {
		return nil, err
	}
	if t.ethnic, err = loadEthnicGroups(fsys); err != nil {
		return nil, err
	}
	if t.sex, err = loadSexCodes(fsys); err != nil {
		return nil, err
	}
	if t.school, err = loadSchoolTypes(fsys); err != nil {
		return nil, err
	}
	if t.classes, err = loadClassLevels(fsys); err != nil {
		return nil, err
	}
	if t.statuses, err = loadStatusChangeTypes(fsys); err != nil {
		return nil, err
	}
	return &t, nil
}

// table is a CSV file read into memory, with its columns indexed by name.
type table struct {
	file  string
	cols  map[string]int
	rows  [][]string
	lines []int // line number of each row, for error messages
}

// readTable reads data/<name> from fsys. The file must have a header row
// containing every column in required, and every row must have as many
// fields as the header. Fields are trimmed of surrounding white space.
func readTable(fsys fs.FS, name string, required ...string) (*table, error) {
	path := "data/" + name
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &table{file: path, cols: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := t.cols[h]; dup {
			return nil, fmt.Errorf("%s: duplicate column %q", path, h)
		}
		t.cols[h] = i
	}
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			return nil, fmt.Errorf("%s: missing column %q", path, c)
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	if len(t.rows) == 0 {
		return nil, fmt.Errorf("%s: no data rows", path)
	}
	return t, nil
}

// get returns the named column of row i. The column must have been listed as
// required in readTable.
func (t *table) get(i int, col string) string { return t.rows[i][t.cols[col]] }

// errorf reports a problem with row i.
func (t *table) errorf(i int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", t.file, t.lines[i], fmt.Sprintf(format, args...))
}

// nonEmpty returns an error if any of the named columns of row i is empty.
func (t *table) nonEmpty(i int, cols ...string) error {
	for _, c := range cols {
		if t.get(i, c) == "" {
			return t.errorf(i, "empty %s", c)
		}
	}
	return nil
}

// optionalYear parses an optional year column: "" gives 0.
func (t *table) optionalYear(i int, col string) (int, error) {
	s := t.get(i, col)
	if s == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1949 || y > 2100 {
		return 0, t.errorf(i, "bad %s %q", col, s)
	}
	return y, nil
}
