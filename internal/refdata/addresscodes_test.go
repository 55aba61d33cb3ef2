package refdata

import (
	"strings"
	"testing"
)

func TestAddressCode(t *testing.T) {
	tests := []struct {
		code, name string // name "" means not an address code
	}{
		{"110105", "朝阳区"},   // 北京, current
		{"110000", "北京市"},   // province
		{"110100", "市辖区"},   // 直辖市 pseudo-prefecture
		{"370100", "济南市"},   // prefecture
		{"370181", "章丘市"},   // historical (1995-2015), now 370114 章丘区
		{"371202", "莱城区"},   // historical (1992-2017), now 370116 莱芜区
		{"371200", "莱芜市"},   // historical prefecture
		{"370116", "莱芜区"},   // current since 2018
		{"370101", "市辖区"},   // 市辖区 pseudo-county, in older numbers
		{"440524", "潮阳县"},   // GB 11643 example, abolished 1993
		{"362324", "铅山县"},   // reused: 丰城县 until 1981, then 铅山县 until 1999
		{"321083", "兴化市"},   // 1995 only, then 321281
		{"500154", "开州区"},   // 重庆, since 2016
		{"429004", "仙桃市"},   // 省直辖县级市
		{"232761", "加格达奇区"}, // from the supplementary timeline (2018)
		{"350404", "三元区"},   // new in 2021, NBS only
		{"350402", "梅列区"},   // abolished 2021
		{"460321", "西沙群岛"},  // NBS code
		{"620201", "市辖区"},   // 嘉峪关市's only county-level code
		{"654028", "尼勒克县"},  // last pages of the NBS list
		{"659011", "新星市"},
		{"810000", "香港特别行政区"},
		{"820000", "澳门特别行政区"},
		{"830000", "台湾省"},
		{"999999", ""},
		{"111111", ""},
		{"370176", ""}, // NBS development zone, not GB/T 2260
		{"341123", ""}, // listed in the supplement as 未曾使用 (never used)
		{"379999", ""},
		{"710000", ""}, // 台湾省 in GB/T 2260, but no ID number begins with it
		{"11010", ""},
		{"1101050", ""},
		{"11010a", ""},
		{"", ""},
	}
	for _, tt := range tests {
		name, ok := AddressCode(tt.code)
		if ok != (tt.name != "") || name != tt.name {
			t.Errorf("AddressCode(%q) = %q, %v; want %q", tt.code, name, ok, tt.name)
		}
	}
}

func TestAddressCodeValidIn(t *testing.T) {
	tests := []struct {
		code string
		year int
		want bool
	}{
		{"110105", 1950, true}, // existed before the timeline
		{"110105", 2025, true},
		{"370181", 1994, false},
		{"370181", 1995, true},
		{"370181", 2015, true},
		{"370181", 2016, true}, // year after the last listing: still in use early in the year
		{"370181", 2017, false},
		{"371202", 2004, true},
		{"371202", 2019, false},
		{"370116", 2017, false},
		{"370116", 2018, true},
		{"362324", 1970, true}, // 丰城县
		{"362324", 1990, true}, // 铅山县
		{"362324", 2001, false},
		{"500154", 1993, false}, // jxlwqq's strict-mode example
		{"500154", 2016, true},
		{"350402", 2021, true},
		{"350402", 2022, false},
		{"350404", 2020, false},
		{"350404", 2021, true},
		{"460321", 1990, true}, // unknown start: lenient
		{"370181", 0, true},    // unknown year: lenient
		{"999999", 0, false},
		{"999999", 2000, false},
	}
	for _, tt := range tests {
		if got := AddressCodeValidIn(tt.code, tt.year); got != tt.want {
			t.Errorf("AddressCodeValidIn(%q, %d) = %v, want %v", tt.code, tt.year, got, tt.want)
		}
	}
}

func TestAddressCodeUsedSince(t *testing.T) {
	tests := []struct {
		code string
		year int
		want bool
	}{
		{"370181", 1960, true}, // born before the code existed: fine
		{"370181", 2016, true},
		{"370181", 2018, false}, // abolished before birth: impossible number
		{"370116", 1960, true},
		{"110105", 2030, true},
		{"362324", 2000, true},
		{"362324", 2001, false},
		{"999999", 0, false},
		{"362324", 0, true},
	}
	for _, tt := range tests {
		if got := AddressCodeUsedSince(tt.code, tt.year); got != tt.want {
			t.Errorf("AddressCodeUsedSince(%q, %d) = %v, want %v", tt.code, tt.year, got, tt.want)
		}
	}
}

func TestAddressCodeHistory(t *testing.T) {
	h := AddressCodeHistory("362324")
	if len(h) != 2 || h[0].Name != "丰城县" || h[0].ValidFrom != 0 || h[0].ValidTo != 1981 ||
		h[1].Name != "铅山县" || h[1].ValidFrom != 1982 || h[1].ValidTo != 1999 || h[1].Current() {
		t.Errorf("AddressCodeHistory(362324) = %+v", h)
	}
	h[0].Name = "changed"
	if AddressCodeHistory("362324")[0].Name != "丰城县" {
		t.Error("AddressCodeHistory returned the package's slice")
	}
	if h := AddressCodeHistory("370116"); len(h) != 1 || !h[0].Current() || h[0].ValidFrom != 2018 || h[0].Source != "sd" {
		t.Errorf("AddressCodeHistory(370116) = %+v", h)
	}
	if h := AddressCodeHistory("999999"); h != nil {
		t.Errorf("AddressCodeHistory(999999) = %+v", h)
	}
}

