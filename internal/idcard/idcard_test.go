package idcard

import (
	"encoding/csv"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// today is the fixed "today" of the tests.
var today = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

// vectorWant is the expected outcome of every number in
// testdata/idcard_test_vectors.csv under this package's policy. The reason is
// "" for a valid number. Where the policy differs from the file's
// expected_valid column, the comment says why.
var vectorWant = map[string]Reason{
	"11010519491231002X": "",
	"440524188001010014": ReasonBirthDate, // GB 11643 example born 1880: this package rejects births before 1900
	"321083197812162119": "",
	"932682198501010017": "", // 外国人永久居留身份证, 江苏
	"81000019980902013X": "",
	"820000200009100032": "",
	"830000200209060065": "",
	"33010219200403064X": "",
	"3301022011022000D6": ReasonCharacters,
	"150102198807303035": "",
	"201511221897205960": ReasonArea, // hutool: bad birth date; the area code is checked first
	"110101199003078670": "",
	"440308199901101512": "",
	"500154199804106120": "",
	"810000199408230021": "",
	"830000199201300022": "",
	"362324198001010014": "",
	"430302199312194239": "",
	"411082198901010002": "", // address-code timeline not enforced (jxlwqq non-strict mode)
	"500154199301135886": "", // ditto: 500154 开州区 dates from 2016
	"610104196209276908": "",
	"11010119900307867X": ReasonCheckDigit,
	"440308199901101513": ReasonCheckDigit,
	"440308199902301512": ReasonBirthDate,
	"111111199901101512": ReasonArea,
	"44030819990110":     ReasonLength,
	"150102880730303":    ReasonLength, // 15-digit: see vectorUpgrade
	"610104620927690":    ReasonLength,
	"610104620932690":    ReasonLength,
	"360198910283844":    ReasonLength,
	"815727834224151":    ReasonLength,
	"123456789012345677": ReasonArea, // checksum example, 123456 is not an address code
	"370102200803151231": "",
	"37010220080315124X": "",
	"370211200709010354": "",
	"370702200901202189": "",
	"370811200611110472": "",
	"371702200802293119": "",
	"370181200505050622": "",
	"371202200407041598": "",
	"371302200810080074": "",
	"370102200803151230": ReasonCheckDigit,
	"370102200802301234": ReasonBirthDate,
	"379999200803151232": ReasonArea,
	"37010220080315124x": "", // lower-case x is normalized to X
}

// vectorUpgrade is the expected Upgrade15 result of the 15-digit vectors:
// the 18-digit number, or an error reason.
var vectorUpgrade = map[string]struct {
	number string
	reason Reason
}{
	"150102880730303": {number: "150102198807303035"},
	"610104620927690": {number: "610104196209276908"},
	"610104620932690": {reason: ReasonBirthDate}, // 1962-09-32
	"360198910283844": {reason: ReasonArea},      // 360198 is no address code (and 1991-02-83 no date)
	"815727834224151": {reason: ReasonArea},
}

type vector struct {
	number, expectedValid, computedCheck, checksumOK, note string
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/idcard_test_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var vs []vector
	for _, r := range rows[1:] {
		vs = append(vs, vector{r[col["id_number"]], r[col["expected_valid"]], r[col["computed_check_char"]], r[col["checksum_ok"]], r[col["note"]]})
	}
	return vs
}

func TestVectors(t *testing.T) {
	vs := readVectors(t)
	if len(vs) != 45 {
		t.Errorf("%d vectors, want 45", len(vs))
	}
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.number] = true
		want, ok := vectorWant[v.number]
		if !ok {
			t.Errorf("vector %s has no expectation", v.number)
			continue
		}
		info, err := Parse(v.number, today)
		if got := reasonOf(err); got != want {
			t.Errorf("Parse(%s) reason %q (%v), want %q [%s]", v.number, got, err, want, v.note)
		}
		if err == nil {
			if info.Number != strings.ToUpper(v.number) || info.AreaCode != v.number[:6] || info.AreaName == "" ||
				info.BirthDate.Format("20060102") != v.number[6:14] || (info.Sex == Male) != ((v.number[16]-'0')%2 == 1) {
				t.Errorf("Parse(%s) = %+v", v.number, info)
			}
			if v.expectedValid == "false" {
				t.Errorf("Parse(%s) accepted a number the vectors mark invalid", v.number)
			}
		}
		// The file's recomputed check characters agree with CheckDigit.
		if len(v.number) == 18 && allDigits(v.number[:17]) {
			c := string(CheckDigit(v.number[:17]))
			if c != v.computedCheck {
				t.Errorf("CheckDigit(%s) = %s, file says %s", v.number[:17], c, v.computedCheck)
			}
			if ok := strings.HasPrefix(v.checksumOK, "true"); ok != (strings.ToUpper(v.number[17:]) == c) {
				t.Errorf("%s: checksum_ok %s disagrees with CheckDigit %s", v.number, v.checksumOK, c)
			}
		}
		if len(v.number) == 15 {
			up, ok := vectorUpgrade[v.number]
			if !ok {
				t.Errorf("15-digit vector %s has no Upgrade15 expectation", v.number)
				continue
			}
			got, err := Upgrade15(v.number)
			if got != up.number || reasonOf(err) != up.reason {
				t.Errorf("Upgrade15(%s) = %q, %v; want %q, %q", v.number, got, err, up.number, up.reason)
			}
			if err == nil {
				if _, err := Parse(got, today); err != nil {
					t.Errorf("Parse(Upgrade15(%s)) = %v", v.number, err)
				}
			}
		}
	}
	for n := range vectorWant {
		if !seen[n] {
			t.Errorf("expectation for %s, which is not in the vectors file", n)
		}
	}
}

func reasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "not *Error"
	}
	return e.Reason
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		reason   Reason
		msg      string // substring of the message
	}{
		{"valid", "370102200803151231", "", ""},
		{"empty", "", ReasonLength, "为空"},
		{"blank", " \u3000 ", ReasonLength, "为空"},
		{"short", "3701022008031512", ReasonLength, "实际为16位"},
		{"long", "3701022008031512310", ReasonLength, "实际为19位"},
		{"15 digits", "370102080315123", ReasonLength, "升级"},
		{"letter", "3701022008031A1231", ReasonCharacters, "第14位应为数字，实际为“A”"},
		{"X not last", "3701022008031512X1", ReasonCharacters, "第17位"},
		{"bad last", "37010220080315123Y", ReasonCharacters, "第18位应为数字或X"},
		{"chinese", "37010220080315一231", ReasonCharacters, "第15位应为数字，实际为“一”"},
		{"internal space", "370102 200803151231", ReasonLength, "实际为19位"},
		{"check digit", "370102200803151230", ReasonCheckDigit, "第18位校验码应为1，实际为0"},
		{"check digit X", "370102200803151241", ReasonCheckDigit, "第18位校验码应为X，实际为1"},
		{"area", "119999200803151231", ReasonArea, "第1-6位地址码119999不是有效的行政区划代码"},
		{"area 9", "999999200803151231", ReasonArea, "第2-3位受理地省级代码99无效"},
		{"area zone", Synthesize("370176", date(2008, 3, 15), 1, Male), ReasonArea, "370176"},
		{"Feb 30", "370102200802301234", ReasonBirthDate, "第7-14位出生日期20080230不是有效日期"},
		{"month 13", Synthesize("370102", date(2008, 1, 15), 1, Male)[:10] + "1315" + "1231", ReasonBirthDate, "20081315"},
		{"day 00", "37010220080300" + "1231", ReasonBirthDate, "不是有效日期"},
		{"1900 not leap", "37010219000229" + "1231", ReasonBirthDate, "不是有效日期"},
		{"before 1900", Synthesize("370102", date(1899, 12, 31), 1, Male), ReasonBirthDate, "早于1900年"},
		{"future", Synthesize("370102", date(2025, 6, 2), 1, Male), ReasonBirthFuture, "晚于当前日期20250601"},
		{"foreign bad province", "999682198501010017", ReasonArea, "第2-3位"},
		{"foreign HK province", Synthesize("981682", date(1985, 1, 1), 1, Male), ReasonArea, "第2-3位"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Numbers built with a bad field get a correct check digit, so
			// that the intended check is the one that fails.
			in := tt.in
			fix := tt.reason == "" || tt.reason == ReasonArea || tt.reason == ReasonBirthDate || tt.reason == ReasonBirthFuture
			if fix && len(in) == 18 && allDigits(in[:17]) {
				in = in[:17] + string(CheckDigit(in[:17]))
			}
			_, err := Parse(in, today)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("Parse(%q) = %v, want reason %q", in, err, tt.reason)
			}
			if err != nil {
				e := err.(*Error)
				if !strings.Contains(e.Message, tt.msg) {
					t.Errorf("message %q does not contain %q", e.Message, tt.msg)
				}
				if !strings.Contains(err.Error(), string(tt.reason)) || !strings.Contains(err.Error(), e.Message) {
					t.Errorf("Error() = %q", err.Error())
				}
			}
		})
	}
}

