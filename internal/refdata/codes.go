package refdata

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// EthnicGroup is one of the 56 ethnic groups of GB 3304-91.
type EthnicGroup struct {
	Code         string // two digits, "01" … "56"
	Name         string // e.g. "汉族"
	Romanization string // e.g. "Han"
	LetterCode   string // two letters, e.g. "HA"
}

type ethnicTables struct {
	list   []EthnicGroup
	lookup map[string]int // code, name or unambiguous short name → index
}

// EthnicGroups returns the 56 ethnic groups in code order.
func EthnicGroups() []EthnicGroup { return slices.Clone(loaded().ethnic.list) }

// LookupEthnicGroup finds an ethnic group by its exact two-digit code ("01"),
// its full name ("汉族") or its name without the 族 suffix ("汉", "蒙古").
// One-digit codes such as "1" are not accepted. Surrounding white space is
// ignored.
func LookupEthnicGroup(codeOrName string) (EthnicGroup, bool) {
	t := &loaded().ethnic
	i, ok := t.lookup[strings.TrimSpace(codeOrName)]
	if !ok {
		return EthnicGroup{}, false
	}
	return t.list[i], true
}

func loadEthnicGroups(fsys fs.FS) (ethnicTables, error) {
	t := ethnicTables{lookup: map[string]int{}}
	tab, err := readTable(fsys, "ethnic_groups.csv", "code", "name", "romanization", "letter_code", "source")
	if err != nil {
		return t, err
	}
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "code", "name", "romanization", "letter_code", "source"); err != nil {
			return t, err
		}
		g := EthnicGroup{
			Code:         tab.get(i, "code"),
			Name:         tab.get(i, "name"),
			Romanization: tab.get(i, "romanization"),
			LetterCode:   tab.get(i, "letter_code"),
		}
		if n, err := strconv.Atoi(g.Code); err != nil || len(g.Code) != 2 || n != i+1 {
			return t, tab.errorf(i, "code %q out of sequence", g.Code)
		}
		if !strings.HasSuffix(g.Name, "族") || len(g.LetterCode) != 2 {
			return t, tab.errorf(i, "bad name %q or letter code %q", g.Name, g.LetterCode)
		}
		for _, key := range []string{g.Code, g.Name} {
			if _, dup := t.lookup[key]; dup {
				return t, tab.errorf(i, "duplicate %q", key)
			}
			t.lookup[key] = i
		}
		t.list = append(t.list, g)
	}
	if len(t.list) != 56 {
		return t, fmt.Errorf("ethnic_groups.csv: %d groups, want 56", len(t.list))
	}
	// Short names are added only where they do not clash with another key.
	short := map[string][]int{}
	for i, g := range t.list {
		s := strings.TrimSuffix(g.Name, "族")
		short[s] = append(short[s], i)
	}
	for s, idx := range short {
		if _, clash := t.lookup[s]; len(idx) == 1 && !clash && s != "" {
			t.lookup[s] = idx[0]
		}
	}
	return t, nil
}

// SexCode is a GB/T 2261.1-2003 sex code.
type SexCode struct {
	Code string // "0", "1", "2" or "9"
	Name string // e.g. "男性"
	Note string
}

// SexCodes returns the four GB/T 2261.1 sex codes: 0 未知的性别, 1 男性,
// 2 女性, 9 未说明的性别.
func SexCodes() []SexCode { return slices.Clone(loaded().sex) }

func loadSexCodes(fsys fs.FS) ([]SexCode, error) {
	tab, err := readTable(fsys, "sex_codes.csv", "code", "name", "note", "source")
	if err != nil {
		return nil, err
	}
	var out []SexCode
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "code", "name", "source"); err != nil {
			return nil, err
		}
		c := SexCode{Code: tab.get(i, "code"), Name: tab.get(i, "name"), Note: tab.get(i, "note")}
		if len(c.Code) != 1 || c.Code[0] < '0' || c.Code[0] > '9' {
			return nil, tab.errorf(i, "bad code %q", c.Code)
		}
		out = append(out, c)
	}
	return out, nil
}

// SchoolType is one of the three kinds of 技工院校.
type SchoolType string

// School types, from the highest level to the lowest.
const (
	SchoolTypeTechnician SchoolType = "技师学院"
	SchoolTypeSenior     SchoolType = "高级技工学校"
	SchoolTypeBasic      SchoolType = "技工学校"
)

