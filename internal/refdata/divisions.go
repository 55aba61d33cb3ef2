package refdata

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
)

// ShandongCode is the GB/T 2260 code of 山东省.
const ShandongCode = "370000"

// DivisionLevel is the level of an administrative division.
type DivisionLevel string

// Division levels.
const (
	LevelProvince   DivisionLevel = "province"   // 省级: 省, 自治区, 直辖市
	LevelPrefecture DivisionLevel = "prefecture" // 地级: 地级市, 地区, 自治州, 盟; 市辖区/县 of a 直辖市
	LevelCounty     DivisionLevel = "county"     // 县级: 市辖区, 县级市, 县
)

// Division is one GB/T 2260 administrative division code.
//
// Provinces and prefecture-level divisions are known for all of China;
// county-level divisions and abolished (historical) codes only for Shandong.
// A 直辖市 (北京, 天津, 上海, 重庆) has 市辖区-style prefecture codes such as
// 110100, named "市辖区" (and 500200 "县" for 重庆).
type Division struct {
	Code string // 6 digits, e.g. "370114"
	Name string // e.g. "章丘区"
	// Level is the level; for historical codes it is derived from the code's
	// shape (xx0000 province, xxxx00 prefecture, otherwise county).
	Level DivisionLevel
	// ParentCode is the province code for a prefecture and the prefecture
	// code for a county; "" for a province. For a historical county whose
	// code has no prefecture code (the 3790xx 省辖县级市 codes of 1986-1994)
	// it is the province code. The parent of a historical code may itself be
	// historical (371202 莱城区 → 371200 莱芜市).
	ParentCode string
	// Type is the kind of division as given by the source (省, 自治区,
	// 直辖市, 地级市, 地区, 自治州, 盟, 市辖区, 县级市, 县); "" for historical codes.
	Type string
	// Current is false for abolished or renamed codes.
	Current bool
	// ValidFromYear is the year the code came into use and ValidToYear the
	// last year it was listed; 0 when unknown or open. For current codes
	// ValidToYear is always 0 and ValidFromYear is only known for Shandong
	// county-level codes introduced after about 1980.
	ValidFromYear, ValidToYear int
}

type divisionTables struct {
	current   map[string]Division
	history   map[string][]Division // every record of a code, oldest first, current last
	provinces []Division
	cities    map[string][]Division // by province code
	counties  map[string][]Division // by prefecture code
	pop       map[string]int
}

// LookupDivision returns the division with the given code, current or
// historical. If the code is in use today the current division is returned;
// otherwise the most recent historical record (a few codes were reused for
// different places; see DivisionHistory).
func LookupDivision(code string) (Division, bool) {
	t := &loaded().div
	if d, ok := t.current[code]; ok {
		return d, true
	}
	h := t.history[code]
	if len(h) == 0 {
		return Division{}, false
	}
	return h[len(h)-1], true
}

// DivisionHistory returns every record of the code, historical ones first
// (oldest first) and the current one, if any, last. Most codes have a single
// record; some Shandong codes were reused, for example 370406 was 齐村区
// until 1982 and is 山亭区 today. It returns nil for an unknown code.
func DivisionHistory(code string) []Division {
	return slices.Clone(loaded().div.history[code])
}

// CurrentDivision returns the division with the given code only if the code
// is in use today.
func CurrentDivision(code string) (Division, bool) {
	d, ok := loaded().div.current[code]
	return d, ok
}

// CityOf returns the current prefecture-level division that contains the
// current county or prefecture code (the division itself for a prefecture).
// It returns false for province codes, historical-only codes and unknown
// codes, including county codes outside Shandong.
func CityOf(code string) (Division, bool) {
	t := &loaded().div
	d, ok := t.current[code]
	if !ok {
		return Division{}, false
	}
	switch d.Level {
	case LevelPrefecture:
		return d, true
	case LevelCounty:
		p, ok := t.current[d.ParentCode]
		return p, ok
	}
	return Division{}, false
}

// ProvinceOf returns the current provincial-level division whose code shares
// the first two digits of code (the division itself for a province code).
// code must be a 6-digit numeric string, but the remaining digits are not
// checked, so ProvinceOf also works for historical codes and for county codes
// outside Shandong; use LookupDivision to check that a code exists.
func ProvinceOf(code string) (Division, bool) {
	if !isCode(code) {
		return Division{}, false
	}
	d, ok := loaded().div.current[code[:2]+"0000"]
	return d, ok
}

