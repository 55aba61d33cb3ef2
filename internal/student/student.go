// Package student is the student status registry (学籍): registration with
// identity checks and the one-active-学籍 rule, status changes (学籍异动) as
// reviewed requests, and the data comparison (数据比对) that finds what
// slipped through. Full-time and part-time registries are kept apart
// (分类注册、分别管理): separate numbering, separate filters.
package student

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Study modes: separate registries.
const (
	ModeFullTime = "全日制"
	ModePartTime = "非全日制"
)

// Modes lists the study modes.
var Modes = []string{ModeFullTime, ModePartTime}

// ResidentID is the only document type checked by GB 11643 rules.
const ResidentID = "居民身份证"

// IDTypes are the identity documents a student may register with.
var IDTypes = []string{ResidentID, "港澳台居民居住证", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "护照", "外国人永久居留身份证"}

// Statuses of a 学籍. The first three are active: the person holds the 学籍.
const (
	StatusEnrolled  = "在籍"
	StatusSuspended = "休学"
	StatusReserved  = "保留学籍"
	StatusGraduated = "毕业"
	StatusCompleted = "结业"
	StatusLeftEarly = "肄业"
	StatusWithdrawn = "退学"
	StatusExpelled  = "开除"
)

// Statuses lists every status, active ones first.
var Statuses = []string{StatusEnrolled, StatusSuspended, StatusReserved, StatusGraduated, StatusCompleted, StatusLeftEarly, StatusWithdrawn, StatusExpelled}

// IsActive reports whether a status holds a 学籍.
func IsActive(status string) bool {
	return status == StatusEnrolled || status == StatusSuspended || status == StatusReserved
}

// Sexes by GB/T 2261.1 name.
var Sexes = []string{"男", "女"}

// Limits.
const (
	MaxNameLength   = 50
	MaxMajorLength  = 60
	MaxNumberLength = 32
	MinAge          = 12 // youngest age at enrollment accepted at all
	MaxAge          = 65
)

const dateLayout = "2006-01-02"