type schoolTypeRow struct {
	typ         SchoolType
	certificate string
}

// SchoolTypes returns the school types from the lowest level to the highest:
// 技工学校, 高级技工学校, 技师学院.
func SchoolTypes() []SchoolType {
	rows := loaded().school
	out := make([]SchoolType, len(rows))
	for i, r := range rows {
		out[i] = r.typ
	}
	return out
}

// Valid reports whether t is one of the three school types.
func (t SchoolType) Valid() bool {
	switch t {
	case SchoolTypeTechnician, SchoolTypeSenior, SchoolTypeBasic:
		return true
	}
	return false
}

// GraduationCertificate returns the name of the graduation certificate a
// school of this type issues (e.g. "技师学院毕业证书"), or "" if t is not
// valid.
func (t SchoolType) GraduationCertificate() string {
	for _, r := range loaded().school {
		if r.typ == t {
			return r.certificate
		}
	}
	return ""
}

func loadSchoolTypes(fsys fs.FS) ([]schoolTypeRow, error) {
	tab, err := readTable(fsys, "school_types.csv", "type", "graduation_certificate", "source")
	if err != nil {
		return nil, err
	}
	var out []schoolTypeRow
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "type", "graduation_certificate", "source"); err != nil {
			return nil, err
		}
		r := schoolTypeRow{typ: SchoolType(tab.get(i, "type")), certificate: tab.get(i, "graduation_certificate")}
		if !r.typ.Valid() || slices.ContainsFunc(out, func(o schoolTypeRow) bool { return o.typ == r.typ }) {
			return nil, tab.errorf(i, "unknown or duplicate school type %q", r.typ)
		}
		out = append(out, r)
	}
	if len(out) != 3 {
		return nil, fmt.Errorf("school_types.csv: %d types, want 3", len(out))
	}
	return out, nil
}

// ClassLevel is the normal length of one class level (班级层次) for one
// entry point. A level has several rows, one per entry point.
type ClassLevel struct {
	Name        string // canonical short name: 中级工班, 高级工班 or 预备技师班
	EntryPoint  string // e.g. 初中毕业生, 高中毕业生
	NormalYears int    // normal duration in years
	Note        string // e.g. where sources disagree on the duration
}

// Canonical class-level names.
const (
	classIntermediate = "中级工班"
	classAdvanced     = "高级工班"
	classTechnician   = "预备技师班"
)

// classLevelSpellings maps accepted spellings to canonical names. The data
// spells the top level 预备技师（技师）班.
var classLevelSpellings = map[string]string{
	classIntermediate: classIntermediate,
	classAdvanced:     classAdvanced,
	classTechnician:   classTechnician,
	"预备技师（技师）班":       classTechnician,
	"预备技师(技师)班":       classTechnician,
	"技师班":             classTechnician,
}

type classTables struct {
	levels      []ClassLevel
	names       []string
	equivalence map[string]string
}

// ClassLevels returns every class level and entry point with its normal
// duration, in the order of the source table (grouped by level, lowest
// first).
func ClassLevels() []ClassLevel { return slices.Clone(loaded().classes.levels) }

// ClassLevelOf finds a class level by its canonical name and entry point.
// Registration asks for every student, so it does not copy the table.
func ClassLevelOf(level, entry string) (ClassLevel, bool) {
	for _, c := range loaded().classes.levels {
		if c.Name == level && c.EntryPoint == entry {
			return c, true
		}
	}
	return ClassLevel{}, false
}

// ClassLevelNames returns the canonical class-level names from the lowest to
// the highest: 中级工班, 高级工班, 预备技师班.
func ClassLevelNames() []string { return slices.Clone(loaded().classes.names) }

// NormalizeClassLevel returns the canonical name of a class level. It accepts
// the canonical names and the spellings 预备技师（技师）班, 预备技师(技师)班 and
// 技师班 for 预备技师班. Surrounding white space is ignored.
func NormalizeClassLevel(s string) (string, bool) {
	c, ok := classLevelSpellings[strings.TrimSpace(s)]
	return c, ok
}