func TestParseInfo(t *testing.T) {
	tests := []struct {
		in   string
		want Info
		kind Kind
	}{
		{"11010519491231002X", Info{"11010519491231002X", "110105", "北京市朝阳区", date(1949, 12, 31), Female}, KindResident},
		{"370181200505050622", Info{"370181200505050622", "370181", "山东省济南市章丘市", date(2005, 5, 5), Female}, KindResident},
		{"371202200407041598", Info{"371202200407041598", "371202", "山东省莱芜市莱城区", date(2004, 7, 4), Male}, KindResident},
		// Reused code: in 1980 362324 was 丰城县 in 宜春地区, but numbers were
		// only allocated from 1984, when it was 铅山县 in 上饶地区.
		{"362324198001010014", Info{"362324198001010014", "362324", "江西省上饶地区铅山县", date(1980, 1, 1), Male}, KindResident},
		{"932682198501010017", Info{"932682198501010017", "932682", "江苏省", date(1985, 1, 1), Male}, KindForeignPermanentResident},
		{"81000019980902013X", Info{"81000019980902013X", "810000", "香港特别行政区", date(1998, 9, 2), Male}, KindResidencePermit},
		{"830000200209060065", Info{"830000200209060065", "830000", "台湾省", date(2002, 9, 6), Female}, KindResidencePermit},
		// Full-width digits, full-width and lower-case x, surrounding spaces.
		{"\u3000３７０１０２２００８０３１５１２４ｘ ", Info{"37010220080315124X", "370102", "山东省济南市历下区", date(2008, 3, 15), Female}, KindResident},
		{" 37010220080315124x\t", Info{"37010220080315124X", "370102", "山东省济南市历下区", date(2008, 3, 15), Female}, KindResident},
		{"３７０１０２２００８０３１５１２４Ｘ", Info{"37010220080315124X", "370102", "山东省济南市历下区", date(2008, 3, 15), Female}, KindResident},
		// Born today, and on 1900-01-01: the limits are inclusive.
		{Synthesize("370102", date(2025, 6, 1), 0, Female), Info{Synthesize("370102", date(2025, 6, 1), 0, Female), "370102", "山东省济南市历下区", date(2025, 6, 1), Female}, KindResident},
		{Synthesize("370102", date(1900, 1, 1), 0, Male), Info{Synthesize("370102", date(1900, 1, 1), 0, Male), "370102", "山东省济南市历下区", date(1900, 1, 1), Male}, KindResident},
		{"371702200802293119", Info{"371702200802293119", "371702", "山东省菏泽市牡丹区", date(2008, 2, 29), Male}, KindResident},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, today)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if got.Kind() != tt.kind {
			t.Errorf("Parse(%q).Kind() = %s, want %s", tt.in, got.Kind(), tt.kind)
		}
	}
}

func TestParseToday(t *testing.T) {
	// A "today" late in the day in a zone east of UTC: the birth date
	// compares with the local calendar date.
	shanghai := time.FixedZone("CST", 8*3600)
	n := Synthesize("370102", date(2025, 6, 2), 0, Male)
	if _, err := Parse(n, time.Date(2025, 6, 2, 0, 30, 0, 0, shanghai)); err != nil {
		t.Errorf("born today in Shanghai: %v", err)
	}
	if _, err := Parse(n, time.Date(2025, 6, 1, 23, 30, 0, 0, shanghai)); reasonOf(err) != ReasonBirthFuture {
		t.Errorf("born tomorrow in Shanghai: %v", err)
	}
	// Zero today means now.
	if _, err := Parse(Synthesize("370102", time.Now().AddDate(0, 0, 2), 0, Male), time.Time{}); reasonOf(err) != ReasonBirthFuture {
		t.Errorf("zero today: %v", err)
	}
}