// Provinces returns the 31 provincial-level divisions of mainland China,
// sorted by code.
func Provinces() []Division { return slices.Clone(loaded().div.provinces) }

// Cities returns the current prefecture-level divisions of a province, sorted
// by code. For a 直辖市 these are its 市辖区 (and 县) codes. It returns nil
// for an unknown province code.
func Cities(provinceCode string) []Division {
	return slices.Clone(loaded().div.cities[provinceCode])
}

// Counties returns the current county-level divisions of a prefecture, sorted
// by code. Only Shandong has county data; it returns nil for other codes.
func Counties(cityCode string) []Division {
	return slices.Clone(loaded().div.counties[cityCode])
}

// Population returns the resident population (常住人口) of a province or a
// Shandong prefecture at the 2020 seventh national census, rounded to 10,000
// persons, or 0 if unknown. The figures were entered from knowledge of the
// census communiqués (see data/SOURCES.md); use them for rough proportions
// only.
func Population(code string) int { return loaded().div.pop[code] }

// isCode reports whether s is a 6-digit numeric string.
func isCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// levelOfCode derives the level from the shape of a code.
func levelOfCode(code string) DivisionLevel {
	switch {
	case code[2:] == "0000":
		return LevelProvince
	case code[4:] == "00":
		return LevelPrefecture
	default:
		return LevelCounty
	}
}

func loadDivisions(fsys fs.FS) (divisionTables, error) {
	t := divisionTables{
		current:  map[string]Division{},
		history:  map[string][]Division{},
		cities:   map[string][]Division{},
		counties: map[string][]Division{},
		pop:      map[string]int{},
	}

	// Current divisions: national provinces and prefectures, then the
	// Shandong table, which must agree with the national one where they
	// overlap and adds the counties.
	cols := []string{"code", "name", "level", "parent_code", "type", "source"}
	for _, file := range []string{"divisions_china.csv", "divisions_shandong.csv"} {
		tab, err := readTable(fsys, file, cols...)
		if err != nil {
			return t, err
		}
		shandong := file == "divisions_shandong.csv"
		if shandong {
			if _, ok := tab.cols["in_use_since_year"]; !ok {
				return t, fmt.Errorf("%s: missing column %q", tab.file, "in_use_since_year")
			}
		}
		for i := range tab.rows {
			if err := tab.nonEmpty(i, "code", "name", "level", "type", "source"); err != nil {
				return t, err
			}
			d := Division{
				Code:       tab.get(i, "code"),
				Name:       tab.get(i, "name"),
				Level:      DivisionLevel(tab.get(i, "level")),
				ParentCode: tab.get(i, "parent_code"),
				Type:       tab.get(i, "type"),
				Current:    true,
			}
			if !isCode(d.Code) {
				return t, tab.errorf(i, "bad code %q", d.Code)
			}
			if d.Level != levelOfCode(d.Code) {
				return t, tab.errorf(i, "level %q does not match code %s", d.Level, d.Code)
			}
			if shandong {
				if d.Code[:2] != ShandongCode[:2] {
					return t, tab.errorf(i, "code %s is not in Shandong", d.Code)
				}
				y, err := tab.optionalYear(i, "in_use_since_year")
				if err != nil {
					return t, err
				}
				d.ValidFromYear = y
			}
			if prev, dup := t.current[d.Code]; dup {
				// A Shandong province or prefecture row repeats a national
				// row; the two sources must agree.
				if !shandong || prev.Name != d.Name || prev.Level != d.Level || prev.ParentCode != d.ParentCode {
					return t, tab.errorf(i, "duplicate or conflicting code %s (%s vs %s)", d.Code, d.Name, prev.Name)
				}
				d.ValidFromYear = max(d.ValidFromYear, prev.ValidFromYear)
			}
			t.current[d.Code] = d
		}
	}
	for _, d := range t.current {
		if err := checkParent(d, t.current); err != nil {
			return t, fmt.Errorf("divisions: %w", err)
		}
	}

	// Historical Shandong codes. Levels and parents are derived from the
	// codes once all records are known.
	tab, err := readTable(fsys, "divisions_shandong_historical.csv",
		"code", "name", "valid_from_year", "valid_to_year", "source")
	if err != nil {
		return t, err
	}
	var hist []Division
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "code", "name", "source"); err != nil {
			return t, err
		}
		d := Division{Code: tab.get(i, "code"), Name: tab.get(i, "name")}
		if !isCode(d.Code) || d.Code[:2] != ShandongCode[:2] {
			return t, tab.errorf(i, "bad code %q", d.Code)
		}
		d.Level = levelOfCode(d.Code)
		if d.ValidFromYear, err = tab.optionalYear(i, "valid_from_year"); err != nil {
			return t, err
		}
		if d.ValidToYear, err = tab.optionalYear(i, "valid_to_year"); err != nil {
			return t, err
		}
		if d.ValidToYear == 0 {
			return t, tab.errorf(i, "historical code %s has no valid_to_year", d.Code)
		}
		if d.ValidFromYear > d.ValidToYear {
			return t, tab.errorf(i, "valid_from_year after valid_to_year")
		}
		hist = append(hist, d)
	}
	histCodes := make(map[string]bool, len(hist))
	for _, d := range hist {
		histCodes[d.Code] = true
	}
	known := func(code string) bool {
		_, cur := t.current[code]
		return cur || histCodes[code]
	}
	for i := range hist {
		d := &hist[i]
		switch d.Level {
		case LevelPrefecture:
			d.ParentCode = d.Code[:2] + "0000"
		case LevelCounty:
			if p := d.Code[:4] + "00"; known(p) {
				d.ParentCode = p
			} else {
				d.ParentCode = d.Code[:2] + "0000"
			}
		}
	}
	slices.SortStableFunc(hist, func(a, b Division) int {
		return cmp.Or(cmp.Compare(a.ValidToYear, b.ValidToYear), cmp.Compare(a.ValidFromYear, b.ValidFromYear))
	})
	for _, d := range hist {
		t.history[d.Code] = append(t.history[d.Code], d)
	}

	for _, d := range t.current {
		t.history[d.Code] = append(t.history[d.Code], d)
		switch d.Level {
		case LevelProvince:
			t.provinces = append(t.provinces, d)
		case LevelPrefecture:
			t.cities[d.ParentCode] = append(t.cities[d.ParentCode], d)
		case LevelCounty:
			t.counties[d.ParentCode] = append(t.counties[d.ParentCode], d)
		}
	}
	byCode := func(a, b Division) int { return cmp.Compare(a.Code, b.Code) }
	slices.SortFunc(t.provinces, byCode)
	for _, m := range []map[string][]Division{t.cities, t.counties} {
		for _, s := range m {
			slices.SortFunc(s, byCode)
		}
	}
	if len(t.provinces) != 31 {
		return t, fmt.Errorf("divisions: %d provinces, want 31", len(t.provinces))
	}

	if t.pop, err = loadPopulation(fsys, t.current); err != nil {
		return t, err
	}
	return t, nil
}