// ClassLevelEquivalence returns the academic level a class level counts as
// when applying for professional titles (职称) in Shandong under
// 鲁人社发〔2020〕16号: 中专 for 中级工班, 大专 for 高级工班 and 本科 for
// 预备技师班. name may be any spelling NormalizeClassLevel accepts; the result
// is "" for an unknown name.
func ClassLevelEquivalence(name string) string {
	c, ok := NormalizeClassLevel(name)
	if !ok {
		return ""
	}
	return loaded().classes.equivalence[c]
}

func loadClassLevels(fsys fs.FS) (classTables, error) {
	t := classTables{equivalence: map[string]string{}}
	tab, err := readTable(fsys, "class_levels.csv", "class_level", "entry_point", "normal_duration_years", "note", "source")
	if err != nil {
		return t, err
	}
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "class_level", "entry_point", "normal_duration_years", "source"); err != nil {
			return t, err
		}
		name, ok := NormalizeClassLevel(tab.get(i, "class_level"))
		if !ok {
			return t, tab.errorf(i, "unknown class level %q", tab.get(i, "class_level"))
		}
		years, err := strconv.Atoi(tab.get(i, "normal_duration_years"))
		if err != nil || years < 1 || years > 8 {
			return t, tab.errorf(i, "bad normal_duration_years %q", tab.get(i, "normal_duration_years"))
		}
		t.levels = append(t.levels, ClassLevel{
			Name:        name,
			EntryPoint:  tab.get(i, "entry_point"),
			NormalYears: years,
			Note:        tab.get(i, "note"),
		})
		if !slices.Contains(t.names, name) {
			t.names = append(t.names, name)
		}
	}
	if want := []string{classIntermediate, classAdvanced, classTechnician}; !slices.Equal(t.names, want) {
		return t, fmt.Errorf("class_levels.csv: levels %v, want %v", t.names, want)
	}

	// The equivalence table also holds rows that are not class levels (for
	// example a low-confidence rule about graduates of a school type); only
	// the class-level rows are used.
	tab, err = readTable(fsys, "class_level_equivalence.csv", "class_level", "equivalent_education", "source")
	if err != nil {
		return t, err
	}
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "class_level", "equivalent_education", "source"); err != nil {
			return t, err
		}
		name, ok := NormalizeClassLevel(tab.get(i, "class_level"))
		if !ok {
			continue
		}
		if _, dup := t.equivalence[name]; dup {
			return t, tab.errorf(i, "duplicate class level %q", name)
		}
		t.equivalence[name] = tab.get(i, "equivalent_education")
	}
	for _, n := range t.names {
		if t.equivalence[n] == "" {
			return t, fmt.Errorf("class_level_equivalence.csv: no row for %s", n)
		}
	}
	return t, nil
}

// StatusChangeType is a kind of student-status (学籍) event: registration,
// a status value, a change or an exit.
type StatusChangeType struct {
	Category string // registration, status, change or exit
	Name     string // e.g. 休学, 转学(转出)
	// Code is the code used in a third-party Shenzhen technical-school
	// system ("" when that table has none). It is not an official code.
	Code        string
	RuleSummary string // summary of the rule and where it comes from; may be ""
	AppliesTo   string // e.g. 技工院校, or a note that the rule is a 中职 analog
}

// StatusChangeTypes returns the status change types in the order of the
// source table.
func StatusChangeTypes() []StatusChangeType { return slices.Clone(loaded().statuses) }

func loadStatusChangeTypes(fsys fs.FS) ([]StatusChangeType, error) {
	tab, err := readTable(fsys, "status_change_types.csv",
		"category", "name", "code_in_thirdparty_table", "rule_summary", "applies_to", "source")
	if err != nil {
		return nil, err
	}
	var out []StatusChangeType
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "category", "name", "applies_to", "source"); err != nil {
			return nil, err
		}
		s := StatusChangeType{
			Category:    tab.get(i, "category"),
			Name:        tab.get(i, "name"),
			Code:        tab.get(i, "code_in_thirdparty_table"),
			RuleSummary: tab.get(i, "rule_summary"),
			AppliesTo:   tab.get(i, "applies_to"),
		}
		switch s.Category {
		case "registration", "status", "change", "exit":
		default:
			return nil, tab.errorf(i, "unknown category %q", s.Category)
		}
		if slices.ContainsFunc(out, func(o StatusChangeType) bool { return o.Name == s.Name }) {
			return nil, tab.errorf(i, "duplicate name %q", s.Name)
		}
		out = append(out, s)
	}
	return out, nil
}