func TestCheck(t *testing.T) {
	const n = "370102200803151231" // 男, 2008-03-15
	shanghai := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name   string
		number string
		birth  time.Time
		sex    Sex
		reason Reason
		msg    string
	}{
		{"match", n, date(2008, 3, 15), Male, "", ""},
		{"match other zone", n, time.Date(2008, 3, 15, 23, 59, 0, 0, shanghai), Male, "", ""},
		{"no birth given", n, time.Time{}, Male, "", ""},
		{"no sex given", n, date(2008, 3, 15), "", "", ""},
		{"sex mismatch", n, date(2008, 3, 15), Female, ReasonSexMismatch, "第17位为3（男性），与性别“女”不符"},
		{"sex mismatch female", "37010220080315124X", date(2008, 3, 15), Male, ReasonSexMismatch, "第17位为4（女性）"},
		{"birth mismatch", n, date(2008, 3, 16), Male, ReasonBirthMismatch, "第7-14位出生日期为2008-03-15，与出生日期2008-03-16不符"},
		{"birth and sex mismatch", n, date(2009, 3, 15), Female, ReasonBirthMismatch, ""},
		{"structural first", "370102200803151230", date(2000, 1, 1), Female, ReasonCheckDigit, ""},
		{"lower-case x", "37010220080315124x", date(2008, 3, 15), Female, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Check(tt.number, tt.birth, tt.sex, today)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("Check = %v, want reason %q", err, tt.reason)
			}
			if err != nil {
				if info != (Info{}) {
					t.Errorf("Check returned %+v with an error", info)
				}
				if !strings.Contains(err.(*Error).Message, tt.msg) {
					t.Errorf("message %q does not contain %q", err.(*Error).Message, tt.msg)
				}
			} else if info.Number != Normalize(tt.number) {
				t.Errorf("Check = %+v", info)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"370102200803151231", "370102200803151231"},
		{"  370102200803151231\n", "370102200803151231"},
		{"\u3000370102200803151231\u3000", "370102200803151231"},
		{"\ufeff370102200803151231\u200b", "370102200803151231"},
		{"３７０１０２２００８０３１５１２４Ｘ", "37010220080315124X"},
		{"３７０１０２２００８０３１５１２４ｘ", "37010220080315124X"},
		{"37010220080315124x", "37010220080315124X"},
		{"370102 2008", "370102 2008"}, // inner space kept: Parse rejects it
		{"ab", "ab"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Normalize("37010220080315124X") }); n != 0 {
		t.Errorf("Normalize of a normalized number allocates %v times", n)
	}
}

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"11010519491231002", 'X'}, // GB 11643 appendix A
		{"44052418800101001", '4'},
		{"12345678901234567", '7'}, // ISO 7064 worked example
		{"37010220080315123", '1'},
		{"", 0},
		{"1234567890123456", 0},
		{"1234567890123456X", 0},
		{"123456789012345678", 0},
	}
	for _, tt := range tests {
		if got := CheckDigit(tt.in); got != tt.want {
			t.Errorf("CheckDigit(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUpgrade15(t *testing.T) {
	tests := []struct {
		in, want string
		reason   Reason
	}{
		{"150102880730303", "150102198807303035", ""},
		{"610104620927690", "610104196209276908", ""},
		{"330102200403064", "33010219200403064X", ""}, // hutool: born 1920
		{" １５０１０２８８０７３０３０３ ", "150102198807303035", ""},
		{"610104620932690", "", ReasonBirthDate},
		{"610104620229690", "", ReasonBirthDate}, // 1962-02-29
		{"999999880730303", "", ReasonArea},
		{"15010288073030X", "", ReasonCharacters},
		{"150102198807303035", "", ReasonLength},
		{"", "", ReasonLength},
	}
	for _, tt := range tests {
		got, err := Upgrade15(tt.in)
		if got != tt.want || reasonOf(err) != tt.reason {
			t.Errorf("Upgrade15(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.reason)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"370102200803151234", "3701**********1234"},
		{"37010220080315124x", "3701**********124X"},
		{"370102080315123", "370*********123"},
		{"1234567890123456789012", "1234**************9012"},
		{"12345678", "12****78"},
		{"1234", "1**4"},
		{"123", "***"},
		{"", ""},
		{"３７０１０２２００８０３１５１２４Ｘ", "3701**********124X"},
	}
	for _, tt := range tests {
		got := Mask(tt.in)
		if got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if shown := len([]rune(got)) - strings.Count(got, "*"); shown > 8 || shown > len([]rune(got))/2 {
			t.Errorf("Mask(%q) = %q shows %d characters", tt.in, got, shown)
		}
	}
}

func TestSynthesize(t *testing.T) {
	birth := date(2008, 3, 15)
	seen := map[string]bool{}
	for seq := range 500 {
		for _, sex := range []Sex{Male, Female} {
			n := Synthesize("370102", birth, seq, sex)
			info, err := Check(n, birth, sex, today)
			if err != nil {
				t.Fatalf("Synthesize(370102, %d, %s) = %s: %v", seq, sex, n, err)
			}
			if info.AreaCode != "370102" || !info.BirthDate.Equal(birth) {
				t.Fatalf("Synthesize(%d, %s) = %+v", seq, sex, info)
			}
			if seen[n] {
				t.Fatalf("Synthesize(%d, %s) = %s repeats an earlier number", seq, sex, n)
			}
			seen[n] = true
		}
	}
	if got := Synthesize("370102", birth, 500, Male); got != Synthesize("370102", birth, 0, Male) {
		t.Errorf("seq 500 = %s, want the same as seq 0", got)
	}
	if got := Synthesize("370102", birth, -1, Female); got == "" || reasonOf(checkErr(Check(got, birth, Female, today))) != "" {
		t.Errorf("seq -1 = %q", got)
	}
	if got, want := Synthesize("370102", birth, 123, Male), "37010220080315247X"; got != want {
		t.Errorf("Synthesize(seq 123, 男) = %s, want %s", got, want)
	}
	for _, area := range []string{"", "37010", "3701020", "37010x"} {
		if got := Synthesize(area, birth, 1, Male); got != "" {
			t.Errorf("Synthesize(%q) = %q, want \"\"", area, got)
		}
	}
	if got := Synthesize("370102", date(10000, 1, 1), 1, Male); got != "" {
		t.Errorf("Synthesize(year 10000) = %q", got)
	}
}

func checkErr(_ Info, err error) error { return err }

// validAreas are address codes of several kinds for the fuzz test.
var validAreas = []string{
	"110105", "110000", "370102", "370181", "371202", "362324", "440524",
	"500154", "429004", "650102", "810000", "820000", "830000", "370101",
}

func FuzzParse(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.number, uint16(0), uint32(0), uint16(0), false)
	}
	f.Add("\u3000３７０１０２２００８０３１５１２４ｘ", uint16(3), uint32(40000), uint16(999), true)
	f.Add("37010220080315一231", uint16(7), uint32(1), uint16(1), true)
	f.Fuzz(func(t *testing.T, s string, area uint16, days uint32, seq uint16, male bool) {
		info, err := Parse(s, today)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" || e.Message == "" {
				t.Fatalf("Parse(%q) error %#v", s, err)
			}
		} else {
			if len(info.Number) != 18 || CheckDigit(info.Number[:17]) != info.Number[17] || info.AreaName == "" {
				t.Fatalf("Parse(%q) = %+v", s, info)
			}
			if info.BirthDate.Year() < MinBirthYear || info.BirthDate.After(today) {
				t.Fatalf("Parse(%q) birth %v", s, info.BirthDate)
			}
		}
		if n := Normalize(s); Normalize(n) != n {
			t.Fatalf("Normalize not idempotent on %q", s)
		}
		if m := Mask(s); len([]rune(m))-strings.Count(m, "*") > 8 {
			t.Fatalf("Mask(%q) = %q", s, m)
		}
		_, _ = Upgrade15(s)

		// A number built from a valid prefix with CheckDigit parses.
		span := uint32(today.Sub(date(1900, 1, 1)).Hours() / 24)
		birth := date(1900, 1, 1).AddDate(0, 0, int(days%(span+1)))
		sex := Female
		if male {
			sex = Male
		}
		code := int(seq%500)*2 + map[bool]int{true: 1, false: 0}[male]
		prefix := validAreas[int(area)%len(validAreas)] + birth.Format("20060102") + string([]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)})
		n := prefix + string(CheckDigit(prefix))
		got, err := Check(n, birth, sex, today)
		if err != nil || got.Number != n || !got.BirthDate.Equal(birth) || got.Sex != sex {
			t.Fatalf("Check(%s, %v, %s) = %+v, %v", n, birth, sex, got, err)
		}
		if syn := Synthesize(n[:6], birth, int(seq), sex); syn != n {
			t.Fatalf("Synthesize = %s, want %s", syn, n)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	numbers := []string{"370102200803151231", "11010519491231002X", "362324198001010014", "37010220080315124x"}
	Parse(numbers[0], today) // load the tables
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(numbers[i%len(numbers)], today); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCheckDigit(b *testing.B) {
	for b.Loop() {
		CheckDigit("37010220080315123")
	}
}

func TestParseConcurrent(t *testing.T) {
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				n := Synthesize(validAreas[(g+i)%len(validAreas)], date(1990+i%30, 1+i%12, 1+i%28), i, Male)
				if _, e := Parse(n, today); e != nil && err == nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
