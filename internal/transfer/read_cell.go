package transfer

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// What .xlsx and .xls share: a number cell is shown through its number
// format, which we only need to classify.

type numKind uint8

const (
	numGeneral  numKind = iota // shown as the number itself
	numDate                    // YYYY-MM-DD
	numTime                    // HH:MM:SS
	numDateTime                // YYYY-MM-DD HH:MM:SS, or YYYY-MM-DD at midnight
	numZeros                   // "000000": whole numbers padded with zeros
)

type numFormat struct {
	kind  numKind
	width int // numZeros: digits
}

// builtinFormat classifies Excel's built-in number formats, which files
// refer to by id without writing their code; 27–36 and 50–58 are the
// Chinese (and Japanese, Korean) date and time formats.
func builtinFormat(id int) numFormat {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id >= 50 && id <= 54, id == 57, id == 58:
		return numFormat{kind: numDate}
	case id >= 18 && id <= 21, id >= 32 && id <= 35, id >= 45 && id <= 47, id == 55, id == 56:
		return numFormat{kind: numTime}
	case id == 22:
		return numFormat{kind: numDateTime}
	}
	return numFormat{}
}

// classifyFormat reads a number format code: its first section, without
// quoted text, escapes, fill and padding characters and bracketed colours,
// locales and conditions, tells dates (y, m, d, e, g, aaa) from times (h,
// m next to them, s, [h]) from numbers.
func classifyFormat(code string) numFormat {
	var b strings.Builder
	elapsed := false
	rs := []rune(code)
loop:
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case ';':
			break loop
		case '"':
			for i++; i < len(rs) && rs[i] != '"'; i++ {
			}
		case '\\', '_', '*':
			i++
		case '[':
			j := i + 1
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			inner := strings.ToLower(string(rs[i+1 : min(j, len(rs))]))
			if inner != "" && strings.Trim(inner, "hms") == "" {
				elapsed = true
			}
			i = j
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	s := b.String()
	for _, w := range []string{"general", "am/pm", "a/p", "上午/下午"} {
		s = strings.ReplaceAll(s, w, "")
	}
	hasDate := strings.ContainsAny(s, "ydg") || strings.Contains(s, "aaa")
	for i := 0; i < len(s); i++ {
		if s[i] == 'e' && (i+1 == len(s) || (s[i+1] != '+' && s[i+1] != '-')) {
			hasDate = true // e: the year in an era calendar; E+ is scientific notation
		}
	}
	hasTime := elapsed || strings.ContainsAny(s, "hs")
	if strings.Contains(s, "m") && !hasTime {
		hasDate = true // m alone is the month
	}
	switch {
	case hasDate && hasTime:
		return numFormat{kind: numDateTime}
	case hasDate:
		return numFormat{kind: numDate}
	case hasTime:
		return numFormat{kind: numTime}
	case s != "" && strings.Trim(s, "0") == "" && len(s) > 1:
		return numFormat{kind: numZeros, width: len(s)}
	}
	return numFormat{}
}

// maxExactNumber: Excel keeps 15 significant digits, so a number of 16 or
// more digits (an identity number typed without the text format, which
// Excel shows as 3.70102E+17) has already lost its last digits.
const maxExactNumber = 1e15

// formatNumber shows a number cell as the user sees it; bad is set when
// the number has lost digits and must not be used.
func formatNumber(v float64, f numFormat, date1904 bool) (s string, bad bool) {
	b, bad := appendNumber(nil, v, f, date1904)
	return string(b), bad
}

// appendNumber is formatNumber appending to dst.
func appendNumber(dst []byte, v float64, f numFormat, date1904 bool) ([]byte, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dst, false
	}
	switch f.kind {
	case numDate, numTime, numDateTime:
		if b, ok := appendExcelTime(dst, v, f.kind, date1904); ok {
			return b, false
		}
	}
	if math.Abs(v) >= maxExactNumber {
		// Shown with the 15 digits Excel keeps: 3.7010220080101E+17.
		m, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', 14, 64), "E")
		return append(append(append(dst, strings.TrimRight(strings.TrimRight(m, "0"), ".")...), 'E'), exp...), true
	}
	if v == math.Trunc(v) {
		if f.kind == numZeros && v >= 0 {
			for n := len(strconv.FormatInt(int64(v), 10)); n < f.width; n++ {
				dst = append(dst, '0')
			}
		}
		return strconv.AppendInt(dst, int64(v), 10), false
	}
	// Excel shows at most 15 significant digits: 0.1+0.2 is 0.3.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return strconv.AppendFloat(dst, r, 'f', -1, 64), false
}

// appendExcelTime turns a serial date (days since 1899-12-30, or since
// 1904-01-01 in workbooks made on old Macs) into text. Excel counts a 29
// February 1900 that never was, so serials before 61 are one day off.
func appendExcelTime(dst []byte, v float64, kind numKind, date1904 bool) ([]byte, bool) {
	if v < 0 || v >= 2958466 { // 10000-01-01
		return dst, false
	}
	day := math.Floor(v)
	secs := math.Round((v - day) * 86400)
	if secs >= 86400 {
		day++
		secs -= 86400
	}
	var base time.Time
	switch {
	case date1904:
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case day >= 61:
		base = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	case day == 60:
		return dst, false // 1900-02-29
	default:
		base = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	t := base.AddDate(0, 0, int(day)).Add(time.Duration(secs) * time.Second)
	switch {
	case kind == numTime && day == 0:
		return t.AppendFormat(dst, "15:04:05"), true
	case kind == numDate || secs == 0:
		if day == 0 && !date1904 {
			return dst, false // Excel's "1900-01-00"
		}
		return t.AppendFormat(dst, "2006-01-02"), true
	}
	return t.AppendFormat(dst, "2006-01-02 15:04:05"), true
}

// isoDate shows an ISO 8601 date cell (t="d" in .xlsx) like a serial date.
func isoDate(v string) string {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02", "15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			switch {
			case layout == "15:04:05.999999999":
				return t.Format("15:04:05")
			case t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0:
				return t.Format("2006-01-02")
			}
			return t.Format("2006-01-02 15:04:05")
		}
	}
	return v
}
