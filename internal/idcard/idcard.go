// Package idcard parses and checks 18-digit citizen identity numbers
// (公民身份号码, GB 11643-1999) as printed on resident identity cards and, with
// the same structure, on 港澳台居民居住证 (area codes 810000, 820000, 830000)
// and the 2023 外国人永久居留身份证 (first digit 9).
//
// A number is 6 digits of address code (GB/T 2260: the county-level division
// of the holder's household registration when the number was allocated),
// 8 digits of birth date (YYYYMMDD), a 3-digit sequence code whose last digit
// is odd for men and even for women, and an ISO 7064 MOD 11-2 check character
// (0-9 or X).
//
// Parse checks the structure, the check character, that the address code is
// a real current or historical code (refdata.AddressCode) and that the birth
// date is a real date between 1900-01-01 and today. Check additionally
// compares the birth date and sex with the ones recorded for the person.
// Errors are *Error values with a stable Reason and a Chinese message that
// says what is wrong and where.
//
// The address code is not checked against the birth year: numbers are
// allocated when a person is first registered, often years after birth, under
// the code in force then. refdata.AddressCodeUsedSince offers the one safe
// timeline check (the code cannot have been abolished before the birth year).
package idcard

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Sex is the holder's sex as encoded by the parity of the 17th digit.
type Sex string

// Sexes.
const (
	Male   Sex = "男" // odd 17th digit
	Female Sex = "女" // even 17th digit
)

// Info is what an identity number says about its holder.
type Info struct {
	Number string // the normalized 18-character number
	// AreaCode is the first 6 digits. For a 外国人永久居留身份证 they are 9,
	// the issuing province's 2 digits and a 3-digit nationality code, not a
	// GB/T 2260 code.
	AreaCode string
	// AreaName is the full name of the address code, province first, e.g.
	// "山东省济南市章丘市", taken from the code's record in force when the
	// number was probably allocated (the birth year, but not before 1984,
	// when cards were first issued); for a 外国人永久居留身份证 it is the
	// issuing province, e.g. "江苏省".
	AreaName  string
	BirthDate time.Time // midnight UTC
	Sex       Sex
}

// Kind is the kind of document a number belongs to.
type Kind string

// Kinds of document with 18-character GB 11643-style numbers.
const (
	KindResident                 Kind = "居民身份证"
	KindResidencePermit          Kind = "港澳台居民居住证"   // area 810000 香港, 820000 澳门, 830000 台湾
	KindForeignPermanentResident Kind = "外国人永久居留身份证" // 2023 version: first digit 9
)

// Kind reports which kind of document the number belongs to, from its area
// code.
func (i Info) Kind() Kind {
	switch {
	case strings.HasPrefix(i.AreaCode, "9"):
		return KindForeignPermanentResident
	case i.AreaCode == "810000" || i.AreaCode == "820000" || i.AreaCode == "830000":
		return KindResidencePermit
	default:
		return KindResident
	}
}

// Reason is a stable, machine-readable reason why a number was rejected.
type Reason string

// Reasons. Parse reports the first failing check, in the order listed.
const (
	ReasonLength        Reason = "length"         // not 18 characters
	ReasonCharacters    Reason = "characters"     // positions 1-17 not all digits, or 18th not a digit or X
	ReasonArea          Reason = "area"           // positions 1-6 are not a real address code
	ReasonBirthDate     Reason = "birth_date"     // positions 7-14 are not a real date, or before 1900
	ReasonBirthFuture   Reason = "birth_future"   // birth date after today
	ReasonCheckDigit    Reason = "check_digit"    // 18th character does not match the first 17
	ReasonSexMismatch   Reason = "sex_mismatch"   // Check: 17th digit disagrees with the recorded sex
	ReasonBirthMismatch Reason = "birth_mismatch" // Check: positions 7-14 disagree with the recorded birth date
)

// Error is why a number is invalid.
type Error struct {
	Reason  Reason
	Message string // Chinese, says what is wrong and where, e.g. 第18位校验码应为X，实际为1
}

func (e *Error) Error() string { return "idcard: " + string(e.Reason) + ": " + e.Message }

func errorf(r Reason, parts ...string) *Error {
	return &Error{Reason: r, Message: strings.Join(parts, "")}
}

// MinBirthYear is the earliest birth year Parse accepts.
const MinBirthYear = 1900

// issueStartYear is when resident identity cards were first issued; an
// older birth year is named by the division in force then.
const issueStartYear = 1984

