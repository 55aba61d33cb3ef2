package refdata

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"sync"
)

// AddressRecord is one period during which a GB/T 2260 code was in use under
// one name. It is the national counterpart of the Shandong-only Division
// history: the address-code table covers every province, prefecture and
// county-level code of China, current and abolished, because any of them can
// begin a citizen identity number (GB 11643).
type AddressRecord struct {
	Code string // 6 digits, e.g. "370181"
	Name string // the name in this period, e.g. "章丘市"; "市辖区" or "县" for the pseudo-divisions of a city
	// ValidFrom is the first year the code is listed under this name and
	// ValidTo the last year (the lists are year-end snapshots, so a code
	// replaced during year Y+1 has ValidTo Y). ValidFrom is 0 when the code
	// predates the timeline (about 1980) or the year is unknown; ValidTo is 0
	// while the code is still in use.
	ValidFrom, ValidTo int
	// Source is the short source key of data/address_codes.csv (jx, jxm,
	// jxa, sd, md), explained in data/SOURCES.md.
	Source string
}

// Current reports whether the record is still in use.
func (r AddressRecord) Current() bool { return r.ValidTo == 0 }

// inUse reports whether the record's code was in use at some time during
// year, allowing the year after ValidTo (see AddressCodeValidIn).
func (r AddressRecord) inUse(year int) bool {
	return (r.ValidFrom == 0 || r.ValidFrom <= year) && (r.ValidTo == 0 || year <= r.ValidTo+1)
}

// addressEntry is every record of one code, oldest first.
type addressEntry struct {
	records []AddressRecord
	name    string // current name, or the name of the most recent record
	// province and prefecture are the entries of the code's province and
	// prefecture codes, when they exist and differ from the code.
	province, prefecture *addressEntry
	// fullName is the full name when it does not depend on the year: the
	// code and its parents each have a single record.
	fullName string
}

// addressSources are the allowed values of the source column.
var addressSources = map[string]bool{"jx": true, "jxm": true, "jxa": true, "sd": true, "md": true}

// addressCodes parses data/address_codes.csv on first use. It is separate
// from the other tables so that the 8,000-row file is only parsed by callers
// that need it (ID-number validation).
var addressCodes = sync.OnceValue(func() map[string]*addressEntry {
	m, err := loadAddressCodes(embedded)
	if err != nil {
		panic("refdata: malformed embedded data: " + err.Error())
	}
	return m
})

func loadAddressCodes(fsys fs.FS) (map[string]*addressEntry, error) {
	tab, err := readTable(fsys, "address_codes.csv", "code", "name", "valid_from_year", "valid_to_year", "source")
	if err != nil {
		return nil, err
	}
	m := make(map[string]*addressEntry, 7500)
	for i := range tab.rows {
		if err := tab.nonEmpty(i, "code", "name", "source"); err != nil {
			return nil, err
		}
		r := AddressRecord{Code: tab.get(i, "code"), Name: tab.get(i, "name"), Source: tab.get(i, "source")}
		if !isCode(r.Code) || r.Code[:2] < "11" {
			return nil, tab.errorf(i, "bad code %q", r.Code)
		}
		if !addressSources[r.Source] {
			return nil, tab.errorf(i, "unknown source key %q", r.Source)
		}
		if r.ValidFrom, err = tab.optionalYear(i, "valid_from_year"); err != nil {
			return nil, err
		}
		if r.ValidTo, err = tab.optionalYear(i, "valid_to_year"); err != nil {
			return nil, err
		}
		if r.ValidFrom != 0 && r.ValidTo != 0 && r.ValidFrom > r.ValidTo {
			return nil, tab.errorf(i, "valid_from_year %d after valid_to_year %d", r.ValidFrom, r.ValidTo)
		}
		e := m[r.Code]
		if e == nil {
			e = &addressEntry{}
			m[r.Code] = e
		}
		e.records = append(e.records, r)
	}
	for code, e := range m {
		slices.SortStableFunc(e.records, func(a, b AddressRecord) int {
			return cmp.Or(cmp.Compare(a.ValidFrom, b.ValidFrom), cmp.Compare(endYear(a), endYear(b)))
		})
		n := 0
		for _, r := range e.records {
			if r.Current() {
				n++
			}
		}
		if n > 1 {
			return nil, fmt.Errorf("%s: code %s has %d current records", tab.file, code, n)
		}
		e.name = latest(e.records).Name
		if code[2:] != "0000" {
			e.province = m[code[:2]+"0000"]
			if code[4:] != "00" {
				e.prefecture = m[code[:4]+"00"]
			}
		}
	}
	for _, e := range m {
		if len(e.records) == 1 && (e.province == nil || len(e.province.records) == 1) &&
			(e.prefecture == nil || len(e.prefecture.records) == 1) {
			e.fullName = fullName(e, 0)
		}
	}
	return m, nil
}

// endYear is ValidTo with 0 (still in use) sorting last.
func endYear(r AddressRecord) int {
	if r.ValidTo == 0 {
		return 1 << 30
	}
	return r.ValidTo
}

