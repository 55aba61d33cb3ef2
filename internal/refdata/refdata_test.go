package refdata

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedDataLoads(t *testing.T) {
	if _, err := load(embedded); err != nil {
		t.Fatalf("load(embedded): %v", err)
	}
}

func TestEveryRowHasSource(t *testing.T) {
	files, err := fs.Glob(embedded, "data/*.csv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded CSV files: %v", err)
	}
	for _, f := range files {
		tab, err := readTable(embedded, strings.TrimPrefix(f, "data/"), "source")
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for i := range tab.rows {
			if tab.get(i, "source") == "" {
				t.Errorf("%s:%d: empty source", f, tab.lines[i])
			}
		}
	}
}

func TestDivisionCounts(t *testing.T) {
	provinces := Provinces()
	if len(provinces) != 31 {
		t.Errorf("Provinces() = %d, want 31", len(provinces))
	}
	if !slices.IsSortedFunc(provinces, func(a, b Division) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Provinces() not sorted by code")
	}
	prefectures := 0
	for _, p := range provinces {
		if p.Level != LevelProvince || !p.Current || p.ParentCode != "" {
			t.Errorf("bad province %+v", p)
		}
		cities := Cities(p.Code)
		if len(cities) == 0 {
			t.Errorf("Cities(%s %s) is empty", p.Code, p.Name)
		}
		for _, c := range cities {
			if c.Level != LevelPrefecture || c.ParentCode != p.Code || !c.Current {
				t.Errorf("bad city %+v of %s", c, p.Code)
			}
		}
		prefectures += len(cities)
	}
	// 333 prefecture-level divisions (293 地级市, 7 地区, 30 自治州, 3 盟) plus
	// the 市辖区 codes of the four 直辖市 and 重庆's 县 code.
	if prefectures != 338 {
		t.Errorf("total Cities = %d, want 338", prefectures)
	}

	cities := Cities(ShandongCode)
	if len(cities) != 16 {
		t.Fatalf("Cities(Shandong) = %d, want 16", len(cities))
	}
	types := map[string]int{}
	counties := 0
	for _, c := range cities {
		cs := Counties(c.Code)
		if len(cs) == 0 {
			t.Errorf("Counties(%s %s) is empty", c.Code, c.Name)
		}
		if !slices.IsSortedFunc(cs, func(a, b Division) int { return strings.Compare(a.Code, b.Code) }) {
			t.Errorf("Counties(%s) not sorted", c.Code)
		}
		for _, d := range cs {
			if d.Level != LevelCounty || d.ParentCode != c.Code || !d.Current {
				t.Errorf("bad county %+v", d)
			}
			types[d.Type]++
		}
		counties += len(cs)
	}
	if counties != 136 {
		t.Errorf("Shandong counties = %d, want 136", counties)
	}
	if want := map[string]int{"市辖区": 58, "县级市": 26, "县": 52}; !equalMaps(types, want) {
		t.Errorf("Shandong county types = %v, want %v", types, want)
	}
	if got := Counties("110100"); got != nil {
		t.Errorf("Counties(110100) = %v, want nil (no county data outside Shandong)", got)
	}
	if got := Cities("110000"); len(got) != 1 || got[0].Code != "110100" || got[0].Name != "市辖区" {
		t.Errorf("Cities(北京) = %v, want [110100 市辖区]", got)
	}
	if got := Cities("500000"); len(got) != 2 {
		t.Errorf("Cities(重庆) = %v, want 500100 and 500200", got)
	}
	if got := Cities("370100"); got != nil {
		t.Errorf("Cities(370100) = %v, want nil", got)
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSlicesAreCopies(t *testing.T) {
	p := Provinces()
	p[0].Name = "changed"
	if Provinces()[0].Name == "changed" {
		t.Error("Provinces returned shared storage")
	}
	c := Counties("370100")
	c[0].Name = "changed"
	if Counties("370100")[0].Name == "changed" {
		t.Error("Counties returned shared storage")
	}
	e := EthnicGroups()
	e[0].Name = "changed"
	if EthnicGroups()[0].Name == "changed" {
		t.Error("EthnicGroups returned shared storage")
	}
}

func TestCityOf(t *testing.T) {
	tests := []struct {
		code     string
		wantCode string // "" means not found
		wantName string
	}{
		{"370114", "370100", "济南市"}, // county (市辖区), current
		{"370181", "", ""},          // 章丘市: historical only
		{"370100", "370100", "济南市"}, // prefecture: itself
		{"371326", "371300", "临沂市"}, // 平邑县
		{"371082", "371000", "威海市"}, // 荣成市 (county-level city)
		{"370000", "", ""},          // province
		{"110100", "110100", "市辖区"}, // 直辖市 市辖区 code
		{"440300", "440300", "深圳市"},
		{"110105", "", ""}, // county outside Shandong: unknown
		{"371202", "", ""}, // 莱城区 (under the abolished 莱芜市)
		{"371200", "", ""}, // 莱芜市: historical prefecture
		{"999999", "", ""},
		{"37011", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		got, ok := CityOf(tt.code)
		if ok != (tt.wantCode != "") || got.Code != tt.wantCode || got.Name != tt.wantName {
			t.Errorf("CityOf(%q) = %s %s, %v; want %q %q", tt.code, got.Code, got.Name, ok, tt.wantCode, tt.wantName)
		}
		if ok && (got.Level != LevelPrefecture || !got.Current) {
			t.Errorf("CityOf(%q) = %+v, not a current prefecture", tt.code, got)
		}
	}
}

func TestProvinceOf(t *testing.T) {
	tests := []struct{ code, want string }{
		{"370000", "山东省"},
		{"370114", "山东省"},
		{"370181", "山东省"}, // historical
		{"110105", "北京市"}, // county code outside Shandong
		{"650100", "新疆维吾尔自治区"},
		{"990000", ""},
		{"37", ""},
		{"37a000", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := ProvinceOf(tt.code)
		if ok != (tt.want != "") || got.Name != tt.want {
			t.Errorf("ProvinceOf(%q) = %q, %v; want %q", tt.code, got.Name, ok, tt.want)
		}
	}
}

func TestLookupDivision(t *testing.T) {
	tests := []struct {
		code       string
		name       string
		level      DivisionLevel
		parent     string
		current    bool
		from, to   int
		currentHit bool // CurrentDivision finds it
	}{
		{"370000", "山东省", LevelProvince, "", true, 0, 0, true},
		{"370100", "济南市", LevelPrefecture, "370000", true, 0, 0, true},
		{"370114", "章丘区", LevelCounty, "370100", true, 2016, 0, true},
		{"370181", "章丘市", LevelCounty, "370100", false, 1995, 2015, false},
		{"371200", "莱芜市", LevelPrefecture, "370000", false, 1992, 2017, false},
		{"371202", "莱城区", LevelCounty, "371200", false, 1992, 2017, false},
		{"379020", "章丘市", LevelCounty, "370000", false, 1992, 1994, false},
		{"372300", "滨州地区", LevelPrefecture, "370000", false, 1992, 1999, false}, // reused: 惠民地区 before
		{"370406", "山亭区", LevelCounty, "370400", true, 1983, 0, true},           // reused: 齐村区 before
		{"530100", "昆明市", LevelPrefecture, "530000", true, 0, 0, true},
	}
	for _, tt := range tests {
		got, ok := LookupDivision(tt.code)
		want := Division{Code: tt.code, Name: tt.name, Level: tt.level, ParentCode: tt.parent,
			Current: tt.current, ValidFromYear: tt.from, ValidToYear: tt.to, Type: got.Type}
		if !ok || got != want {
			t.Errorf("LookupDivision(%q) = %+v, %v; want %+v", tt.code, got, ok, want)
		}
		if tt.current != (got.Type != "") {
			t.Errorf("LookupDivision(%q).Type = %q; want a type only for current codes", tt.code, got.Type)
		}
		if _, ok := CurrentDivision(tt.code); ok != tt.currentHit {
			t.Errorf("CurrentDivision(%q) ok = %v, want %v", tt.code, ok, tt.currentHit)
		}
	}
	for _, code := range []string{"", "110105", "370176", "999999"} {
		if d, ok := LookupDivision(code); ok {
			t.Errorf("LookupDivision(%q) = %+v, want not found", code, d)
		}
	}
}

func TestDivisionHistory(t *testing.T) {
	h := DivisionHistory("370406")
	if len(h) != 2 || h[0].Name != "齐村区" || h[0].Current || h[1].Name != "山亭区" || !h[1].Current {
		t.Errorf("DivisionHistory(370406) = %+v", h)
	}
	h = DivisionHistory("372521")
	if len(h) != 2 || h[0].Name != "阳谷县" || h[1].Name != "聊城县" {
		t.Errorf("DivisionHistory(372521) = %+v", h)
	}
	if h := DivisionHistory("370114"); len(h) != 1 || !h[0].Current {
		t.Errorf("DivisionHistory(370114) = %+v", h)
	}
	if h := DivisionHistory("000000"); h != nil {
		t.Errorf("DivisionHistory(000000) = %+v, want nil", h)
	}
}

func TestPopulation(t *testing.T) {
	sum := 0
	for _, c := range Cities(ShandongCode) {
		p := Population(c.Code)
		if p <= 0 {
			t.Errorf("Population(%s %s) = %d", c.Code, c.Name, p)
		}
		sum += p
	}
	// 七普: Shandong 10152.75万; city figures are rounded to 1万 each.
	if sum < 101_400_000 || sum > 101_700_000 {
		t.Errorf("sum of Shandong city populations = %d, want about 101,527,453", sum)
	}
	if d := sum - Population(ShandongCode); d < -100_000 || d > 100_000 {
		t.Errorf("Shandong cities sum %d differs from province %d", sum, Population(ShandongCode))
	}
	national := 0
	for _, p := range Provinces() {
		n := Population(p.Code)
		if n <= 0 {
			t.Errorf("Population(%s %s) = %d", p.Code, p.Name, n)
		}
		national += n
	}
	// 七普: 31 provinces 14.0978亿 (14.1178亿 including 200万 active servicemen).
	if national < 1_408_000_000 || national > 1_411_000_000 {
		t.Errorf("sum of province populations = %d, want about 1,409,778,724", national)
	}
	for _, code := range []string{"370114", "370181", "110100", "", "x"} {
		if p := Population(code); p != 0 {
			t.Errorf("Population(%q) = %d, want 0", code, p)
		}
	}
}

func TestEthnicGroups(t *testing.T) {
	groups := EthnicGroups()
	if len(groups) != 56 {
		t.Fatalf("EthnicGroups() = %d, want 56", len(groups))
	}
	if g := groups[0]; g != (EthnicGroup{"01", "汉族", "Han", "HA"}) {
		t.Errorf("EthnicGroups()[0] = %+v", g)
	}
	tests := []struct{ in, wantCode string }{
		{"01", "01"},
		{"汉族", "01"},
		{"汉", "01"},
		{" 回族 ", "03"},
		{"蒙古", "02"},
		{"蒙古族", "02"},
		{"56", "56"},
		{"基诺", "56"},
		{"高山族", "23"},
		{"1", ""},
		{"001", ""},
		{"57", ""},
		{"族", ""},
		{"Han", ""},
		{"", ""},
	}
	for _, tt := range tests {
		g, ok := LookupEthnicGroup(tt.in)
		if ok != (tt.wantCode != "") || g.Code != tt.wantCode {
			t.Errorf("LookupEthnicGroup(%q) = %+v, %v; want code %q", tt.in, g, ok, tt.wantCode)
		}
	}
}

func TestSexCodes(t *testing.T) {
	var got []string
	for _, s := range SexCodes() {
		got = append(got, s.Code+s.Name)
	}
	if want := []string{"0未知的性别", "1男性", "2女性", "9未说明的性别"}; !slices.Equal(got, want) {
		t.Errorf("SexCodes() = %v, want %v", got, want)
	}
}

func TestSchoolTypes(t *testing.T) {
	want := []SchoolType{SchoolTypeBasic, SchoolTypeSenior, SchoolTypeTechnician}
	if got := SchoolTypes(); !slices.Equal(got, want) {
		t.Errorf("SchoolTypes() = %v, want %v", got, want)
	}
	for _, st := range want {
		if !st.Valid() || st.GraduationCertificate() != string(st)+"毕业证书" {
			t.Errorf("%s: Valid=%v certificate=%q", st, st.Valid(), st.GraduationCertificate())
		}
	}
	if bad := SchoolType("职业学院"); bad.Valid() || bad.GraduationCertificate() != "" {
		t.Errorf("SchoolType(职业学院) is accepted")
	}
}

func TestClassLevels(t *testing.T) {
	if got, want := ClassLevelNames(), []string{"中级工班", "高级工班", "预备技师班"}; !slices.Equal(got, want) {
		t.Errorf("ClassLevelNames() = %v, want %v", got, want)
	}
	levels := ClassLevels()
	if len(levels) != 9 {
		t.Errorf("ClassLevels() = %d rows, want 9", len(levels))
	}
	years := map[string]int{}
	for _, l := range levels {
		if l.EntryPoint == "初中毕业生" {
			years[l.Name] = l.NormalYears
		}
	}
	if want := map[string]int{"中级工班": 3, "高级工班": 5, "预备技师班": 6}; !equalMaps(years, want) {
		t.Errorf("初中起点 durations = %v, want %v", years, want)
	}
	if c, ok := ClassLevelOf("高级工班", "初中毕业生"); !ok || c.NormalYears != 5 {
		t.Errorf("ClassLevelOf(高级工班, 初中毕业生) = %+v, %v; want 5 years", c, ok)
	}
	if _, ok := ClassLevelOf("高级工班", "小学毕业生"); ok {
		t.Error("ClassLevelOf found an entry point the table does not have")
	}

	tests := []struct{ in, want string }{
		{"中级工班", "中级工班"},
		{"高级工班", "高级工班"},
		{"预备技师班", "预备技师班"},
		{"预备技师（技师）班", "预备技师班"},
		{"预备技师(技师)班", "预备技师班"},
		{"技师班", "预备技师班"},
		{" 高级工班\t", "高级工班"},
		{"高级工", ""},
		{"技师学院", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := NormalizeClassLevel(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("NormalizeClassLevel(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}

	equiv := []struct{ in, want string }{
		{"中级工班", "中专"},
		{"高级工班", "大专"},
		{"预备技师班", "本科"},
		{"预备技师（技师）班", "本科"},
		{"高级技工学校/技师学院毕业", ""},
		{"", ""},
	}
	for _, tt := range equiv {
		if got := ClassLevelEquivalence(tt.in); got != tt.want {
			t.Errorf("ClassLevelEquivalence(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStatusChangeTypes(t *testing.T) {
	types := StatusChangeTypes()
	if len(types) != 18 {
		t.Errorf("StatusChangeTypes() = %d, want 18", len(types))
	}
	byName := map[string]StatusChangeType{}
	for _, s := range types {
		byName[s.Name] = s
	}
	for name, code := range map[string]string{"休学": "05", "复学": "25", "毕业": "45", "转专业": ""} {
		s, ok := byName[name]
		if !ok || s.Code != code || s.Category != "change" && s.Category != "exit" {
			t.Errorf("status %s = %+v, %v; want code %q", name, s, ok, code)
		}
	}
}

// embeddedCopy returns a writable copy of the embedded data.
func embeddedCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(embedded, "data", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(embedded, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMalformedDataPanics(t *testing.T) {
	tests := []struct {
		name, file  string
		old, new    string // replace the first old with new; old "" replaces the whole file
		errContains string
	}{
		{"missing file", "sex_codes.csv", "", "\x00delete", "sex_codes.csv"},
		{"empty file", "sex_codes.csv", "", "", "empty file"},
		{"header only", "sex_codes.csv", "", "code,name,note,source\n", "no data rows"},
		{"missing column", "ethnic_groups.csv", "letter_code", "letters", "missing column"},
		{"wrong field count", "school_types.csv", "技师学院,,重点", "技师学院,,x,重点", "wrong number of fields"},
		{"bad quote", "sex_codes.csv", "1,男性", "1,\"男性", "sex_codes.csv"},
		{"bad code", "divisions_shandong.csv", "370114,章丘区", "37011X,章丘区", "bad code"},
		{"level mismatch", "divisions_shandong.csv", "370114,章丘区,county", "370114,章丘区,prefecture", "does not match"},
		{"unknown parent", "divisions_shandong.csv", "370114,章丘区,county,370100", "370114,章丘区,county,379900", "parent"},
		{"conflicting name", "divisions_shandong.csv", "370100,济南市", "370100,泉城市", "conflicting"},
		{"duplicate county", "divisions_shandong.csv", "370103,市中区", "370102,市中区", "duplicate"},
		{"missing province", "divisions_china.csv", "650000,新疆维吾尔自治区", "660000,新疆维吾尔自治区", "parent"},
		{"bad year", "divisions_shandong_historical.csv", "370181,章丘市,1995", "370181,章丘市,19x5", "valid_from_year"},
		{"years reversed", "divisions_shandong_historical.csv", "370181,章丘市,1995,2015", "370181,章丘市,2016,2015", "after"},
		{"open historical", "divisions_shandong_historical.csv", "370181,章丘市,1995,2015", "370181,章丘市,1995,", "valid_to_year"},
		{"bad population", "population_census2020.csv", "370100,济南市,prefecture,9200000", "370100,济南市,prefecture,-1", "population"},
		{"population of county", "population_census2020.csv", "370100,济南市,", "370114,章丘区,", "not a current province"},
		{"ethnic sequence", "ethnic_groups.csv", "02,蒙古族", "22,蒙古族", "sequence"},
		{"ethnic duplicate name", "ethnic_groups.csv", "02,蒙古族", "02,汉族", "duplicate"},
		{"unknown school type", "school_types.csv", "高级技工学校,,培养", "职业学院,,培养", "school type"},
		{"unknown class level", "class_levels.csv", "中级工班,高中毕业生", "初级工班,高中毕业生", "class level"},
		{"bad duration", "class_levels.csv", "中级工班,初中毕业生,3", "中级工班,初中毕业生,three", "normal_duration_years"},
		{"missing equivalence", "class_level_equivalence.csv", "高级工班,大专", "高级工学历,大专", "no row"},
		{"bad status category", "status_change_types.csv", "exit,毕业", "leave,毕业", "category"},
		{"empty source", "sex_codes.csv", "", "code,name,note,source\n0,未知的性别,,\n", "empty source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := embeddedCopy(t)
			path := "data/" + tt.file
			f, ok := fsys[path]
			if !ok {
				t.Fatalf("no file %s", path)
			}
			switch {
			case tt.new == "\x00delete":
				delete(fsys, path)
			case tt.old == "":
				f.Data = []byte(tt.new)
			default:
				s := string(f.Data)
				if !strings.Contains(s, tt.old) {
					t.Fatalf("%s does not contain %q", tt.file, tt.old)
				}
				f.Data = []byte(strings.Replace(s, tt.old, tt.new, 1))
			}

			_, err := load(fsys)
			if err == nil {
				t.Fatal("load succeeded on malformed data")
			}
			if !strings.Contains(err.Error(), tt.errContains) {
				t.Errorf("error %q does not mention %q", err, tt.errContains)
			}

			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "refdata: malformed embedded data") {
					t.Errorf("mustLoad panic = %v, want a malformed-data panic", r)
				}
			}()
			mustLoad(fsys)
			t.Error("mustLoad did not panic")
		})
	}
}