// Normalize trims white space (including the full-width space U+3000, and
// byte-order or zero-width marks) from both ends and converts full-width
// digits and Ｘ/ｘ to ASCII, and x to X. Other characters are left for Parse
// to reject. It does not allocate when s is already normalized.
func Normalize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c == 'x' || c <= ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
	})
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return r - '０' + '0'
		case r == 'x' || r == 'Ｘ' || r == 'ｘ':
			return 'X'
		}
		return r
	}, s)
}

// weights are the ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 of positions 1-17.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChars maps the weighted sum mod 11 to the check character.
const checkChars = "10X98765432"

// CheckDigit returns the check character ('0'-'9' or 'X') for the first 17
// digits of a number, or 0 if first17 is not 17 ASCII digits.
func CheckDigit(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * weights[i]
	}
	return checkChars[sum%11]
}

// Parse normalizes s and checks that it is a valid 18-character number: the
// length, the characters (17 digits and a digit or X), a real address code,
// a real birth date from 1900-01-01 to today, and the check character, in
// that order. A zero today means time.Now(). Errors are *Error.
//
// 15-digit first-generation numbers are rejected with ReasonLength; convert
// them with Upgrade15 first.
func Parse(s string, today time.Time) (Info, error) {
	n := Normalize(s)
	if err := checkShape(n, 18); err != nil {
		return Info{}, err
	}
	// The birth year picks the area's name, but an area error is reported
	// before a birth-date error.
	birth, birthErr := checkBirth(n[6:14])
	year := 0
	if birthErr == nil {
		year = max(birth.Year(), issueStartYear)
	}
	area, name, err := checkArea(n[:6], year)
	if err != nil {
		return Info{}, err
	}
	if birthErr != nil {
		return Info{}, birthErr
	}
	if today.IsZero() {
		today = time.Now()
	}
	if ty, tm, td := today.Date(); birth.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return Info{}, errorf(ReasonBirthFuture, "第7-14位出生日期", n[6:14], "晚于当前日期", today.Format("20060102"))
	}
	if want := CheckDigit(n[:17]); n[17] != want {
		return Info{}, errorf(ReasonCheckDigit, "第18位校验码应为", string(want), "，实际为", n[17:])
	}
	sex := Female
	if (n[16]-'0')%2 == 1 {
		sex = Male
	}
	return Info{Number: n, AreaCode: area, AreaName: name, BirthDate: birth, Sex: sex}, nil
}