// AddressCode reports whether code is a real GB/T 2260 address code that can
// appear in an ID number (a current or historical county-level,
// prefecture-level or province-level code), and its name: the current name,
// or the last name for an abolished code.
//
// The table covers mainland China from about 1980 (民政部 timeline) to
// mid-2023 (NBS), plus 810000 香港, 820000 澳门 and 830000 台湾, which begin the
// numbers of 港澳台居民居住证. Abolished and reused codes are included, as are
// the 市辖区 (xx01), 市区 (xx20) and 省直辖县级行政单位 (xx9000) pseudo-codes
// that occur in older numbers. NBS statistical codes for development zones
// (xx7x) are not address codes and are not included.
func AddressCode(code string) (name string, ok bool) {
	e := addressCodes()[code]
	if e == nil {
		return "", false
	}
	return e.name, true
}

// AddressCodeValidIn reports whether code was in use in the given year (for
// checking an ID's area against its birth year; lenient when years are
// unknown). It is false for unknown codes and true for any known code when
// year <= 0.
//
// A record counts as in use from ValidFrom (or since before the timeline when
// 0) through ValidTo+1 (or today when 0): the source lists are year-end
// snapshots, so a code abolished during 2016 is listed last for 2015 but was
// still being given to newborns early in 2016.
//
// Note that an ID number's area code is the one in force when the number was
// allocated, which can be years after birth (first cards were issued from
// 1984, and people move before their first registration), so a code that
// came into use after the birth year is not by itself evidence of a bad
// number; see AddressCodeUsedSince for the weaker, safer check.
func AddressCodeValidIn(code string, year int) bool {
	e := addressCodes()[code]
	if e == nil {
		return false
	}
	if year <= 0 {
		return true
	}
	for _, r := range e.records {
		if r.inUse(year) {
			return true
		}
	}
	return false
}

// AddressCodeUsedSince reports whether code was in use in year or in any
// later year (with the same one-year allowance as AddressCodeValidIn). An ID
// number is allocated at or after birth, so its area code cannot have been
// abolished before the birth year: AddressCodeUsedSince(area, birthYear) is
// false for such impossible numbers. It is false for unknown codes and true
// for any known code when year <= 0.
func AddressCodeUsedSince(code string, year int) bool {
	e := addressCodes()[code]
	if e == nil {
		return false
	}
	if year <= 0 {
		return true
	}
	for _, r := range e.records {
		if r.ValidTo == 0 || year <= r.ValidTo+1 {
			return true
		}
	}
	return false
}

// AddressCodeHistory returns every record of code, oldest first (nil for an
// unknown code). Most codes have one record; a code that was renamed or
// reused for another place has several.
func AddressCodeHistory(code string) []AddressRecord {
	e := addressCodes()[code]
	if e == nil {
		return nil
	}
	return slices.Clone(e.records)
}

// isPseudo reports whether a prefecture-level name is a grouping, not a place.
func isPseudo(name string) bool {
	switch name {
	case "市辖区", "县", "市", "省直辖县级行政单位", "自治区直辖县级行政单位", "省直辖行政单位":
		return true
	}
	return false
}

// AddressFullName returns the full name of code as of the given year,
// province first, e.g. "山东省济南市章丘市" for 370181 or "北京市朝阳区" for
// 110105; prefecture-level groupings such as 110100 市辖区 and 419000
// 省直辖县级行政单位 are left out. For each level it uses the record in use in
// year, or, if none was, the first record after year, or else the last
// record; year <= 0 means the latest names. It returns "" for an unknown code.
func AddressFullName(code string, year int) string {
	e := addressCodes()[code]
	switch {
	case e == nil:
		return ""
	case e.fullName != "":
		return e.fullName
	}
	return fullName(e, year)
}

func fullName(e *addressEntry, year int) string {
	var province, prefecture string
	if e.province != nil {
		province = recordIn(e.province.records, year).Name
	}
	if e.prefecture != nil {
		if n := recordIn(e.prefecture.records, year).Name; !isPseudo(n) {
			prefecture = n
		}
	}
	return province + prefecture + recordIn(e.records, year).Name
}

// recordIn picks the record of a code to name it by in year (see
// AddressFullName). records is not empty and sorted oldest first.
func recordIn(records []AddressRecord, year int) AddressRecord {
	if year <= 0 {
		for _, r := range records {
			if r.Current() {
				return r
			}
		}
		return latest(records)
	}
	// Strictly in range first, then with the one-year allowance.
	for _, r := range records {
		if (r.ValidFrom == 0 || r.ValidFrom <= year) && (r.ValidTo == 0 || year <= r.ValidTo) {
			return r
		}
	}
	for _, r := range records {
		if r.inUse(year) {
			return r
		}
	}
	for _, r := range records {
		if r.ValidFrom > year {
			return r
		}
	}
	return latest(records)
}

// latest returns the record with the latest end.
func latest(records []AddressRecord) AddressRecord {
	last := records[0]
	for _, r := range records[1:] {
		if endYear(r) >= endYear(last) {
			last = r
		}
	}
	return last
}