func TestAddressFullName(t *testing.T) {
	tests := []struct {
		code string
		year int
		want string
	}{
		{"110105", 0, "北京市朝阳区"},
		{"110105", 2008, "北京市朝阳区"},
		{"370181", 0, "山东省济南市章丘市"},
		{"371202", 2004, "山东省莱芜市莱城区"},
		{"370114", 0, "山东省济南市章丘区"},
		{"370101", 0, "山东省济南市市辖区"},
		{"370100", 0, "山东省济南市"},
		{"370000", 0, "山东省"},
		{"440524", 1980, "广东省汕头市潮阳县"},
		{"362324", 1975, "江西省宜春地区丰城县"}, // codes 3622xx and 3623xx were swapped in 1982
		{"362324", 1990, "江西省上饶地区铅山县"},
		{"429004", 0, "湖北省仙桃市"},
		{"500154", 0, "重庆市开州区"},
		{"810000", 0, "香港特别行政区"},
		{"999999", 0, ""},
	}
	for _, tt := range tests {
		if got := AddressFullName(tt.code, tt.year); got != tt.want {
			t.Errorf("AddressFullName(%q, %d) = %q, want %q", tt.code, tt.year, got, tt.want)
		}
	}
}

// TestAddressCodesAgreeWithDivisions checks the address-code table against
// the division tables: every current province and prefecture of China and
// every current or historical Shandong record must be there, under the same
// name and years.
func TestAddressCodesAgreeWithDivisions(t *testing.T) {
	check := func(d Division) {
		t.Helper()
		for _, r := range AddressCodeHistory(d.Code) {
			if r.Name == d.Name && r.ValidTo == d.ValidToYear && (!d.Current || r.ValidFrom == d.ValidFromYear) {
				return
			}
		}
		// The national prefecture table names a few 直辖市 groupings
		// differently; the name must at least be known for the code.
		if name, ok := AddressCode(d.Code); ok && d.Current && d.Level != LevelCounty && name == d.Name {
			return
		}
		t.Errorf("division %s %s (%d-%d, current %v) not in address codes: %+v", d.Code, d.Name, d.ValidFromYear, d.ValidToYear, d.Current, AddressCodeHistory(d.Code))
	}
	n := 0
	for _, p := range Provinces() {
		check(p)
		for _, c := range Cities(p.Code) {
			check(c)
			for _, k := range Counties(c.Code) {
				check(k)
				for _, h := range DivisionHistory(k.Code) {
					check(h)
				}
				n++
			}
		}
	}
	if n != 136 {
		t.Errorf("checked %d Shandong counties, want 136", n)
	}
	for _, code := range []string{"370181", "371202", "371200", "372521", "370406"} {
		for _, h := range DivisionHistory(code) {
			check(h)
		}
	}
}

func TestAddressCodeCounts(t *testing.T) {
	m := addressCodes()
	var currentCounties, historical, rows int
	provinces := map[string]bool{}
	for code, e := range m {
		rows += len(e.records)
		if code[4:] == "00" {
			if code[2:] == "0000" {
				provinces[code[:2]] = true
			}
			continue
		}
		cur := false
		for _, r := range e.records {
			cur = cur || r.Current()
		}
		switch {
		case cur && !isPseudo(e.name) && e.name != "市区":
			currentCounties++
		case !cur:
			historical++
		}
	}
	// NBS counts 2,844 county-level divisions in 2023; the table adds
	// 632857 大柴旦行政委员会 and the three 三沙 island groups, which NBS lists
	// separately, and Hong Kong, Macao and Taiwan have no county codes.
	if currentCounties < 2840 || currentCounties > 2860 {
		t.Errorf("%d current county-level codes, want about 2,850", currentCounties)
	}
	if historical < 3000 {
		t.Errorf("%d historical county-level codes, want over 3,000", historical)
	}
	if len(provinces) != 34 {
		t.Errorf("%d province-level codes, want 34 (31 + 港澳台)", len(provinces))
	}
	t.Logf("%d codes, %d records; %d current county-level units, %d abolished county-level codes", len(m), rows, currentCounties, historical)
}

func TestMalformedAddressCodes(t *testing.T) {
	tests := []struct {
		name, old, new, errContains string
	}{
		{"bad code", "370181,章丘市", "37018x,章丘市", "bad code"},
		{"unknown source", "370181,章丘市,1995,2015,sd", "370181,章丘市,1995,2015,xx", "source"},
		{"years reversed", "370181,章丘市,1995,2015", "370181,章丘市,2016,2015", "after"},
		{"bad year", "370181,章丘市,1995", "370181,章丘市,19x5", "valid_from_year"},
		{"two current", "370181,章丘市,1995,2015", "370181,章丘市,1995,", "current records"},
		{"empty name", "370181,章丘市", "370181,", "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := embeddedCopy(t)
			f := fsys["data/address_codes.csv"]
			s := string(f.Data)
			if !strings.Contains(s, tt.old) {
				t.Fatalf("address_codes.csv does not contain %q", tt.old)
			}
			if tt.name == "two current" {
				s = strings.Replace(s, "370114,章丘区", "370181,章丘区", 1)
			}
			f.Data = []byte(strings.Replace(s, tt.old, tt.new, 1))
			_, err := loadAddressCodes(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.errContains) {
				t.Errorf("loadAddressCodes error = %v, want one mentioning %q", err, tt.errContains)
			}
		})
	}
}

func BenchmarkAddressCode(b *testing.B) {
	AddressCode("110105")
	for b.Loop() {
		AddressCode("370181")
	}
}