// Student is one 学籍.
type Student struct {
	ID                 int64     `json:"id"`
	StudentNo          string    `json:"student_no"`
	SchoolCode         string    `json:"school_code"`
	SchoolName         string    `json:"school_name"`
	CityCode           string    `json:"city_code"`
	Name               string    `json:"name"`
	IDType             string    `json:"id_type"`
	IDNumber           string    `json:"id_number"` // masked unless revealed
	IDMasked           string    `json:"-"`
	IDBlind            string    `json:"-"`
	IDSealed           []byte    `json:"-"`
	Sex                string    `json:"sex"`
	BirthDate          string    `json:"birth_date"`
	Ethnicity          string    `json:"ethnicity"`
	Major              string    `json:"major"`
	ClassLevel         string    `json:"class_level"`
	StudyMode          string    `json:"study_mode"`
	EntryPoint         string    `json:"entry_point"`
	EnrollmentDate     string    `json:"enrollment_date"`
	ExpectedGraduation string    `json:"expected_graduation"`
	Status             string    `json:"status"`
	LeftDate           string    `json:"left_date,omitempty"`
	LastActivity       time.Time `json:"last_activity_at"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	Version            int64     `json:"version"`
}

// Active reports whether the student holds the 学籍 now.
func (s *Student) Active() bool { return IsActive(s.Status) }

// Registration is what a registrar submits for a new student.
type Registration struct {
	SchoolCode     string `json:"school_code"`
	Name           string `json:"name"`
	IDType         string `json:"id_type"`
	IDNumber       string `json:"id_number"`
	Sex            string `json:"sex"`
	BirthDate      string `json:"birth_date"`
	Ethnicity      string `json:"ethnicity"`
	Major          string `json:"major"`
	ClassLevel     string `json:"class_level"`
	StudyMode      string `json:"study_mode"`
	EntryPoint     string `json:"entry_point"`
	EnrollmentDate string `json:"enrollment_date"`
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// EntryPoints lists the entry points known for a class level.
func EntryPoints(level string) []string {
	var out []string
	for _, c := range refdata.ClassLevels() {
		if c.Name == level {
			out = append(out, c.EntryPoint)
		}
	}
	return out
}

// NormalYears is the normal duration of a class level from an entry point.
func NormalYears(level, entry string) int {
	c, _ := refdata.ClassLevelOf(level, entry)
	return c.NormalYears
}

// parseDate reads a YYYY-MM-DD date for field.
func parseDate(field, label, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, apperr.E(apperr.Invalid, field, "field.required", label)
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, apperr.E(apperr.Invalid, field, "field.date_format", label, s)
	}
	return t, nil
}

// CleanName trims a person's name and folds internal runs of spaces; names
// may hold the middle dot of minority and foreign names (·).
func CleanName(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u3000", " ")), " ")
}

// validateIdentity checks the identity fields shared by registration and
// identity corrections. It normalises r in place.
func validateIdentity(r *Registration, today time.Time) error {
	r.Name = CleanName(r.Name)
	switch n := utf8.RuneCountInString(r.Name); {
	case n == 0:
		return apperr.E(apperr.Invalid, "name", "field.required", "姓名")
	case n > MaxNameLength:
		return apperr.E(apperr.Invalid, "name", "field.too_long", MaxNameLength)
	case strings.ContainsAny(r.Name, "<>\"'\\;%_&\x00\r\n\t0123456789"):
		return apperr.E(apperr.Invalid, "name", "student.name.characters")
	}
	if r.IDType == "" {
		r.IDType = ResidentID
	}
	if !contains(IDTypes, r.IDType) {
		return apperr.E(apperr.Invalid, "id_type", "field.one_of", "证件类型", strings.Join(IDTypes, "、"))
	}
	if !contains(Sexes, r.Sex) {
		return apperr.E(apperr.Invalid, "sex", "field.one_of", "性别", "男、女")
	}
	birth, err := parseDate("birth_date", "出生日期", r.BirthDate)
	if err != nil {
		return err
	}
	if birth.After(today) {
		return apperr.E(apperr.Invalid, "birth_date", "student.birth.future", r.BirthDate)
	}
	if r.IDType == ResidentID {
		r.IDNumber = idcard.Normalize(r.IDNumber)
		if _, err := idcard.Check(r.IDNumber, birth, idcard.Sex(r.Sex), today); err != nil {
			if e, ok := err.(*idcard.Error); ok {
				return &apperr.Error{Code: apperr.InvalidIDNumber, Field: "id_number", Key: "student.id.invalid", Args: []any{e.Message}}
			}
			return err
		}
	} else {
		r.IDNumber = strings.ToUpper(strings.TrimSpace(r.IDNumber))
		if r.IDNumber == "" {
			return apperr.E(apperr.Invalid, "id_number", "field.required", "证件号码")
		}
		if len(r.IDNumber) > MaxNumberLength || strings.ContainsFunc(r.IDNumber, func(c rune) bool {
			return !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-' || c == '(' || c == ')')
		}) {
			return &apperr.Error{Code: apperr.InvalidIDNumber, Field: "id_number", Key: "student.id.other_format", Args: []any{MaxNumberLength}}
		}
	}
	eth, ok := refdata.LookupEthnicGroup(strings.TrimSpace(r.Ethnicity))
	if !ok {
		return apperr.E(apperr.Invalid, "ethnicity", "student.ethnicity.unknown", r.Ethnicity)
	}
	r.Ethnicity = eth.Name
	return nil
}

// Validate checks a registration against the registry's rules (everything
// but uniqueness, which the database enforces) and normalises it. majorKnown
// says whether a major is in the catalogue.
func (r *Registration) Validate(today time.Time, majorKnown func(string) bool) error {
	if err := validateIdentity(r, today); err != nil {
		return err
	}
	r.Major = strings.TrimSpace(r.Major)
	if r.Major == "" {
		return apperr.E(apperr.Invalid, "major", "field.required", "专业")
	}
	if utf8.RuneCountInString(r.Major) > MaxMajorLength || !majorKnown(r.Major) {
		return apperr.E(apperr.Invalid, "major", "student.major.unknown", r.Major)
	}
	level, ok := refdata.NormalizeClassLevel(strings.TrimSpace(r.ClassLevel))
	if !ok {
		return apperr.E(apperr.Invalid, "class_level", "field.one_of", "培养层次", strings.Join(refdata.ClassLevelNames(), "、"))
	}
	r.ClassLevel = level
	if r.StudyMode == "" {
		r.StudyMode = ModeFullTime
	}
	if !contains(Modes, r.StudyMode) {
		return apperr.E(apperr.Invalid, "study_mode", "field.one_of", "学习形式", strings.Join(Modes, "、"))
	}
	entries := EntryPoints(level)
	if r.EntryPoint == "" {
		r.EntryPoint = entries[0]
	}
	if !contains(entries, r.EntryPoint) {
		return apperr.E(apperr.Invalid, "entry_point", "field.one_of", "入学起点", strings.Join(entries, "、"))
	}
	enrolled, err := parseDate("enrollment_date", "入学日期", r.EnrollmentDate)
	if err != nil {
		return err
	}
	birth, _ := time.Parse(dateLayout, r.BirthDate)
	switch {
	case !enrolled.After(birth):
		return apperr.E(apperr.Invalid, "enrollment_date", "student.enrollment.before_birth")
	case enrolled.After(today.AddDate(0, 6, 0)):
		return apperr.E(apperr.Invalid, "enrollment_date", "student.enrollment.future", r.EnrollmentDate)
	case enrolled.Before(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)):
		return apperr.E(apperr.Invalid, "enrollment_date", "student.enrollment.too_old", r.EnrollmentDate)
	}
	if age := AgeAt(birth, enrolled); age < MinAge || age > MaxAge {
		return apperr.E(apperr.Invalid, "birth_date", "student.age.impossible", age, MinAge, MaxAge)
	}
	return nil
}

// AgeAt is the age in whole years of someone born at birth on day.
func AgeAt(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.YearDay() < birth.YearDay() {
		age--
	}
	return age
}

// ExpectedGraduation is when a student normally finishes (YYYY-MM).
func ExpectedGraduation(enrollment string, level, entry string) string {
	t, err := time.Parse(dateLayout, enrollment)
	if err != nil {
		return ""
	}
	return time.Date(t.Year()+NormalYears(level, entry), 7, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}