// checkShape checks that n has the given length, all digits except that an
// 18-character number may end in X.
func checkShape(n string, length int) error {
	if len(n) == length && allDigits(n[:length-1]) && (n[length-1] >= '0' && n[length-1] <= '9' || n[length-1] == 'X' && length == 18) {
		return nil
	}
	if len(n) != length || utf8.RuneCountInString(n) != length {
		if n == "" {
			return errorf(ReasonLength, "身份证号码为空")
		}
		runes := utf8.RuneCountInString(n)
		if runes != length {
			msg := "身份证号码应为" + strconv.Itoa(length) + "位，实际为" + strconv.Itoa(runes) + "位"
			if length == 18 && runes == 15 && allDigits(n) {
				msg += "（15位为第一代身份证号码，须先升级为18位）"
			}
			return errorf(ReasonLength, msg)
		}
	}
	pos := 0
	for _, r := range n {
		pos++
		if r >= '0' && r <= '9' || r == 'X' && pos == 18 {
			continue
		}
		if pos == 18 {
			return errorf(ReasonCharacters, "第18位应为数字或X，实际为“", string(r), "”")
		}
		return errorf(ReasonCharacters, "第", strconv.Itoa(pos), "位应为数字，实际为“", string(r), "”")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkArea checks the 6-digit area code and returns its full name as of
// year (see refdata.AddressFullName); for a foreign permanent resident's
// number the name is the issuing province's.
func checkArea(code string, year int) (area, name string, err error) {
	if code[0] == '9' {
		// 外国人永久居留身份证 (2023): 9, province, nationality.
		p := code[1:3] + "0000"
		if pname, ok := refdata.AddressCode(p); ok && p < "810000" {
			return code, pname, nil
		}
		return "", "", errorf(ReasonArea, "第2-3位受理地省级代码", code[1:3], "无效（首位为9的外国人永久居留身份证号码）")
	}
	if name = refdata.AddressFullName(code, year); name == "" {
		return "", "", errorf(ReasonArea, "第1-6位地址码", code, "不是有效的行政区划代码")
	}
	return code, name, nil
}

// daysIn is the number of days of each month in a leap year.
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkBirth checks an 8-digit YYYYMMDD date.
func checkBirth(s string) (time.Time, error) {
	num := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	y, m, d := num(s[:4]), num(s[4:6]), num(s[6:8])
	if m < 1 || m > 12 || d < 1 || d > daysIn[m] || m == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return time.Time{}, errorf(ReasonBirthDate, "第7-14位出生日期", s, "不是有效日期")
	}
	if y < MinBirthYear {
		return time.Time{}, errorf(ReasonBirthDate, "第7-14位出生日期", s, "早于", strconv.Itoa(MinBirthYear), "年")
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// Check parses number as Parse does and checks it against the person's
// recorded birth date and sex: the birth date in the number must be the
// calendar date of birth (in birth's own location; ReasonBirthMismatch), and
// the parity of the 17th digit must match sex (odd for 男; ReasonSexMismatch).
// A zero birth, or a sex other than 男 or 女, skips that comparison.
func Check(number string, birth time.Time, sex Sex, today time.Time) (Info, error) {
	info, err := Parse(number, today)
	if err != nil {
		return Info{}, err
	}
	if !birth.IsZero() {
		y, m, d := birth.Date()
		if want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC); !info.BirthDate.Equal(want) {
			return Info{}, errorf(ReasonBirthMismatch, "第7-14位出生日期为", info.BirthDate.Format("2006-01-02"),
				"，与出生日期", want.Format("2006-01-02"), "不符")
		}
	}
	if (sex == Male || sex == Female) && info.Sex != sex {
		return Info{}, errorf(ReasonSexMismatch, "第17位为", info.Number[16:17], "（", string(info.Sex), "性），与性别“", string(sex), "”不符")
	}
	return info, nil
}

// Upgrade15 converts a 15-digit first-generation number (6-digit area, YYMMDD
// birth date, 3-digit sequence) to the 18-digit form: it inserts "19" before
// the year and appends the check character. The input is normalized first,
// and the area code and birth date must be valid; errors are *Error.
//
// All 15-digit numbers are taken to be for people born in the 1900s. (Under
// GB 11643-1989 the sequence codes 996-999 marked centenarians born in the
// 1800s; they are not treated specially.)
func Upgrade15(s string) (string, error) {
	n := Normalize(s)
	if err := checkShape(n, 15); err != nil {
		return "", err
	}
	if _, ok := refdata.AddressCode(n[:6]); !ok {
		return "", errorf(ReasonArea, "第1-6位地址码", n[:6], "不是有效的行政区划代码")
	}
	first17 := n[:6] + "19" + n[6:]
	if _, err := checkBirth(first17[6:14]); err != nil {
		return "", errorf(ReasonBirthDate, "第7-12位出生日期", n[6:12], "不是有效日期")
	}
	return first17 + string(CheckDigit(first17)), nil
}

// Mask hides the middle of a number for display: the first 4 and last 4
// characters of an 18-character number stay, e.g. "3701**********1234".
// Shorter inputs show at most a quarter of their characters at each end
// (never more than 4, so never more than 8 in all), and inputs of 3
// characters or fewer are masked completely. The input is normalized first.
func Mask(number string) string {
	r := []rune(Normalize(number))
	keep := min(4, len(r)/4)
	var b strings.Builder
	for i, c := range r {
		if i < keep || i >= len(r)-keep {
			b.WriteRune(c)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// Synthesize builds a valid number from an area code, birth date, sequence
// (0-999) and sex — used by the demo generator; sequence parity is forced to
// match sex. The 3-digit sequence code is 2×(seq mod 500), plus 1 for 男, so
// that different seq values below 500 never give the same number whatever
// the sex; any other sex than 男 is treated as 女.
//
// Synthesize does not check that area is a real address code; it returns ""
// if area is not 6 digits or birth is outside the years 1000-9999.
func Synthesize(area string, birth time.Time, seq int, sex Sex) string {
	if len(area) != 6 || !allDigits(area) || birth.Year() < 1000 || birth.Year() > 9999 {
		return ""
	}
	code := (seq%500 + 500) % 500 * 2
	if sex == Male {
		code++
	}
	var b [18]byte
	copy(b[:6], area)
	copy(b[6:14], birth.Format("20060102"))
	b[14] = byte('0' + code/100)
	b[15] = byte('0' + code/10%10)
	b[16] = byte('0' + code%10)
	b[17] = CheckDigit(string(b[:17]))
	return string(b[:])
}