// checkParent checks that a current division's parent is already known and
// one level up, and that the codes share the parent's prefix.
func checkParent(d Division, current map[string]Division) error {
	if d.Level == LevelProvince {
		if d.ParentCode != "" {
			return fmt.Errorf("province %s has parent %q", d.Code, d.ParentCode)
		}
		return nil
	}
	p, ok := current[d.ParentCode]
	want, prefix := LevelProvince, 2
	if d.Level == LevelCounty {
		want, prefix = LevelPrefecture, 4
	}
	if !ok || p.Level != want {
		return fmt.Errorf("%s: parent %q is not a known %s", d.Code, d.ParentCode, want)
	}
	if d.Code[:prefix] != p.Code[:prefix] {
		return fmt.Errorf("%s: parent %s has a different prefix", d.Code, p.Code)
	}
	return nil
}

func loadPopulation(fsys fs.FS, current map[string]Division) (map[string]int, error) {
	tab, err := readTable(fsys, "population_census2020.csv", "code", "name", "population", "source")
	if err != nil {
		return nil, err
	}
	pop := make(map[string]int, len(tab.rows))
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "code", "name", "population", "source"); err != nil {
			return nil, err
		}
		code := tab.get(i, "code")
		d, ok := current[code]
		if !ok || d.Level == LevelCounty || d.Name != tab.get(i, "name") {
			return nil, tab.errorf(i, "%s %s is not a current province or prefecture", code, tab.get(i, "name"))
		}
		n, err := strconv.Atoi(tab.get(i, "population"))
		if err != nil || n <= 0 {
			return nil, tab.errorf(i, "bad population %q", tab.get(i, "population"))
		}
		if _, dup := pop[code]; dup {
			return nil, tab.errorf(i, "duplicate code %s", code)
		}
		pop[code] = n
	}
	return pop, nil
}
